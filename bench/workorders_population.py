"""Helper of ``bench/workorders_bench.py`` (runs inside a Django process bound to one engine):
bulk-creates open work orders in the demo community and measures the board and the sweep.

The orders are all open (or, with ``--archived``, 10,000 open among archived copies), in the
proportions of a busy desk: 2 % registered, 1 % returned,
15 % dispatched, 12 % signed, 20 % contacted, 50 % in progress. Of the orders with a deadline
running about 8 % are overdue (already chased and supervised), about 10 % past their warning
point, the rest on time; exactly ``due`` orders reach their next escalation level a moment
before the sweep runs (so the sweep has that much to do). Places are the demo's houses, the
categories its leaf categories, the lead the demo's housing department. The board's counters
are filled by a recount once the orders are written (they bypass the services), and must still
equal a recount after the sweep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from sanan.accounts.models import User
from sanan.organisation.models import Organisation
from sanan.places.models import Place, PlaceKind
from sanan.workorders import counts, selectors
from sanan.workorders.catalogue import effective_policy
from sanan.workorders.models import Category, Channel, WorkOrder
from sanan.workorders.state import OPEN_STATES, State
from sanan.workorders.sweep import sweep

MARK_DUE = "bench: due"
# The moment the board is looked at and the sweep runs: a Wednesday morning in Leshan.
NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
STATES = [
    (State.REGISTERED, 2), (State.RETURNED, 1), (State.DISPATCHED, 15), (State.SIGNED, 12),
    (State.CONTACTED, 20), (State.IN_PROGRESS, 50),
]  # fmt: skip
STAGE = {State.DISPATCHED: "sign", State.SIGNED: "contact", State.CONTACTED: "finish",
         State.IN_PROGRESS: "finish"}  # fmt: skip


def _rows(n: int, start: int, now: dt.datetime, ctx: dict[str, Any], due_left: list[int]):  # type: ignore[no-untyped-def]
    rng = random.Random(start)
    states = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    for i in range(start, start + n):
        state = rng.choices(states, weights)[0]
        house, courtyard, path = ctx["houses"][rng.randrange(len(ctx["houses"]))]
        cat, policy = ctx["categories"][rng.randrange(len(ctx["categories"]))]
        created = now - dt.timedelta(minutes=rng.randint(10, 60 * 24 * 30))
        order = WorkOrder(
            category_id=cat, place_id=house, place_path=path, courtyard_id=courtyard,
            title=f"bench {i}",
            description="压力测试工单", channel=Channel.RESIDENT_FORM, state=state,
            created_at=created, reporter_id=ctx["reporter"], created_by_id=ctx["reporter"],
            sla_policy_id=policy.pk, sla_clock=policy.clock, emergency=policy.emergency,
        )  # fmt: skip
        stage = STAGE.get(state)
        if stage:
            order.lead_organisation_id = ctx["lead"]
            order.dispatched_at = order.clock_started_at = created
            order.due_stage = stage
            roll = rng.random()
            if due_left[0] > 0 and i % 997 == 0:
                due_left[0] -= 1
                order.title = MARK_DUE
                order.due_at = now + dt.timedelta(hours=rng.randint(1, 48))
                order.escalation_level = 0
                order.escalation_at = now - dt.timedelta(seconds=rng.randint(1, 600))
            elif roll < 0.08:  # overdue: chased and supervised already
                order.due_at = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 10))
                order.escalation_level = 3
                order.escalation_at = None
                order.chase_count = order.supervision_level = 1
            elif roll < 0.18:  # past the warning point
                order.due_at = now + dt.timedelta(minutes=rng.randint(1, 60 * 24))
                order.escalation_level = 1
                order.escalation_at = order.due_at
            else:
                order.due_at = now + dt.timedelta(minutes=rng.randint(60 * 24, 60 * 24 * 15))
                order.escalation_level = 0
                order.escalation_at = order.due_at - dt.timedelta(hours=12)
            setattr(order, f"{stage}_due_at", order.due_at)
        yield order


def _context() -> dict[str, Any]:
    houses = list(Place.objects.filter(kind=PlaceKind.HOUSE).values_list("pk", "path"))
    courtyards = dict(Place.objects.filter(kind=PlaceKind.COURTYARD).values_list("path", "pk"))
    cats = [(c.pk, effective_policy(c)) for c in Category.objects.filter(depth=2)]
    return {
        "houses": [(pk, courtyards[path[: -Place.steplen]], path) for pk, path in houses],
        "categories": cats,
        "lead": Organisation.objects.get(code="dept-housing").pk,
        "reporter": User.objects.get(username="resident").pk,
    }


SEED_BLOCK = 10_000


# With ``archived``, the copies are archived orders (closed, no deadline running).
ARCHIVED_COPY = {
    "state": "'archived'", "due_stage": "''", "due_at": "NULL", "escalation_level": "0",
    "escalation_at": "NULL",
}  # fmt: skip


def _populate(
    target: int, now: dt.datetime, due: int, say: Callable[[str], None], archived: bool = False
) -> float:
    """``target`` orders: the first 10,000 through ``bulk_create``, then the table copies
    itself (INSERT … SELECT) until it holds ``target`` (with ``archived`` the copies are
    archived orders: 10,000 open among ``target``); then exactly ``due`` orders are made due
    for their warning a moment before ``now``."""
    have = WorkOrder.objects.count()
    if have >= target:
        return 0.0
    started = time.perf_counter()
    if have < SEED_BLOCK:
        ctx = _context()
        with transaction.atomic():
            WorkOrder.objects.bulk_create(
                _rows(min(SEED_BLOCK, target) - have, have, now, ctx, [0]), batch_size=500
            )
        have = WorkOrder.objects.count()
        say(f"  {connection.vendor}: {have:,} orders through bulk_create")
    table = WorkOrder._meta.db_table
    columns = [str(f.column) for f in WorkOrder._meta.concrete_fields if not f.primary_key]
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    override = {"idempotency_key": "''", **(ARCHIVED_COPY if archived else {})}
    values = ", ".join(override.get(c) or connection.ops.quote_name(c) for c in columns)
    while have < target:
        n = min(have, target - have)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} ({cols}) SELECT {values} FROM {table} "  # noqa: S608
                f"ORDER BY id LIMIT %s",
                [n],
            )
        have += n
        say(f"  {connection.vendor}: {have:,}/{target:,} orders")
    _make_due(now, due)
    # The orders were written behind the services' back: the board's counters are filled as
    # ``sanan workorders recount`` would, part of the build's time.
    counts.recount()
    with connection.cursor() as cur:
        # On PostgreSQL a VACUUM as autovacuum would run after so many inserts: it sets the
        # visibility map, without which no index-only scan (the board's overdue range) is
        # possible on rows just written.
        cur.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def _make_due(now: dt.datetime, due: int) -> None:
    WorkOrder.objects.filter(title=MARK_DUE).update(title="bench")
    candidates = list(
        WorkOrder.objects.filter(state=State.IN_PROGRESS, escalation_level=0, due_at__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)[: due * 20]
    )
    chosen = candidates[::20][:due]
    for i in range(0, len(chosen), 500):
        WorkOrder.objects.filter(pk__in=chosen[i : i + 500]).update(
            title=MARK_DUE, escalation_level=0, escalation_at=now - dt.timedelta(seconds=30)
        )


def _expected(user: User, now: dt.datetime) -> dict[str, int]:
    """The board's buckets, counted one by one (another way than the board's aggregate)."""
    qs = WorkOrder.objects.visible_to(user)
    return {
        code: qs.filter(fn(now, user)).count()
        for code, (_label, fn) in selectors.BOARD_BUCKETS.items()
    }


def _measure_board(repeat: int, now: dt.datetime, problems: list[str]) -> tuple[float, float, int]:
    def call() -> selectors.Board:
        user = User.objects.get(username="dispatcher")  # fresh: permissions loaded as per request
        return selectors.work_order_board(user=user, now=now)

    board = call()  # warm-up, and the answer to check
    dispatcher = User.objects.get(username="dispatcher")
    expected = _expected(dispatcher, now)
    got = {b.code: b.count for b in board.buckets}
    if got != expected:
        problems.append(f"{connection.vendor}: board buckets {got} != counted {expected}")
    open_total = WorkOrder.objects.filter(state__in=OPEN_STATES).count()
    if sum(c.open for c in board.courtyards) != open_total:
        problems.append(f"{connection.vendor}: courtyard loads do not add up to {open_total}")
    with CaptureQueriesContext(connection) as queries:
        call()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered) + 0.5) - 1)]
    return statistics.median(times) * 1000, p95 * 1000, len(queries)


def populate_and_measure(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    now = NOW  # fixed, so that a table built by an earlier run means the same thing
    problems: list[str] = []
    result: dict[str, Any] = {"problems": problems, "orders": args.orders}
    small = min(10_000, args.orders)
    t_small = _populate(small, now, 0, say)
    want_board = args.only in ("all", "board")
    if want_board:
        p50_s, p95_s, q_small = _measure_board(max(5, args.repeat // 3), now, problems)
    t_big = _populate(args.orders, now, args.due, say, archived=args.archived)
    result["populate_s"] = t_small + t_big
    mix = dict(WorkOrder.objects.order_by().values_list("state").annotate(n=Count("pk")))
    result["state_mix"] = ", ".join(
        f"{State(s).label.lower()} {mix.get(s, 0):,}" for s, _ in STATES
    )
    if want_board:
        say(f"  {connection.vendor}: board, {args.repeat} calls …")
        p50, p95, q = _measure_board(args.repeat, now, problems)
        result["board"] = {
            "orders": WorkOrder.objects.count(),
            "open": WorkOrder.objects.filter(state__in=OPEN_STATES).count(),
            "p50_ms": p50, "p95_ms": p95, "queries": q,
            "queries_small": q_small, "p95_small_ms": p95_s, "p50_small_ms": p50_s,
        }  # fmt: skip
    if args.only in ("all", "sweep") and not args.archived:
        _make_due(now, args.due)  # the same work on every run, even after an earlier run
        due_qs = WorkOrder.objects.filter(title=MARK_DUE)
        due = due_qs.filter(escalation_at__lte=now).count()
        say(f"  {connection.vendor}: sweep with {due:,} due …")
        t0 = time.perf_counter()
        res = sweep(now=now)
        seconds = time.perf_counter() - t0
        escalated = len(res.escalated_ids)
        if escalated != due:
            problems.append(f"{connection.vendor}: sweep escalated {escalated}, {due} were due")
        t0 = time.perf_counter()
        sweep(now=now)  # nothing left to do
        idle = time.perf_counter() - t0
        wrong = counts.differences()
        if wrong:
            problems.append(f"{connection.vendor}: board counters differ from a recount: {wrong}")
        result["sweep"] = {
            "orders": WorkOrder.objects.filter(state__in=OPEN_STATES).count(), "due": due,
            "seconds": seconds, "escalated": escalated,
            "per_order_ms": seconds / max(escalated, 1) * 1000, "idle_ms": idle * 1000,
        }  # fmt: skip
    return result
