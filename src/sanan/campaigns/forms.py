"""Forms of the campaign pages (the services validate the rules; these clean the input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sanan.campaigns.models import CampaignKind


class DateInput(forms.DateInput):
    input_type = "date"


class CampaignForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CampaignKind.choices)
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    place: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Run by (place)"), queryset=None
    )
    categories: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("Categories"),
        queryset=None,
        required=False,
        help_text=_("Level-1 or level-2 categories; none means every category."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    places: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("Places"),
        queryset=None,
        required=False,
        help_text=_("Courtyards or areas inside the campaign's place; none means all of it."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    starts_on = forms.DateField(label=_("Starts on"), widget=DateInput)
    ends_on = forms.DateField(label=_("Ends on"), widget=DateInput)
    target_solved = forms.IntegerField(label=_("Problems to solve"), min_value=0)
    target_resolution_percent = forms.IntegerField(
        label=_("Resolution rate to reach (%)"), required=False, min_value=0, max_value=1000
    )
    owner_organisation: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Owning organisation"), queryset=None
    )

    def __init__(self, *args: Any, places: Any, categories: Any, organisations: Any, **kw: Any):
        super().__init__(*args, **kw)
        top = places.filter(kind__in=["community", "subdistrict", "district", "city"])
        self.fields["place"].queryset = top  # type: ignore[attr-defined]
        self.fields["places"].queryset = places.filter(kind__in=["area", "courtyard"])  # type: ignore[attr-defined]
        self.fields["categories"].queryset = categories  # type: ignore[attr-defined]
        self.fields["owner_organisation"].queryset = organisations  # type: ignore[attr-defined]


class LinkForm(forms.Form):
    order = forms.IntegerField(label=_("Order number (id)"), min_value=1)
    reason = forms.CharField(label=_("Why"), max_length=200, required=False)


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=160)
    due_on = forms.DateField(label=_("Due on"), widget=DateInput)
    owner_organisation: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Organisation"), queryset=None, required=False
    )

    def __init__(self, *args: Any, organisations: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["owner_organisation"].queryset = organisations  # type: ignore[attr-defined]


class CloseForm(forms.Form):
    note = forms.CharField(
        label=_("Closing summary"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
