"""Reads for work orders, always on behalf of a user (see ``workorders.access`` for scoping).

The board (dispatcher) and the queue (handler) add up the maintained counters
(``workorders.counts``) and count what depends on the clock over bounded index ranges, in one
statement each; lists select their relations up front, so the number of queries never grows
with rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from sanan.core import clock
from sanan.core.errors import NotFound
from sanan.places.models import Place
from sanan.workorders import counts
from sanan.workorders.access import is_staff_for, order_access
from sanan.workorders.models import (
    BOARD_STATES,
    BoardCount,
    Category,
    CategoryQuestion,
    EscalationLevel,
    WorkOrder,
    WorkOrderEvent,
)
from sanan.workorders.state import OPEN_STATES, OPEN_WORK, Action, State

# --- buckets, shared by the board, the queue and the list filters ------------------------------


def overdue_q(now: dt.datetime) -> Q:
    """The deadline of the current stage has passed."""
    return Q(due_at__lte=now)


def due_soon_q(now: dt.datetime) -> Q:
    """Past the warning point of the current stage, before its deadline (works whether or not
    the sweep has run yet)."""
    return Q(due_at__gt=now) & (
        Q(escalation_level__gte=EscalationLevel.WARNED)
        | Q(escalation_level=EscalationLevel.NONE, escalation_at__lte=now)
    )


BucketQ = Callable[[dt.datetime, Any], Q]


def _lead_orgs(user: Any) -> set[int]:
    return order_access(user).organisations("work_order.handle")


def _co_handled_by(org_ids: set[int]) -> QuerySet[Any]:
    through = WorkOrder.co_handlers.through
    return through.objects.filter(workorder_id=OuterRef("pk"), organisation_id__in=org_ids)


BOARD_BUCKETS: dict[str, tuple[Any, BucketQ]] = {
    "new": (_("New, to dispatch"), lambda now, user: Q(state=State.REGISTERED)),
    "returned": (_("Returned, to rule on"), lambda now, user: Q(state=State.RETURNED)),
    # Dispatched (by the desk or automatically by a routing rule) and not finished yet: without
    # it an order routed on arrival was in no list until it came due.
    "with_departments": (_("With the departments"), lambda now, user: Q(state__in=OPEN_WORK)),
    "overdue": (_("Overdue"), lambda now, user: overdue_q(now)),
    "due_soon": (_("Due soon"), lambda now, user: due_soon_q(now)),
    "emergency": (
        _("Open emergencies"),
        lambda now, user: Q(emergency=True, state__in=OPEN_STATES),
    ),
    "supervised": (
        _("Under supervision"),
        lambda now, user: Q(supervision_level__gt=0, state__in=OPEN_STATES),
    ),
    "awaiting_rating": (_("Awaiting rating"), lambda now, user: Q(state=State.FINISHED)),
}
QUEUE_BUCKETS: dict[str, tuple[Any, BucketQ]] = {
    "to_sign": (
        _("To sign for"),
        lambda now, user: Q(state=State.DISPATCHED, lead_organisation_id__in=_lead_orgs(user)),
    ),
    "in_progress": (
        _("In progress"),
        lambda now, user: Q(
            state__in=[State.SIGNED, State.CONTACTED, State.IN_PROGRESS],
            lead_organisation_id__in=_lead_orgs(user),
        ),
    ),
    "queue_due_soon": (
        _("Due soon"),
        lambda now, user: (
            due_soon_q(now) & Q(state__in=OPEN_WORK, lead_organisation_id__in=_lead_orgs(user))
        ),
    ),
    "queue_overdue": (
        _("Overdue"),
        lambda now, user: (
            overdue_q(now) & Q(state__in=OPEN_WORK, lead_organisation_id__in=_lead_orgs(user))
        ),
    ),
    "co_handling": (
        _("Co-handling"),
        lambda now, user: (
            Q(state__in=OPEN_WORK)
            & Q(Exists(_co_handled_by(_lead_orgs(user))))
            & ~Q(lead_organisation_id__in=_lead_orgs(user))
        ),
    ),
}
BUCKETS = {**BOARD_BUCKETS, **QUEUE_BUCKETS}


def bucket_q(name: str, *, user: Any, now: dt.datetime | None = None) -> Q:
    return BUCKETS[name][1](now or clock.now(), user)


# --- orders -------------------------------------------------------------------------------------


def with_relations(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    return qs.select_related(
        "category", "place", "courtyard", "lead_organisation", "reporter"
    ).prefetch_related("co_handlers")


def work_order_list(*, user: Any) -> QuerySet[WorkOrder]:
    """Every order the user may see, newest first, with what a list row shows."""
    return with_relations(WorkOrder.objects.visible_to(user)).order_by("-created_at", "-id")


def work_order_get_for(*, user: Any, pk: int | str) -> WorkOrder:
    """One order the user may see; anything else (absent or out of scope) is a 404."""
    try:
        return with_relations(WorkOrder.objects.visible_to(user)).get(pk=int(pk))
    except (WorkOrder.DoesNotExist, ValueError, TypeError):
        raise NotFound("not_found", _("No such order.")) from None


def work_order_events(*, order: WorkOrder) -> QuerySet[WorkOrderEvent]:
    """The timeline of an order the caller has already fetched through a selector."""
    return order.events.select_related("acting_organisation").order_by("at", "id")


# Steps only the desk and the handlers see in a timeline.
INTERNAL_ACTIONS = frozenset({Action.WARN, Action.DECIDE_EXTENSION, Action.REQUEST_EXTENSION})


def work_order_timeline(*, user: Any, order: WorkOrder) -> list[dict[str, Any]]:
    """The timeline of an order (fetched through a selector) as ``user`` may read it: staff
    (the desk, the handling organisations) see every step with who did it, the reasons,
    internal notes and details; others see the public steps, and who acted as the acting
    organisation, "Community" or "Sanan" unless it was themselves."""
    staff = is_staff_for(user, order)
    rows = []
    for e in work_order_events(order=order):
        if not staff and (
            e.action in INTERNAL_ACTIONS or (e.action == Action.NOTE and not e.public_note)
        ):
            continue
        own = e.actor_id is not None and e.actor_id == getattr(user, "pk", None)
        if staff or own:
            who = e.actor_label
        elif e.acting_organisation is not None:
            who = e.acting_organisation.name
        else:
            who = str(_("Community")) if e.actor_id else str(_("Sanan"))
        organisation = e.acting_organisation
        rows.append(
            {
                "id": e.pk,
                "at": e.at,
                "action": e.action,
                "action_label": str(Action(e.action).label),
                "from_state": e.from_state,
                "to_state": e.to_state,
                "who": who,
                "organisation": (
                    None
                    if organisation is None
                    else {"id": organisation.pk, "name": organisation.name}
                ),
                "reason_code": e.reason_code if staff else "",
                "reason": e.reason if staff else "",
                "public_note": e.public_note,
                "internal_note": e.internal_note if staff else "",
                "details": e.data if staff else {},
                "attachments": e.attachments,
            }
        )
    return rows


@dataclass(frozen=True)
class Bucket:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class CourtyardLoad:
    courtyard_id: int | None
    name: str
    open: int
    overdue: int


@dataclass(frozen=True)
class Board:
    buckets: list[Bucket]
    courtyards: list[CourtyardLoad]


# ``state IN (...)`` written out with its constants, not as bound parameters: SQLite uses a
# partial index only when the query's WHERE visibly implies the index's condition, which it
# cannot know of parameters (with them the board scanned the whole table). The values are the
# fixed state codes of ``BOARD_STATES``.
_BOARD_STATES_SQL = RawSQL(  # noqa: S611 (constants of this module, no input)
    '"workorders_workorder"."state" IN ({})'.format(", ".join(f"'{s}'" for s in BOARD_STATES)),
    [],
    output_field=BooleanField(),
)


def board_scope_q(user: Any) -> Q:
    """``access.visible_orders_q`` on the order's own ``place_path`` instead of a join to its
    place: the same orders, but a condition the board's index answers by itself."""
    access = order_access(user)
    if access.superuser:
        return Q()
    if access.user_id is None:
        return Q(pk__in=[])
    cond = Q(reporter_id=access.user_id) | Q(created_by_id=access.user_id)
    for root in access.place_roots("work_order.view"):
        cond |= Q(place_path__startswith=root)
    by_root: dict[str, set[int]] = {}
    for grant in access.org_grants:
        if "work_order.view" in grant.actions:
            by_root.setdefault(grant.root, set()).add(grant.organisation_id)
    for root, org_ids in sorted(by_root.items()):
        assigned = Q(lead_organisation_id__in=org_ids) | Q(Exists(_co_handled_by(org_ids)))
        cond |= Q(place_path__startswith=root) & assigned
    return cond


@dataclass(frozen=True)
class _CountedScope:
    """A user's board scope split in two: ``rows``, a condition on ``BoardCount`` rows, and
    ``orders``, the same condition on orders (their union); ``rest``, what else the scope
    holds, counted from the orders themselves: disjoint conditions, each led by what an
    index finds (the user's own orders; co-handled ones, through the co-handlers' table;
    roles scoped below a courtyard), each outside ``orders`` and the ones before it.
    ``None``: nothing."""

    rows: Q | None
    orders: Q | None
    rest: list[Q]


def _or(terms: list[Q]) -> Q | None:
    if not terms:
        return None
    cond = terms[0]
    for term in terms[1:]:
        cond |= term
    return cond


def _counted_scope(user: Any) -> _CountedScope:
    """``board_scope_q`` rewritten for the counters: a place root at or above a courtyard is
    a prefix of the counters' path (which is cut at the courtyard), so whole rows answer it;
    so do the orders an organisation leads under such a root (the lead is in the key)."""
    access = order_access(user)
    if access.superuser:
        return _CountedScope(Q(), Q(), [])
    if access.user_id is None:
        return _CountedScope(None, None, [])
    rows: list[Q] = []
    orders: list[Q] = []
    own = Q(reporter_id=access.user_id) | Q(created_by_id=access.user_id)
    co_terms: list[Q] = []
    co_orgs: set[int] = set()
    deep: list[Q] = []
    for root in access.place_roots("work_order.view"):
        if len(root) <= counts.COURTYARD_PATH_LEN:
            rows.append(Q(path__startswith=root))
            orders.append(Q(place_path__startswith=root))
        else:
            deep.append(Q(place_path__startswith=root))
    by_root: dict[str, set[int]] = {}
    for grant in access.org_grants:
        if "work_order.view" in grant.actions:
            by_root.setdefault(grant.root, set()).add(grant.organisation_id)
    for root, org_ids in sorted(by_root.items()):
        under = Q(place_path__startswith=root)
        co = Q(Exists(_co_handled_by(org_ids)))
        if len(root) <= counts.COURTYARD_PATH_LEN:
            rows.append(Q(path__startswith=root, lead__in=sorted(org_ids)))
            orders.append(under & Q(lead_organisation_id__in=org_ids))
            co_terms.append(under & co)
            co_orgs |= org_ids
        else:
            deep.append(under & (Q(lead_organisation_id__in=org_ids) | co))
    covered = _or(orders)
    outside = ~covered if covered is not None else Q()
    rest = [own & outside]
    co_any = _or(co_terms)
    if co_any is not None:
        through = WorkOrder.co_handlers.through
        driver = Q(
            pk__in=through.objects.filter(organisation_id__in=co_orgs).values("workorder_id")
        )
        rest.append(driver & co_any & ~own & outside)
    deep_any = _or(deep)
    if deep_any is not None:
        rest.append(deep_any & ~own & (~co_any if co_any is not None else Q()) & outside)
    return _CountedScope(_or(rows), covered, rest)


@dataclass
class _Tally:
    """The board's counts added up from the rows of :func:`_rows`."""

    by_state: dict[str, int] = field(default_factory=dict)
    warned_by_state: dict[str, int] = field(default_factory=dict)
    emergency_open: int = 0
    supervised_open: int = 0
    open_by_courtyard: dict[int | None, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    overdue: int = 0
    overdue_open_by_courtyard: dict[int | None, int] = field(default_factory=dict)
    warned_overdue: int = 0
    not_marked: int = 0
    co_handling: int = 0

    def add(self, row: tuple[Any, ...]) -> None:
        kind, courtyard, state, emergency, supervised, warned, chased, n, o, x, y, z, name = row
        courtyard = courtyard or None
        if courtyard is not None and name:
            self.names[courtyard] = name
        if kind == "h":
            self.co_handling += n
            return
        # The clock: o overdue (z of them open), x overdue and warned, y not marked yet.
        self.overdue += o
        self.warned_overdue += x
        self.not_marked += y
        if z:
            load = self.overdue_open_by_courtyard
            load[courtyard] = load.get(courtyard, 0) + z
        if kind == "d":
            return
        self.by_state[state] = self.by_state.get(state, 0) + n
        if warned:
            self.warned_by_state[state] = self.warned_by_state.get(state, 0) + n
        if chased:  # counted as overdue; the ``d`` rows correct it with the clock
            self.overdue += n
            self.warned_overdue += n
            if state in OPEN_STATES:
                load = self.overdue_open_by_courtyard
                load[courtyard] = load.get(courtyard, 0) + n
        if state in OPEN_STATES:
            if emergency:
                self.emergency_open += n
            if supervised:
                self.supervised_open += n
            self.open_by_courtyard[courtyard] = self.open_by_courtyard.get(courtyard, 0) + n

    @staticmethod
    def _sum(values: dict[str, int], states: Any) -> int:
        return sum(values.get(s, 0) for s in states)

    def states(self, states: Any) -> int:
        return self._sum(self.by_state, states)

    def due_soon(self, states: Any = BOARD_STATES) -> int:
        """Past the warning point and not due: the counted ``warned`` orders less those the
        overdue range holds, plus those whose warning time has come unmarked (the ranges
        hold the same states as ``states``)."""
        return self._sum(self.warned_by_state, states) - self.warned_overdue + self.not_marked


def _board_orders() -> QuerySet[WorkOrder]:
    return WorkOrder.objects.filter(_BOARD_STATES_SQL).order_by()


def _flag(q: Q) -> ExpressionWrapper:
    return ExpressionWrapper(q, output_field=BooleanField())


_WARNED_Q = Q(escalation_level__gte=EscalationLevel.WARNED, due_at__isnull=False)
_ZERO = Value(0, output_field=IntegerField())
_MINUS = Value(-1, output_field=IntegerField())
# The conditions of the two partial indexes by deadline, written out with their constants
# (as ``_BOARD_STATES_SQL``): SQLite uses a partial index only when it sees them.
_CHASED_SQL = RawSQL(  # noqa: S611 (constants)
    f'"workorders_workorder"."escalation_level" >= {int(EscalationLevel.CHASED)}',
    [],
    output_field=BooleanField(),
)
_UNCHASED_SQL = RawSQL(  # noqa: S611 (constants)
    f'"workorders_workorder"."escalation_level" < {int(EscalationLevel.CHASED)}',
    [],
    output_field=BooleanField(),
)
_NO = Value(False, output_field=BooleanField())
_NONAME = Value("", output_field=CharField())
# Grouped by expressions of the courtyard and the state, not the columns: with the columns,
# SQLite reads a whole (courtyard, state) or (state, …) index to get the groups in order
# instead of the range it counts.
_COURTYARD = Coalesce("courtyard_id", Value(0), output_field=IntegerField())
_STATE = Coalesce("state", Value(""), output_field=CharField())
_LEAD = Coalesce("lead_organisation_id", Value(0), output_field=IntegerField())


def _kind(code: str) -> Value:
    return Value(code, output_field=CharField())


def _courtyard_name(ref: str) -> Subquery:
    return Subquery(Place.objects.filter(pk=OuterRef(ref)).values("name")[:1])


def _rows(
    user: Any, now: dt.datetime, *, leads: set[int] | None, co_handling: bool = False
) -> list[tuple[Any, ...]]:
    """Everything the board (or, with ``leads``, the queue) counts, in one statement: a
    UNION ALL of parts of the same shape ``(kind, courtyard, state, emergency, supervised,
    warned, chased, n, o, x, y, z, courtyard's name)``, each read through its own index:

    - ``c``: the counter rows of the scope (``BoardCount``, a few hundred);
    - ``r``: the rest of the scope counted from the orders, grouped the same way (the user's
      own orders, co-handled ones, roles scoped below a courtyard: few), with their clock;
    - ``d``: the clock of what the counters hold: the counters count the chased orders as
      overdue; these rows correct that per courtyard (``o`` overdue, ``x`` of them warned,
      ``z`` open; negative for the chased ones not due) and add the warnings not marked yet
      (``y``);
    - ``h`` (the queue): co-handled orders another organisation leads, through the
      co-handlers' table."""
    scope = _counted_scope(user)
    not_marked = Q(escalation_at__lte=now, escalation_level=EscalationLevel.NONE, due_at__gt=now)
    parts: list[QuerySet[Any]] = []
    if scope.rows is not None:
        rows = BoardCount.objects.filter(scope.rows).exclude(n=0).order_by()
        if leads is not None:
            rows = rows.filter(lead__in=sorted(leads), state__in=sorted(OPEN_WORK))
        parts.append(
            rows.values_list(
                _kind("c"), "courtyard", "state", "emergency", "supervised", "warned", "chased"
            ).annotate(
                n=Sum("n"), o=_ZERO, x=_ZERO, y=_ZERO, z=_ZERO, name=_courtyard_name("courtyard")
            )
        )
    for part in scope.rest:
        rest = _board_orders().filter(part).annotate(cy=_COURTYARD, st=_STATE)
        if leads is not None:
            # On expressions, not the columns: the part is led by its own condition's index,
            # never by the (lead, state) index that holds every order of the department.
            rest = rest.annotate(ld=_LEAD).filter(ld__in=sorted(leads), st__in=sorted(OPEN_WORK))
        parts.append(
            rest.values_list(
                _kind("r"),
                "cy",
                "st",
                "emergency",
                _flag(Q(supervision_level__gt=0)),
                _flag(_WARNED_Q),
                _NO,
            ).annotate(
                # Few orders, read through the part's own index: their clock comes along.
                n=Count("pk"),
                o=Count("pk", filter=overdue_q(now)),
                x=Count("pk", filter=overdue_q(now) & _WARNED_Q),
                y=Count("pk", filter=not_marked),
                z=Count("pk", filter=overdue_q(now) & Q(state__in=sorted(OPEN_STATES))),
                name=_courtyard_name("cy"),
            )
        )
    # The clock of what the counters hold (the rest came with its rows above). The counters
    # hold the chased orders (the sweep chases at the deadline) as overdue; corrected by two
    # ranges, each read from its own partial index alone, which stay small while the sweep
    # keeps up however many orders are overdue: less the chased ones whose deadline is still
    # ahead (an extension), plus the unchased ones whose deadline has passed (the sweep has
    # not come yet); and the warnings the sweep has not marked yet. No correlated EXISTS in
    # these conditions, and counts of ``due_at`` (never NULL in these ranges), not of the id:
    # PostgreSQL answers them from the indexes without reading the table.
    if scope.orders is not None:
        counted = _board_orders().filter(scope.orders)
        if leads is not None:
            counted = counted.filter(lead_organisation_id__in=leads, state__in=sorted(OPEN_WORK))
        is_open = Q(state__in=sorted(OPEN_STATES))
        parts.append(
            counted.filter(_CHASED_SQL, due_at__gt=now)
            .annotate(cy=_COURTYARD)
            .values_list(_kind("d"), "cy", _NONAME, _NO, _NO, _NO, _NO)
            .annotate(
                n=_ZERO,
                o=Count("due_at") * _MINUS,
                x=Count("due_at") * _MINUS,
                y=_ZERO,
                z=Count("due_at", filter=is_open) * _MINUS,
                name=_NONAME,
            )
        )
        parts.append(
            counted.filter(_UNCHASED_SQL, overdue_q(now))
            .annotate(cy=_COURTYARD)
            .values_list(_kind("d"), "cy", _NONAME, _NO, _NO, _NO, _NO)
            .annotate(
                n=_ZERO,
                o=Count("due_at"),
                x=Count("due_at", filter=_WARNED_Q),
                y=_ZERO,
                z=Count("due_at", filter=is_open),
                name=_NONAME,
            )
        )
        parts.append(
            counted.filter(not_marked)
            .values_list(_kind("d"), _ZERO, _NONAME, _NO, _NO, _NO, _NO)
            .annotate(n=_ZERO, o=_ZERO, x=_ZERO, y=Count("due_at"), z=_ZERO, name=_NONAME)
        )
    if co_handling and leads is not None:
        # The co-handling bucket, driven by the co-handlers' table (``pk IN``, not a
        # correlated EXISTS, which SQLite would test against every open order).
        through = WorkOrder.co_handlers.through
        co_handled = through.objects.filter(organisation_id__in=leads).values("workorder_id")
        parts.append(
            _board_orders()
            .filter(board_scope_q(user))
            .filter(Q(state__in=sorted(OPEN_WORK), pk__in=co_handled))
            .filter(~Q(lead_organisation_id__in=leads))
            .values_list(_kind("h"), _ZERO, _NONAME, _NO, _NO, _NO, _NO)
            .annotate(n=Count("pk"), o=_ZERO, x=_ZERO, y=_ZERO, z=_ZERO, name=_NONAME)
        )
    first, *others = parts
    query = first.union(*others, all=True) if others else first
    return list(query)


def work_order_board(*, user: Any, now: dt.datetime | None = None) -> Board:
    """The dispatcher's board: bucket counts and the load of each courtyard, in one
    statement (:func:`_rows`) whatever the number of open orders.

    Counts that only change with a write (new, returned, with the departments, emergencies,
    under supervision, awaiting rating, the open load of each courtyard) are added up from
    the maintained counters (``BoardCount``, ``workorders.counts``), plus the part of the
    scope they do not hold counted from the orders; counts that change with the clock
    (overdue, due soon) are counted over the ranges of orders whose deadline or warning
    time has come."""
    now = now or clock.now()
    tally = _Tally()
    for row in _rows(user, now, leads=None):
        tally.add(row)
    counts_by_code = {
        "new": tally.states([State.REGISTERED]),
        "returned": tally.states([State.RETURNED]),
        "with_departments": tally.states(OPEN_WORK),
        "overdue": tally.overdue,
        "due_soon": tally.due_soon(),
        "emergency": tally.emergency_open,
        "supervised": tally.supervised_open,
        "awaiting_rating": tally.states([State.FINISHED]),
    }
    outside = str(_("Outside the courtyards"))
    loads = [
        CourtyardLoad(
            courtyard,
            (tally.names.get(courtyard) or outside) if courtyard is not None else outside,
            n,
            tally.overdue_open_by_courtyard.get(courtyard, 0),
        )
        for courtyard, n in tally.open_by_courtyard.items()
        if n
    ]
    loads.sort(key=lambda c: (-c.overdue, -c.open, c.courtyard_id is None, c.name))
    return Board(
        buckets=[
            Bucket(code, str(label), counts_by_code[code])
            for code, (label, _) in BOARD_BUCKETS.items()
        ],
        courtyards=loads,
    )


def work_order_queue(*, user: Any, now: dt.datetime | None = None) -> list[Bucket]:
    """The handler's queue: to sign, in progress, due soon, overdue, co-handling, in one
    statement (:func:`_rows`): the orders the user's organisations lead from the counters
    (the lead is in their key) and the clock's ranges, as on the board; co-handling from
    the orders through the co-handlers' table."""
    now = now or clock.now()
    leads = _lead_orgs(user)
    tally = _Tally()
    for row in _rows(user, now, leads=leads or {0}, co_handling=True):
        tally.add(row)
    counts_by_code = {
        "to_sign": tally.states([State.DISPATCHED]),
        "in_progress": tally.states([State.SIGNED, State.CONTACTED, State.IN_PROGRESS]),
        "queue_due_soon": tally.due_soon(OPEN_WORK),
        "queue_overdue": tally.overdue,
        "co_handling": tally.co_handling,
    }
    return [
        Bucket(code, str(label), counts_by_code[code]) for code, (label, _) in QUEUE_BUCKETS.items()
    ]


def work_order_bucket_list(
    *, user: Any, bucket: str, now: dt.datetime | None = None
) -> QuerySet[WorkOrder]:
    if bucket not in BUCKETS:
        raise NotFound("work_order.unknown_bucket", _("No such list."))
    qs = work_order_list(user=user).filter(bucket_q(bucket, user=user, now=now))
    order = "due_at" if bucket not in ("new", "returned", "awaiting_rating") else "created_at"
    return qs.order_by(order, "id")


# --- categories ---------------------------------------------------------------------------------


def category_list(*, include_inactive: bool = False) -> QuerySet[Category]:
    """The category tree in display order, with each category's own questions."""
    qs = Category.objects.all() if include_inactive else Category.objects.filter(active=True)
    return qs.select_related("sla_policy").prefetch_related(
        Prefetch("questions", queryset=CategoryQuestion.objects.order_by("order", "id"))
    )


def category_get(*, pk: int | str) -> Category:
    try:
        return category_list().get(pk=int(pk))
    except (Category.DoesNotExist, ValueError, TypeError):
        raise NotFound("not_found", _("No such category.")) from None
