"""Helper of ``bench/insights_bench.py`` (runs inside a Django process bound to one database):
builds a district of 300 communities with a year of work orders and their events, counts the
figures, and measures the dashboard's reads.

The place tree (bulk-created, treebeard paths computed here): one city, one district, 10
sub-districts of 30 communities, each community one residential area of 55 courtyards with one
house each — 16,500 courtyards. Orders (``--orders`` in all) are spread evenly over the
houses, registered over the 13 months before ``NOW``, and carry the events a real order
would have had by ``NOW`` (as the categories' clocks and the departments' habits make them):
dispatched at intake, signed, contacted, started, finished, rated, archived; 5 % returned
and ruled on, 4 % rated dissatisfied and re-handled, 2 % merged into the previous order,
8 % late at signing, 12 % late at finishing; the last weeks' orders are still open. The
figures are then counted with ``insights_refresh(full=True)`` (timed), and an incremental
refresh after 1,000 late ratings is timed too.

Figures are read as a request would: a fresh user object (its roles read again) each time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from sanan.accounts.models import RoleAssignment, User
from sanan.insights import selectors
from sanan.insights.services import insights_refresh
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.places.models import Place, PlaceKind
from sanan.workorders.models import Category, Channel, WorkOrder, WorkOrderEvent
from sanan.workorders.seed import seed_all

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
SUBDISTRICTS, COMMUNITIES, COURTYARDS = 10, 30, 55
CHUNK = 5000
CHANNELS = [(Channel.RESIDENT_FORM, 45), (Channel.HOTLINE, 35), (Channel.DISCOVERY, 12),
            (Channel.COUNCIL, 3), (Channel.OPEN311, 5)]  # fmt: skip


def _step(n: int) -> str:
    alphabet = Place.alphabet
    out = ""
    for _ in range(Place.steplen):
        n, r = divmod(n, len(alphabet))
        out = alphabet[r] + out
    return out


def build_places(say: Callable[[str], None]) -> None:
    if Place.objects.filter(code="ib-city").exists():
        return
    rows: list[Place] = []

    def add(path: str, kind: str, code: str, name: str, children: int) -> None:
        rows.append(
            Place(path=path, depth=len(path) // Place.steplen, numchild=children, kind=kind,
                  code=code, name=name)
        )  # fmt: skip

    top = Place.objects.filter(depth=1).count() + 1
    city = _step(top)
    add(city, PlaceKind.CITY, "ib-city", "基准市", 1)
    district = city + _step(1)
    add(district, PlaceKind.DISTRICT, "ib-district", "基准区", SUBDISTRICTS)
    for s in range(1, SUBDISTRICTS + 1):
        sub = district + _step(s)
        add(sub, PlaceKind.SUBDISTRICT, f"ib-s{s}", f"第{s}街道", COMMUNITIES)
        for c in range(1, COMMUNITIES + 1):
            com = sub + _step(c)
            add(com, PlaceKind.COMMUNITY, f"ib-s{s}-c{c}", f"第{s}街道第{c}社区", 1)
            area = com + _step(1)
            add(area, PlaceKind.AREA, f"ib-s{s}-c{c}-a", f"第{s}-{c}小区", COURTYARDS)
            for y in range(1, COURTYARDS + 1):
                yard = area + _step(y)
                add(yard, PlaceKind.COURTYARD, f"ib-s{s}-c{c}-y{y}", f"{y}号院", 1)
                add(yard + _step(1), PlaceKind.HOUSE, f"ib-s{s}-c{c}-y{y}-h", f"{y}号院1栋", 0)
    with transaction.atomic():
        Place.objects.bulk_create(rows, batch_size=2000)
    say(f"  {connection.vendor}: {len(rows):,} places")


def _context() -> dict[str, Any]:
    seed_all()
    district = Place.objects.get(code="ib-district")
    org, _ = Organisation.objects.get_or_create(
        code="ib-dept", defaults={"kind": OrganisationKind.DEPARTMENT, "name": "基准区住建局",
                                  "place": district},
    )  # fmt: skip
    unit, _ = Organisation.objects.get_or_create(
        code="ib-unit", defaults={"kind": OrganisationKind.UNIT, "name": "基准双报到单位",
                                  "place": district},
    )  # fmt: skip
    reporter, _ = User.objects.get_or_create(username="ib-resident")
    courtyards = dict(
        Place.objects.filter(kind=PlaceKind.COURTYARD, code__startswith="ib-")
        .values_list("path", "pk")
    )  # fmt: skip
    houses = [
        (pk, courtyards[path[: -Place.steplen]], path)
        for pk, path in Place.objects.filter(kind=PlaceKind.HOUSE, code__startswith="ib-")
        .order_by("path")
        .values_list("pk", "path")
    ]
    return {
        "houses": houses,
        "categories": list(Category.objects.filter(depth=2).values_list("pk", flat=True)),
        "orgs": [org.pk, org.pk, org.pk, unit.pk],
        "reporter": reporter.pk,
    }


Step = tuple[str, str, str, dt.timedelta, dict[str, Any]]


def _order_and_events(
    i: int, rng: random.Random, ctx: dict[str, Any]
) -> tuple[WorkOrder, list[Step]]:
    house, courtyard, path = ctx["houses"][i % len(ctx["houses"])]
    created = NOW - dt.timedelta(minutes=rng.randint(10, 60 * 24 * 395))
    channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    order = WorkOrder(
        category_id=rng.choice(ctx["categories"]), place_id=house, place_path=path,
        courtyard_id=courtyard, title=f"基准工单 {i}", description="基准测试工单",
        channel=channel, is_discovery=channel == Channel.DISCOVERY, created_at=created,
        reporter_id=ctx["reporter"], created_by_id=ctx["reporter"],
        lead_organisation_id=rng.choice(ctx["orgs"]), state="registered",
    )  # fmt: skip
    h = dt.timedelta(hours=1)
    steps: list[Step] = [
        ("submit", "", "registered", dt.timedelta(0), {}),
        ("dispatch", "registered", "dispatched", dt.timedelta(minutes=5), {"automatic": True}),
    ]
    t = dt.timedelta(minutes=5)
    if rng.random() < 0.05:
        steps.append(("return", "dispatched", "returned", t + 2 * h, {}))
        steps.append(("rule", "returned", "dispatched", t + 5 * h, {}))
        t += 5 * h
    passes = 2 if rng.random() < 0.04 else 1
    for n in range(passes):
        late_sign = rng.random() < 0.08
        t += h * (rng.uniform(26, 60) if late_sign else rng.uniform(0.2, 8))
        steps.append(("sign", "dispatched", "signed", t, {"on_time": not late_sign}))
        t += h * rng.uniform(0.5, 12)
        steps.append(("contact", "signed", "contacted", t, {"on_time": rng.random() > 0.06}))
        t += h * rng.uniform(0.1, 4)
        steps.append(("start", "contacted", "in_progress", t, {}))
        late_finish = rng.random() < 0.12
        t += h * (rng.uniform(170, 400) if late_finish else rng.lognormvariate(3.2, 1.0))
        steps.append(("finish", "in_progress", "finished", t, {"on_time": not late_finish}))
        t += h * rng.uniform(2, 72)
        if n + 1 < passes:
            bad = {"resolution": "not_solved", "satisfaction": "dissatisfied"}
            steps.append(("callback", "finished", "callback", t, bad))
            steps.append(("rehandle", "callback", "dispatched", t, {}))
        else:
            satisfaction = rng.choices(["satisfied", "fairly", "dissatisfied"], [80, 14, 6])[0]
            resolution = rng.choices(["solved", "partly", "not_solved"], [86, 10, 4])[0]
            if resolution == "not_solved" or satisfaction == "dissatisfied":
                satisfaction, resolution = "fairly", "partly"
            steps.append(("callback", "finished", "callback", t,
                          {"resolution": resolution, "satisfaction": satisfaction}))  # fmt: skip
            steps.append(("archive", "callback", "archived", t + 72 * h, {}))
    kept = [s for s in steps if created + s[3] <= NOW]
    order.state = kept[-1][2]
    _columns(order, kept, rng)
    return order, kept


def _columns(order: WorkOrder, kept: list[Step], rng: random.Random) -> None:
    """The columns the services would have left on the order after ``kept`` (what the lists
    and the dashboard's "now" figures read): the finish, the rating, the deadline of an open
    order; an overdue open order is chased (40 %) and put under supervision (15 %), as the SLA
    sweep and the desk do, with the events of both."""
    created = order.created_at
    at = {action: created + offset for action, _f, _t, offset, _d in kept}
    order.dispatched_at = at.get("dispatch")
    order.signed_at = at.get("sign")
    order.contacted_at = at.get("contact")
    order.started_at = at.get("start")
    if order.state in ("finished", "callback", "archived"):
        order.finished_at = at.get("finish")
    if order.state in ("callback", "archived"):
        last = [d for a, _f, _t, _o, d in kept if a == "callback"][-1]
        order.resolution, order.satisfaction = last["resolution"], last["satisfaction"]
        order.rated_at = at.get("callback")
        order.archived_at = at.get("archive")
    if order.state in ("finished", "callback", "archived"):
        return
    stage_start = created + kept[-1][3]
    order.due_at = stage_start + dt.timedelta(days=7 if order.state != "dispatched" else 1)
    if order.due_at > NOW:
        return
    state = order.state
    if rng.random() < 0.4:
        chased = order.due_at + dt.timedelta(hours=rng.uniform(1, 48))
        if chased <= NOW:
            kept.append(("chase", state, state, chased - created, {}))
            order.chase_count = 1
    if rng.random() < 0.15:
        supervised = order.due_at + dt.timedelta(hours=rng.uniform(48, 120))
        if supervised <= NOW:
            kept.append(("supervise", state, state, supervised - created, {"level": 1}))
            order.supervision_level = 1


BASE = 100_000  # orders built one by one; beyond, the table copies itself (same places)


def _copy(have: int, n: int) -> None:
    """``n`` more orders: copies of the first ``n`` (new ids ``id + offset``, the same places
    and dates, merged duplicates pointing into the copy), with copies of their events."""
    q = connection.ops.quote_name
    orders = q(WorkOrder._meta.db_table)
    events = q(WorkOrderEvent._meta.db_table)
    offset = int(WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    first = int(WorkOrder.objects.order_by("pk").values_list("pk", flat=True).first() or 0)
    last_id = first + n - 1
    order_cols = [str(f.column) for f in WorkOrder._meta.concrete_fields]
    pick = {"id": f"id + {offset}", "parent_id": f"parent_id + {offset}"}
    event_cols = [str(f.column) for f in WorkOrderEvent._meta.concrete_fields if f.name != "id"]
    pick_event = {"order_id": f"order_id + {offset}"}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {orders} ({', '.join(q(c) for c in order_cols)}) "  # noqa: S608
            f"SELECT {', '.join(pick.get(c, q(c)) for c in order_cols)} FROM {orders} "
            f"WHERE id BETWEEN %s AND %s",
            [first, last_id],
        )
        cur.execute(
            f"INSERT INTO {events} ({', '.join(q(c) for c in event_cols)}) "  # noqa: S608
            f"SELECT {', '.join(pick_event.get(c, q(c)) for c in event_cols)} FROM {events} "
            f"WHERE order_id BETWEEN %s AND %s",
            [first, last_id],
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{WorkOrder._meta.db_table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {orders}))"
            )


EVENT_COLUMNS = (
    "order_id", "at", "actor_label", "action", "from_state", "to_state", "reason_code", "reason",
    "public_note", "internal_note", "data", "attachments",
)  # fmt: skip


def _insert_orders(orders: list[WorkOrder]) -> list[WorkOrder]:
    """The orders, numbered after the last one and written with one prepared multi-row INSERT
    (the ORM's ``bulk_create`` writes a row of fifty columns 18 at a time on SQLite)."""
    q = connection.ops.quote_name
    fields = list(WorkOrder._meta.concrete_fields)
    adapt = connection.ops.adapt_datetimefield_value

    def prepare(field: Any) -> Callable[[Any], Any]:
        if isinstance(field, models.DateTimeField):
            return lambda v: None if v is None else adapt(v)
        if isinstance(field, models.JSONField):
            return json.dumps
        return lambda v: v

    prepared = [(f.attname, prepare(f)) for f in fields]
    last = WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rows = []
    for k, order in enumerate(orders, start=1):
        order.pk = last + k
        order.updated_at = order.created_at
        rows.append(tuple(fn(getattr(order, name)) for name, fn in prepared))
    columns = ", ".join(q(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = q(WorkOrder._meta.db_table)
    with connection.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608
        if connection.vendor == "postgresql":
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{WorkOrder._meta.db_table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
    return orders


def _insert_events(orders: list[tuple[int, dt.datetime, list[Step]]]) -> None:
    """The events of the orders, written with one prepared multi-row INSERT (the ORM's
    ``bulk_create`` spends most of a build making and preparing eight objects per order)."""
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in EVENT_COLUMNS)
    marks = ", ".join(["%s"] * len(EVENT_COLUMNS))
    table = q(WorkOrderEvent._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (the model's names)
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (pk, adapt(created + offset), "bench", action, from_state, to_state, "", "", "", "",
         json.dumps(data), "[]")
        for pk, created, steps in orders
        for action, from_state, to_state, offset, data in steps
    ]  # fmt: skip
    with connection.cursor() as cur:
        cur.executemany(sql, rows)


def build_orders(target: int, say: Callable[[str], None], *, copies: bool = True) -> float:
    """Orders up to ``target`` in all. Beyond ``BASE`` they are copies of the first ones
    unless ``copies`` is False: then every order is built on its own (distinct dates,
    places, categories, histories), as a real city's would be."""
    have = WorkOrder.objects.filter(place_path__gte=Place.objects.get(code="ib-city").path).count()
    if have >= target:
        return 0.0
    started = time.perf_counter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:  # the indexes of a million orders, kept in memory
            cur.execute("PRAGMA cache_size = -1500000")
    if have >= BASE and copies:
        while have < target:
            n = min(BASE, target - have)
            _copy(have, n)
            have += n
            say(f"  {connection.vendor}: {have:,}/{target:,} orders (copies) "
                f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        return time.perf_counter() - started
    ctx = _context()
    rng = random.Random(have)
    i = have
    target_built, target = target, (min(target, BASE) if copies else target)
    while i < target:
        n = min(CHUNK, target - i)
        built = [_order_and_events(i + k, rng, ctx) for k in range(n)]
        with transaction.atomic():
            orders = _insert_orders([o for o, _ in built])
            _insert_events([(order.pk, order.created_at, steps) for order, steps in built])
            # 2 % are duplicates merged into the order registered before them.
            merged = [o.pk for o in orders[1:] if rng.random() < 0.02]
            if merged:
                WorkOrder.objects.filter(pk__in=merged).update(
                    state="archived", parent_id=F("id") - 1
                )
        i += n
        if i % 50_000 == 0 or i == target:
            say(f"  {connection.vendor}: {i:,}/{target:,} orders with their events "
                f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    if target_built > target:
        return time.perf_counter() - started + build_orders(target_built, say)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return time.perf_counter() - started


def _user(username: str, role: str, place: Place) -> User:
    user, created = User.objects.get_or_create(username=username)
    if created:
        RoleAssignment.objects.create(user=user, role=role, place=place)
    return user


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(user_id: int, place: Place, by: str, repeat: int) -> dict[str, Any]:
    """One dashboard's figures: the summary of the last 12 months, the 12-month trend and the
    breakdown (``by``), as one request would read them."""
    end = NOW.date().replace(day=1)
    start = selectors._add_months(end, -11)

    def once() -> int:
        user = User.objects.get(pk=user_id)
        summary = selectors.kpi_summary(user=user, place=place, start=start, end=end)
        selectors.kpi_trend(user=user, place=place, months=12, end=end)
        rows = selectors.kpi_breakdown(user=user, by=by, place=place, start=start, end=end)
        assert rows, "no rows"
        return int(summary["orders_per_1000_residents"].numerator)

    counted = once()
    with CaptureQueriesContext(connection) as ctx:
        once()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        once()
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "orders_counted": counted,
        "queries": len(ctx.captured_queries) + 1,  # + the user row
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 95), 1),
    }


def populate_and_measure(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    build_places(say)
    build_seconds = build_orders(args.orders, say)
    total = WorkOrder.objects.count()
    events = WorkOrderEvent.objects.count()
    refresh: dict[str, Any] = {}
    from sanan.insights.models import OrderFact

    if build_seconds or args.full_refresh or not OrderFact.objects.exists():
        say(f"  {connection.vendor}: counting the figures of {total:,} orders (full) …")
        t0 = time.perf_counter()
        result = insights_refresh(full=True, progress=say)
        refresh["full_s"] = round(time.perf_counter() - t0, 1)
        refresh["rollup_rows"] = result.rollup_rows
    # 1,000 orders of two months ago rated (again) now, long after they were counted.
    late = list(
        WorkOrder.objects.filter(created_at__lt=NOW - dt.timedelta(days=60), parent__isnull=True)
        .order_by("pk")
        .values_list("pk", "created_at")[:1000]
    )
    insights_refresh()
    with transaction.atomic():
        WorkOrderEvent.objects.bulk_create(
            [WorkOrderEvent(order_id=pk, at=NOW, actor_label="bench", action="callback",
                            from_state="finished", to_state="callback",
                            data={"resolution": "solved", "satisfaction": "satisfied"})
             for pk, _created in late]
        )  # fmt: skip
    t0 = time.perf_counter()
    inc = insights_refresh()
    refresh["incremental_s"] = round(time.perf_counter() - t0, 2)
    refresh["incremental_orders"] = inc.orders
    community = Place.objects.get(code="ib-s1-c1")
    district = Place.objects.get(code="ib-district")
    leader = _user("ib-leader", "leader", community)
    head = _user("ib-district-head", "leader", district)
    say(f"  {connection.vendor}: measuring ({args.repeat} times each) …")
    return {
        "engine": connection.vendor,
        "orders": total,
        "events": events,
        "build_s": round(build_seconds, 1),
        "refresh": refresh,
        "community": measure(leader.pk, community, "courtyard", args.repeat),
        "district": measure(head.pk, district, "place", args.repeat),
        "district_by_courtyard": measure(head.pk, district, "courtyard", max(args.repeat // 3, 3)),
    }


def iter_sizes(text: str) -> Iterator[int]:
    for part in text.split(","):
        yield int(part.replace("_", ""))
