"""Forms of the organisation desk pages (members and terms, posts, post types). The forms read
what was typed and offer the choices in sight; the services decide, and their refusals are
shown beside the fields they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanan.accounts.roles import Role
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.organisation.models import Organisation, Position, PostType, Term


class DomainErrorForm(forms.Form):
    """A form that can show a service's ``DomainError``: the message above the form, the field
    messages beside their fields."""

    domain_message: str = ""
    domain_code: str = ""
    field_map: dict[str, str] = {}

    def add_domain_error(self, error: DomainError) -> None:
        self.domain_message = str(error.message)
        self.domain_code = error.code
        if not hasattr(self, "cleaned_data"):
            self.cleaned_data = {}
        for name, messages in error.fields.items():
            target = self.field_map.get(name, name)
            for message in messages:
                self.add_error(target if target in self.fields else None, message)


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TermChoiceField(forms.ModelChoiceField):
    """Terms offered by their name alone (the organisation is the page's)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class MemberAddForm(DomainErrorForm):
    field_map = {"user": "person"}

    person = forms.CharField(
        label=_("Person"),
        max_length=60,
        help_text=_("Their mobile number, username or full name (the person needs an account)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "people"}),
    )
    position = forms.ChoiceField(label=_("Position"), choices=Position.choices)
    title = forms.CharField(
        label=_("Title shown on the chart"),
        max_length=60,
        required=False,
        help_text=_("Leave empty to show the position."),
    )
    term = TermChoiceField(
        label=_("Term"), queryset=Term.objects.none(), required=False, empty_label=_("— none —")
    )
    started_on = forms.DateField(label=_("Member since"), widget=_date_widget())

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        term = self.fields["term"]
        assert isinstance(term, forms.ModelChoiceField)
        term.queryset = Term.objects.filter(organisation=organisation).order_by("-starts_on")
        self.fields["position"].initial = Position.MEMBER
        self.fields["started_on"].initial = clock.today()
        current = term.queryset.filter(ends_on__isnull=True).first() or term.queryset.first()
        if current is not None:
            term.initial = current.pk


class MemberEndForm(DomainErrorForm):
    ended_on = forms.DateField(label=_("Left on"), widget=_date_widget())
    reason = forms.CharField(label=_("Why"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ended_on"].initial = clock.today()


class TermForm(DomainErrorForm):
    name = forms.CharField(
        label=_("Term"), max_length=60, help_text=_("For example: the third committee (第三届).")
    )
    starts_on = forms.DateField(label=pgettext_lazy("start date", "From"), widget=_date_widget())
    ends_on = forms.DateField(label=_("Until"), widget=_date_widget(), required=False)


class PostAssignForm(DomainErrorForm):
    holder = forms.TypedChoiceField(label=_("Party member"), coerce=int)
    post_type = forms.ModelChoiceField(
        label=_("Post"), queryset=PostType.objects.none(), empty_label=None
    )
    place = forms.TypedChoiceField(
        label=_("Area covered"),
        coerce=int,
        help_text=_("A courtyard commissioner covers one courtyard; other posts may cover more."),
    )
    started_on = forms.DateField(label=pgettext_lazy("start date", "From"), widget=_date_widget())

    def __init__(self, *args: Any, candidates: list[Any], places: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._field("holder").choices = [("", _("— choose —"))] + [
            (u.pk, str(u)) for u in candidates
        ]
        self._field("place").choices = [("", _("— choose —"))] + [
            (p.pk, f"{'　' * max(0, p.depth - 4)}{p.name}") for p in places
        ]
        post_type = self.fields["post_type"]
        assert isinstance(post_type, forms.ModelChoiceField)
        post_type.queryset = PostType.objects.filter(active=True).order_by("order", "code")
        self.fields["started_on"].initial = clock.today()

    def _field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field


class PostTypeForm(DomainErrorForm):
    name = forms.CharField(label=_("Name (Chinese)"), max_length=40)
    name_en = forms.CharField(label=_("Name (English)"), max_length=60, required=False)
    description = forms.CharField(label=_("Duties"), max_length=200, required=False)


class PostTypeAddForm(PostTypeForm):
    grants_role = forms.ChoiceField(
        label=_("Role the holder receives over the area"),
        choices=[("", _("None")), (Role.COMMISSIONER.value, Role.COMMISSIONER.label)],
        required=False,
    )
    covers_courtyards = forms.BooleanField(
        label=_("Counts for the coverage of courtyards"), required=False
    )
