"""Forms of the hotline desk pages; the services decide, the forms only read what was typed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sanan.core.errors import DomainError
from sanan.hotline.models import CallType, Outcome


class DomainErrorForm(forms.Form):
    domain_message: str = ""
    domain_code: str = ""

    def add_domain_error(self, error: DomainError) -> None:
        self.domain_message = str(error.message)
        self.domain_code = error.code
        for name, messages in error.fields.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)
        if not error.fields:
            self.add_error(None, str(error.message))


class CallForm(DomainErrorForm):
    phone = forms.CharField(
        label=_("Caller's number"),
        required=False,
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    contact_name = forms.CharField(
        label=_("Caller's name"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    call_type = forms.ChoiceField(
        label=_("Kind of call"), choices=CallType.choices, initial=CallType.CONSULTATION
    )
    summary = forms.CharField(
        label=_("What the caller says"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )
    category: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Kind of problem"), queryset=None, required=False
    )
    place: forms.ModelChoiceField[Any] = forms.ModelChoiceField(label=_("Courtyard"), queryset=None)
    house: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Building (if it is in one)"), queryset=None, required=False
    )
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    knowledge = forms.IntegerField(required=False, widget=forms.HiddenInput)
    started_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    callback_due_at = forms.DateTimeField(
        label=_("Call back by"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    outcome = forms.ChoiceField(choices=Outcome.choices, required=False)
    duplicate_of = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, categories: Any, places: Any, houses: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["category"].queryset = categories
        fields["category"].empty_label = _("— choose when a work order is needed —")
        fields["place"].queryset = places
        fields["place"].empty_label = None
        fields["house"].queryset = houses


class KnowledgeForm(DomainErrorForm):
    question = forms.CharField(label=_("Question"), max_length=200)
    answer = forms.CharField(
        label=_("Answer"), widget=forms.Textarea(attrs={"rows": 8}), max_length=4000
    )  # services.MAX_ANSWER: the service would cut a longer one short
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        max_length=200,
        help_text=_("Other words callers use for this, separated by spaces."),
    )
    category: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Category"), queryset=None, required=False
    )
    place: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Applies in"), queryset=None
    )

    def __init__(self, *args: Any, categories: Any, places: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["category"].queryset = categories
        fields["place"].queryset = places
        fields["place"].empty_label = None
