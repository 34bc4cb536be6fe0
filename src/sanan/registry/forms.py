"""Forms of the registry pages.

The forms only parse what people typed (dates, numbers, choices); the rules live in the services.
A ``DomainError`` from a service comes back through ``RegistryForm.add_domain_error``: its
message above the form, its ``fields`` next to the fields they name.

Choices (households, dwellings, residents, courtyards) are read through the registry selectors
for the acting user, so a form never offers what the user may not see or change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sanan.accounts.permissions import permissions_for
from sanan.core.errors import DomainError
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.registry import selectors
from sanan.registry.models import (
    Gender,
    Household,
    HouseUse,
    Relation,
    RentalState,
    ResidenceType,
    Resident,
    ResidentStatus,
    VehicleKind,
)

COURTYARD_LEN = (KIND_ORDER.index(PlaceKind.COURTYARD) + 1) * Place.steplen
HOUSE_LEN = COURTYARD_LEN + Place.steplen

Choices = list[tuple[Any, Any]]


# --- widgets ---------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _date(label: Any, *, required: bool = False, help_text: Any = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput(), help_text=help_text)


def _personal(label: Any, *, kind: str = "text", help_text: Any = "") -> forms.CharField:
    """A personal number: never autocompleted or remembered by the browser."""
    attrs = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
    if kind == "tel":
        attrs["inputmode"] = "tel"
    widget = forms.TextInput(attrs={**attrs, "type": kind})
    return forms.CharField(
        label=label, required=False, max_length=40, widget=widget, help_text=help_text
    )


# --- the base form ---------------------------------------------------------------------------


class RegistryForm(forms.Form):
    """A form whose errors may also come from a service's ``DomainError``."""

    # service field name -> form field name, where they differ
    field_map: ClassVar[dict[str, str]] = {}
    required_css_class = "required"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.domain_message = ""
        self.domain_code = ""
        self.existing_resident: Resident | None = None

    def _choices(self, name: str) -> forms.ChoiceField:
        """A choice field of this form, to set its choices."""
        return cast(forms.ChoiceField, self.fields[name])

    def add_domain_error(self, exc: DomainError) -> None:
        """Show a service's refusal: its message above the form, field messages beside them
        (Django marks those fields ``aria-invalid`` and points to the message)."""
        self.domain_message = str(exc.message)
        self.domain_code = exc.code
        if not hasattr(self, "cleaned_data"):
            self.cleaned_data = {}
        for name, messages in exc.fields.items():
            target = self.field_map.get(name, name)
            if target in self.fields:
                for message in messages:
                    self.add_error(target, message)


# --- places, households, residents offered by the forms --------------------------------------


def courtyard_of(place: Place) -> Place | None:
    """The courtyard a house or unit belongs to (the place itself for a courtyard)."""
    if len(place.path) < COURTYARD_LEN:
        return None
    if len(place.path) == COURTYARD_LEN:
        return place
    return Place.objects.filter(path=place.path[:COURTYARD_LEN]).first()


def courtyards_for(user: Any, action: str = selectors.VIEW) -> list[Place]:
    """The courtyards holding registry records the user may read (or change, with ``action``):
    those inside their scope, and the one around a narrower scope (a resident's unit)."""
    roots = permissions_for(user).scope_paths(action)
    qs = Place.objects.filter(kind=PlaceKind.COURTYARD)
    if roots != [""]:
        if not roots:
            return []
        cond = Q(path__in={r[:COURTYARD_LEN] for r in roots if len(r) >= COURTYARD_LEN})
        for root in roots:
            cond |= Q(path__startswith=root)
        qs = qs.filter(cond)
    return list(qs.order_by("path"))


def courtyard_choices(courtyards: Iterable[Place], *, blank: Any = None) -> Choices:
    choices: Choices = [("", blank or _("Choose a courtyard"))]
    choices += [(str(c.pk), c.name) for c in courtyards]
    return choices


@dataclass
class Dwelling:
    """A unit, or a house without units: where a household lives."""

    place: Place
    house: Place
    households: list[Household] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.place.pk == self.house.pk:
            return self.house.name
        return f"{self.house.name} {self.place.name}"


@dataclass
class Courtyard:
    """The houses, dwellings and households of one courtyard, as a user may change them."""

    place: Place
    houses: list[Place]
    dwellings: list[Dwelling]

    def household_choices(self, *, exclude: int | None = None) -> Choices:
        groups: dict[str, list[tuple[str, str]]] = {}
        for d in self.dwellings:
            for h in d.households:
                if h.pk != exclude:
                    groups.setdefault(d.house.name, []).append((str(h.pk), household_label(h, d)))
        return [("", _("Choose a household")), *groups.items()]

    def home_choices(self) -> Choices:
        """Join a household (``h:<id>``) or found one in a dwelling (``p:<id>``)."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for d in self.dwellings:
            options = groups.setdefault(d.house.name, [])
            for h in d.households:
                options.append((f"h:{h.pk}", household_label(h, d)))
            options.append(
                (f"p:{d.place.pk}", str(_("%(place)s · a new household")) % {"place": d.label})
            )
        return [("", _("Choose from the list")), *groups.items()]

    def dwelling_choices(self, *, with_houses: bool = False) -> Choices:
        choices: Choices = [("", _("Choose a house or unit"))]
        seen: set[int] = set()
        for d in self.dwellings:
            if with_houses and d.house.pk not in seen:
                seen.add(d.house.pk)
                if d.place.pk != d.house.pk:
                    choices.append((str(d.house.pk), d.house.name))
            choices.append((str(d.place.pk), d.label))
        return choices

    def parking_choices(self) -> Choices:
        return [
            (
                str(self.place.pk),
                str(_("%(courtyard)s (the courtyard)")) % {"courtyard": self.place.name},
            ),
            *[(str(h.pk), h.name) for h in self.houses],
        ]


def household_label(household: Household, dwelling: Dwelling | None = None) -> str:
    members = getattr(household, "active_members", None)
    n = len(members) if members is not None else 0
    head = household.head.name if household.head is not None else household.code
    where = dwelling.label if dwelling is not None else household.place.name
    people = ngettext("%(n)d person", "%(n)d people", n) % {"n": n}
    return f"{where} · {head} · {people}"


def courtyard_for(user: Any, courtyard: Place, action: str = selectors.EDIT) -> Courtyard:
    """Houses, dwellings and households of a courtyard within the user's ``action`` scope
    (three queries)."""
    places = list(
        Place.objects.visible_to(user, action)
        .filter(path__startswith=courtyard.path, kind__in=[PlaceKind.HOUSE, PlaceKind.UNIT])
        .order_by("path")
    )
    houses = [p for p in places if p.kind == PlaceKind.HOUSE]
    units: dict[str, list[Place]] = {}
    for p in places:
        if p.kind == PlaceKind.UNIT:
            units.setdefault(p.path[:HOUSE_LEN], []).append(p)
    households: dict[int, list[Household]] = {}
    for h in selectors.filter_by_place(
        selectors.household_list(user=user, action=action), courtyard
    ):
        households.setdefault(h.place_id, []).append(h)
    dwellings = [
        Dwelling(place=place, house=house, households=households.get(place.pk, []))
        for house in houses
        for place in units.get(house.path, [house])
    ]
    return Courtyard(place=courtyard, houses=houses, dwellings=dwellings)


def residents_of(user: Any, place: Place, *, action: str = selectors.EDIT) -> list[Resident]:
    """People living in a place's subtree (for owner, landlord and tenant choices)."""
    return list(
        Resident.objects.visible_to(user, action)
        .filter(place__path__startswith=place.path, status=ResidentStatus.ACTIVE)
        .select_related("place")
        .order_by("place__path", "household_id", "id")
    )


def resident_choices(
    residents: Iterable[Resident], *, blank: Any = None, keep: Resident | None = None
) -> Choices:
    people = list(residents)
    if keep is not None and keep not in people:
        people.insert(0, keep)
    choices: Choices = [("", blank)] if blank is not None else []
    choices += [(str(r.pk), f"{r.name} · {r.place.name}") for r in people]
    return choices


def _pick(options: Iterable[Any], value: Any) -> Any:
    """The object of ``options`` whose pk is ``value`` (a form's cleaned choice)."""
    for option in options:
        if str(option.pk) == str(value):
            return option
    return None


# --- residents -------------------------------------------------------------------------------


class ResidentForm(RegistryForm):
    """Register a resident (``home`` set) or correct a resident's record (``home`` absent)."""

    field_map: ClassVar[dict[str, str]] = {"household": "home", "place": "home"}

    home = forms.ChoiceField(
        label=_("Household or flat"),
        help_text=_("Join a household, or start a new household in a flat or house."),
    )
    relation_to_head = forms.ChoiceField(
        label=_("Relation to the head of the household"), choices=Relation.choices
    )
    name = forms.CharField(
        label=_("Name"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    id_number = _personal(
        _("ID number"),
        help_text=_("18 characters. Date of birth and gender are read from it."),
    )
    gender = forms.ChoiceField(
        label=_("Gender"),
        required=False,
        choices=[("", _("Not given")), *Gender.choices],
        help_text=_("Only needed without an ID number."),
    )
    birth_date = _date(_("Date of birth"), help_text=_("Only needed without an ID number."))
    phone = _personal(
        _("Phone"),
        kind="tel",
        help_text=_("Mobile (11 digits) or landline with area code, e.g. 0833-1234567."),
    )
    phone2 = _personal(_("Second phone"), kind="tel")
    residence_type = forms.ChoiceField(label=_("Residence type"), choices=ResidenceType.choices)
    registration_expires_on = _date(
        _("Residence registration expires on"),
        help_text=_("Migrants and renters only."),
    )
    work_or_school = forms.CharField(label=_("Work or school"), max_length=120, required=False)
    moved_in_on = _date(_("Moved in on"))
    tags = forms.MultipleChoiceField(
        label=_("Care tags"), required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label=_("Note for the record"),
        max_length=200,
        required=False,
        help_text=_("Optional: why, or where the information comes from."),
    )

    def __init__(
        self,
        *args: Any,
        user: Any,
        courtyard: Courtyard | None = None,
        resident: Resident | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.courtyard = courtyard
        self.resident = resident
        if resident is None:
            self._choices("home").choices = (
                courtyard.home_choices()
                if courtyard is not None
                else [("", _("First choose the courtyard above"))]
            )
            self._choices("tags").choices = [
                (t.code, t.display_label) for t in selectors.care_tag_list(user=user)
            ]
            self.fields["relation_to_head"].required = False
            self._choices("relation_to_head").choices = [
                ("", "—"),
                *Relation.choices,
            ]
            self.fields["relation_to_head"].help_text = _(
                "When joining a household. A new household's first person is its head."
            )
        else:
            del self.fields["home"]
            del self.fields["tags"]
            keep = _("Leave empty to keep %(masked)s.")
            for name in ("id_number", "phone", "phone2"):
                masked = getattr(resident, f"{name}_masked")
                if masked:
                    self.fields[name].help_text = keep % {"masked": masked}
                    self.fields[name].widget.attrs["placeholder"] = masked
            if resident.id_number_index:
                for name in ("gender", "birth_date"):
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _("Read from the ID number.")

    def home_target(self) -> tuple[Household | None, Place | None]:
        """The household to join, or the dwelling of a new household (for ``home``)."""
        value = str(self.cleaned_data.get("home") or "")
        kind, _sep, pk = value.partition(":")
        if self.courtyard is None:
            return None, None
        for d in self.courtyard.dwellings:
            if kind == "p" and str(d.place.pk) == pk:
                return None, d.place
            for h in d.households:
                if kind == "h" and str(h.pk) == pk:
                    return h, None
        return None, None

    def register_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "id_number": data.get("id_number") or "",
            "gender": data.get("gender") or "",
            "birth_date": data.get("birth_date"),
            "phone": data.get("phone") or "",
            "phone2": data.get("phone2") or "",
            "relation_to_head": data.get("relation_to_head") or Relation.OTHER_RELATIVE,
            "residence_type": data["residence_type"],
            "work_or_school": data.get("work_or_school") or "",
            "moved_in_on": data.get("moved_in_on"),
            "registration_expires_on": data.get("registration_expires_on"),
            "tags": data.get("tags") or [],
            "reason": data.get("reason") or "",
        }

    def update_kwargs(self) -> dict[str, Any]:
        """What changes: every field as typed, but empty numbers keep the stored ones."""
        data = self.cleaned_data
        kwargs: dict[str, Any] = {
            name: data.get(name)
            for name in (
                "name",
                "gender",
                "birth_date",
                "relation_to_head",
                "residence_type",
                "work_or_school",
                "moved_in_on",
                "registration_expires_on",
            )
        }
        kwargs["gender"] = kwargs["gender"] or ""
        kwargs["work_or_school"] = kwargs["work_or_school"] or ""
        assert self.resident is not None
        if self.resident.id_number_index and not data.get("id_number"):
            # gender and date of birth come from the stored number: keep them as they are
            del kwargs["gender"], kwargs["birth_date"]
        for name in ("id_number", "phone", "phone2"):
            if data.get(name):
                kwargs[name] = data[name]
        return kwargs


class MoveOutForm(RegistryForm):
    on = _date(_("Moved out on"), required=True)
    deceased = forms.BooleanField(label=_("The person has died"), required=False)
    reason = forms.CharField(label=_("Reason or where to"), max_length=200, required=False)


class MoveForm(RegistryForm):
    """Move in (back) or change household: the household to live in, from a courtyard."""

    household = forms.ChoiceField(label=_("New household"))
    relation_to_head = forms.ChoiceField(
        label=_("Relation to the head of the household"),
        choices=Relation.choices,
        initial=Relation.OTHER_RELATIVE,
    )
    on = _date(_("Date of the move"), required=True)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(
        self, *args: Any, courtyard: Courtyard | None, exclude: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.courtyard = courtyard
        self._choices("household").choices = (
            courtyard.household_choices(exclude=exclude)
            if courtyard is not None
            else [("", _("First choose the courtyard above"))]
        )

    def chosen_household(self) -> Household | None:
        if self.courtyard is None:
            return None
        households = [h for d in self.courtyard.dwellings for h in d.households]
        found: Household | None = _pick(households, self.cleaned_data.get("household"))
        return found


class RevealForm(RegistryForm):
    numbers = forms.MultipleChoiceField(
        label=_("Which numbers"), widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label=_("Why do you need the full number?"),
        max_length=500,
        required=False,
        help_text=_("Recorded in the audit log, e.g. 回访 (call-back)."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    field_map: ClassVar[dict[str, str]] = {"fields": "numbers"}

    def __init__(self, *args: Any, resident: Resident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = {"id_number": _("ID number"), "phone": _("Phone"), "phone2": _("Second phone")}
        choices = [(n, label) for n, label in labels.items() if getattr(resident, f"{n}_masked")]
        self._choices("numbers").choices = choices
        self.fields["numbers"].initial = [n for n, _label in choices]


class TagAddForm(RegistryForm):
    tag = forms.ChoiceField(label=_("Care tag"))
    since = _date(_("Since"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    field_map: ClassVar[dict[str, str]] = {"tags": "tag"}

    def __init__(self, *args: Any, user: Any, resident: Resident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        held = {t.tag_id for t in resident.tags.all()}
        self._choices("tag").choices = [("", _("Choose a tag"))] + [
            (t.code, t.display_label)
            for t in selectors.care_tag_list(user=user)
            if t.pk not in held
        ]


# --- households ------------------------------------------------------------------------------


class HouseholdForm(RegistryForm):
    place = forms.ChoiceField(label=_("Flat or house"))
    code = forms.CharField(
        label=_("Household code"),
        max_length=64,
        required=False,
        help_text=_("Leave empty to number it automatically."),
    )

    def __init__(self, *args: Any, courtyard: Courtyard | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.courtyard = courtyard
        self._choices("place").choices = (
            courtyard.dwelling_choices()
            if courtyard is not None
            else [("", _("First choose the courtyard above"))]
        )

    def chosen_place(self) -> Place | None:
        if self.courtyard is None:
            return None
        found: Place | None = _pick(
            [d.place for d in self.courtyard.dwellings], self.cleaned_data.get("place")
        )
        return found


class SetHeadForm(RegistryForm):
    resident = forms.ChoiceField(label=_("New head of the household"))
    previous_head_relation = forms.ChoiceField(
        label=_("The previous head becomes"),
        choices=Relation.choices,
        initial=Relation.OTHER_RELATIVE,
    )
    field_map: ClassVar[dict[str, str]] = {"head": "resident"}

    def __init__(self, *args: Any, members: list[Resident], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = members
        self._choices("resident").choices = [(str(m.pk), m.name) for m in members]

    def chosen(self) -> Resident | None:
        found: Resident | None = _pick(self.members, self.cleaned_data.get("resident"))
        return found


# --- houses, rentals, vehicles ---------------------------------------------------------------


class HouseProfileForm(RegistryForm):
    house_number = forms.CharField(label=_("House number"), max_length=40, required=False)
    owner = forms.ChoiceField(label=_("Owner (a resident)"), required=False)
    owner_name = forms.CharField(
        label=_("Owner, when not a resident here"), max_length=60, required=False
    )
    floors = forms.IntegerField(label=_("Floors"), required=False, min_value=1, max_value=100)
    use = forms.ChoiceField(label=_("Use"), choices=HouseUse.choices)
    self_built = forms.BooleanField(label=_("Self-built"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    reason = forms.CharField(label=_("Reason for the change"), max_length=200, required=False)

    def __init__(
        self, *args: Any, people: list[Resident], keep: Resident | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.people = [keep, *people] if keep is not None and keep not in people else people
        self._choices("owner").choices = resident_choices(people, blank=_("Nobody here"), keep=keep)

    def kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "house_number": data.get("house_number") or "",
            "owner": _pick(self.people, data.get("owner")),
            "owner_name": data.get("owner_name") or "",
            "floors": data.get("floors"),
            "use": data["use"],
            "self_built": bool(data.get("self_built")),
            "note": data.get("note") or "",
            "reason": data.get("reason") or "",
        }


class RentalForm(RegistryForm):
    place = forms.ChoiceField(label=_("Rented house or unit"))
    landlord = forms.ChoiceField(label=_("Landlord (a resident)"), required=False)
    landlord_name = forms.CharField(
        label=_("Landlord, when not a resident here"), max_length=60, required=False
    )
    tenants = forms.MultipleChoiceField(
        label=_("Tenants"), required=False, widget=forms.CheckboxSelectMultiple
    )
    starts_on = _date(_("From"))
    ends_on = _date(_("Until"))
    registration_state = forms.ChoiceField(
        label=_("Registered with the community"), choices=RentalState.choices
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(
        self,
        *args: Any,
        places: Choices | None,
        people: list[Resident],
        tenants: list[Resident],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if places is None:
            del self.fields["place"]
        else:
            self._choices("place").choices = places
        self.people = people
        self.tenant_options = tenants
        self._choices("landlord").choices = resident_choices(people, blank=_("Nobody here"))
        self._choices("tenants").choices = [
            (str(r.pk), f"{r.name} · {r.place.name}") for r in tenants
        ]

    def kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        chosen = set(data.get("tenants") or [])
        return {
            "landlord": _pick(self.people, data.get("landlord")),
            "landlord_name": data.get("landlord_name") or "",
            "tenants": [r for r in self.tenant_options if str(r.pk) in chosen],
            "starts_on": data.get("starts_on"),
            "ends_on": data.get("ends_on"),
            "registration_state": data["registration_state"],
            "note": data.get("note") or "",
        }


class InspectForm(RegistryForm):
    note = forms.CharField(label=_("What was checked"), max_length=500, required=False)


class VehicleForm(RegistryForm):
    plate = forms.CharField(
        label=_("Plate"),
        max_length=20,
        help_text=_("e.g. 川L12345, or 川LD12345 for a new-energy vehicle."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=VehicleKind.choices)
    description = forms.CharField(label=_("Make and colour"), max_length=60, required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    place = forms.ChoiceField(label=_("Parks at"))

    def __init__(
        self,
        *args: Any,
        people: list[Resident],
        keep_owner: Resident | None,
        parking: Choices,
        parking_places: list[Place],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.people = [keep_owner, *people] if keep_owner and keep_owner not in people else people
        self.parking_places = parking_places
        self._choices("owner").choices = resident_choices(
            people, blank=_("Not a resident here"), keep=keep_owner
        )
        self._choices("place").choices = parking

    def kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "plate": data["plate"],
            "kind": data["kind"],
            "description": data.get("description") or "",
            "owner": _pick(self.people, data.get("owner")),
            "place": _pick(self.parking_places, data.get("place")),
        }


class ReasonForm(RegistryForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


# --- export, import --------------------------------------------------------------------------


class ExportForm(RegistryForm):
    """Export the residents of a search: masked, or in full with a reason (``pii.reveal``)."""

    format = forms.ChoiceField(
        label=_("File"), choices=[("xlsx", _("Excel (XLSX)")), ("csv", "CSV")], initial="xlsx"
    )
    reveal = forms.BooleanField(label=_("Full ID and phone numbers"), required=False)
    reason = forms.CharField(
        label=_("Why full numbers are needed"),
        max_length=500,
        required=False,
        help_text=_("Recorded in the audit log. Without full numbers, the file has masks."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, can_reveal: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_reveal:
            del self.fields["reveal"]
            del self.fields["reason"]


class ImportUploadForm(RegistryForm):
    file = forms.FileField(
        label=_("Spreadsheet"),
        help_text=_("XLSX from Excel or WPS, or CSV. The first rows may hold a title."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,text/csv"}),
    )
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        required=False,
        help_text=_("Leave it to Sanan to tell from the column headers, or choose."),
    )

    def __init__(self, *args: Any, kinds: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("kind").choices = [("", _("Tell from the headers")), *kinds]


class ImportMappingForm(RegistryForm):
    """One drop-down per column of the file: the registry field it holds, or nothing."""

    def __init__(
        self,
        *args: Any,
        columns: Iterable[Any],
        fields: Choices,
        mapping: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.columns = list(columns)
        options: Choices = [("", _("— leave out —")), *fields]
        for i, column in enumerate(self.columns):
            self.fields[f"col_{i}"] = forms.ChoiceField(
                label=column.header or column.letter,
                required=False,
                choices=options,
                initial=mapping.get(column.key, ""),
            )

    def rows(self) -> list[tuple[Any, forms.BoundField]]:
        """Each column of the file with its drop-down."""
        return [(c, self[f"col_{i}"]) for i, c in enumerate(self.columns)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        seen: dict[str, str] = {}
        for i, _column in enumerate(self.columns):
            value = data.get(f"col_{i}")
            if not value:
                continue
            if value in seen:
                self.add_error(
                    f"col_{i}", _("Another column already holds this: choose one of them.")
                )
            seen[value] = f"col_{i}"
        return data

    def mapping(self) -> dict[str, str]:
        return {c.key: self.cleaned_data.get(f"col_{i}") or "" for i, c in enumerate(self.columns)}


__all__ = [
    "Courtyard",
    "ExportForm",
    "HouseProfileForm",
    "HouseholdForm",
    "ImportMappingForm",
    "ImportUploadForm",
    "InspectForm",
    "MoveForm",
    "MoveOutForm",
    "ReasonForm",
    "RentalForm",
    "ResidentForm",
    "RevealForm",
    "SetHeadForm",
    "TagAddForm",
    "VehicleForm",
    "courtyard_for",
    "courtyard_of",
    "courtyards_for",
]
