"""Reads for the organisation pillar, always on behalf of a user.

The organisation chart, the member cards and the coverage of courtyards are for everyone who can
see the place (a resident sees the committee, the branch and the commissioner of their own
courtyard: places *around* their home count, see ``related_q``). The contact ledger needs
``visit.view``. Every figure is counted from the records in one query, never typed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import _ancestors, permissions_for
from sanan.core import clock
from sanan.core.errors import NotFound
from sanan.organisation.models import (
    POSITION_RANK,
    Attendance,
    ButlerActivityKind,
    Commitment,
    CommitmentState,
    Event,
    MemberProfile,
    Membership,
    Organisation,
    OrganisationKind,
    Post,
    PostType,
    RedButler,
    Visit,
    VisitProblem,
)
from sanan.places.models import Place, PlaceKind

VIEW_VISITS = "visit.view"
DEFAULT_NOT_VISITED_DAYS = 90
DUE_SOON_DAYS = 14


def related_q(user: Any, place_field: str = "place") -> Q:
    """Objects whose place lies inside the user's viewing scope or contains it."""
    roots = permissions_for(user).scope_paths("place.view")
    if roots == [""]:
        return Q()
    if not roots:
        return Q(pk__in=[])
    cond = Q(**{f"{place_field}__path__in": set().union(*(_ancestors(r) for r in roots))})
    for root in roots:
        cond |= Q(**{f"{place_field}__path__startswith": root})
    return cond


# --- the organisation chart -----------------------------------------------------------------


@dataclass
class ChartNode:
    organisation: Organisation
    members: list[Membership]
    children: list[ChartNode] = field(default_factory=list)

    @property
    def term(self) -> str:
        """The term most of the members serve in (shown once, at the top)."""
        names = [m.term.name for m in self.members if m.term is not None]
        return max(set(names), key=names.count) if names else ""


def organisation_chart(*, user: Any, kinds: list[str] | None = None) -> list[ChartNode]:
    """The organisations around the user's places as a tree (parents first), each with its
    current members, most senior first. Two queries, whatever the size."""
    qs = Organisation.objects.filter(related_q(user)).select_related("place")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    members = Prefetch(
        "memberships",
        queryset=Membership.objects.filter(ended_on__isnull=True).select_related("user", "term"),
        to_attr="current_members",
    )
    orgs = list(qs.prefetch_related(members).order_by("kind", "name"))
    nodes = {
        o.pk: ChartNode(
            o,
            sorted(
                o.current_members,
                key=lambda m: (POSITION_RANK.get(m.position, 99), str(m.user)),
            ),
        )
        for o in orgs
    }
    roots: list[ChartNode] = []
    for o in sorted(orgs, key=lambda o: (KIND_RANK.get(o.kind, 99), o.name)):
        parent = nodes.get(o.parent_id) if o.parent_id else None
        (parent.children if parent else roots).append(nodes[o.pk])
    return roots


# The chart reads from the Party committee down; departments and outside units come last.
KIND_RANK: dict[str, int] = {
    kind: i
    for i, kind in enumerate(
        [
            OrganisationKind.PARTY_COMMITTEE,
            OrganisationKind.PARTY_BRANCH,
            OrganisationKind.RESIDENTS_COMMITTEE,
            OrganisationKind.SELF_MANAGEMENT,
            OrganisationKind.GROUP,
            OrganisationKind.DEPARTMENT,
            OrganisationKind.UNIT,
        ]
    )
}
SERVICE_KINDS = frozenset({OrganisationKind.DEPARTMENT, OrganisationKind.UNIT})


def organisation_get_for(*, user: Any, pk: Any) -> Organisation:
    try:
        return Organisation.objects.filter(related_q(user)).select_related("place").get(pk=int(pk))
    except (Organisation.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


def organisation_members(
    *, organisation: Organisation, ended_limit: int = 30
) -> tuple[list[Membership], list[Membership]]:
    """Current members (most senior first) and the latest who left, two queries."""
    qs = Membership.objects.filter(organisation=organisation).select_related("user", "term")
    current = sorted(
        qs.filter(ended_on__isnull=True),
        key=lambda m: (POSITION_RANK.get(m.position, 99), str(m.user), m.pk),
    )
    ended = list(qs.filter(ended_on__isnull=False).order_by("-ended_on", "-id")[:ended_limit])
    return current, ended


def member_candidates(*, user: Any) -> QuerySet[Any]:
    """People the acting user may add to an organisation: those holding a role inside the
    places they manage, and the members of the organisations around them."""
    from sanan.accounts.models import User
    from sanan.accounts.selectors import user_list

    in_scope = user_list(user=user, action="organisation.manage").values("pk")
    members = Membership.objects.filter(related_q(user, "organisation__place")).values("user_id")
    return User.objects.filter(Q(pk__in=in_scope) | Q(pk__in=members), is_active=True)


def member_find(*, user: Any, text: str) -> Any:
    """The person a desk form names by mobile number, username or full name, among the
    candidates; a ``DomainError`` on the ``person`` field otherwise (never echoing a number)."""
    from sanan.accounts.backends import find_account
    from sanan.core.errors import DomainError

    text = (text or "").strip()
    candidates = member_candidates(user=user)
    found = find_account(text) if text else None
    if found is not None and candidates.filter(pk=found.pk).exists():
        return found
    named = list(candidates.filter(display_name=text)[:2]) if text else []
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise DomainError(
            "membership.person_ambiguous",
            _("Several people have this name: enter their mobile number."),
            fields={"person": [_("Several people have this name: enter their mobile number.")]},
        )
    raise DomainError(
        "membership.person_not_found",
        _("Nobody with this number or name is known in your places."),
        fields={"person": [_("Check the number or name; the person needs an account first.")]},
    )


def post_type_list_with_counts() -> QuerySet[PostType]:
    """Every post type, in use first, with how many hold it now (one query)."""
    return PostType.objects.annotate(
        holders=Count("posts", filter=Q(posts__ended_on__isnull=True))
    ).order_by("-active", "order", "code")


# --- posts and coverage ---------------------------------------------------------------------


def post_type_list() -> QuerySet[PostType]:
    return PostType.objects.filter(active=True)


def post_list(*, user: Any, current: bool = True) -> QuerySet[Post]:
    qs = Post.objects.filter(related_q(user)).select_related(
        "post_type", "holder", "place", "organisation"
    )
    return qs.filter(ended_on__isnull=True) if current else qs


def post_get_for(*, user: Any, pk: Any) -> Post:
    try:
        return post_list(user=user, current=False).get(pk=int(pk))
    except (Post.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


def posts_serving(*, place: Place) -> list[Post]:
    """The current posts over ``place`` and the places above it (its commissioner first): who
    looks after a resident's courtyard. One query."""
    paths = [place.path[:i] for i in range(Place.steplen, len(place.path) + 1, Place.steplen)]
    return list(
        Post.objects.current()
        .filter(place__path__in=paths)
        .select_related("post_type", "holder", "holder__member_profile", "place")
        .order_by("-post_type__covers_courtyards", "-place__depth", "post_type__order", "id")
    )


@dataclass
class CourtyardCoverage:
    courtyard: Place
    posts: list[Post]

    @property
    def covered(self) -> bool:
        return bool(self.posts)


@dataclass
class Coverage:
    courtyards: list[CourtyardCoverage]

    @property
    def total(self) -> int:
        return len(self.courtyards)

    @property
    def covered(self) -> int:
        return sum(1 for c in self.courtyards if c.covered)

    @property
    def gaps(self) -> list[CourtyardCoverage]:
        return [c for c in self.courtyards if not c.covered]

    @property
    def commissioners(self) -> int:
        return len({p.holder_id for c in self.courtyards for p in c.posts})

    @property
    def percent(self) -> int:
        return round(100 * self.covered / self.total) if self.total else 0


def coverage(*, user: Any, within: Place | None = None) -> Coverage:
    """Every courtyard the user can see (inside ``within``) with its current commissioners;
    a courtyard without one is a gap. Two queries."""
    courtyards = Place.objects.visible_to(user).filter(kind=PlaceKind.COURTYARD)
    if within is not None:
        courtyards = courtyards.filter(path__startswith=within.path)
    places = list(courtyards.order_by("path"))
    by_place: dict[int, list[Post]] = defaultdict(list)
    posts = (
        Post.objects.current()
        .filter(post_type__covers_courtyards=True, place__in=[p.pk for p in places])
        .select_related("holder", "post_type")
        .order_by("started_on", "id")
    )
    for post in posts:
        by_place[post.place_id].append(post)
    return Coverage([CourtyardCoverage(p, by_place.get(p.pk, [])) for p in places])


# --- member cards and commitments ---------------------------------------------------------------


def member_card(*, token: str) -> MemberProfile:
    """A public card by its QR token (no sign-in needed: the card is meant to be seen)."""
    profile = MemberProfile.objects.select_related("user", "place").filter(card_token=token).first()
    if profile is None or not profile.user.is_active:
        raise NotFound("not_found", "Not found.")
    return profile


def card_posts(profile: MemberProfile) -> list[Post]:
    return list(
        Post.objects.current()
        .filter(holder=profile.user)
        .select_related("post_type", "place")
        .order_by("post_type__order", "place__path")
    )


def card_commitments(profile: MemberProfile) -> list[Commitment]:
    return list(
        Commitment.objects.filter(member=profile.user)
        .exclude(state=CommitmentState.WITHDRAWN)
        .select_related("place")
        .prefetch_related("comments__author")
        .order_by("-due_on", "-id")
    )


def commitment_list(*, user: Any) -> QuerySet[Commitment]:
    return (
        Commitment.objects.filter(related_q(user))
        .select_related("member", "member__member_profile", "place")
        .annotate(comment_count=Count("comments"))
    )


def commitment_get_for(*, user: Any, pk: Any) -> Commitment:
    try:
        return commitment_list(user=user).get(pk=int(pk))
    except (Commitment.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


@dataclass(frozen=True)
class CommitmentFigures:
    open: int
    due_soon: int
    overdue: int
    fulfilled: int
    fulfilled_on_time: int


def commitment_figures(*, user: Any, today: dt.date | None = None) -> CommitmentFigures:
    today = today or clock.today()
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    published = Q(state=CommitmentState.PUBLISHED)
    agg = Commitment.objects.filter(related_q(user)).aggregate(
        open=Count("pk", filter=published),
        due_soon=Count("pk", filter=published & Q(due_on__gte=today, due_on__lte=soon)),
        overdue=Count("pk", filter=published & Q(due_on__lt=today)),
        fulfilled=Count("pk", filter=Q(state=CommitmentState.FULFILLED)),
        fulfilled_on_time=Count(
            "pk",
            filter=Q(state=CommitmentState.FULFILLED, fulfilled_on__lte=F("due_on")),
        ),
    )
    return CommitmentFigures(**agg)


# --- the contact ledger -------------------------------------------------------------------------


def visit_list(*, user: Any) -> QuerySet[Visit]:
    """Visits in the user's ledger scope, newest first, with problems and their orders."""
    problems = Prefetch(
        "problems",
        queryset=VisitProblem.objects.select_related("work_order").order_by("id"),
    )
    return (
        Visit.objects.visible_to(user, VIEW_VISITS)
        .select_related("household", "household__head", "place", "visitor")
        .prefetch_related(problems)
        .order_by("-visited_at", "-id")
    )


def visit_get_for(*, user: Any, pk: Any) -> Visit:
    try:
        return visit_list(user=user).get(pk=int(pk))
    except (Visit.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


def problem_get_for(*, user: Any, pk: Any) -> VisitProblem:
    try:
        return (
            VisitProblem.objects.filter(
                visit__in=Visit.objects.visible_to(user, VIEW_VISITS).values("pk")
            )
            .select_related("visit", "visit__place", "work_order")
            .get(pk=int(pk))
        )
    except (VisitProblem.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


SOLVED_STATES = ("finished", "callback", "archived")


def solved_q(prefix: str = "") -> Q:
    """A problem counts as solved when it was solved on the spot, or its work order was
    finished and not rated "not solved" or "partly solved" by the resident."""
    return Q(**{f"{prefix}solved_on_spot": True}) | (
        Q(**{f"{prefix}work_order__state__in": SOLVED_STATES})
        & Q(**{f"{prefix}work_order__resolution__in": ["", "solved"]})
    )


@dataclass(frozen=True)
class LedgerFigures:
    visits: int
    households_served: int
    problems_collected: int
    problems_ordered: int
    problems_solved: int


def ledger_figures(*, user: Any, since: dt.datetime | None = None) -> LedgerFigures:
    """The ledger's figures, counted from the visits and the work-order loop (two queries)."""
    visits = Visit.objects.visible_to(user, VIEW_VISITS)
    if since is not None:
        visits = visits.filter(visited_at__gte=since)
    v = visits.aggregate(visits=Count("pk"), households=Count("household", distinct=True))
    problems = VisitProblem.objects.filter(visit__in=visits.values("pk"))
    p = problems.aggregate(
        collected=Count("pk"),
        ordered=Count("pk", filter=Q(work_order__isnull=False)),
        solved=Count("pk", filter=solved_q()),
    )
    return LedgerFigures(
        visits=v["visits"],
        households_served=v["households"],
        problems_collected=p["collected"],
        problems_ordered=p["ordered"],
        problems_solved=p["solved"],
    )


def households_not_visited(
    *, user: Any, days: int = DEFAULT_NOT_VISITED_DAYS, now: dt.datetime | None = None
) -> QuerySet[Any]:
    """Households in the user's ledger scope with no visit in the last ``days`` days (never
    visited first), each annotated with ``last_visit``."""
    from sanan.registry.models import Household

    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    recent = Visit.objects.filter(household=OuterRef("pk"), visited_at__gte=cutoff)
    return (
        Household.objects.visible_to(user, VIEW_VISITS)
        .annotate(last_visit=Max("visits__visited_at"))
        .filter(~Exists(recent))
        .select_related("place", "head")
        .order_by("last_visit", "place__path", "code")
    )


def household_for_visit(*, user: Any, pk: Any) -> Any:
    from sanan.registry.models import Household

    try:
        return (
            Household.objects.visible_to(user, "visit.record")
            .select_related("place", "head")
            .get(pk=int(pk))
        )
    except (Household.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


@dataclass(frozen=True)
class VisitorCount:
    visitor_id: int
    name: str
    visits: int
    households: int


def visits_by_visitor(*, user: Any, since: dt.datetime) -> list[VisitorCount]:
    """Visits and households per commissioner since ``since`` (one query)."""
    rows = (
        Visit.objects.visible_to(user, VIEW_VISITS)
        .filter(visited_at__gte=since)
        .values("visitor_id", "visitor__display_name", "visitor__username")
        .annotate(visits=Count("pk"), households=Count("household", distinct=True))
        .order_by("-visits", "visitor_id")
    )
    return [
        VisitorCount(
            r["visitor_id"],
            r["visitor__display_name"] or r["visitor__username"],
            r["visits"],
            r["households"],
        )
        for r in rows
    ]


# --- Red Butlers and events ---------------------------------------------------------------------


def butler_list(*, user: Any, current: bool = True) -> QuerySet[RedButler]:
    """Red Butlers around the user's places, each with counts of their recorded activity (one
    query): ``assists``, ``disputes``, ``cares``, ``patrols`` and ``last_activity``."""
    qs = RedButler.objects.filter(related_q(user)).select_related("user", "place")
    if current:
        qs = qs.filter(ended_on__isnull=True)
    return qs.annotate(
        assists=Count("activities", filter=Q(activities__kind=ButlerActivityKind.ASSIST)),
        disputes=Count("activities", filter=Q(activities__kind=ButlerActivityKind.DISPUTE)),
        cares=Count("activities", filter=Q(activities__kind=ButlerActivityKind.CARE)),
        patrols=Count("activities", filter=Q(activities__kind=ButlerActivityKind.PATROL)),
        last_activity=Max("activities__occurred_on"),
    ).order_by("place__path", "id")


def butler_get_for(*, user: Any, pk: Any) -> RedButler:
    try:
        return butler_list(user=user, current=False).get(pk=int(pk))
    except (RedButler.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


def butler_of(user: Any) -> RedButler | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        RedButler.objects.filter(user=user, ended_on__isnull=True).select_related("place").first()
    )


def event_list(*, user: Any) -> QuerySet[Event]:
    return (
        Event.objects.filter(related_q(user))
        .select_related("place")
        .annotate(
            signed_up=Count("attendances", filter=Q(attendances__signed_up_at__isnull=False)),
            attended=Count("attendances", filter=Q(attendances__checked_in_at__isnull=False)),
        )
    )


def event_get_for(*, user: Any, pk: Any) -> Event:
    try:
        return event_list(user=user).get(pk=int(pk))
    except (Event.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "Not found.") from None


@dataclass(frozen=True)
class CourtyardAttendance:
    courtyard_id: int | None
    name: str
    signed_up: int
    attended: int


def attendance_by_courtyard(*, event: Event) -> list[CourtyardAttendance]:
    """Sign-ups and sign-ins per courtyard (people with no courtyard last), one query."""
    rows = (
        Attendance.objects.filter(event=event)
        .values("courtyard_id", "courtyard__name", "courtyard__path")
        .annotate(
            signed_up=Count("pk", filter=Q(signed_up_at__isnull=False)),
            attended=Count("pk", filter=Q(checked_in_at__isnull=False)),
        )
        .order_by("courtyard__path")
    )
    result = [
        CourtyardAttendance(
            r["courtyard_id"], r["courtyard__name"] or "", r["signed_up"], r["attended"]
        )
        for r in rows
    ]
    return sorted(result, key=lambda r: r.courtyard_id is None)


def attendance_of(*, user: Any, event: Event) -> Attendance | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Attendance.objects.filter(event=event, user=user).first()
