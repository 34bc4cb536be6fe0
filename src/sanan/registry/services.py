"""Writes for the registry: households, residents and their moves, houses, rentals, vehicles,
care tags, and revealing protected numbers. Each service is atomic and audited in the same
transaction; refusals are ``DomainError`` with stable codes.

The caller (page, API, import, command) has checked that the actor may do this here
(``resident.edit`` over the places involved; ``pii.reveal`` for ``resident_reveal``).

Arguments of ``*_update`` services default to ``KEEP`` (leave unchanged); ``""`` or ``None``
clears a field that may be empty.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from sanan.audit.services import audit_record
from sanan.core import clock, crypto
from sanan.core.errors import Conflict, DomainError
from sanan.core.validators import (
    IdNumber,
    mask_id_number,
    mask_phone,
    validate_id_number,
    validate_phone,
    validate_plate,
)
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import (
    ID_NUMBER_PURPOSE,
    PHONE_PURPOSE,
    CareTag,
    Gender,
    Household,
    HouseProfile,
    HouseUse,
    Relation,
    Rental,
    RentalState,
    ResidenceEvent,
    ResidenceEventKind,
    ResidenceType,
    Resident,
    ResidentNameGram,
    ResidentStatus,
    ResidentTag,
    StandardCareTag,
    Vehicle,
    VehicleKind,
    name_grams,
)

# Checked for every row of an import: ``Choices.values`` builds a new list on every call.
_GENDERS = frozenset(Gender.values)
_RESIDENCE_TYPES = frozenset(ResidenceType.values)
_RELATIONS = frozenset(Relation.values)


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP: Literal[_Keep.KEEP] = _Keep.KEEP
"""Default of update arguments: leave the field as it is."""

T = TypeVar("T")
Maybe: TypeAlias = T | Literal[_Keep.KEEP]


class ResidentAlreadyRegistered(Conflict):
    """The ID number belongs to a resident already in the registry: point to them."""

    def __init__(self, resident_id: int) -> None:
        super().__init__(
            "resident.already_registered",
            _(
                "This ID number is already registered: open the existing resident instead of "
                "adding the person again."
            ),
            fields={"id_number": [_("Already registered.")]},
        )
        self.resident_id = resident_id


# --- protected values ------------------------------------------------------------------------


@dataclass(frozen=True)
class Protected:
    """A personal number as stored: encrypted token, blind index, mask (all empty if none).
    Public for bulk writers (the import), which must store numbers exactly this way."""

    encrypted: str = ""
    index: str = ""
    masked: str = ""


def id_number_index(normalised: str) -> str:
    return crypto.blind_index(normalised, purpose=ID_NUMBER_PURPOSE)


def phone_index(normalised: str) -> str:
    return crypto.blind_index(normalised, purpose=PHONE_PURPOSE)


def protect_phone(value: str, field: str) -> Protected:
    if not value.strip():
        return Protected()
    number, _kind = validate_phone(value, field=field)
    return protect_valid_phone(number)


def protect_valid_phone(number: str, *, index: str = "") -> Protected:
    """A phone number ``validate_phone`` already normalised; ``index``: its blind index, when
    the caller has computed it already (a bulk import matches on it before writing)."""
    return Protected(
        crypto.encrypt(number, purpose=PHONE_PURPOSE),
        index or phone_index(number),
        mask_phone(number),
    )


def protect_id_number(checked: IdNumber, *, index: str = "") -> Protected:
    """``index``: the number's blind index, when the caller has computed it already."""
    return Protected(
        crypto.encrypt(checked.value, purpose=ID_NUMBER_PURPOSE),
        index or id_number_index(checked.value),
        mask_id_number(checked.value),
    )


def name_grams_write(residents: Iterable[tuple[int, str]], *, replace: bool = False) -> None:
    """Write the name pairs (``ResidentNameGram``) of residents given as ``(pk, name)``;
    ``replace``: their names changed, so their old pairs go first. Part of every write of a
    name (the services, the import), inside its transaction."""
    residents = list(residents)
    if replace:
        pks = [pk for pk, _name in residents]
        for start in range(0, len(pks), 500):
            ResidentNameGram.objects.filter(resident_id__in=pks[start : start + 500]).delete()
    grams = [ResidentNameGram(resident_id=pk, gram=g) for pk, n in residents for g in name_grams(n)]
    ResidentNameGram.objects.bulk_create(grams, batch_size=500)


def _set_phone(resident: Resident, slot: str, protected: Protected) -> None:
    setattr(resident, f"{slot}_encrypted", protected.encrypted)
    setattr(resident, f"{slot}_index", protected.index)
    setattr(resident, f"{slot}_masked", protected.masked)


def _set_id_number(resident: Resident, checked: IdNumber | None) -> None:
    if checked is None:
        resident.id_number_encrypted, resident.id_number_index, resident.id_number_masked = (
            "",
            None,
            "",
        )
        return
    protected = protect_id_number(checked)
    resident.id_number_encrypted = protected.encrypted
    resident.id_number_index = protected.index
    resident.id_number_masked = protected.masked


def _ensure_not_registered(index: str, *, exclude_pk: int | None = None) -> None:
    existing = Resident.objects.filter(id_number_index=index)
    if exclude_pk is not None:
        existing = existing.exclude(pk=exclude_pk)
    found = existing.values_list("pk", flat=True).first()
    if found is not None:
        raise ResidentAlreadyRegistered(found)


# --- validation helpers ----------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(
            "resident.name_required",
            _("Enter the resident's name."),
            fields={"name": [_("A name is required.")]},
        )
    if len(name) > 60:
        raise DomainError(
            "resident.name_too_long",
            _("A name has at most 60 characters."),
            fields={"name": [_("Shorten the name.")]},
        )
    return name


def _not_in_future(day: dt.date | None, field: str) -> None:
    if day is not None and day > clock.today():
        raise DomainError(
            "registry.date_in_future",
            _("This date is in the future: enter the day it happened."),
            fields={field: [_("Enter a date that is not in the future.")]},
        )


def _identity(
    checked: IdNumber | None, gender: str, birth_date: dt.date | None
) -> tuple[str, dt.date | None]:
    """Gender and date of birth: from the ID number when there is one (and they must agree)."""
    if gender and gender not in _GENDERS:
        raise DomainError(
            "resident.gender_invalid",
            _("Choose male or female."),
            fields={"gender": [_("Choose male or female.")]},
        )
    _not_in_future(birth_date, "birth_date")
    if checked is None:
        return gender, birth_date
    if birth_date is not None and birth_date != checked.birth_date:
        raise DomainError(
            "resident.birth_date_mismatch",
            _("The date of birth does not match the one inside the ID number: check both."),
            fields={"birth_date": [_("Does not match the ID number.")]},
        )
    if gender and gender != checked.gender:
        raise DomainError(
            "resident.gender_mismatch",
            _("The gender does not match the ID number (its 17th digit): check both."),
            fields={"gender": [_("Does not match the ID number.")]},
        )
    return checked.gender, checked.birth_date


def _residence(residence_type: str, expires_on: dt.date | None) -> None:
    if residence_type not in _RESIDENCE_TYPES:
        raise DomainError(
            "resident.residence_type_invalid",
            _("Choose registered, migrant or renter."),
            fields={"residence_type": [_("Choose registered, migrant or renter.")]},
        )
    if expires_on is not None and residence_type == ResidenceType.REGISTERED:
        raise DomainError(
            "resident.expiry_not_applicable",
            _("Only migrants and renters have a residence registration that expires."),
            fields={"registration_expires_on": [_("Leave empty for registered residents.")]},
        )


def _relation(value: str) -> str:
    if value not in _RELATIONS:
        raise DomainError(
            "resident.relation_invalid",
            _("Choose the relation to the head of the household."),
            fields={"relation_to_head": [_("Choose a relation from the list.")]},
        )
    return value


def _locked(household: Household) -> Household:
    """The household as stored now, locked until the transaction ends (its head may change)."""
    return (
        Household.objects.select_for_update(of=("self",))
        .select_related("head", "place")
        .get(pk=household.pk)
    )


def _head_free(household: Household, *, joining: Resident | None = None) -> None:
    """A household has one head: joining as head needs the place to be free."""
    head = household.head
    if head is not None and head.status == ResidentStatus.ACTIVE and head != joining:
        raise DomainError(
            "household.head_taken",
            _(
                "This household already has a head: choose the relation to the head, or "
                "change the head of the household first."
            ),
            fields={"relation_to_head": [_("The household already has a head.")]},
        )


def _actor_fields(actor: Any) -> dict[str, Any]:
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = user.get_username() if user is not None else str(actor or "system")
    return {"actor": user, "actor_label": label[:150]}


def _event(
    *,
    actor: Any,
    resident: Resident,
    kind: str,
    on: dt.date,
    reason: str,
    place: Place,
    from_household: Household | None = None,
    to_household: Household | None = None,
) -> ResidenceEvent:
    return ResidenceEvent.objects.create(
        resident=resident,
        kind=kind,
        on=on,
        reason=reason[:200],
        place=place,
        from_household=from_household,
        to_household=to_household,
        from_place=from_household.place if from_household else None,
        to_place=to_household.place if to_household else None,
        **_actor_fields(actor),
    )


# --- households ------------------------------------------------------------------------------


def _dwelling(place: Place) -> None:
    """A household lives in a unit, or in a house without units."""
    ok = place.kind == PlaceKind.UNIT or (
        place.kind == PlaceKind.HOUSE
        and not Place.objects.filter(path__startswith=place.path, depth=place.depth + 1).exists()
    )
    if not ok:
        raise DomainError(
            "household.wrong_place",
            _("A household lives in a unit (room), or in a house that has no units."),
            fields={"place": [_("Choose a unit, or a house without units.")]},
        )


def household_create(*, actor: Any, place: Place, code: str = "") -> Household:
    _dwelling(place)
    code = code.strip()
    with transaction.atomic():
        if not code:
            n = Household.objects.filter(place=place).count() + 1
            while Household.objects.filter(code=f"{place.code}-{n:02d}").exists():
                n += 1
            code = f"{place.code}-{n:02d}"
        elif Household.objects.filter(code=code).exists():
            raise DomainError(
                "household.code_taken",
                _("This household code is already used."),
                fields={"code": [_("Taken.")]},
            )
        household = Household.objects.create(place=place, code=code)
        audit_record(actor=actor, action="household.created", target=household)
    return household


def household_set_head(
    *,
    actor: Any,
    household: Household,
    resident: Resident,
    previous_head_relation: str = Relation.OTHER_RELATIVE,
    reason: str = "",
) -> Household:
    if resident.household_id != household.pk or resident.status != ResidentStatus.ACTIVE:
        raise DomainError(
            "household.head_not_member",
            _("The head of a household must be one of the people living in it."),
            fields={"head": [_("Choose a member of this household.")]},
        )
    _relation(previous_head_relation)
    with transaction.atomic():
        household = _locked(household)
        previous = household.head
        if (
            previous is not None
            and previous.pk != resident.pk
            and previous.relation_to_head == Relation.HEAD
        ):
            previous.relation_to_head = previous_head_relation
            previous.save(update_fields=["relation_to_head", "updated_at"])
        resident.relation_to_head = Relation.HEAD
        resident.save(update_fields=["relation_to_head", "updated_at"])
        household.head = resident
        household.save(update_fields=["head", "updated_at"])
        audit_record(
            actor=actor,
            action="household.head_set",
            target=household,
            reason=reason,
            data={"head": resident.pk, "previous": previous.pk if previous else None},
        )
    return household


# --- residents -------------------------------------------------------------------------------


def resident_register(
    *,
    actor: Any,
    name: str,
    household: Household | None = None,
    place: Place | None = None,
    id_number: str = "",
    gender: str = "",
    birth_date: dt.date | None = None,
    phone: str = "",
    phone2: str = "",
    relation_to_head: str = Relation.HEAD,
    residence_type: str = ResidenceType.REGISTERED,
    work_or_school: str = "",
    moved_in_on: dt.date | None = None,
    registration_expires_on: dt.date | None = None,
    tags: Sequence[str] = (),
    reason: str = "",
) -> Resident:
    """Add a person to a household, or (``place`` instead of ``household``) found a new
    household in that dwelling with them as its head.

    An ID number already in the registry raises ``ResidentAlreadyRegistered`` (409) naming the
    existing resident: a person is never registered twice."""
    if (household is None) == (place is None):
        raise DomainError(
            "resident.household_required",
            _("Choose the household the person lives in, or the dwelling of a new household."),
            fields={"household": [_("Choose a household.")]},
        )
    name = _clean_name(name)
    checked = validate_id_number(id_number) if id_number.strip() else None
    gender, birth_date = _identity(checked, gender, birth_date)
    _residence(residence_type, registration_expires_on)
    relation_to_head = _relation(relation_to_head)
    _not_in_future(moved_in_on, "moved_in_on")
    phone_protected = protect_phone(phone, "phone")
    phone2_protected = protect_phone(phone2, "phone2")
    if place is not None:
        _dwelling(place)
        relation_to_head = Relation.HEAD
    with transaction.atomic():
        if checked is not None:
            _ensure_not_registered(id_number_index(checked.value))
        if household is None:
            assert place is not None
            household = household_create(actor=actor, place=place)
        household = _locked(household)
        if relation_to_head == Relation.HEAD:
            _head_free(household)
        resident = Resident(
            household=household,
            place=household.place,
            name=name,
            gender=gender,
            birth_date=birth_date,
            relation_to_head=relation_to_head,
            residence_type=residence_type,
            work_or_school=work_or_school.strip()[:120],
            moved_in_on=moved_in_on,
            registration_expires_on=registration_expires_on,
        )
        _set_id_number(resident, checked)
        _set_phone(resident, "phone", phone_protected)
        _set_phone(resident, "phone2", phone2_protected)
        try:
            with transaction.atomic():
                resident.save(force_insert=True)
        except IntegrityError:
            if checked is not None:  # registered by someone else a moment ago
                _ensure_not_registered(id_number_index(checked.value))
            raise
        name_grams_write([(resident.pk, resident.name)])
        if relation_to_head == Relation.HEAD and household.head_id is None:
            household.head = resident
            household.save(update_fields=["head", "updated_at"])
        _event(
            actor=actor,
            resident=resident,
            kind=ResidenceEventKind.MOVED_IN,
            on=moved_in_on or clock.today(),
            reason=reason,
            place=household.place,
            to_household=household,
        )
        audit_record(
            actor=actor,
            action="resident.registered",
            target=resident,
            reason=reason,
            data={"household": household.code, "residence_type": residence_type},
        )
        for code in tags:
            resident_tag_add(actor=actor, resident=resident, tag=code)
    return resident


def resident_update(
    *,
    actor: Any,
    resident: Resident,
    name: Maybe[str] = KEEP,
    id_number: Maybe[str] = KEEP,
    gender: Maybe[str] = KEEP,
    birth_date: Maybe[dt.date | None] = KEEP,
    phone: Maybe[str] = KEEP,
    phone2: Maybe[str] = KEEP,
    relation_to_head: Maybe[str] = KEEP,
    residence_type: Maybe[str] = KEEP,
    work_or_school: Maybe[str] = KEEP,
    moved_in_on: Maybe[dt.date | None] = KEEP,
    registration_expires_on: Maybe[dt.date | None] = KEEP,
    reason: str = "",
) -> Resident:
    """Correct or complete a resident's record; moves go through the move services."""
    changed: list[str] = []
    if name is not KEEP:
        name = _clean_name(name)
        if name != resident.name:
            resident.name = name
            changed.append("name")
    given_gender = "" if gender is KEEP else gender
    given_birth = None if birth_date is KEEP else birth_date
    if id_number is not KEEP:
        checked = validate_id_number(id_number) if id_number.strip() else None
        new_index = id_number_index(checked.value) if checked else None
        if new_index != resident.id_number_index:
            if new_index is not None:
                _ensure_not_registered(new_index, exclude_pk=resident.pk)
            _set_id_number(resident, checked)
            changed.append("id_number")
        if checked is None:  # no ID number: what was typed, or what was there
            new_gender, new_birth = _identity(
                None,
                resident.gender if gender is KEEP else gender,
                resident.birth_date if birth_date is KEEP else birth_date,
            )
        else:  # a (new) ID number brings its own gender and date of birth
            new_gender, new_birth = _identity(checked, given_gender, given_birth)
    elif resident.id_number_index:
        # Gender and date of birth were read from the ID number: they change with it only.
        if given_birth is not None and given_birth != resident.birth_date:
            _identity(None, "", given_birth)  # a date in the future says so first
            raise DomainError(
                "resident.birth_date_mismatch",
                _("The date of birth does not match the one inside the ID number: check both."),
                fields={"birth_date": [_("Does not match the ID number.")]},
            )
        if given_gender and given_gender != resident.gender:
            raise DomainError(
                "resident.gender_mismatch",
                _("The gender does not match the ID number (its 17th digit): check both."),
                fields={"gender": [_("Does not match the ID number.")]},
            )
        new_gender, new_birth = resident.gender, resident.birth_date
    else:
        new_gender, new_birth = _identity(
            None,
            resident.gender if gender is KEEP else gender,
            resident.birth_date if birth_date is KEEP else birth_date,
        )
    if new_gender != resident.gender:
        resident.gender = new_gender
        changed.append("gender")
    if new_birth != resident.birth_date:
        resident.birth_date = new_birth
        changed.append("birth_date")
    for slot, value in (("phone", phone), ("phone2", phone2)):
        if value is KEEP:
            continue
        protected = protect_phone(value, slot)
        if protected.index != getattr(resident, f"{slot}_index"):
            _set_phone(resident, slot, protected)
            changed.append(slot)
    if relation_to_head is not KEEP and relation_to_head != resident.relation_to_head:
        _relation(relation_to_head)
        if relation_to_head == Relation.HEAD:
            current = Household.objects.select_related("head").get(pk=resident.household_id)
            _head_free(current, joining=resident)
        resident.relation_to_head = relation_to_head
        changed.append("relation_to_head")
    new_type = resident.residence_type if residence_type is KEEP else residence_type
    new_expiry = (
        resident.registration_expires_on
        if registration_expires_on is KEEP
        else registration_expires_on
    )
    _residence(new_type, new_expiry)
    if new_type != resident.residence_type:
        resident.residence_type = new_type
        changed.append("residence_type")
    if new_expiry != resident.registration_expires_on:
        resident.registration_expires_on = new_expiry
        changed.append("registration_expires_on")
    if work_or_school is not KEEP and work_or_school.strip() != resident.work_or_school:
        resident.work_or_school = work_or_school.strip()[:120]
        changed.append("work_or_school")
    if moved_in_on is not KEEP and moved_in_on != resident.moved_in_on:
        _not_in_future(moved_in_on, "moved_in_on")
        resident.moved_in_on = moved_in_on
        changed.append("moved_in_on")
    if not changed:
        return resident
    fields = {
        "id_number": ["id_number_encrypted", "id_number_index", "id_number_masked"],
        "phone": ["phone_encrypted", "phone_index", "phone_masked"],
        "phone2": ["phone2_encrypted", "phone2_index", "phone2_masked"],
    }
    update_fields = [f for name in changed for f in fields.get(name, [name])]
    with transaction.atomic():
        try:
            with transaction.atomic():
                resident.save(update_fields=[*update_fields, "updated_at"])
        except IntegrityError:
            if resident.id_number_index:
                _ensure_not_registered(resident.id_number_index, exclude_pk=resident.pk)
            raise
        if "name" in changed:
            name_grams_write([(resident.pk, resident.name)], replace=True)
        if "relation_to_head" in changed:
            household = _locked(resident.household)
            if resident.relation_to_head == Relation.HEAD and household.head_id is None:
                household.head = resident
                household.save(update_fields=["head", "updated_at"])
            elif resident.relation_to_head != Relation.HEAD:
                _leave_head(resident, household)
        audit_record(
            actor=actor,
            action="resident.updated",
            target=resident,
            reason=reason,
            data={"fields": changed},  # names only, never values
        )
    return resident


def _require_active(resident: Resident) -> None:
    if resident.status != ResidentStatus.ACTIVE:
        raise DomainError(
            "resident.not_living_here",
            _("This person no longer lives here: move them in first."),
        )


def _move_date(resident: Resident, on: dt.date) -> None:
    """A move is dated today or earlier, and not before the moves already recorded, so the
    history reads in order."""
    _not_in_future(on, "on")
    if resident.moved_in_on is not None and on < resident.moved_in_on:
        raise DomainError(
            "resident.move_before_move_in",
            _("This date is before the person moved in: check the date."),
            fields={"on": [_("Must not be before the moving-in date.")]},
        )
    last = resident.events.order_by("-on").values_list("on", flat=True).first()
    if last is not None and on < last:
        raise DomainError(
            "resident.move_before_history",
            _("This date is before the last move recorded for this person: check the date."),
            fields={"on": [_("Must not be before the last recorded move.")]},
        )


def _leave_head(resident: Resident, household: Household) -> None:
    """A head who leaves leaves the household without a head (to be chosen again)."""
    if household.head_id == resident.pk:
        household.head = None
        household.save(update_fields=["head", "updated_at"])


def resident_move_out(
    *,
    actor: Any,
    resident: Resident,
    on: dt.date,
    reason: str = "",
    deceased: bool = False,
) -> Resident:
    """The person left the community (or died). The record and its history stay."""
    _require_active(resident)
    _move_date(resident, on)
    with transaction.atomic():
        household = _locked(resident.household)
        resident.status = ResidentStatus.DECEASED if deceased else ResidentStatus.MOVED_OUT
        resident.moved_out_on = on
        resident.save(update_fields=["status", "moved_out_on", "updated_at"])
        _leave_head(resident, household)
        _event(
            actor=actor,
            resident=resident,
            kind=ResidenceEventKind.MOVED_OUT,
            on=on,
            reason=reason,
            place=household.place,
            from_household=household,
        )
        audit_record(
            actor=actor,
            action="resident.moved_out",
            target=resident,
            reason=reason,
            data={"on": on.isoformat(), "status": resident.status},
        )
    return resident


def resident_move_in(
    *,
    actor: Any,
    resident: Resident,
    household: Household,
    on: dt.date,
    relation_to_head: str = Relation.OTHER_RELATIVE,
    reason: str = "",
) -> Resident:
    """Someone who had moved out comes (back) to live in ``household``."""
    if resident.status == ResidentStatus.DECEASED:
        raise DomainError("resident.deceased", _("This person is recorded as deceased."))
    if resident.status == ResidentStatus.ACTIVE:
        raise DomainError(
            "resident.already_living_here",
            _("This person already lives in the community: change their household instead."),
        )
    if resident.moved_out_on is not None and on < resident.moved_out_on:
        raise DomainError(
            "resident.move_before_move_out",
            _("This date is before the person moved out: check the date."),
            fields={"on": [_("Must not be before the moving-out date.")]},
        )
    _move_date(resident, on)
    _relation(relation_to_head)
    with transaction.atomic():
        household = _locked(household)
        if relation_to_head == Relation.HEAD:
            _head_free(household)
        resident.household = household
        resident.place = household.place
        resident.status = ResidentStatus.ACTIVE
        resident.relation_to_head = relation_to_head
        resident.moved_in_on = on
        resident.moved_out_on = None
        resident.save(
            update_fields=[
                "household",
                "place",
                "status",
                "relation_to_head",
                "moved_in_on",
                "moved_out_on",
                "updated_at",
            ]
        )
        if relation_to_head == Relation.HEAD and household.head_id is None:
            household.head = resident
            household.save(update_fields=["head", "updated_at"])
        _event(
            actor=actor,
            resident=resident,
            kind=ResidenceEventKind.MOVED_IN,
            on=on,
            reason=reason,
            place=household.place,
            to_household=household,
        )
        audit_record(
            actor=actor,
            action="resident.moved_in",
            target=resident,
            reason=reason,
            data={"household": household.code, "on": on.isoformat()},
        )
    return resident


def resident_change_household(
    *,
    actor: Any,
    resident: Resident,
    household: Household,
    on: dt.date,
    relation_to_head: str = Relation.OTHER_RELATIVE,
    reason: str = "",
) -> Resident:
    """The person now lives in another household of the community (marriage, a new room...)."""
    _require_active(resident)
    if household.pk == resident.household_id:
        raise DomainError(
            "resident.same_household",
            _("The person already belongs to this household."),
            fields={"household": [_("Choose another household.")]},
        )
    _move_date(resident, on)
    _relation(relation_to_head)
    with transaction.atomic():
        household = _locked(household)
        if relation_to_head == Relation.HEAD:
            _head_free(household)
        previous = _locked(resident.household)
        _leave_head(resident, previous)
        resident.household = household
        resident.place = household.place
        resident.relation_to_head = relation_to_head
        resident.save(update_fields=["household", "place", "relation_to_head", "updated_at"])
        if relation_to_head == Relation.HEAD and household.head_id is None:
            household.head = resident
            household.save(update_fields=["head", "updated_at"])
        _event(
            actor=actor,
            resident=resident,
            kind=ResidenceEventKind.HOUSEHOLD_CHANGED,
            on=on,
            reason=reason,
            place=household.place,
            from_household=previous,
            to_household=household,
        )
        audit_record(
            actor=actor,
            action="resident.household_changed",
            target=resident,
            reason=reason,
            data={"from": previous.code, "to": household.code, "on": on.isoformat()},
        )
    return resident


REVEALABLE = ("id_number", "phone", "phone2")


def resident_reveal(
    *, actor: Any, resident: Resident, reason: str, fields: Iterable[str] = ("id_number", "phone")
) -> dict[str, str]:
    """The plain ID number and/or phones, for an actor with ``pii.reveal`` who says why;
    audited (``pii.revealed``, field names only) before anything is returned."""
    wanted = [f for f in REVEALABLE if f in set(fields)]
    if not wanted:
        raise DomainError(
            "pii.field_required",
            _("Choose what to show: the ID number or a phone number."),
            fields={"fields": [_("Choose at least one.")]},
        )
    readers = {
        "id_number": resident.id_number_reveal,
        "phone": resident.phone_reveal,
        "phone2": resident.phone2_reveal,
    }
    return crypto.pii_reveal(
        actor=actor, target=resident, reason=reason, values={f: readers[f] for f in wanted}
    )


# --- houses ----------------------------------------------------------------------------------


def _house_use(use: str) -> str:
    if use not in HouseUse.values:
        raise DomainError(
            "house.use_invalid",
            _("Choose what the house is used for."),
            fields={"use": [_("Choose from the list.")]},
        )
    return use


def house_profile_set(
    *,
    actor: Any,
    house: Place,
    house_number: Maybe[str] = KEEP,
    owner: Maybe[Resident | None] = KEEP,
    owner_name: Maybe[str] = KEEP,
    floors: Maybe[int | None] = KEEP,
    use: Maybe[str] = KEEP,
    self_built: Maybe[bool] = KEEP,
    note: Maybe[str] = KEEP,
    reason: str = "",
) -> HouseProfile:
    """Create or change what the registry knows of a house."""
    if house.kind != PlaceKind.HOUSE:
        raise DomainError(
            "house.wrong_place",
            _("House details belong to a house."),
            fields={"house": [_("Choose a house.")]},
        )
    if floors is not KEEP and floors is not None and not 1 <= floors <= 100:
        raise DomainError(
            "house.floors_invalid",
            _("A house has between 1 and 100 floors."),
            fields={"floors": [_("Enter a number from 1 to 100.")]},
        )
    if use is not KEEP:
        _house_use(use)
    values: dict[str, Any] = {
        "house_number": house_number.strip()[:40] if house_number is not KEEP else KEEP,
        "owner": owner,
        "owner_name": owner_name.strip()[:60] if owner_name is not KEEP else KEEP,
        "floors": floors,
        "use": use,
        "self_built": self_built,
        "note": note.strip()[:200] if note is not KEEP else KEEP,
    }
    with transaction.atomic():
        profile = HouseProfile.objects.select_for_update().filter(house=house).first()
        created = profile is None
        if profile is None:
            profile = HouseProfile(house=house)
        changed = [
            field
            for field, value in values.items()
            if value is not KEEP and getattr(profile, field) != value
        ]
        for field in changed:
            setattr(profile, field, values[field])
        if not changed and not created:
            return profile
        profile.save()
        audit_record(
            actor=actor,
            action="house.profile_set",
            target=profile,
            reason=reason,
            data={"fields": changed, "created": created},
        )
    return profile


# --- rentals ---------------------------------------------------------------------------------


def _rental_place(place: Place) -> None:
    if place.kind not in (PlaceKind.HOUSE, PlaceKind.UNIT):
        raise DomainError(
            "rental.wrong_place",
            _("A rental is a whole house or one unit of it."),
            fields={"place": [_("Choose a house or a unit.")]},
        )


def _rental_dates(starts_on: dt.date | None, ends_on: dt.date | None) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise DomainError(
            "rental.ends_before_start",
            _("The rental ends before it starts: check the dates."),
            fields={"ends_on": [_("Must be on or after the start date.")]},
        )


def _rental_state(state: str) -> str:
    if state not in RentalState.values:
        raise DomainError(
            "rental.state_invalid",
            _("Choose the registration state."),
            fields={"registration_state": [_("Choose from the list.")]},
        )
    return state


def rental_create(
    *,
    actor: Any,
    place: Place,
    landlord: Resident | None = None,
    landlord_name: str = "",
    tenants: Iterable[Resident] = (),
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    registration_state: str = RentalState.UNREGISTERED,
    note: str = "",
) -> Rental:
    _rental_place(place)
    _rental_dates(starts_on, ends_on)
    _rental_state(registration_state)
    tenant_list = list(tenants)
    with transaction.atomic():
        rental = Rental.objects.create(
            place=place,
            landlord=landlord,
            landlord_name=landlord_name.strip()[:60],
            starts_on=starts_on,
            ends_on=ends_on,
            registration_state=registration_state,
            note=note.strip()[:200],
        )
        if tenant_list:
            rental.tenants.set(tenant_list)
        audit_record(
            actor=actor,
            action="rental.created",
            target=rental,
            data={"tenants": len(tenant_list), "registration_state": registration_state},
        )
    return rental


def rental_update(
    *,
    actor: Any,
    rental: Rental,
    landlord: Maybe[Resident | None] = KEEP,
    landlord_name: Maybe[str] = KEEP,
    tenants: Maybe[Iterable[Resident]] = KEEP,
    starts_on: Maybe[dt.date | None] = KEEP,
    ends_on: Maybe[dt.date | None] = KEEP,
    registration_state: Maybe[str] = KEEP,
    note: Maybe[str] = KEEP,
    reason: str = "",
) -> Rental:
    new_start = rental.starts_on if starts_on is KEEP else starts_on
    new_end = rental.ends_on if ends_on is KEEP else ends_on
    _rental_dates(new_start, new_end)
    if registration_state is not KEEP:
        _rental_state(registration_state)
    values: dict[str, Any] = {
        "landlord": landlord,
        "landlord_name": landlord_name.strip()[:60] if landlord_name is not KEEP else KEEP,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "registration_state": registration_state,
        "note": note.strip()[:200] if note is not KEEP else KEEP,
    }
    changed = [f for f, v in values.items() if v is not KEEP and getattr(rental, f) != v]
    with transaction.atomic():
        for field in changed:
            setattr(rental, field, values[field])
        if changed:
            rental.save(update_fields=[*changed, "updated_at"])
        if tenants is not KEEP:
            new_ids = {t.pk for t in tenants}
            if new_ids != set(rental.tenants.values_list("pk", flat=True)):
                rental.tenants.set(list(new_ids))
                changed.append("tenants")
        if changed:
            audit_record(
                actor=actor,
                action="rental.updated",
                target=rental,
                reason=reason,
                data={"fields": changed},
            )
    return rental


def rental_inspect(
    *, actor: Any, rental: Rental, on: dt.date | None = None, note: str = ""
) -> Rental:
    """Record an inspection of the rental (fire safety, registration of the tenants...)."""
    on = on or clock.today()
    _not_in_future(on, "on")
    with transaction.atomic():
        if rental.last_inspected_on is None or on > rental.last_inspected_on:
            rental.last_inspected_on = on
            rental.save(update_fields=["last_inspected_on", "updated_at"])
        audit_record(
            actor=actor,
            action="rental.inspected",
            target=rental,
            reason=note.strip()[:500],
            data={"on": on.isoformat()},
        )
    return rental


# --- vehicles --------------------------------------------------------------------------------


def _plate_free(plate: str, *, exclude_pk: int | None = None) -> None:
    taken = Vehicle.objects.filter(plate=plate)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise Conflict(
            "vehicle.plate_taken",
            _("A vehicle with this plate is already registered."),
            fields={"plate": [_("Already registered.")]},
        )


def _vehicle_kind(kind: str) -> str:
    if kind not in VehicleKind.values:
        raise DomainError(
            "vehicle.kind_invalid",
            _("Choose the kind of vehicle."),
            fields={"kind": [_("Choose from the list.")]},
        )
    return kind


def vehicle_register(
    *,
    actor: Any,
    plate: str,
    kind: str = VehicleKind.CAR,
    owner: Resident | None = None,
    place: Place | None = None,
    description: str = "",
) -> Vehicle:
    """A vehicle that parks at ``place`` (by default, where its owner lives)."""
    checked = validate_plate(plate)
    _vehicle_kind(kind)
    where = place if place is not None else (owner.place if owner is not None else None)
    if where is None:
        raise DomainError(
            "vehicle.place_required",
            _("Say where the vehicle parks, or who owns it."),
            fields={"place": [_("Choose a place.")]},
        )
    with transaction.atomic():
        _plate_free(checked.value)
        try:
            with transaction.atomic():
                vehicle = Vehicle.objects.create(
                    plate=checked.value,
                    new_energy=checked.new_energy,
                    kind=kind,
                    owner=owner,
                    place=where,
                    description=description.strip()[:60],
                )
        except IntegrityError:
            _plate_free(checked.value)
            raise
        audit_record(actor=actor, action="vehicle.registered", target=vehicle)
    return vehicle


def vehicle_update(
    *,
    actor: Any,
    vehicle: Vehicle,
    plate: Maybe[str] = KEEP,
    kind: Maybe[str] = KEEP,
    owner: Maybe[Resident | None] = KEEP,
    place: Maybe[Place] = KEEP,
    description: Maybe[str] = KEEP,
    reason: str = "",
) -> Vehicle:
    values: dict[str, Any] = {
        "owner": owner,
        "place": place,
        "kind": _vehicle_kind(kind) if kind is not KEEP else KEEP,
        "description": description.strip()[:60] if description is not KEEP else KEEP,
    }
    if plate is not KEEP:
        checked = validate_plate(plate)
        values["plate"] = checked.value
        values["new_energy"] = checked.new_energy
    changed = [f for f, v in values.items() if v is not KEEP and getattr(vehicle, f) != v]
    if not changed:
        return vehicle
    with transaction.atomic():
        if "plate" in changed:
            _plate_free(values["plate"], exclude_pk=vehicle.pk)
        for field in changed:
            setattr(vehicle, field, values[field])
        vehicle.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action="vehicle.updated",
            target=vehicle,
            reason=reason,
            data={"fields": changed},
        )
    return vehicle


def vehicle_remove(*, actor: Any, vehicle: Vehicle, reason: str = "") -> None:
    """The vehicle is gone (sold, scrapped, moved away with its owner)."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="vehicle.removed",
            target=vehicle,
            reason=reason,
            data={"plate": vehicle.plate},
        )
        vehicle.delete()


# --- care tags -------------------------------------------------------------------------------


def care_tags_ensure_standard(*, actor: Any = "system") -> list[CareTag]:
    """The seven standard tags exist (idempotent); returns them in their order."""
    with transaction.atomic():
        existing = {t.code: t for t in CareTag.objects.filter(code__in=StandardCareTag.values)}
        for order, tag in enumerate(StandardCareTag, start=1):
            if tag.value not in existing:
                created = CareTag.objects.create(
                    code=tag.value, label=str(tag.label), sort_order=order
                )
                existing[tag.value] = created
                audit_record(actor=actor, action="care_tag.created", target=created)
    return [existing[t.value] for t in StandardCareTag]


def care_tag_create(*, actor: Any, place: Place, label: str, code: str = "") -> CareTag:
    """A community's own care tag (e.g. "needs a wheelchair-accessible route")."""
    label = " ".join(label.split())[:60]
    if not label:
        raise DomainError(
            "care_tag.label_required",
            _("Give the tag a name."),
            fields={"label": [_("A name is required.")]},
        )
    with transaction.atomic():
        if CareTag.objects.filter(label=label, place=place).exists():
            raise DomainError(
                "care_tag.exists",
                _("This place already has a tag with this name."),
                fields={"label": [_("Already exists.")]},
            )
        code = code.strip()
        if not code:
            n = CareTag.objects.filter(code__startswith="custom-").count() + 1
            while CareTag.objects.filter(code=f"custom-{n}").exists():
                n += 1
            code = f"custom-{n}"
        elif CareTag.objects.filter(code=code).exists():
            raise DomainError(
                "care_tag.code_taken",
                _("This code is already used."),
                fields={"code": [_("Taken.")]},
            )
        tag = CareTag.objects.create(code=code, label=label, place=place, sort_order=1000)
        audit_record(actor=actor, action="care_tag.created", target=tag)
    return tag


def _care_tag(tag: CareTag | str) -> CareTag:
    if isinstance(tag, CareTag):
        return tag
    found = CareTag.objects.filter(code=tag).first()
    if found is None and tag in StandardCareTag.values:
        found = next(t for t in care_tags_ensure_standard() if t.code == tag)
    if found is None:
        raise DomainError(
            "care_tag.unknown",
            _("There is no such care tag."),
            fields={"tags": [_("Choose a tag from the list.")]},
        )
    return found


def resident_tag_add(
    *,
    actor: Any,
    resident: Resident,
    tag: CareTag | str,
    since: dt.date | None = None,
    note: str = "",
) -> ResidentTag:
    """Tag a resident for care (idempotent: an existing tag keeps its date, gains the note)."""
    care_tag = _care_tag(tag)
    _not_in_future(since, "since")
    with transaction.atomic():
        existing = ResidentTag.objects.filter(resident=resident, tag=care_tag).first()
        if existing is not None:
            if note and note != existing.note:
                existing.note = note[:200]
                existing.save(update_fields=["note"])
            return existing
        tagged = ResidentTag.objects.create(
            resident=resident, tag=care_tag, since=since, note=note.strip()[:200]
        )
        audit_record(
            actor=actor, action="resident.tag_added", target=resident, data={"tag": care_tag.code}
        )
    return tagged


def resident_tag_remove(
    *, actor: Any, resident: Resident, tag: CareTag | str, reason: str = ""
) -> bool:
    """Remove a care tag; ``False`` when the resident did not have it."""
    care_tag = _care_tag(tag)
    with transaction.atomic():
        deleted, _counts = ResidentTag.objects.filter(resident=resident, tag=care_tag).delete()
        if deleted:
            audit_record(
                actor=actor,
                action="resident.tag_removed",
                target=resident,
                reason=reason,
                data={"tag": care_tag.code},
            )
    return bool(deleted)


__all__ = [
    "KEEP",
    "ResidentAlreadyRegistered",
    "care_tag_create",
    "care_tags_ensure_standard",
    "house_profile_set",
    "household_create",
    "household_set_head",
    "id_number_index",
    "phone_index",
    "protect_id_number",
    "protect_phone",
    "protect_valid_phone",
    "rental_create",
    "rental_inspect",
    "rental_update",
    "resident_change_household",
    "resident_move_in",
    "resident_move_out",
    "resident_register",
    "resident_reveal",
    "resident_tag_add",
    "resident_tag_remove",
    "resident_update",
    "vehicle_register",
    "vehicle_remove",
    "vehicle_update",
]
