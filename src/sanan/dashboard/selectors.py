"""Reads of the leader's dashboard, its big screen, the public figures and the monthly report.

Every figure is counted by the database from maintained data, over the subtrees of places
where the acting user holds ``dashboard.view`` (or the place chosen in the filter inside
them): the figures' rollups for the period, indexes for now. The orders are scoped by their own
``place_path`` as ranges of paths (no join to the place table); each panel is one or two
grouped queries whatever the number of orders, courtyards or communities:

- ``headline``: the orders registered in the period, how many of them were finished and
  solved (from the ``insights`` rollups, as ``docs/kpis.md`` defines them), and the orders
  open, overdue and under supervision now (from the partial index of open orders);
- ``place_breakdown``: the same per courtyard (a community's map) or per community (a
  district's table): the rollups grouped by place, the open orders' index grouped by
  ``courtyard_id`` or by the community's prefix of the path;
- ``hotline_months``: calls per month with month over month and year over year;
- ``escalations``: chases 催办, supervision 督办 and re-handling 重办 since Monday, from the
  work-order events.

The three rates, their trend, and campaign progress come from ``insights`` and ``campaigns``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Count, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import NotFound
from sanan.dashboard.periods import Period, local_midnight, month_start
from sanan.insights import selectors as insights
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.workorders.models import BOARD_STATES, WorkOrder, WorkOrderEvent
from sanan.workorders.state import OPEN_STATES, Action, State

VIEW = "dashboard.view"
STEPLEN = Place.steplen
COMMUNITY_DEPTH = KIND_ORDER.index(PlaceKind.COMMUNITY) + 1
COURTYARD_DEPTH = KIND_ORDER.index(PlaceKind.COURTYARD) + 1
OPEN = sorted(OPEN_STATES)
DONE = [State.FINISHED, State.CALLBACK, State.ARCHIVED]
ESCALATIONS = (Action.CHASE, Action.SUPERVISE, Action.REHANDLE)


def _under(roots: Iterable[str], field_name: str = "place_path") -> Q:
    """Orders (or anything with a path field) inside one of the subtrees ``roots``."""
    cond = Q()
    for root in roots:
        if root == "":
            return Q()
        cond |= Q(**{f"{field_name}__startswith": root})
    return cond if cond else Q(pk__in=[])


def overdue_q(now: dt.datetime) -> Q:
    return Q(state__in=OPEN, due_at__lte=now)


# --- scope and the place filter ---------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What the dashboard counts: ``roots`` are the subtrees (the chosen place, or every place
    where the user holds ``dashboard.view``); ``focus`` the chosen place."""

    roots: list[str]
    focus: Place | None
    options: list[Place]  # the place filter: communities (or the user's own places) …
    courtyards: list[Place]  # … and the courtyards of the community or area in focus
    map_place: Place | None  # the area or community whose courtyards the map draws
    everything: bool = False  # a superuser's scope: every place
    user_roots: list[str] = field(default_factory=list)  # where the user holds the action

    @property
    def wide(self) -> bool:
        """Several communities: the dashboard shows a table of communities, not a map."""
        return self.map_place is None


def dashboard_roots(user: Any) -> list[str]:
    return permissions_for(user).scope_paths(VIEW)


def may_view(user: Any) -> bool:
    return bool(dashboard_roots(user))


def _inside(path: str, roots: list[str]) -> bool:
    return any(path.startswith(root) for root in roots)


def dashboard_scope(*, user: Any, place: Any = None) -> Scope:
    """The user's dashboard scope, narrowed to ``place`` (a pk) when given. No
    ``dashboard.view`` anywhere, or a place outside the scope: ``NotFound``. Three queries."""
    roots = dashboard_roots(user)
    if not roots:
        raise NotFound("not_found", _("Not found."))
    everything = roots == [""]
    focus: Place | None = None
    if place not in (None, ""):
        try:
            focus = Place.objects.get(pk=int(place))
        except (Place.DoesNotExist, TypeError, ValueError):
            raise NotFound("not_found", _("No such place.")) from None
        if not _inside(focus.path, roots):
            raise NotFound("not_found", _("No such place."))
    own = [] if everything else list(Place.objects.filter(path__in=roots).order_by("path"))
    # The filter: every community inside the scope, and the user's own places below that level.
    cond = Q(kind=PlaceKind.COMMUNITY) & _under(roots, "path")
    options = list(Place.objects.filter(cond).order_by("path"))
    options += [p for p in own if p.depth > COMMUNITY_DEPTH]
    target = focus
    if target is None and len(own) == 1:
        target = own[0]
    if target is None and len(options) == 1:
        target = options[0]
    map_place: Place | None = None
    if target is not None and target.depth >= COMMUNITY_DEPTH:
        map_place = target
        if target.depth >= COURTYARD_DEPTH:
            parent_path = target.path[: (COURTYARD_DEPTH - 1) * STEPLEN]
            map_place = next((p for p in own + options if p.path == parent_path), None)
            if map_place is None and _inside(parent_path, roots):
                map_place = Place.objects.filter(path=parent_path).first()
            map_place = map_place or target
    courtyards: list[Place] = []
    if map_place is not None:
        courtyards = list(
            Place.objects.filter(
                _under([map_place.path], "path"), _under(roots, "path"), kind=PlaceKind.COURTYARD
            ).order_by("path")
        )
    return Scope(
        roots=[focus.path] if focus is not None else roots,
        focus=focus,
        options=options,
        courtyards=courtyards,
        map_place=map_place,
        everything=everything and focus is None,
        user_roots=roots,
    )


# --- the headline and the breakdown by place --------------------------------------------------


FIGURES = ("registered", "finished", "solved", "open", "overdue", "supervised")


@dataclass
class Figures:
    """The dashboard's counts. The first three are about the orders registered in the period
    and come from the figures' rollups (``insights``, the counters ``docs/kpis.md`` defines);
    the last three are about now and come from the open orders' index."""

    registered: int = 0  # registered in the period (merged duplicates not counted)
    finished: int = 0  # of those, finished at least once
    solved: int = 0  # of those, complaints whose latest call-back says solved
    open: int = 0  # now
    overdue: int = 0  # now, open and past the deadline of their current stage
    supervised: int = 0  # now, open and under supervision
    summary: insights.Summary | None = field(default=None, compare=False, repr=False)

    def add(self, other: Figures) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


# ``state IN (...)`` written out with its constants: SQLite uses the partial index of the
# board's states (``workorders.models.BOARD_STATES``, open orders and those awaiting their
# rating) only when the query's WHERE visibly implies the index's condition, which bound
# parameters do not. The values are the fixed state codes of ``BOARD_STATES``.
_BOARD_STATES_SQL = RawSQL(  # noqa: S611 (constants of the work-order model, no input)
    '"workorders_workorder"."state" IN ({})'.format(", ".join(f"'{s}'" for s in BOARD_STATES)),
    [],
    output_field=BooleanField(),
)


def _paths_q(roots: Iterable[str], field_name: str = "place_path") -> Q:
    """Inside one of the subtrees ``roots``, as ranges of paths (an index range on both
    databases, where ``LIKE 'prefix%'`` is not one on SQLite)."""
    cond = Q()
    for root in roots:
        if root == "":
            return Q()
        cond |= insights.under(root, field_name)
    return cond if cond else Q(pk__in=[])


def _now_counts(now: dt.datetime) -> dict[str, Any]:
    return {
        "open": Count("pk", filter=Q(state__in=OPEN)),
        "overdue": Count("pk", filter=overdue_q(now)),
        "supervised": Count("pk", filter=Q(state__in=OPEN, supervision_level__gt=0)),
    }


def open_orders(roots: Iterable[str]) -> QuerySet[WorkOrder]:
    """The open orders (and those awaiting their rating) inside ``roots``, read from their
    partial index (``work_order_board``: place path, state, courtyard, deadline, supervision):
    the archive, however large, is not read."""
    return WorkOrder.objects.filter(_BOARD_STATES_SQL).filter(_paths_q(roots)).order_by()


def _last_month(period: Period) -> dt.date:
    return month_start(period.end_day - dt.timedelta(days=1))


def period_summary(*, scope: Scope, period: Period) -> insights.Summary:
    """The figures of the orders registered in the period inside the scope, from the
    rollups (one query): the headline's first three counts and the three rates."""
    return insights.figures_summary(
        paths=scope.roots,
        start=period.first_day,
        end=_last_month(period),
        place_id=scope.focus.pk if scope.focus is not None else None,
        residents=False,
    )


def headline(
    *,
    scope: Scope,
    period: Period,
    now: dt.datetime | None = None,
    summary: insights.Summary | None = None,
) -> Figures:
    """The figures at the top of the dashboard: two queries (the period's rollup rows, the
    open orders' index), one when the period's ``summary`` is given."""
    now = now or clock.now()
    summary = summary or period_summary(scope=scope, period=period)
    row = open_orders(scope.roots).aggregate(**_now_counts(now))
    return Figures(
        registered=summary.registered,
        finished=summary.finished,
        solved=summary.solved,
        summary=summary,
        **row,
    )


@dataclass
class PlaceFigures:
    place: Place | None  # None: orders outside any courtyard
    figures: Figures
    name: str = ""
    url: str = ""  # the dashboard narrowed to the place (set by the page)
    links: dict[str, str] = field(default_factory=dict)  # each figure's order list

    @property
    def label(self) -> str:
        return self.place.name if self.place is not None else self.name


def _period_figures(summary: insights.Summary | None) -> Figures:
    if summary is None:
        return Figures()
    return Figures(
        registered=summary.registered,
        finished=summary.finished,
        solved=summary.solved,
        summary=summary,
    )


def _with_now(figures: Figures, row: dict[str, Any] | None) -> Figures:
    if row is not None:
        figures.open, figures.overdue, figures.supervised = (
            row["open"], row["overdue"], row["supervised"],
        )  # fmt: skip
    return figures


def _row(summary: insights.Summary | None, now_row: dict[str, Any] | None) -> Figures:
    return _with_now(_period_figures(summary), now_row)


def _map_paths(scope: Scope) -> list[str]:
    """The subtrees the map counts: the place on the map, within the user's scope."""
    assert scope.map_place is not None
    path = scope.map_place.path
    if _inside(path, scope.user_roots):
        return [path]
    return [r for r in scope.user_roots if r.startswith(path)]


def place_breakdown(
    *, scope: Scope, period: Period, now: dt.datetime | None = None
) -> list[PlaceFigures]:
    """The figures per courtyard of the place on the map (every courtyard, none left out), or
    per community for a wide scope: the period's from the rollups grouped by place (one
    query), now's from the open orders' index grouped by courtyard or by the community's
    prefix of the path (one query), and the names of places outside the list (one query, only
    when there are any)."""
    now = now or clock.now()
    place_id = scope.focus.pk if scope.focus is not None else None
    start, end = period.first_day, _last_month(period)
    if scope.map_place is not None:
        paths = _map_paths(scope)
        # The rows' links name the place on the map (with a courtyard in focus, its
        # neighbours on the map lie outside the focus).
        by_path = insights.figures_by_place(
            paths=paths, start=start, end=end, level="courtyard", place_id=scope.map_place.pk
        )
        now_rows: Any = open_orders(paths).values("courtyard_id").annotate(**_now_counts(now))
        by_id: dict[int | None, dict[str, Any]] = {r["courtyard_id"]: r for r in now_rows}
        result = [
            PlaceFigures(c, _row(by_path.pop(c.path, None), by_id.pop(c.pk, None)))
            for c in scope.courtyards
        ]
        rest = Figures()
        for summary in by_path.values():
            rest.add(_period_figures(summary))
        for row in by_id.values():
            rest.add(_with_now(Figures(), row))
        if len(by_path) == 1:  # orders at one place above the courtyards: their lists link
            rest.summary = next(iter(by_path.values()))
        if any(getattr(rest, name) for name in FIGURES):
            result.append(PlaceFigures(None, rest, str(_("Outside the courtyards"))))
        return result
    length = COMMUNITY_DEPTH * STEPLEN
    by_path = insights.figures_by_place(
        paths=scope.roots, start=start, end=end, level="community", place_id=place_id
    )
    community_rows: Any = (
        open_orders(scope.roots)
        .annotate(community_path=Substr("place_path", 1, length))
        .values("community_path")
        .annotate(**_now_counts(now))
    )
    now_by_path: dict[str, dict[str, Any]] = {r["community_path"]: r for r in community_rows}
    communities = {p.path: p for p in scope.options if p.depth == COMMUNITY_DEPTH}
    result = [
        PlaceFigures(p, _row(by_path.pop(path, None), now_by_path.pop(path, None)))
        for path, p in communities.items()
    ]
    others = sorted(set(by_path) | set(now_by_path))
    if others:
        names = dict(Place.objects.filter(path__in=others).values_list("path", "name"))
        for path in others:
            figures = _row(by_path.get(path), now_by_path.get(path))
            result.append(PlaceFigures(None, figures, names.get(path, path)))
    return result


# --- the hotline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotlineMonth:
    month: dt.date
    calls: int
    previous_month: int
    previous_year: int

    @staticmethod
    def _change(now: int, then: int) -> float | None:
        return round((now - then) * 100 / then, 1) if then else None

    @property
    def mom(self) -> float | None:
        return self._change(self.calls, self.previous_month)

    @property
    def yoy(self) -> float | None:
        return self._change(self.calls, self.previous_year)


@dataclass
class Hotline:
    months: list[HotlineMonth] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(m.calls for m in self.months)

    @property
    def total_year_before(self) -> int:
        return sum(m.previous_year for m in self.months)

    @property
    def change(self) -> float | None:
        """Calls in the period against the same months a year earlier, in per cent; only
        when every one of those months had calls (a year with a gap compares nothing)."""
        if not self.months or any(m.previous_year == 0 for m in self.months):
            return None
        return HotlineMonth._change(self.total, self.total_year_before)


def hotline_months(*, roots: list[str], months: list[dt.date]) -> Hotline:
    """Hotline calls per month over ``months`` within the subtrees ``roots``, each with the
    month before and the same month a year before (one grouped query over 13 more months).
    Counts only: no call, caller or summary leaves this function."""
    from sanan.hotline.models import CallRecord

    if not months:
        return Hotline()
    since = local_midnight(month_start(months[0], 12))
    until = local_midnight(month_start(months[-1], -1))
    tz = timezone.get_current_timezone()
    rows = (
        CallRecord.objects.filter(_under(roots, "place__path"))
        .filter(started_at__gte=since, started_at__lt=until)
        .annotate(month=TruncMonth("started_at", tzinfo=tz))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per: dict[dt.date, int] = defaultdict(int)
    for r in rows:
        m = r["month"]
        per[m.date() if isinstance(m, dt.datetime) else m] += r["n"]
    return Hotline(
        [
            HotlineMonth(
                m, per.get(m, 0), per.get(month_start(m, 1), 0), per.get(month_start(m, 12), 0)
            )
            for m in months
        ]
    )


# --- what escalated this week -----------------------------------------------------------------


def week_start(now: dt.datetime | None = None) -> dt.datetime:
    """Monday 00:00 of this week, local time."""
    today = timezone.localdate(now or clock.now())
    return local_midnight(today - dt.timedelta(days=today.weekday()))


@dataclass
class Escalation:
    action: str
    label: str
    count: int
    url: str = ""  # the list of the orders (set by the page)


@dataclass
class Escalations:
    since: dt.datetime
    counts: list[Escalation]
    latest: list[WorkOrderEvent]

    @property
    def total(self) -> int:
        return sum(c.count for c in self.counts)


def escalations(*, scope: Scope, now: dt.datetime | None = None, latest: int = 8) -> Escalations:
    """Chases, supervision and re-handling since Monday inside the scope: the orders of each
    kind (one query) and the latest events with their orders (one query)."""
    since = week_start(now)
    events = WorkOrderEvent.objects.filter(
        _paths_q(scope.roots, "order__place_path"), action__in=ESCALATIONS, at__gte=since
    )
    # Orders, not events: an order chased twice is one order on the list the number opens.
    counts = events.aggregate(
        **{a.value: Count("order", distinct=True, filter=Q(action=a)) for a in ESCALATIONS}
    )
    rows = list(
        events.select_related("order__category", "order__courtyard").order_by("-at", "-id")[:latest]
    )
    return Escalations(
        since=since,
        counts=[Escalation(a.value, str(a.label), counts[a.value]) for a in ESCALATIONS],
        latest=rows,
    )


def escalated_q(action: str, since: dt.datetime) -> Q:
    """Orders with an escalation event of ``action`` since ``since`` (for the drill-down)."""
    events = WorkOrderEvent.objects.filter(order_id=OuterRef("pk"), action=action, at__gte=since)
    return Q(Exists(events))
