"""Reads for work orders, always on behalf of a user (see ``workorders.access`` for scoping).

The board (dispatcher) and the queue (handler) count their buckets in one aggregate query
each; lists select their relations up front, so the number of queries never grows with rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from sanan.core import clock
from sanan.core.errors import NotFound
from sanan.places.models import Place
from sanan.workorders.access import is_staff_for, order_access
from sanan.workorders.models import (
    BOARD_STATES,
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


def _count(qs: QuerySet[WorkOrder], buckets: dict[str, tuple[Any, BucketQ]], user: Any,
           now: dt.datetime) -> list[Bucket]:  # fmt: skip
    counts = qs.aggregate(
        **{code: Count("pk", filter=fn(now, user)) for code, (_, fn) in buckets.items()}
    )
    return [Bucket(code, str(label), counts[code]) for code, (label, _) in buckets.items()]


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


def work_order_board(*, user: Any, now: dt.datetime | None = None) -> Board:
    """The dispatcher's board: bucket counts and the load of each courtyard (three queries:
    the buckets, the courtyards, their names).

    Every bucket is about an open order or one waiting for its rating, so both counts read
    only those (``BOARD_STATES``), through the partial index that holds exactly them and
    every column the counts need: the archive, however large, is never read."""
    now = now or clock.now()
    qs = WorkOrder.objects.filter(_BOARD_STATES_SQL).filter(board_scope_q(user))
    per_courtyard = list(
        qs.filter(state__in=sorted(OPEN_STATES))
        .order_by()
        .values("courtyard_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(now)))
    )
    ids = [row["courtyard_id"] for row in per_courtyard if row["courtyard_id"] is not None]
    names = dict(Place.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    outside = str(_("Outside the courtyards"))
    loads = [
        CourtyardLoad(
            row["courtyard_id"],
            names.get(row["courtyard_id"]) or outside,
            row["open"],
            row["overdue"],
        )
        for row in per_courtyard
    ]
    loads.sort(key=lambda c: (-c.overdue, -c.open, c.courtyard_id is None, c.name))
    return Board(buckets=_count(qs, BOARD_BUCKETS, user, now), courtyards=loads)


def work_order_queue(*, user: Any, now: dt.datetime | None = None) -> list[Bucket]:
    """The handler's queue: to sign, in progress, due soon, overdue, co-handling (one query).

    Every bucket is about open work (``OPEN_WORK``, among the board's states), so the count
    reads the board's partial index and the order's own ``place_path``, as the board does: a
    department's archive, however large, is never read."""
    now = now or clock.now()
    qs = (
        WorkOrder.objects.filter(_BOARD_STATES_SQL)
        .filter(board_scope_q(user))
        .filter(state__in=sorted(OPEN_WORK))
    )
    return _count(qs, QUEUE_BUCKETS, user, now)


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
