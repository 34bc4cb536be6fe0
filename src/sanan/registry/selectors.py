"""Reads for the registry, always on behalf of a user.

Registry records are in sight where the user holds ``resident.view`` (a commissioner: their
courtyards; a resident: their own unit; staff and leaders: the community). Anything else is
*not found*; ``*_get_for(..., action="resident.edit")`` answers 403 for a record in sight that
the user may not change.

Search values are normalised the way the services store them: ID numbers and phones are
matched exactly through their blind index (an invalid one raises ``DomainError`` saying why),
names partially, plates by any part of the normalised plate.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import (
    Aggregate,
    Exists,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.functions import JSONArray
from django.db.models.query import ModelIterable
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, PermissionDenied
from sanan.core.phone import normalise_digits
from sanan.core.validators import (
    PROVINCES,
    normalise_id_number,
    normalise_plate,
    validate_id_number,
    validate_phone,
)
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import (
    CareTag,
    Household,
    HouseProfile,
    Rental,
    ResidenceEvent,
    ResidenceType,
    Resident,
    ResidentNameGram,
    ResidentStatus,
    ResidentTag,
    Vehicle,
    name_grams,
    under,
)
from sanan.registry.services import id_number_index, phone_index

VIEW = "resident.view"
EDIT = "resident.edit"

M = TypeVar("M", bound=Model)


def _get_for(qs: Any, *, user: Any, pk: Any, action: str) -> Any:
    """One record in the user's registry scope; 403 if in sight but ``action`` is not allowed."""
    try:
        obj = qs.visible_to(user, VIEW).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise Http404
    if action != VIEW and not permissions_for(user).can(action, obj):
        raise PermissionDenied("auth.forbidden", _("Your role may not change this record."))
    return obj


# --- residents -------------------------------------------------------------------------------


def _tags_prefetch() -> Prefetch:
    return Prefetch("tags", queryset=ResidentTag.objects.select_related("tag").order_by("tag"))


class _JSONList(Aggregate):
    """The rows' values as one JSON array, as text (``json_agg`` on PostgreSQL, whose ``json``
    psycopg would decode itself; ``json_group_array`` on SQLite)."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(JSON_AGG(%(expressions)s) AS text)")


_TAG_COLUMNS = ("id", "tag_id", "since", "note", "created_at")
_CARE_TAG_COLUMNS = ("code", "label", "place_id", "sort_order")
TAGS_INLINE = "tags_inline"  # the annotation holding a resident's tags
_ABSENT = object()


def _tags_inline() -> Subquery:
    """A resident's care tags, read in the resident's own query: one JSON array of
    ``[*_TAG_COLUMNS, *_CARE_TAG_COLUMNS]`` per tag (NULL when none)."""
    rows = (
        ResidentTag.objects.filter(resident_id=OuterRef("pk"))
        .order_by()
        .values("resident_id")
        .annotate(
            tags=_JSONList(JSONArray(*_TAG_COLUMNS, *(f"tag__{c}" for c in _CARE_TAG_COLUMNS)))
        )
        .values("tags")
    )
    return Subquery(rows, output_field=TextField())


def _moment(text: str) -> dt.datetime:
    moment = parse_datetime(text)
    if moment is None:
        raise ValueError("not a stored moment")
    if timezone.is_naive(moment):  # SQLite stores UTC without offset
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


class _ResidentsWithTags(ModelIterable):
    """Residents whose ``tags`` (``resident.tags.all()``) come from ``TAGS_INLINE`` instead of a
    second query: a lookup by ID number is one round trip fewer, a list page too. The tags are
    ordered as the related ordering orders them (care tag's order, then code)."""

    def __iter__(self) -> Iterator[Any]:
        for resident in super().__iter__():
            raw = resident.__dict__.pop(TAGS_INLINE, _ABSENT)
            cache = resident.__dict__.setdefault("_prefetched_objects_cache", {})
            if raw is _ABSENT or "tags" in cache:  # not selected (``only``): read when asked
                yield resident
                continue
            tags = []
            for pk, tag_id, since, note, created, code, label, place_id, order in sorted(
                json.loads(raw) if raw else (), key=lambda t: (t[8], t[5])
            ):
                tagged = ResidentTag(
                    id=pk,
                    resident_id=resident.pk,
                    tag_id=tag_id,
                    since=parse_date(since) if since else None,
                    note=note,
                    created_at=_moment(created),
                )
                tagged._state.adding, tagged._state.db = False, resident._state.db
                tag = CareTag(id=tag_id, code=code, label=label, place_id=place_id)
                tag.sort_order = order
                tag._state.adding, tag._state.db = False, resident._state.db
                tagged.tag = tag
                tagged.resident = resident
                tags.append(tagged)
            found = resident.tags.all()
            found._result_cache, found._prefetch_done = tags, True
            cache["tags"] = found
            yield resident


def resident_list(*, user: Any, action: str = VIEW) -> QuerySet[Resident]:
    """Residents in the user's scope (every status), with what a list row shows, by dwelling
    in address order (the place tree's), household and record. The database walks the place
    index and each dwelling's residents (``resident_place_order``) in that order, so a page
    costs the same among a million residents as among a hundred. The care tags come in the
    same query (``_ResidentsWithTags``)."""
    qs = (
        Resident.objects.visible_to(user, action)
        .select_related("household", "place")
        .annotate(**{TAGS_INLINE: _tags_inline()})
        .order_by("place__path", "household_id", "id")
    )
    qs._iterable_class = _ResidentsWithTags
    return qs


def resident_get_for(*, user: Any, pk: Any, action: str = VIEW) -> Resident:
    qs = Resident.objects.select_related("household", "household__head", "place")
    resident: Resident = _get_for(
        qs.prefetch_related(_tags_prefetch()), user=user, pk=pk, action=action
    )
    return resident


def resident_history(*, resident: Resident) -> QuerySet[ResidenceEvent]:
    """The moves of a resident the caller already fetched with ``resident_get_for``."""
    return resident.events.select_related(
        "from_household", "to_household", "from_place", "to_place"
    ).order_by("on", "id")


# Above this many residents with a pair of characters in their name, reading them all from the
# pairs' index and sorting them costs more than walking the list in its order until a page of
# names containing the text is found (among a million: 24,000 with 秀英, 570 ms read through the
# pairs, 115 ms walking; 630 with 王秀, 21 ms through the pairs, 410 ms walking).
NAME_PAIR_WALK_FROM = 5_000


def filter_by_name(qs: QuerySet[Resident], value: str) -> QuerySet[Resident]:
    """Residents whose name contains ``value``, letter case aside.

    Text without letter case (王秀, most searches) is looked up first among the pairs of
    characters of the names (``ResidentNameGram``): a name containing 王秀英 has the pairs 王秀
    and 秀英, so only the residents having its rarest pair are compared, instead of every name
    in scope, when that pair is rare enough (``NAME_PAIR_WALK_FROM``). One query per pair of
    the text, counting at most that many. Text with letter case, of one character, or whose
    every pair is common, is compared with the names in the list's order."""
    value = " ".join(value.split())
    if not value:
        return qs
    if value.upper() != value.lower():
        return qs.filter(name__icontains=value)
    qs = qs.filter(name__contains=value)  # no letter case, so no UPPER() of every name
    rarest = _rarest_name_pair(value)
    if rarest is None:
        return qs
    having = ResidentNameGram.objects.filter(gram=rarest).values("resident_id")
    return qs.filter(id__in=having)


def _rarest_name_pair(value: str) -> str | None:
    """The pair of characters of ``value`` fewest names have, if fewer than
    ``NAME_PAIR_WALK_FROM`` have it (each counted up to that, from the pairs' index only)."""
    rarest, fewest = None, NAME_PAIR_WALK_FROM
    for gram in name_grams(value):
        having = ResidentNameGram.objects.filter(gram=gram).values("resident_id")
        n = having[:fewest].count()
        if n < fewest:
            rarest, fewest = gram, n
        if n == 0:
            break
    return rarest


def filter_by_id_number(qs: QuerySet[Resident], value: str) -> QuerySet[Resident]:
    if not value.strip():
        return qs
    checked = validate_id_number(value, today=dt.date.max)
    # One resident at most has a number: the list's order (place path, household, record) is
    # replaced by the record's, and with it a third of the lookup's time, spent compiling that
    # ORDER BY (still ordered: paginators warn about unordered lists).
    return qs.filter(id_number_index=id_number_index(checked.value)).order_by("pk")


def filter_by_phone(qs: QuerySet[Resident], value: str) -> QuerySet[Resident]:
    if not value.strip():
        return qs
    number, _kind = validate_phone(value)
    index = phone_index(number)
    return qs.filter(Q(phone_index=index) | Q(phone2_index=index))


def filter_by_plate(qs: QuerySet[Resident], value: str) -> QuerySet[Resident]:
    plate = normalise_plate(value)
    if not plate:
        return qs
    return qs.filter(id__in=Vehicle.objects.filter(plate__contains=plate).values("owner_id"))


def filter_by_place(qs: QuerySet[M], place: Place, place_field: str = "place") -> QuerySet[M]:
    """Records at ``place`` or below. The place's range of paths goes first in the WHERE
    clause, before the user's scope: SQLite walks the place index with the first range it
    meets on ``path``, and the place's (a community) is narrower than the scope's (a district):
    1 ms instead of 170 among a million residents."""
    before = len(qs.query.where.children)
    qs = qs.filter(under(place.path, place_field))
    where = qs.query.where
    if where.connector == "AND" and not where.negated and len(where.children) > before:
        where.children[:] = [*where.children[before:], *where.children[:before]]
    return qs


def filter_by_tags(qs: QuerySet[Resident], codes: Iterable[str]) -> QuerySet[Resident]:
    """Residents with any of the tags."""
    codes = [c for c in codes if c]
    if not codes:
        return qs
    # EXISTS, probed per resident through (resident, tag): the list walks residents in its own
    # order and stops after a page, where ``id IN (tagged)`` made SQLite fetch and sort all
    # 45,000 tagged residents of a district first.
    tagged = ResidentTag.objects.filter(resident_id=OuterRef("pk"), tag__code__in=codes)
    return qs.filter(Exists(tagged))


def looks_personal(value: str) -> bool:
    """Whether a search text is (part of) an ID or phone number: 7 digits or more."""
    return sum(ch.isdigit() for ch in normalise_digits(value or "")) >= 7


def filter_by_text(qs: QuerySet[Resident], value: str) -> QuerySet[Resident]:
    """One search box: an ID number, a phone number, a plate, or else part of a name."""
    text = value.strip()
    if not text:
        return qs
    compact = normalise_id_number(text)
    if len(compact) == 18 and compact[:17].isdigit():
        return filter_by_id_number(qs, text)
    if looks_personal(text):
        return filter_by_phone(qs, text)
    plate = normalise_plate(text)
    if len(plate) >= 2 and plate[0] in PROVINCES and "A" <= plate[1] <= "Z":
        return filter_by_plate(qs, text)  # 川L…, never a name such as 云中鹤
    return filter_by_name(qs, text)


def resident_search(
    *,
    user: Any,
    q: str = "",
    name: str = "",
    phone: str = "",
    id_number: str = "",
    plate: str = "",
    place: Place | None = None,
    residence_type: str = "",
    tags: Sequence[str] = (),
    status: str | None = ResidentStatus.ACTIVE,
) -> QuerySet[Resident]:
    """``resident_list`` narrowed by every criterion given (``status=None``: any status)."""
    qs = resident_list(user=user)
    qs = filter_by_text(qs, q)
    qs = filter_by_name(qs, name)
    qs = filter_by_id_number(qs, id_number)
    qs = filter_by_phone(qs, phone)
    qs = filter_by_plate(qs, plate)
    if place is not None:
        qs = filter_by_place(qs, place)
    if residence_type:
        qs = qs.filter(residence_type=residence_type)
    qs = filter_by_tags(qs, tags)
    if status:
        qs = qs.filter(status=status)
    return qs


def migrants_expiring(
    *, user: Any, within_days: int = 30, include_expired: bool = True
) -> QuerySet[Resident]:
    """Migrants and renters living here whose residence registration expires within
    ``within_days`` days (and, by default, those already expired), soonest first."""
    today = clock.today()
    qs = resident_list(user=user).filter(
        status=ResidentStatus.ACTIVE,
        residence_type__in=[ResidenceType.MIGRANT, ResidenceType.RENTER],
        registration_expires_on__lte=today + dt.timedelta(days=within_days),
    )
    if not include_expired:
        qs = qs.filter(registration_expires_on__gte=today)
    return qs.order_by("registration_expires_on", "id")


# --- households, houses, rentals, vehicles, tags ---------------------------------------------


def _members_prefetch(to_attr: str = "active_members") -> Prefetch:
    members = (
        Resident.objects.filter(status=ResidentStatus.ACTIVE)
        .prefetch_related(_tags_prefetch())
        .order_by("id")
    )
    return Prefetch("members", queryset=members, to_attr=to_attr)


def household_list(*, user: Any, action: str = VIEW) -> QuerySet[Household]:
    return (
        Household.objects.visible_to(user, action)
        .select_related("place", "head")
        .prefetch_related(_members_prefetch())
        .order_by("place_id", "code")
    )


def household_get_for(*, user: Any, pk: Any, action: str = VIEW) -> Household:
    qs = Household.objects.select_related("place", "head").prefetch_related(_members_prefetch())
    household: Household = _get_for(qs, user=user, pk=pk, action=action)
    return household


def house_list(*, user: Any) -> QuerySet[Place]:
    """Houses in the user's registry scope, with their profile (if any) and owner."""
    return (
        Place.objects.visible_to(user, VIEW)
        .filter(kind=PlaceKind.HOUSE)
        .filter(_within_scope(user))
        .select_related("house_profile", "house_profile__owner")
    )


def _within_scope(user: Any) -> Q:
    roots = permissions_for(user).scope_paths(VIEW)
    if roots == [""]:
        return Q()
    cond = Q(pk__in=[])
    for root in roots:
        cond |= Q(path__startswith=root)
    return cond


def house_get_for(*, user: Any, pk: Any, action: str = VIEW) -> Place:
    qs = Place.objects.filter(kind=PlaceKind.HOUSE).select_related(
        "house_profile", "house_profile__owner"
    )
    try:
        house = qs.filter(_within_scope(user)).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        house = None
    if house is None:
        raise Http404
    if action != VIEW and not permissions_for(user).can(action, house):
        raise PermissionDenied("auth.forbidden", _("Your role may not change this record."))
    return house


def house_profile_of(house: Place) -> HouseProfile | None:
    try:
        return house.house_profile
    except HouseProfile.DoesNotExist:
        return None


def rental_list(*, user: Any, action: str = VIEW) -> QuerySet[Rental]:
    tenants = Resident.objects.order_by("id")
    return (
        Rental.objects.visible_to(user, action)
        .select_related("place", "landlord")
        .prefetch_related(Prefetch("tenants", queryset=tenants))
        .order_by("place_id", "id")
    )


def rental_get_for(*, user: Any, pk: Any, action: str = VIEW) -> Rental:
    rental: Rental = _get_for(
        Rental.objects.select_related("place", "landlord").prefetch_related("tenants"),
        user=user,
        pk=pk,
        action=action,
    )
    return rental


def vehicle_list(*, user: Any, action: str = VIEW) -> QuerySet[Vehicle]:
    return (
        Vehicle.objects.visible_to(user, action).select_related("place", "owner").order_by("plate")
    )


def vehicle_get_for(*, user: Any, pk: Any, action: str = VIEW) -> Vehicle:
    vehicle: Vehicle = _get_for(
        Vehicle.objects.select_related("place", "owner"), user=user, pk=pk, action=action
    )
    return vehicle


def care_tag_list(*, user: Any) -> QuerySet[CareTag]:
    return CareTag.objects.visible_to(user, VIEW).order_by("sort_order", "code")


def place_for_registry(*, user: Any, pk: Any, action: str = VIEW) -> Place:
    """A place whose registry records the user may read (or, with ``action``, change): 404 when
    the place is out of sight, 403 when it is seen but holds nothing of theirs."""
    try:
        place = Place.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        place = None
    perms = permissions_for(user)
    if place is None or not perms.can_see(place):
        raise Http404
    roots = perms.scope_paths(action)
    overlaps = any(place.path.startswith(r) or r.startswith(place.path) for r in roots)
    if not overlaps:
        message = (
            _("Your role may not see the residents of this place.")
            if action == VIEW
            else _("Your role may not change the registry here.")
        )
        raise PermissionDenied("auth.forbidden", message)
    return place


# --- the people, house, car summary of a place -----------------------------------------------


@dataclass
class HouseSummary:
    """A house with what the registry knows of it and of the people inside."""

    house: Place
    profile: HouseProfile | None
    households: list[Household] = field(default_factory=list)
    rentals: list[Rental] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)

    @property
    def residents(self) -> list[Resident]:
        return [m for h in self.households for m in getattr(h, "active_members", [])]


@dataclass
class PlaceOverview:
    place: Place
    houses: list[HouseSummary]
    vehicles_elsewhere: list[Vehicle]  # parked in the courtyard, not at a house
    care_tags: list[tuple[CareTag, int]]
    counts: dict[str, int]


OVERVIEW_KINDS = (PlaceKind.COURTYARD, PlaceKind.HOUSE, PlaceKind.UNIT)


def place_overview(*, user: Any, place: Place) -> PlaceOverview:
    """Who lives in a courtyard, house or unit, which dwellings are rented and to whom, the
    cars, the care tags. A fixed number of queries, whatever the number of people."""
    if place.kind not in OVERVIEW_KINDS:
        raise DomainError(
            "registry.overview_level",
            _("The people, house and car summary is for a courtyard, a house or a unit."),
            fields={"place": [_("Choose a courtyard, a house or a unit.")]},
        )
    house_depth = place.depth + {"courtyard": 1, "house": 0, "unit": -1}[place.kind]
    house_len = house_depth * Place.steplen

    # Houses in scope, and the house above a resident's own unit (its details stay hidden).
    perms = permissions_for(user)
    houses = list(
        Place.objects.visible_to(user, VIEW)
        .filter(kind=PlaceKind.HOUSE)
        .select_related("house_profile", "house_profile__owner")
        .filter(
            Q(path__startswith=place.path)
            if place.kind != PlaceKind.UNIT
            else Q(path=place.path[:house_len])
        )
        .order_by("path")
    )
    summaries = {
        h.path: HouseSummary(house=h, profile=house_profile_of(h) if perms.can(VIEW, h) else None)
        for h in houses
    }

    def summary_of(path: str) -> HouseSummary | None:
        return summaries.get(path[:house_len]) if len(path) >= house_len else None

    households = filter_by_place(household_list(user=user), place).order_by("place__path", "code")
    for household in households:
        target = summary_of(household.place.path)
        if target is not None:
            target.households.append(household)

    rentals = filter_by_place(rental_list(user=user), place).exclude(registration_state="ended")
    for rental in rentals:
        target = summary_of(rental.place.path)
        if target is not None:
            target.rentals.append(rental)

    elsewhere: list[Vehicle] = []
    for vehicle in filter_by_place(vehicle_list(user=user), place):
        target = summary_of(vehicle.place.path)
        (target.vehicles if target is not None else elsewhere).append(vehicle)

    residents = [r for s in summaries.values() for r in s.residents]
    tag_counts: dict[int, tuple[CareTag, int]] = {}
    for resident in residents:
        for tagged in resident.tags.all():
            tag, n = tag_counts.get(tagged.tag_id, (tagged.tag, 0))
            tag_counts[tagged.tag_id] = (tag, n + 1)
    by_type = {t: sum(r.residence_type == t for r in residents) for t in ResidenceType.values}
    all_rentals = [r for s in summaries.values() for r in s.rentals]
    counts = {
        "houses": len(summaries),
        "households": sum(len(s.households) for s in summaries.values()),
        "residents": len(residents),
        **by_type,
        "rentals": len(all_rentals),
        "tenants": sum(len(r.tenants.all()) for r in all_rentals),
        "vehicles": sum(len(s.vehicles) for s in summaries.values()) + len(elsewhere),
        "care_tagged": sum(1 for r in residents if r.tags.all()),
    }
    care_tags = sorted(tag_counts.values(), key=lambda item: (item[0].sort_order, item[0].code))
    return PlaceOverview(
        place=place,
        houses=list(summaries.values()),
        vehicles_elsewhere=elsewhere,
        care_tags=care_tags,
        counts=counts,
    )
