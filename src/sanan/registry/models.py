"""People, houses, cars (人、房、车): households, residents, houses, rentals, vehicles, care tags.

Every record belongs to a place (directly, or through the resident or house it describes), so
``.visible_to(user, "resident.view")`` scopes it like everything else. ID numbers and phone
numbers are never stored in plain text: each is an encrypted token (key id inside, see
``core.crypto``), a keyed blind index for exact lookup and a mask for display.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanan.accounts.permissions import ScopedQuerySet, permissions_for
from sanan.core import crypto
from sanan.core.validators import age_on
from sanan.places.models import Place

ID_NUMBER_PURPOSE = "resident.id_number"
M = TypeVar("M", bound=models.Model)

PHONE_PURPOSE = "resident.phone"  # both phones of a resident: one index finds either

crypto.register_encrypted_field(
    "registry.Resident", "id_number_encrypted", purpose=ID_NUMBER_PURPOSE
)
crypto.register_encrypted_field("registry.Resident", "phone_encrypted", purpose=PHONE_PURPOSE)
crypto.register_encrypted_field("registry.Resident", "phone2_encrypted", purpose=PHONE_PURPOSE)


def _next_path(path: str) -> str | None:
    """The first path after every path that starts with ``path`` (``0001000Z`` → ``0001001``),
    or ``None`` when there is none (``ZZZZ``)."""
    alphabet = Place.alphabet
    chars = list(path)
    while chars:
        i = alphabet.index(chars[-1])
        if i + 1 < len(alphabet):
            chars[-1] = alphabet[i + 1]
            return "".join(chars)
        chars.pop()
    return None


def under(path: str, place_field: str = "place") -> Q:
    """Records whose place is ``path`` or below it, as a range of paths (``path >= '0001'
    AND path < '0002'``) rather than ``LIKE '0001%'``: a range walks the place index in path
    order on both databases (SQLite never uses an index for a ``LIKE``; PostgreSQL only the
    pattern index, which gives no order), so the registry lists, ordered by place, stop after
    a page instead of sorting the whole subtree."""
    field = f"{place_field}__path" if place_field else "path"
    if not path:
        return Q()
    upper = _next_path(path)
    cond = Q(**{f"{field}__gte": path})
    return cond & Q(**{f"{field}__lt": upper}) if upper is not None else cond


class RegistryQuerySet(ScopedQuerySet[M]):
    """Registry records are in sight where the user holds ``resident.view`` (not merely
    ``place.view``: a department handler sees the places, not the people). The scope is the
    same as ``ScopedQuerySet``'s, written as ranges of paths (see ``under``)."""

    def visible_to(self, user: Any, action: str = "resident.view") -> QuerySet[M]:
        roots = permissions_for(user).scope_paths(action)
        if roots == [""]:
            return self
        if not roots:
            return self.none()
        cond = Q()
        for root in roots:
            cond |= under(root, self.place_field)
        return self.filter(cond)


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Relation(models.TextChoices):
    """Relation to the head of the household (与户主关系)."""

    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    CHILD_IN_LAW = "child_in_law", _("Son- or daughter-in-law")
    GRANDCHILD = "grandchild", _("Grandchild")
    PARENT = "parent", _("Parent")
    PARENT_IN_LAW = "parent_in_law", _("Parent-in-law")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Brother or sister")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    OTHER = "other", _("Not related (lodger, tenant)")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("Registered (hukou)")
    MIGRANT = "migrant", _("Migrant")
    RENTER = "renter", _("Renter")


class ResidentStatus(models.TextChoices):
    ACTIVE = "active", _("Lives here")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class Household(models.Model):
    """A household (户) living in one dwelling: a unit, or a house that has no units."""

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="households", verbose_name=_("dwelling")
    )
    # Unique through Meta.constraints, not ``unique=True``: that would add on PostgreSQL a
    # second (``varchar_pattern_ops``) index for LIKE 'prefix%', which nothing asks.
    code = models.CharField(_("household code"), max_length=64)
    head = models.ForeignKey(
        "Resident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("head of household"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["code"], name="household_code_unique")]

    def __str__(self) -> str:
        return self.code


class ResidentQuerySet(RegistryQuerySet["Resident"]):
    def active(self) -> ResidentQuerySet:
        return self.filter(status=ResidentStatus.ACTIVE)


class Resident(models.Model):
    """A person living (or who lived) in a household. ``place`` repeats the household's place
    so scoping and place filters need no join."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("household")
    )
    place = models.ForeignKey(
        Place,
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("dwelling"),
        db_index=False,  # resident_place_order starts with it
    )
    relation_to_head = models.CharField(
        _("relation to the head"), max_length=16, choices=Relation.choices, default=Relation.HEAD
    )
    name = models.CharField(_("name"), max_length=60)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)

    # Blind indexes are only ever matched exactly: indexed through Meta (unique: constraints)
    # rather than ``unique``/``db_index``, which on PostgreSQL add to each a second index for
    # LIKE 'prefix%' (``varchar_pattern_ops``), as large again and written with every row.
    id_number_encrypted = models.TextField(blank=True, default="")
    id_number_index = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULL: none; unique among the rest)
    id_number_masked = models.CharField(_("ID number"), max_length=24, blank=True, default="")
    phone_encrypted = models.TextField(blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, default="")
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True, default="")
    phone2_encrypted = models.TextField(blank=True, default="")
    phone2_index = models.CharField(max_length=64, blank=True, default="")
    phone2_masked = models.CharField(_("second phone"), max_length=20, blank=True, default="")

    residence_type = models.CharField(
        _("residence type"),
        max_length=12,
        choices=ResidenceType.choices,
        default=ResidenceType.REGISTERED,
    )
    work_or_school = models.CharField(_("work or school"), max_length=120, blank=True)
    moved_in_on = models.DateField(_("moved in on"), null=True, blank=True)
    moved_out_on = models.DateField(_("moved out on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ResidentStatus.choices, default=ResidentStatus.ACTIVE
    )
    registration_expires_on = models.DateField(
        _("residence registration expires on"), null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["id"]
        indexes = [
            # The lists' order within a dwelling (see selectors.resident_list), and the
            # residents of a place by status.
            models.Index(
                fields=["place", "status", "household", "id"], name="resident_place_order"
            ),
            models.Index(fields=["status", "name"], name="resident_status_name"),
            models.Index(fields=["phone_index"], name="resident_phone_index"),
            models.Index(fields=["phone2_index"], name="resident_phone2_index"),
            models.Index(
                fields=["residence_type", "registration_expires_on"],
                name="resident_type_expiry",
                condition=Q(registration_expires_on__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id_number_index"], name="resident_id_number_unique"),
            models.CheckConstraint(
                condition=Q(moved_out_on__isnull=True)
                | Q(moved_in_on__isnull=True)
                | Q(moved_out_on__gte=models.F("moved_in_on")),
                name="resident_moved_out_after_in",
            ),
            models.CheckConstraint(
                condition=~Q(status=ResidentStatus.ACTIVE) | Q(moved_out_on__isnull=True),
                name="resident_active_not_moved_out",
            ),
            # A plain number written around the services is refused by the database itself.
            *[
                models.CheckConstraint(
                    condition=Q(**{field: ""}) | Q(**{f"{field}__startswith": "v1:"}),
                    name=f"resident_{field}_is_a_token",
                )
                for field in ("id_number_encrypted", "phone_encrypted", "phone2_encrypted")
            ],
            *[
                models.CheckConstraint(
                    condition=Q(**{field: ""}) | Q(**{f"{field}__contains": "*"}),
                    name=f"resident_{field}_is_a_mask",
                )
                for field in ("id_number_masked", "phone_masked", "phone2_masked")
            ],
        ]

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        """How the audit log names a resident: masked (王**), with the record number."""
        return f"{self.name[:1]}{'*' * max(len(self.name) - 1, 1)} #{self.pk}"

    @property
    def age(self) -> int | None:
        from sanan.core import clock

        return age_on(self.birth_date, clock.today()) if self.birth_date else None

    def id_number_reveal(self) -> str:
        """The plain ID number; callers checked the permission and audited the reveal."""
        return _decrypt(self.id_number_encrypted, ID_NUMBER_PURPOSE)

    def phone_reveal(self) -> str:
        return _decrypt(self.phone_encrypted, PHONE_PURPOSE)

    def phone2_reveal(self) -> str:
        return _decrypt(self.phone2_encrypted, PHONE_PURPOSE)


def _decrypt(token: str, purpose: str) -> str:
    return crypto.decrypt(token, purpose=purpose) if token else ""


def name_grams(name: str) -> list[str]:
    """The distinct pairs of neighbouring characters of a name, in order (王秀英: 王秀, 秀英;
    a one-character name has none)."""
    return list(dict.fromkeys(name[i : i + 2] for i in range(len(name) - 1)))


class ResidentNameGram(models.Model):
    """One pair of neighbouring characters of a resident's name (王秀英: 王秀 and 秀英), so a
    search for part of a name (王秀) reads the few residents having every pair of it instead
    of every name in scope: no B-tree helps with text in the middle of a name, and trigram
    indexes need three characters where most Chinese names have two or three.

    Written with the name by the services and the import (``name_grams``), the name itself
    still being compared: the pairs only narrow the search."""

    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="name_grams", db_index=False
    )
    gram = models.CharField(max_length=2)

    class Meta:
        constraints = [
            # Also the index by resident (cascading deletes, rewriting a renamed resident's).
            models.UniqueConstraint(fields=["resident", "gram"], name="resident_name_gram_unique")
        ]
        indexes = [models.Index(fields=["gram", "resident"], name="resident_name_gram")]

    def __str__(self) -> str:
        return f"{self.resident_id}:{self.gram}"


class ResidenceEventKind(models.TextChoices):
    MOVED_IN = "moved_in", _("Moved in")
    MOVED_OUT = "moved_out", _("Moved out")
    HOUSEHOLD_CHANGED = "household_changed", _("Changed household")


class ResidenceEventQuerySet(RegistryQuerySet["ResidenceEvent"]):
    pass


class ResidenceEvent(models.Model):
    """One move in a resident's history (immutable). ``place`` is where it happened: the new
    dwelling for a move in or a change, the old one for a move out."""

    resident = models.ForeignKey(
        Resident,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # residence_event_resident_on starts with it
    )
    kind = models.CharField(_("what happened"), max_length=20, choices=ResidenceEventKind.choices)
    on = models.DateField(_("on"))
    from_household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_place = models.ForeignKey(
        Place, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_place = models.ForeignKey(
        Place, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="residence_events")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ResidenceEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("residence event")
        verbose_name_plural = _("residence events")
        ordering = ["resident_id", "on", "id"]
        indexes = [models.Index(fields=["resident", "on"], name="residence_event_resident_on")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("residence events are history: they are never changed")
        super().save(*args, **kwargs)


class HouseUse(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    RENTED = "rented", _("Rented out")
    COMMERCIAL = "commercial", _("Shop or business")
    MIXED = "mixed", _("Residential and business")
    VACANT = "vacant", _("Empty")
    OTHER = "other", _("Other")


class HouseProfileQuerySet(RegistryQuerySet["HouseProfile"]):
    place_field = "house"


class HouseProfile(models.Model):
    """What the registry knows of a house (房屋): number, owner, floors, use, self-built."""

    house = models.OneToOneField(
        Place, on_delete=models.CASCADE, related_name="house_profile", verbose_name=_("house")
    )
    house_number = models.CharField(_("house number"), max_length=40, blank=True)
    owner = models.ForeignKey(
        Resident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="houses_owned",
        verbose_name=_("owner"),
    )
    owner_name = models.CharField(_("owner (when not a resident here)"), max_length=60, blank=True)
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)
    use = models.CharField(
        _("use"), max_length=16, choices=HouseUse.choices, default=HouseUse.RESIDENTIAL
    )
    self_built = models.BooleanField(_("self-built"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HouseProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        constraints = [
            models.CheckConstraint(
                condition=Q(floors__isnull=True) | Q(floors__gte=1, floors__lte=100),
                name="house_profile_floors",
            )
        ]

    def __str__(self) -> str:
        return self.house_number or str(self.house_id)

    @property
    def place(self) -> Place:
        return self.house

    @property
    def owner_display(self) -> str:
        return self.owner.name if self.owner is not None else self.owner_name


class RentalState(models.TextChoices):
    UNREGISTERED = "unregistered", _("Not registered")
    REGISTERED = "registered", pgettext_lazy("rental", "Registered")  # 已登记
    ENDED = "ended", _("Ended")


class Rental(models.Model):
    """A house or unit let to tenants (出租房): landlord, tenants, period, registration with the
    community, and when it was last inspected."""

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="rentals", verbose_name=_("house or unit")
    )
    landlord = models.ForeignKey(
        Resident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rentals_let",
        verbose_name=_("landlord"),
    )
    landlord_name = models.CharField(
        _("landlord (when not a resident here)"), max_length=60, blank=True
    )
    tenants = models.ManyToManyField(
        Resident, blank=True, related_name="rentals", verbose_name=_("tenants")
    )
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    registration_state = models.CharField(
        _("registration"),
        max_length=16,
        choices=RentalState.choices,
        default=RentalState.UNREGISTERED,
    )
    last_inspected_on = models.DateField(_("last inspected on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("rental")
        verbose_name_plural = _("rentals")
        ordering = ["place_id", "id"]
        indexes = [
            models.Index(fields=["registration_state", "place"], name="rental_state_place"),
            models.Index(fields=["last_inspected_on"], name="rental_last_inspected"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="rental_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.place_id}#{self.pk}"

    @property
    def landlord_display(self) -> str:
        return self.landlord.name if self.landlord is not None else self.landlord_name

    def is_current(self, day: dt.date) -> bool:
        return (
            self.registration_state != RentalState.ENDED
            and (self.starts_on is None or self.starts_on <= day)
            and (self.ends_on is None or self.ends_on >= day)
        )


class VehicleKind(models.TextChoices):
    CAR = "car", _("Car")
    VAN_TRUCK = "van_truck", _("Van or truck")
    MOTORCYCLE = "motorcycle", _("Motorcycle")
    OTHER = "other", _("Other")


class Vehicle(models.Model):
    """A vehicle (车辆) known by its plate, normalised (``川L12345``, ``川LD12345``)."""

    plate = models.CharField(_("plate"), max_length=10, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=VehicleKind.choices)
    new_energy = models.BooleanField(_("new energy"), default=False)
    owner = models.ForeignKey(
        Resident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="vehicles",
        verbose_name=_("owner"),
    )
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("parks at")
    )
    description = models.CharField(_("make and colour"), max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["plate"]

    def __str__(self) -> str:
        return self.plate


class StandardCareTag(models.TextChoices):
    """The care tags every community uses; their codes are stable."""

    ELDERLY_ALONE = "elderly_alone", _("Elderly, living alone")
    LEFT_BEHIND_CHILD = "left_behind_child", _("Left-behind child")
    MIGRANT_CHILD = "migrant_child", _("Migrant child")
    DISABILITY = "disability", _("Disability")
    LOW_INCOME = "low_income", _("Low income (dibao)")
    VETERAN = "veteran", _("Veteran")
    SERIOUS_ILLNESS = "serious_illness", _("Serious illness")


class CareTagQuerySet(models.QuerySet["CareTag"]):
    def visible_to(self, user: Any, action: str = "resident.view") -> CareTagQuerySet:
        """The standard tags, and custom tags of places above or inside the user's scope."""
        roots = permissions_for(user).scope_paths(action)
        if roots == [""]:
            return self
        if not roots:
            return self.none()
        cond = Q(place__isnull=True)
        for root in roots:
            cond |= Q(place__path__startswith=root)
            steps = range(Place.steplen, len(root), Place.steplen)
            cond |= Q(place__path__in=[root[:i] for i in steps])
        return self.filter(cond)


class CareTag(models.Model):
    """A care tag (关爱标签). Standard tags have no place; a community's own tags belong to it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=60)
    place = models.ForeignKey(
        Place,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="care_tags",
        verbose_name=_("defined by"),
    )
    sort_order = models.PositiveSmallIntegerField(default=100)

    objects = CareTagQuerySet.as_manager()

    class Meta:
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.display_label

    @property
    def is_standard(self) -> bool:
        return self.place_id is None and self.code in StandardCareTag.values

    @property
    def display_label(self) -> str:
        """Standard tags in the user's language; custom tags as their community wrote them."""
        if self.is_standard:
            return str(StandardCareTag(self.code).label)
        return self.label


class ResidentTagQuerySet(RegistryQuerySet["ResidentTag"]):
    place_field = "resident__place"


class ResidentTag(models.Model):
    """A care tag on a resident, since when and why."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="tags")
    tag = models.ForeignKey(CareTag, on_delete=models.PROTECT, related_name="resident_tags")
    since = models.DateField(_("since"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ResidentTagQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident's care tag")
        verbose_name_plural = _("residents' care tags")
        constraints = [
            models.UniqueConstraint(fields=["resident", "tag"], name="resident_tag_unique")
        ]
        indexes = [models.Index(fields=["tag", "resident"], name="resident_tag_tag")]

    def __str__(self) -> str:
        return f"{self.resident_id}:{self.tag_id}"

    @property
    def place(self) -> Place:
        return self.resident.place


from sanan.registry.models_io import ImportJob  # noqa: E402, F401  (import jobs: models_io.py)
