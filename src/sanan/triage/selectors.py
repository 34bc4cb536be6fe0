"""Reads of the triage app: category suggestions, the routing suggestion with its reason, and
clusters of orders that may report the same problem.

Each takes the acting user. Suggestions need ``triage.suggest`` somewhere (staff at a desk or
in the courtyards); the routing suggestion and the clusters need ``triage.review`` over the
place (the dispatcher's desk).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import NotFound, PermissionDenied
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.triage.model import Suggestion, current_model
from sanan.workorders.duplicates import SIMILARITY_THRESHOLD, category_family_path, similarity
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.routing import route_for
from sanan.workorders.state import OPEN_STATES

CLUSTER_WINDOW_DAYS = 14
CLUSTER_CANDIDATES = 2000  # the most recent open orders compared in one run


def require_suggest(user: Any) -> None:
    if not permissions_for(user).has("triage.suggest"):
        raise PermissionDenied(
            "triage.forbidden", _("Category suggestions are for the people who register requests.")
        )


# --- category suggestion ---------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryChoice:
    code: str
    confidence: float
    category: Category | None  # None: the code is not (or no longer) in the category table

    @property
    def name(self) -> str:
        return self.category.name if self.category else self.code

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)


@dataclass(frozen=True)
class TriageSuggestion:
    choices: list[CategoryChoice]  # level 1, best first
    level2: CategoryChoice | None
    raw: Suggestion

    @property
    def best(self) -> CategoryChoice | None:
        return self.choices[0] if self.choices else None

    @property
    def alternatives(self) -> list[CategoryChoice]:
        """The runners-up worth a look (5 % and more)."""
        return [c for c in self.choices[1:] if c.confidence >= 0.05]

    @property
    def category(self) -> Category | None:
        """The most specific suggested category: level 2 when it is likely, else level 1."""
        if self.level2 and self.level2.category and self.level2.confidence >= 0.5:
            return self.level2.category
        return self.best.category if self.best else None


def triage_suggest(*, user: Any, text: str) -> TriageSuggestion:
    require_suggest(user)
    raw = current_model().suggest(text)
    codes = [s.code for s in raw.level1] + ([raw.level2.code] if raw.level2 else [])
    by_code = {c.code: c for c in Category.objects.filter(code__in=codes, active=True)}
    choices = [CategoryChoice(s.code, s.confidence, by_code.get(s.code)) for s in raw.level1]
    level2 = None
    if raw.level2:
        level2 = CategoryChoice(
            raw.level2.code, raw.level2.confidence, by_code.get(raw.level2.code)
        )
    return TriageSuggestion(choices, level2, raw)


# --- routing suggestion ----------------------------------------------------------------------


@dataclass(frozen=True)
class RouteSuggestion:
    category: Category
    place: Place
    lead: Any  # Organisation | None
    co_handlers: list[Any]
    automatic: bool
    reason_code: str  # "rule", "backstop", "no_rule" (as workorders.routing.Route.reason)
    reason: str  # in words, for the dispatcher


def _route_reason(route: Any, category: Category, place: Place) -> str:
    rule = route.rule
    if rule is None:
        return _(
            "No rule of the routing directory covers %(category)s in %(place)s, and no place "
            "above it has a backstop owner: choose the department by hand."
        ) % {"category": category.name, "place": place.name}
    rule_category = rule.category.name if rule.category else ""
    if route.automatic:
        return _(
            "The routing directory sends %(rule_category)s in %(rule_place)s to "
            "%(organisation)s (the most specific rule for %(category)s here)."
        ) % {
            "rule_category": rule_category,
            "rule_place": rule.place.name,
            "organisation": route.lead.name,
            "category": category.name,
        }
    return _(
        "No rule names %(category)s here; %(organisation)s is the backstop owner of "
        "%(rule_place)s, the nearest place above that has one."
    ) % {"category": category.name, "organisation": route.lead.name, "rule_place": rule.place.name}


def triage_route_suggestion(*, user: Any, category: Category, place: Place) -> RouteSuggestion:
    """Which department the routing directory proposes for (category, place), and why."""
    perms = permissions_for(user)
    if not perms.can_see(place):
        raise NotFound("not_found", _("No such place."))
    if not perms.can("triage.review", place):
        raise PermissionDenied("triage.forbidden", _("Only the desk sees routing suggestions."))
    route = route_for(category=category, place=place)
    return RouteSuggestion(
        category=category,
        place=place,
        lead=route.lead,
        co_handlers=list(route.co_handlers),
        automatic=route.automatic,
        reason_code=route.reason,
        reason=_route_reason(route, category, place),
    )


# --- duplicate clusters ----------------------------------------------------------------------


@dataclass
class DuplicateCluster:
    orders: list[WorkOrder]  # oldest first
    score: float  # the weakest link that holds the cluster together
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def target(self) -> WorkOrder:
        """The suggested order to keep: the first report (its reporter has waited longest);
        the others are merged into it."""
        return self.orders[0]

    @property
    def to_merge(self) -> list[WorkOrder]:
        return self.orders[1:]

    @property
    def channels(self) -> list[str]:
        return sorted({o.channel for o in self.orders})

    @property
    def across_channels(self) -> bool:
        return len(self.channels) > 1

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def triage_duplicate_clusters(
    *,
    user: Any,
    days: int = CLUSTER_WINDOW_DAYS,
    threshold: float = SIMILARITY_THRESHOLD,
    place: Place | None = None,
) -> list[DuplicateCluster]:
    """Open orders the user may review that may report one problem: same courtyard, same
    category family (level 2, see ``workorders.duplicates``), text alike (character-bigram
    Dice ≥ ``threshold``), registered within ``days`` of each other and of today. Clusters
    are joined through their links (A like B, B like C), largest and closest first."""
    perms = permissions_for(user)
    since = clock.now() - dt.timedelta(days=days)
    qs = perms.filter(
        WorkOrder.objects.filter(
            state__in=OPEN_STATES,
            parent__isnull=True,
            courtyard__isnull=False,
            created_at__gte=since,
        ),
        "triage.review",
        "place",
    )
    if place is not None:
        qs = qs.filter(place__path__startswith=place.path)
    orders = list(
        qs.select_related("category", "courtyard").order_by("-created_at", "-id")[
            :CLUSTER_CANDIDATES
        ]
    )
    groups: dict[tuple[int, str], list[WorkOrder]] = defaultdict(list)
    for order in orders:
        assert order.courtyard_id is not None
        groups[(order.courtyard_id, category_family_path(order.category))].append(order)
    window = dt.timedelta(days=days)
    clusters: list[DuplicateCluster] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        texts = {o.pk: f"{o.title} {o.description}" for o in members}
        parent = {o.pk: o.pk for o in members}
        links: list[tuple[int, int, float]] = []
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if abs(a.created_at - b.created_at) > window:
                    continue
                score = similarity(texts[a.pk], texts[b.pk])
                if score >= threshold:
                    links.append((a.pk, b.pk, round(score, 3)))
                    parent[_find(parent, a.pk)] = _find(parent, b.pk)
        by_root: dict[int, list[WorkOrder]] = defaultdict(list)
        for o in members:
            by_root[_find(parent, o.pk)].append(o)
        for group in by_root.values():
            if len(group) < 2:
                continue
            ids = {o.pk for o in group}
            pairs = [link for link in links if link[0] in ids]
            group.sort(key=lambda o: (o.created_at, o.pk))
            score = min(p[2] for p in pairs)
            clusters.append(DuplicateCluster(group, score, pairs))
    clusters.sort(key=lambda c: (-len(c.orders), -c.score, c.target.pk))
    return clusters


# --- hotspots and trends ---------------------------------------------------------------------


@dataclass(frozen=True)
class Hotspot:
    courtyard: Place
    category: Category  # level 1
    count: int  # orders in the period
    previous: int  # orders in the period before it, of the same length

    @property
    def change(self) -> int:
        return self.count - self.previous


@dataclass(frozen=True)
class MonthVolume:
    month: dt.date  # the first day of the month
    count: int
    previous_month: int | None  # None: before the first month shown
    previous_year: int | None

    @staticmethod
    def _pct(now: int, before: int | None) -> int | None:
        if not before:
            return None
        return round((now - before) * 100 / before)

    @property
    def month_over_month(self) -> int | None:
        return self._pct(self.count, self.previous_month)

    @property
    def year_over_year(self) -> int | None:
        return self._pct(self.count, self.previous_year)


def _review_orders(user: Any) -> Any:
    perms = permissions_for(user)
    if not perms.has("triage.review"):
        raise PermissionDenied("triage.forbidden", _("Hotspots are for the desk."))
    return perms.filter(WorkOrder.objects.all(), "triage.review", "place")


def triage_hotspots(*, user: Any, weeks: int = 4, top: int = 10) -> list[Hotspot]:
    """Courtyards and level-1 categories with the most orders in the last ``weeks`` weeks,
    with the count of the ``weeks`` before for comparison; the first few are the proposal
    for the topic of the month."""
    from django.db.models import Count

    from sanan.triage.dataset import category_levels

    now = clock.now()
    start = now - dt.timedelta(weeks=weeks)
    before = start - dt.timedelta(weeks=weeks)
    qs = _review_orders(user).filter(created_at__gte=before, courtyard__isnull=False)
    current = (
        qs.filter(created_at__gte=start)
        .values_list("courtyard_id", "category_id")
        .annotate(n=Count("id"))
    )
    past = (
        qs.filter(created_at__lt=start)
        .values_list("courtyard_id", "category_id")
        .annotate(n=Count("id"))
    )
    levels = category_levels()
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for index, query in ((0, current), (1, past)):
        for courtyard_id, category_id, n in query:
            code = levels.get(category_id, ("", ""))[0]
            if code:
                counts[(courtyard_id, code)][index] += n
    # most orders now first; of equal counts, the one that rose most
    ranked = sorted(
        ((key, c) for key, c in counts.items() if c[0]), key=lambda kv: (-kv[1][0], kv[1][1])
    )[:top]
    yards = Place.objects.in_bulk({key[0] for key, _c in ranked})
    categories = {c.code: c for c in Category.objects.filter(code__in={k[1] for k, _c in ranked})}
    return [
        Hotspot(yards[key[0]], categories[key[1]], c[0], c[1])
        for key, c in ranked
        if key[0] in yards and key[1] in categories
    ]


TOPIC_PROPOSALS = 3  # hotspots proposed as the topic of the month


@dataclass(frozen=True)
class TopicProposal:
    """A proposed topic of the month: one level-1 category in the courtyards of one community
    where it is a hotspot, with their orders summed."""

    category: Category
    courtyards: list[Place]
    count: int
    previous: int


COMMUNITY_LEN = (KIND_ORDER.index(PlaceKind.COMMUNITY) + 1) * Place.steplen


def topic_proposals(spots: list[Hotspot], *, top: int = 3) -> list[TopicProposal]:
    """The first ``top`` proposals from the ranked hotspots: the hotspots of one category in
    one community make one proposal (ranked by its first hotspot)."""
    groups: dict[tuple[str, str], list[Hotspot]] = {}
    for spot in spots:
        groups.setdefault((spot.courtyard.path[:COMMUNITY_LEN], spot.category.code), []).append(
            spot
        )
    return [
        TopicProposal(
            category=members[0].category,
            courtyards=[h.courtyard for h in members],
            count=sum(h.count for h in members),
            previous=sum(h.previous for h in members),
        )
        for members in list(groups.values())[:top]
    ]


def triage_monthly_volume(
    *, user: Any, channel: str | None = None, months: int = 12
) -> list[MonthVolume]:
    """Orders per month for the last ``months`` months (``channel``: e.g. the hotline's
    only), each with the month before and the same month a year before."""
    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    first = timezone.localtime(clock.now()).date().replace(day=1)
    year, month = first.year, first.month - (months - 1) - 12
    while month < 1:
        year, month = year - 1, month + 12
    since = dt.date(year, month, 1)
    qs = _review_orders(user).filter(created_at__date__gte=since)
    if channel:
        qs = qs.filter(channel=channel)
    by_month = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: row["n"]
        for row in qs.annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    }

    def shift(day: dt.date, by: int) -> dt.date:
        index = day.year * 12 + day.month - 1 + by
        return dt.date(index // 12, index % 12 + 1, 1)

    out = []
    for i in range(months - 1, -1, -1):
        m = shift(first, -i)
        out.append(
            MonthVolume(
                month=m,
                count=by_month.get(m, 0),
                previous_month=by_month.get(shift(m, -1), 0),
                previous_year=by_month.get(shift(m, -12), 0),
            )
        )
    return out
