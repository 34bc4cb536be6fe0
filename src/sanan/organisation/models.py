"""Organisations (Party bodies, departments, outside units, residents' groups), their members,
positions and terms; posts and areas (定岗包片) with post types as data; members' public cards
and commitments (双亮); the contact ledger of visits to households (联系台账)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanan.accounts.permissions import ScopedQuerySet
from sanan.places.models import Place


class OrganisationKind(models.TextChoices):
    PARTY_COMMITTEE = "party_committee", _("Community Party committee")
    PARTY_BRANCH = "party_branch", _("Party branch")
    RESIDENTS_COMMITTEE = "residents_committee", _("Residents' committee")
    SELF_MANAGEMENT = "self_management", _("Self-management committee")
    DEPARTMENT = "department", _("Government department")
    UNIT = "unit", _("Dual-reporting unit")
    GROUP = "group", _("Residents' group")


class Organisation(models.Model):
    """A body that acts in a place: it is where departments' handlers and units' members belong."""

    kind = models.CharField(_("kind"), max_length=24, choices=OrganisationKind.choices)
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("serves")
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    """A term of office of an organisation (e.g. the committee elected in 2024, five years)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(_("term"), max_length=60)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["organisation", "-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="term_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} · {self.name}"


class Position(models.TextChoices):
    """A member's position in an organisation, most senior first."""

    SECRETARY = "secretary", _("Secretary")
    DEPUTY_SECRETARY = "deputy_secretary", _("Deputy secretary")
    CHAIR = "chair", pgettext_lazy("organisation", "Chair")
    DEPUTY_CHAIR = "deputy_chair", _("Deputy chair")
    COMMITTEE_MEMBER = "committee_member", _("Committee member")
    MEMBER = "member", _("Member")


POSITION_RANK: dict[str, int] = {p.value: i for i, p in enumerate(Position)}


class MembershipQuerySet(ScopedQuerySet["Membership"]):
    place_field = "organisation__place"


class Membership(models.Model):
    """A person's place in an organisation, with a title and a term."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    title = models.CharField(_("title"), max_length=60, blank=True)
    position = models.CharField(
        _("position"), max_length=20, choices=Position.choices, default=Position.MEMBER
    )
    term = models.ForeignKey(
        Term, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"],
                condition=models.Q(ended_on__isnull=True),
                name="membership_one_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


def _localised(zh: str, en: str) -> str:
    language = translation.get_language() or "zh-hans"
    return (en or zh) if language.startswith("en") else (zh or en)


# --- posts and areas (定岗包片) ------------------------------------------------------------------


class PostType(models.Model):
    """A kind of post a Party member holds (data, not code): policy explainer, courtyard
    commissioner... ``grants_role`` is the role the holder receives over the post's place
    (the courtyard commissioner's scoped role); ``covers_courtyards`` makes the post count
    for the coverage map."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60, blank=True)
    description = models.CharField(_("duties"), max_length=200, blank=True)
    grants_role = models.CharField(_("role granted"), max_length=16, blank=True)
    covers_courtyards = models.BooleanField(_("covers courtyards"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("post type")
        verbose_name_plural = _("post types")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _localised(self.name, self.name_en)


class PostQuerySet(ScopedQuerySet["Post"]):
    def current(self) -> PostQuerySet:
        return self.filter(ended_on__isnull=True)


class Post(models.Model):
    """``holder`` holds a post of ``post_type`` over ``place`` (a courtyard, or the area) for
    ``organisation`` (their Party branch): 定岗包片. Ended posts stay as history."""

    post_type = models.ForeignKey(
        PostType, on_delete=models.PROTECT, related_name="posts", verbose_name=_("post")
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="posts",
        verbose_name=_("holder"),
    )
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="posts", verbose_name=_("area covered")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="posts",
        verbose_name=_("organisation"),
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["post_type__order", "place__path", "started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["post_type", "holder", "place"],
                condition=models.Q(ended_on__isnull=True),
                name="post_one_current",
            )
        ]
        indexes = [models.Index(fields=["place", "ended_on"], name="post_place_current")]

    def __str__(self) -> str:
        return f"{self.holder} · {self.post_type} · {self.place}"


# --- "double bright" (双亮): public cards and commitments ---------------------------------------


class MemberProfile(models.Model):
    """What a member shows publicly: identity and a motto, on a card reached by ``card_token``
    (the QR code on the courtyard board). No phone number or address is ever on the card."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member_profile"
    )
    card_token = models.CharField(max_length=32, unique=True)
    party_member = models.BooleanField(_("Party member"), default=True)
    joined_party_on = models.DateField(_("joined the Party on"), null=True, blank=True)
    motto = models.CharField(_("motto"), max_length=120, blank=True)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("serves")
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("member card")
        verbose_name_plural = _("member cards")

    def __str__(self) -> str:
        return str(self.user)


class CommitmentState(models.TextChoices):
    PUBLISHED = "published", _("Promised")
    FULFILLED = "fulfilled", _("Fulfilled")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class CommitmentQuerySet(ScopedQuerySet["Commitment"]):
    pass


class Commitment(models.Model):
    """A public promise of a member (承诺), with a due date, tracked to fulfilment with
    evidence (践诺). Residents see it on the member's card and may comment."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="commitments",
        verbose_name=_("member"),
    )
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="commitments", verbose_name=_("where")
    )
    title = models.CharField(_("commitment"), max_length=120)
    detail = models.TextField(_("detail"), blank=True)
    published_on = models.DateField(_("published on"))
    due_on = models.DateField(_("due on"), db_index=True)
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=CommitmentState.choices,
        default=CommitmentState.PUBLISHED,
    )
    fulfilled_on = models.DateField(_("fulfilled on"), null=True, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    code = models.CharField(max_length=64, blank=True, default="")  # stable demo key
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CommitmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="commitment_code"
            )
        ]
        indexes = [models.Index(fields=["state", "due_on"], name="commitment_state_due")]

    def __str__(self) -> str:
        return self.title

    def audit_label(self) -> str:
        return f"commitment {self.pk}"


class CommitmentComment(models.Model):
    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.CharField(_("comment"), max_length=500)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:40]


# --- the contact ledger (联系台账) ---------------------------------------------------------------


class VisitQuerySet(ScopedQuerySet["Visit"]):
    def visible_to(self, user: Any, action: str = "visit.view") -> models.QuerySet[Visit]:
        return super().visible_to(user, action)


class Visit(models.Model):
    """A visit of a commissioner to a household: when, what was discussed, problems found.
    ``place`` repeats the household's dwelling, so scoping needs no join."""

    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("household"),
    )
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="visits")
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("visited by"),
    )
    visited_at = models.DateTimeField(_("visited at"), db_index=True)
    topics = models.TextField(_("what was discussed"))
    code = models.CharField(max_length=64, blank=True, default="")  # stable demo key
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="visit_code"
            )
        ]
        indexes = [models.Index(fields=["household", "visited_at"], name="visit_household_at")]

    def __str__(self) -> str:
        return f"{self.household} @ {self.visited_at:%Y-%m-%d}"

    def audit_label(self) -> str:
        return f"visit {self.pk}"  # no personal text in the audit log


class VisitProblem(models.Model):
    """A problem found on a visit: solved on the spot, or a work order (kept linked, so the
    order's outcome shows on the ledger)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="problems")
    description = models.CharField(_("problem"), max_length=500)
    solved_on_spot = models.BooleanField(_("solved on the spot"), default=False)
    work_order = models.OneToOneField(
        "workorders.WorkOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visit_problem",
        verbose_name=_("work order"),
    )

    class Meta:
        verbose_name = _("problem found")
        verbose_name_plural = _("problems found")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description


# --- Red Butlers (红管家) -----------------------------------------------------------------------


class ButlerOrigin(models.TextChoices):
    RETIREE = "retiree", _("Retiree")
    RESIDENT = "resident", _("Resident")
    VETERAN = "veteran", _("Veteran")


class RedButler(models.Model):
    """A Red Butler recruited from the residents, assigned to a courtyard (which grants the
    ``red_butler`` role there); their activity is counted from ``ButlerActivity`` rows."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="butler_terms",
        verbose_name=_("person"),
    )
    origin = models.CharField(_("recruited from"), max_length=12, choices=ButlerOrigin.choices)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="red_butlers", verbose_name=_("courtyard")
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("Red Butler")
        verbose_name_plural = _("Red Butlers")
        ordering = ["place__path", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(ended_on__isnull=True),
                name="butler_one_current",
            )
        ]

    def __str__(self) -> str:
        return str(self.user)


class ButlerActivityKind(models.TextChoices):
    ASSIST = "assist", _("Assisted the committee")
    DISPUTE = "dispute", _("Mediated a dispute")
    CARE = "care", _("Visited someone in need")
    PATROL = "patrol", _("Safety patrol")


class ButlerActivity(models.Model):
    """One thing a Red Butler did: what, where, when (the record their counts come from)."""

    butler = models.ForeignKey(RedButler, on_delete=models.PROTECT, related_name="activities")
    kind = models.CharField(_("what"), max_length=12, choices=ButlerActivityKind.choices)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    occurred_on = models.DateField(_("on"), db_index=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("Red Butler activity")
        verbose_name_plural = _("Red Butler activities")
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return f"{self.butler} · {self.get_kind_display()}"


# --- events (flag-raising and other community events) ------------------------------------------


class EventKind(models.TextChoices):
    FLAG_RAISING = "flag_raising", _("Flag-raising ceremony")
    MEETING = "meeting", _("Residents' meeting")
    VOLUNTEER = "volunteer", _("Volunteer activity")
    CULTURE = "culture", _("Culture and leisure")


class Event(models.Model):
    """A community event with sign-up and sign-in (the QR code at the door carries
    ``signin_token``); attendance is counted per courtyard."""

    title = models.CharField(_("title"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="events", verbose_name=_("for")
    )
    venue = models.CharField(_("venue"), max_length=120, blank=True)
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"), null=True, blank=True)
    signin_token = models.CharField(max_length=32, unique=True)
    code = models.CharField(max_length=64, blank=True, default="")  # stable demo key
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="event_code"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    """A person's sign-up for an event and, at the door, their sign-in. ``courtyard`` is where
    they live or serve (their role's place), for the count per courtyard."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    courtyard = models.ForeignKey(
        Place, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_up_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="attendance_once")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.event}"
