"""Forms of the work-order pages: intake (resident, call-taker, commissioner) and one small
form per action of the ``TRANSITIONS`` table. The forms only shape the input; the services
decide (and their ``DomainError`` fields are put back on these forms by the views)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sanan.core.errors import DomainError
from sanan.organisation.models import Organisation
from sanan.places.models import Place
from sanan.workorders.catalogue import MAX_STRING, MAX_TEXT, clean_answers
from sanan.workorders.models import Category, CategoryQuestion, Channel, QuestionType
from sanan.workorders.state import Action, Resolution, ReturnReason, Ruling, Satisfaction

POINT_SYSTEMS = [
    ("wgs84", _("GPS (WGS-84)")),
    ("gcj02", _("Chinese maps: Amap, Tencent (GCJ-02)")),
    ("bd09", _("Baidu maps (BD-09)")),
]
CONTACT_METHODS = [
    ("phone", _("By phone")),
    ("visit", _("Visited the place")),
    ("message", _("By message")),
]


class DomainErrorsMixin:
    """Put a service's ``DomainError`` on the form: its fields next to the fields, the message
    on top."""

    domain_message: str = ""
    domain_code: str = ""
    # A service's field name -> this form's field that shows it.
    field_aliases: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra_errors: dict[str, list[str]] = {}

    def add_domain_error(self, error: DomainError) -> None:
        form: Any = self
        self.domain_message = str(error.message)
        self.domain_code = error.code
        for name, messages in error.fields.items():
            name = self.field_aliases.get(name, name)
            target = name if name in form.fields else None
            if target is None:  # e.g. photos, drawn by the template itself
                self.extra_errors.setdefault(name, []).extend(messages)
            for message in messages:
                form.add_error(target, message)
        if not error.fields:
            form.add_error(None, str(error.message))


class ReportForm(DomainErrorsMixin, forms.Form):
    """One form for every channel; the view removes the fields a channel does not use."""

    field_aliases = {"place": "courtyard", "point": "lat", "file": "photos"}

    category = forms.ModelChoiceField(
        label=_("What kind of problem?"),
        queryset=Category.objects.none(),
        widget=forms.RadioSelect,
        error_messages={"required": _("Tap the kind of problem.")},
    )
    description = forms.CharField(
        label=_("What is wrong?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("A few words are enough, for example “the lamp at gate 3 is out”."),
        error_messages={"required": _("Please describe the problem.")},
    )
    courtyard = forms.ModelChoiceField(
        label=_("Courtyard"), queryset=Place.objects.none(), required=False
    )
    house = forms.ModelChoiceField(
        label=_("Building (if it is in one)"), queryset=Place.objects.none(), required=False
    )
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    point_system = forms.ChoiceField(
        label=_("Coordinate system of the point"), choices=POINT_SYSTEMS, initial="wgs84"
    )
    anonymous = forms.BooleanField(
        label=_("Hide my name from the public (the people handling it still see it)"),
        required=False,
    )
    contact_name = forms.CharField(label=_("Caller's name"), required=False, max_length=60)
    contact_phone = forms.CharField(
        label=_("Caller's mobile number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=80)

    def __init__(
        self,
        *args: Any,
        channel: str,
        categories: Any,
        courtyards: Any,
        houses: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        for name, queryset in (("category", categories), ("courtyard", courtyards),
                               ("house", houses)):  # fmt: skip
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset
        if channel != Channel.HOTLINE:
            del self.fields["contact_name"]
            del self.fields["contact_phone"]
        else:
            self.fields["contact_phone"].required = True
        if channel == Channel.DISCOVERY:
            del self.fields["anonymous"]
            self.fields["description"].label = _("What did you find?")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lng = data.get("lat"), data.get("lng")
        if (lat is None) != (lng is None):
            self.add_error("lat", _("Give both latitude and longitude, or neither."))
        return data


class AnswersForm(forms.Form):
    """The chosen category's extra questions (typed like Open311 attributes), one field per
    question, named ``answers-<code>``. The fields only shape the input;
    ``catalogue.clean_answers`` (the service's own check) decides, and its messages are put
    next to the questions."""

    prefix = "answers"

    def __init__(
        self, *args: Any, category: Category | None, questions: list[CategoryQuestion],
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.category = category
        self.questions = {q.code: q for q in questions}
        for question in questions:
            self.fields[question.code] = _question_field(question)
        self.answers: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.category is None:
            return data
        raw = {code: data.get(code) for code in self.questions if code not in self.errors}
        raw = {code: value for code, value in raw.items() if value not in (None, "", [])}
        try:
            self.answers = clean_answers(self.category, raw)
        except DomainError as error:
            self.add_domain_error(error)
        return data

    def add_domain_error(self, error: DomainError) -> None:
        """Put ``answers.<code>`` problems (from the service or the check above) next to the
        questions they name."""
        for name, messages in error.fields.items():
            code = name.removeprefix("answers.")
            if code in self.fields and code not in self.errors:
                for message in messages:
                    self.add_error(code, message)


def _question_field(question: CategoryQuestion) -> forms.Field:
    kind = question.datatype
    common: dict[str, Any] = {
        "label": question.label,
        "required": question.required,
        "error_messages": {"required": _("Please answer this question.")},
    }
    choices = [(key, _choice_label(question, key)) for key in question.choice_keys()]
    if kind == QuestionType.TEXT:
        return forms.CharField(
            max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    if kind == QuestionType.NUMBER:
        return forms.CharField(
            max_length=40,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            help_text=_("A number, for example 20."),
            **common,
        )
    if kind == QuestionType.DATETIME:
        return forms.CharField(
            max_length=40,
            widget=forms.TextInput(attrs={"type": "datetime-local"}),
            help_text=_("Date and time, for example 2026-11-26 08:30."),
            **common,
        )
    if kind == QuestionType.SINGLE:
        common["error_messages"]["invalid_choice"] = _("Choose one of the offered answers.")
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
    if kind == QuestionType.MULTI:
        common["error_messages"]["invalid_choice"] = _("Choose only among the offered answers.")
        return forms.MultipleChoiceField(
            choices=choices,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("Tick every one that applies."),
            **common,
        )
    return forms.CharField(max_length=MAX_STRING, **common)  # string


def _choice_label(question: CategoryQuestion, key: str) -> str:
    from django.utils import translation

    english = (translation.get_language() or "").startswith("en")
    for value in question.values or []:
        if str(value.get("key")) == key:
            zh, en = value.get("name_zh", ""), value.get("name_en", "")
            return str((en or zh) if english else (zh or en)) or key
    return key


# --- one form per action -----------------------------------------------------------------------


class ActionForm(DomainErrorsMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, organisations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Reply templates offered for ``template_field`` (set by the view for reply actions).
        self.templates: list[Any] = []
        self.template_field = ""
        self.picked_template: int | None = None
        if "lead_organisation" in self.fields:
            self.fields["lead_organisation"].queryset = (  # type: ignore[attr-defined]
                organisations if organisations is not None else Organisation.objects.none()
            )


def _reason(label: Any = None, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label or _("Why"),
        required=required,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _reply(label: Any = None, *, required: bool = False, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label or _("Reply to the reporter (they will read it)"),
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _internal() -> forms.CharField:
    return forms.CharField(
        label=_("Internal note (staff only)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _organisation(label: Any = None, *, required: bool = True) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=label or _("Organisation that takes the order"),
        queryset=Organisation.objects.none(),
        required=required,
    )


class DispatchForm(ActionForm):
    lead_organisation = _organisation()
    reason = _reason(_("Why another organisation than suggested"), required=False)
    internal_note = _internal()


class SignForm(ActionForm):
    note = forms.CharField(label=_("Internal note (staff only)"), required=False)


class ReturnForm(ActionForm):
    reason_code = forms.ChoiceField(
        label=_("Why is it not yours?"), choices=ReturnReason.choices, widget=forms.RadioSelect
    )
    reason = _reason(_("Explain (the community reads it)"), required=False)


class RuleForm(ActionForm):
    decision = forms.ChoiceField(
        label=_("Ruling"), choices=Ruling.choices, widget=forms.RadioSelect
    )
    lead_organisation = _organisation(
        _("Organisation (when dispatching to another one)"), required=False
    )
    reason = _reason()


class TransferForm(ActionForm):
    lead_organisation = _organisation()
    reason = _reason()


class ContactForm(ActionForm):
    method = forms.ChoiceField(
        label=_("How did you make contact?"), choices=CONTACT_METHODS, initial="phone",
        widget=forms.RadioSelect,
    )  # fmt: skip
    public_note = _reply()
    internal_note = _internal()


class StartForm(ActionForm):
    public_note = _reply()


class RequestExtensionForm(ActionForm):
    days = forms.IntegerField(label=_("Working days needed"), min_value=1, max_value=30)
    reason = _reason()


class DecideExtensionForm(ActionForm):
    approve = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("yes", _("Approve")), ("no", _("Refuse"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    granted_days = forms.IntegerField(label=_("Working days granted"), required=False, min_value=1)
    note = forms.CharField(label=_("Note"), required=False)


class FlagForm(ActionForm):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class FinishForm(ActionForm):
    public_note = _reply(
        _("What was done? (the reporter reads this)"),
        required=True,
        help_text=_("Say it plainly: what was fixed, when, and whom to call if it comes back."),
    )
    internal_note = _internal()


class CallbackForm(ActionForm):
    resolution = forms.ChoiceField(
        label=_("Is the problem solved?"), choices=Resolution.choices, widget=forms.RadioSelect
    )
    satisfaction = forms.ChoiceField(
        label=_("Are you satisfied with how it was handled?"),
        choices=[c for c in Satisfaction.choices if c[0] != Satisfaction.NOT_RATED],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RehandleForm(ActionForm):
    reason = _reason()


class ArchiveForm(ActionForm):
    note = forms.CharField(label=_("Note (optional)"), required=False)


class CloseUnratedForm(ActionForm):
    pass


class MergeForm(ActionForm):
    parent = forms.RegexField(
        label=_("Number of the order this one duplicates"),
        regex=r"^\s*(?:\d{8}-)?0*\d{1,12}\s*$",
        help_text=_("This order is closed into that one; its reporter follows that order."),
        error_messages={"invalid": _("Give an order number, e.g. 20261126-000001.")},
    )
    reason = _reason(required=False)


class NoteForm(ActionForm):
    public_note = _reply(_("Public reply (the reporter reads it)"))
    internal_note = _internal()


ACTION_FORMS: dict[str, type[ActionForm]] = {
    Action.DISPATCH: DispatchForm,
    Action.SIGN: SignForm,
    Action.RETURN: ReturnForm,
    Action.RULE: RuleForm,
    Action.TRANSFER: TransferForm,
    Action.CONTACT: ContactForm,
    Action.START: StartForm,
    Action.REQUEST_EXTENSION: RequestExtensionForm,
    Action.DECIDE_EXTENSION: DecideExtensionForm,
    Action.CHASE: FlagForm,
    Action.SUPERVISE: FlagForm,
    Action.FINISH: FinishForm,
    Action.CALLBACK: CallbackForm,
    Action.REHANDLE: RehandleForm,
    Action.ARCHIVE: ArchiveForm,
    Action.CLOSE_UNRATED: CloseUnratedForm,
    Action.NOTE: NoteForm,
    Action.MERGE: MergeForm,
}
