"""The SLA sweep: escalate overdue orders once per level, close what waited long enough.

Each open order carries ``escalation_level`` and ``escalation_at`` (indexed): when the
current stage's clock reaches its next level — the warning once ``warn_percent`` of the time
has passed, the chase 催办 at the deadline, supervision 督办 ``supervise_after_days`` working
days later. The sweep reads the rows whose time has come and claims each with a conditional
UPDATE (``WHERE escalation_level = <seen> AND escalation_at = <seen>``): of two sweeps running
at once, exactly one escalates a given order to a given level. Only the winner writes the
events and the notifications, in the same transaction as its claim.

``sanan sweep_sla`` runs it once; the worker calls :func:`sweep` every minute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F

from sanan.audit.services import audit_record
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.workorders import counts, services
from sanan.workorders.models import EscalationLevel, WorkOrder
from sanan.workorders.services import SYSTEM, Act, Notice, _Batch, _to_handlers
from sanan.workorders.sla import escalation_time
from sanan.workorders.state import TRANSITIONS, Action, State

LEVEL_ACTION = {
    EscalationLevel.WARNED: Action.WARN,
    EscalationLevel.CHASED: Action.CHASE,
    EscalationLevel.SUPERVISED: Action.SUPERVISE,
}
LEVEL_TEMPLATE = {
    EscalationLevel.WARNED: "work_order.deadline_near",
    EscalationLevel.CHASED: "work_order.chased",
    EscalationLevel.SUPERVISED: "work_order.supervised",
}


@dataclass
class SweepResult:
    warned: int = 0
    chased: int = 0
    supervised: int = 0
    lost_races: int = 0  # rows another sweep (or a handler) changed first
    closed_unrated: int = 0
    archived: int = 0
    escalated_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"warned {self.warned}, chased {self.chased}, supervised {self.supervised}, "
            f"closed unrated {self.closed_unrated}, archived {self.archived}"
            + (f" ({self.lost_races} taken by another sweep)" if self.lost_races else "")
        )


def _target(order: WorkOrder, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """The highest level whose time has come, and when the one after it is due."""
    level, at = order.escalation_level, order.escalation_at
    while at is not None and at <= now and level < EscalationLevel.SUPERVISED:
        level += 1
        order.escalation_level = level  # escalation_time reads due_at/clock, not the level
        at = escalation_time(order, level)
    return level, at


def _escalate_batch(rows: list[WorkOrder], now: dt.datetime, result: SweepResult) -> int:
    """Claim each row whose level changes (a conditional UPDATE per row: the claim), then
    write the winners' events, notifications and one audit record together."""
    claimed: list[list[int]] = []
    won_rows: dict[int, tuple[WorkOrder, int, int]] = {}
    with transaction.atomic():
        batch = _Batch(now)
        for order in rows:
            seen_level, seen_at = order.escalation_level, order.escalation_at
            level, next_at = _target(order, now)
            if level == seen_level:
                continue
            passed = range(seen_level + 1, level + 1)
            chases = sum(1 for lv in passed if lv == EscalationLevel.CHASED)
            supervisions = sum(1 for lv in passed if lv == EscalationLevel.SUPERVISED)
            won = WorkOrder.objects.filter(
                pk=order.pk,
                state=order.state,
                due_stage=order.due_stage,
                escalation_level=seen_level,
                escalation_at=seen_at,
            ).update(
                escalation_level=level,
                escalation_at=next_at,
                chase_count=F("chase_count") + chases,
                supervision_level=F("supervision_level") + supervisions,
            )
            if won != 1:
                result.lost_races += 1
                continue
            order.chase_count += chases
            order.supervision_level += supervisions
            for lv in passed:
                action = LEVEL_ACTION[EscalationLevel(lv)]
                notices = _to_handlers(order, LEVEL_TEMPLATE[EscalationLevel(lv)])
                if lv == EscalationLevel.SUPERVISED:
                    notices.append(
                        Notice("work_order.supervised", holders_of="work_order.supervise")
                    )
                batch.add(
                    Act(SYSTEM, TRANSITIONS[action], None, None),
                    order,
                    order.state,
                    data={
                        "automatic": True,
                        "stage": order.due_stage,
                        "due_at": services._iso(order.due_at),
                        "level": lv,
                    },
                    notices=notices,
                    audit=False,  # one audit record for the batch, below
                )
                if lv == EscalationLevel.WARNED:
                    result.warned += 1
                elif lv == EscalationLevel.CHASED:
                    result.chased += 1
                else:
                    result.supervised += 1
            claimed.append([order.pk, level])
            result.escalated_ids.append(order.pk)
            won_rows[order.pk] = (order, seen_level, supervisions)
        _remember_before(won_rows)
        batch.flush()
        if claimed:
            audit_record(
                actor=SYSTEM,
                action="work_order.sla_escalated",
                data={"at": now.isoformat(), "orders": claimed},
            )
    return len(claimed)


def _remember_before(won: dict[int, tuple[WorkOrder, int, int]]) -> None:
    """The board counters' key of each claimed order before its escalation: its row as the
    claim left it (read under the claim's lock, one query), with the level seen and the
    supervisions added taken back."""
    if not won:
        return
    rows = WorkOrder.objects.filter(pk__in=list(won)).values_list("pk", *counts.COUNTED_COLUMNS)
    for pk, path, courtyard, lead, state, emergency, supervision, _level, due_at in rows:
        order, seen_level, supervisions = won[pk]
        counts.remember(
            order,
            counts.key_of(
                path,
                courtyard,
                lead,
                state,
                emergency,
                supervision - supervisions,
                seen_level,
                due_at,
            ),
        )


def escalate(*, now: dt.datetime | None = None, batch: int = 500) -> SweepResult:
    now = now or clock.now()
    result = SweepResult()
    while True:
        rows = list(
            WorkOrder.objects.filter(escalation_at__lte=now)
            .select_related("sla_policy", "category")
            .order_by("escalation_at", "pk")[:batch]
        )
        if not rows:
            break
        if _escalate_batch(rows, now, result) == 0:
            break  # every row left was taken by a concurrent sweep: it carries on with them
    return result


def _close(
    qs: Any, service: Callable[..., Any], now: dt.datetime, counter: Callable[[], None]
) -> None:
    for pk in list(qs.values_list("pk", flat=True)[:5000]):
        order = WorkOrder.objects.select_related("place", "category").filter(pk=pk).first()
        if order is None:
            continue
        try:
            service(actor=SYSTEM, order=order)
        except DomainError:  # rated, archived or changed meanwhile: nothing to do
            continue
        counter()


def sweep(*, now: dt.datetime | None = None, batch: int = 500) -> SweepResult:
    """Escalate what is due, close unrated orders after the rating window, archive rated ones."""
    now = now or clock.now()
    result = escalate(now=now, batch=batch)

    def closed() -> None:
        result.closed_unrated += 1

    def archived() -> None:
        result.archived += 1

    _close(
        WorkOrder.objects.filter(
            state=State.FINISHED,
            finished_at__lte=now - dt.timedelta(days=services.rating_days()),
        ).order_by("finished_at"),
        services.work_order_close_unrated,
        now,
        closed,
    )
    _close(
        WorkOrder.objects.filter(
            state=State.CALLBACK, rated_at__lte=now - dt.timedelta(days=services.archive_days())
        ).order_by("rated_at"),
        services.work_order_archive,
        now,
        archived,
    )
    return result
