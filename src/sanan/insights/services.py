"""Keeping the figures up to date from the work-order event log.

``insights_refresh`` is the only writer of ``OrderFact``, ``KpiRollup``, ``PlacePopulation``
and ``RefreshState``. It never runs on the intake path: the worker calls it every minute,
``sanan insights refresh`` and the demo build at their end.

Incremental refresh: the orders with an event above the watermark get their counters
recomputed from *all* their events (``facts.counters``); the difference between the new and
the stored fact is added to every rollup row the order belongs to (the old key's rows lose the
old counters, the new key's rows gain the new ones). So an order rated weeks after it was
counted, transferred to another organisation or merged as a duplicate moves in the figures of
its registration month exactly, and recomputing an order twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.db.models.functions import Substr

from sanan.core import clock
from sanan.insights.facts import counters, month_of
from sanan.insights.kpis import COUNTERS
from sanan.insights.models import Grain, KpiRollup, OrderFact, PlacePopulation, RefreshState
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import Resident, ResidentStatus
from sanan.workorders.models import Category, WorkOrder, WorkOrderEvent

logger = logging.getLogger("sanan.insights")

CHUNK = 2000
Key = tuple[int, str, dt.date, int, int, str]
DIMENSIONS = ("month", "place_path", "community_path", "category_id", "organisation_id",
              "channel", "discovery")  # fmt: skip


@dataclass
class RefreshResult:
    orders: int = 0
    facts_written: int = 0
    rollup_rows: int = 0
    last_event_id: int = 0
    full: bool = False
    population: bool = False

    def summary(self) -> str:
        kind = "full rebuild" if self.full else "incremental"
        return (
            f"figures ({kind}): {self.orders} orders recomputed, {self.facts_written} facts "
            f"written, {self.rollup_rows} rollup rows touched, events up to "
            f"{self.last_event_id}" + ("; residents recounted" if self.population else "")
        )


class PlaceMaps:
    """Courtyard paths by id, the communities' paths and the level-1 category of each
    category path, read once per refresh."""

    def __init__(self) -> None:
        self.courtyards = dict(
            Place.objects.filter(kind=PlaceKind.COURTYARD).values_list("pk", "path")
        )
        self.communities = set(
            Place.objects.filter(kind=PlaceKind.COMMUNITY).values_list("path", flat=True)
        )
        self.community_lengths = sorted({len(p) for p in self.communities})
        roots = dict(Category.objects.filter(depth=1).values_list("path", "pk"))
        self.category_root = {
            path: roots.get(path[: Category.steplen], 0)
            for path in Category.objects.values_list("path", flat=True)
        }

    def community_of(self, path: str) -> str:
        for n in self.community_lengths:
            if path[:n] in self.communities:
                return path[:n]
        return path


def _order_rows(ids: Iterable[int]) -> list[dict[str, Any]]:
    rows = (
        WorkOrder.objects.filter(pk__in=list(ids))
        .order_by()
        .values(
            "pk", "created_at", "place_path", "courtyard_id", "category__path",
            "lead_organisation_id", "channel", "is_discovery", "parent_id",
        )
    )  # fmt: skip
    return [dict(row) for row in rows]


def compute_facts(ids: list[int], maps: PlaceMaps) -> dict[int, dict[str, Any] | None]:
    """The fact of each order (``None``: not counted, a merged duplicate), from the order
    rows and all their events (two queries)."""
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in (
        WorkOrderEvent.objects.filter(order_id__in=ids)
        .order_by("order_id", "at", "id")
        .values("order_id", "action", "at", "to_state", "data")
    ):
        events[e["order_id"]].append(dict(e))
    out: dict[int, dict[str, Any] | None] = dict.fromkeys(ids)
    for row in _order_rows(ids):
        if row["parent_id"] is not None:
            continue
        place_path = maps.courtyards.get(row["courtyard_id"]) or row["place_path"]
        fact = {
            "month": month_of(row["created_at"]),
            "place_path": place_path,
            "community_path": maps.community_of(place_path),
            "category_id": maps.category_root.get(row["category__path"], 0),
            "organisation_id": row["lead_organisation_id"] or 0,
            "channel": row["channel"],
            "discovery": row["is_discovery"],
        }
        fact.update(
            counters(
                created_at=row["created_at"],
                discovery=row["is_discovery"],
                events=events[row["pk"]],
            )
        )
        out[row["pk"]] = fact
    return out


def rollup_keys(fact: dict[str, Any]) -> list[Key]:
    m, place, community = fact["month"], fact["place_path"], fact["community_path"]
    cat, org, channel = fact["category_id"], fact["organisation_id"], fact["channel"]
    return [
        (Grain.COURTYARD, place, m, 0, 0, ""),
        (Grain.COURTYARD_DETAIL, place, m, cat, org, channel),
        (Grain.COMMUNITY, community, m, 0, 0, ""),
        (Grain.COMMUNITY_DETAIL, community, m, cat, org, channel),
    ]


def _add(deltas: dict[Key, list[int]], fact: dict[str, Any], sign: int) -> None:
    values = [sign * int(fact[c]) for c in COUNTERS]
    for key in rollup_keys(fact):
        acc = deltas.get(key)
        if acc is None:
            deltas[key] = list(values)
        else:
            for i, v in enumerate(values):
                acc[i] += v


def _apply(deltas: dict[Key, list[int]]) -> int:
    touched = 0
    for key, values in deltas.items():
        changes = {c: v for c, v in zip(COUNTERS, values, strict=True) if v}
        if not changes:
            continue
        touched += 1
        grain, place, month, cat, org, channel = key
        lookup = {"grain": grain, "place_path": place, "month": month, "category_id": cat,
                  "organisation_id": org, "channel": channel}  # fmt: skip
        updated = KpiRollup.objects.filter(**lookup).update(
            **{c: F(c) + v for c, v in changes.items()}
        )
        if not updated:
            KpiRollup.objects.create(**lookup, **changes)
    return touched


def _fact_dict(row: OrderFact) -> dict[str, Any]:
    return {name: getattr(row, name) for name in (*DIMENSIONS, *COUNTERS)}


def _recount(ids: list[int], maps: PlaceMaps, result: RefreshResult) -> None:
    """Recompute the facts of ``ids`` and move the rollups by the difference."""
    new = compute_facts(ids, maps)
    old = {row.order_id: row for row in OrderFact.objects.filter(order_id__in=ids)}
    deltas: dict[Key, list[int]] = {}
    creates: list[OrderFact] = []
    updates: list[OrderFact] = []
    gone: list[int] = []
    for pk in ids:
        before = old.get(pk)
        after = new.get(pk)
        before_dict = _fact_dict(before) if before is not None else None
        if before_dict == after:
            continue
        if before_dict is not None:
            _add(deltas, before_dict, -1)
        if after is not None:
            _add(deltas, after, +1)
            if before is None:
                creates.append(OrderFact(order_id=pk, **after))
            else:
                for name, value in after.items():
                    setattr(before, name, value)
                updates.append(before)
        else:
            gone.append(pk)
    if creates:
        OrderFact.objects.bulk_create(creates)
    if updates:
        OrderFact.objects.bulk_update(updates, [*DIMENSIONS, *COUNTERS])
    if gone:
        OrderFact.objects.filter(order_id__in=gone).delete()
    result.orders += len(ids)
    result.facts_written += len(creates) + len(updates) + len(gone)
    result.rollup_rows += _apply(deltas)


def _rebuild_rollups() -> int:
    """Every rollup row from the facts: one ``INSERT … SELECT … GROUP BY`` per grain, done by
    the database (a million facts in seconds; through the ORM it would take many minutes)."""
    KpiRollup.objects.all().delete()
    rollups = connection.ops.quote_name(KpiRollup._meta.db_table)
    facts = connection.ops.quote_name(OrderFact._meta.db_table)
    q = connection.ops.quote_name
    counters = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM({q(c)})" for c in COUNTERS)
    detail = f"{q('category_id')}, {q('organisation_id')}, {q('channel')}"
    written = 0
    with connection.cursor() as cursor:
        for grain, place, with_detail in (
            (Grain.COURTYARD, "place_path", False),
            (Grain.COURTYARD_DETAIL, "place_path", True),
            (Grain.COMMUNITY, "community_path", False),
            (Grain.COMMUNITY_DETAIL, "community_path", True),
        ):
            keys = f"{q(place)}, {q('month')}" + (f", {detail}" if with_detail else "")
            chosen = detail if with_detail else "0, 0, ''"
            cursor.execute(
                f"INSERT INTO {rollups} ({q('grain')}, {q('place_path')}, {q('month')}, "  # noqa: S608 (names of this app's tables and columns)
                f"{detail}, {counters}) "
                f"SELECT %s, {q(place)}, {q('month')}, {chosen}, {sums} FROM {facts} "
                f"GROUP BY {keys}",
                [int(grain)],
            )
            written += cursor.rowcount
    return written


def _insert_facts(facts: dict[int, dict[str, Any] | None]) -> int:
    """Insert order facts with one multi-row statement per batch, bypassing the ORM's
    per-field preparation (the full rebuild writes a million of them)."""
    columns = ["order_id", *DIMENSIONS, *COUNTERS]
    q = connection.ops.quote_name
    table = q(OrderFact._meta.db_table)
    rows = []
    for pk, fact in facts.items():
        if fact is None:
            continue
        rows.append((pk, fact["month"].isoformat(), *(fact[c] for c in columns[2:])))
    if not rows:
        return 0
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "  # noqa: S608 (this app's table)
            f"VALUES ({placeholders})",
            rows,
        )
    return len(rows)


def _population_stamp() -> str:
    agg = Resident.objects.aggregate(n=Count("pk"), last=Max("updated_at"))
    last = agg["last"].isoformat() if agg["last"] else ""
    return f"{agg['n']}:{last}"


def _recount_population(maps: PlaceMaps) -> None:
    PlacePopulation.objects.all().delete()
    active = Resident.objects.filter(status=ResidentStatus.ACTIVE).order_by()
    rows: list[PlacePopulation] = []
    targets = [
        (Grain.COURTYARD, set(maps.courtyards.values())),
        (Grain.COMMUNITY, maps.communities),
    ]
    for grain, paths in targets:
        for length in sorted({len(p) for p in paths}):
            counted = (
                active.annotate(prefix=Substr("place__path", 1, length))
                .values("prefix")
                .annotate(n=Count("pk"))
            )
            rows += [
                PlacePopulation(grain=grain, place_path=r["prefix"], residents=r["n"])
                for r in counted
                if r["prefix"] in paths
            ]
    PlacePopulation.objects.bulk_create(rows)


def insights_refresh(
    *, full: bool = False, progress: Callable[[str], None] | None = None
) -> RefreshResult:
    """Bring the figures up to date with the event log (see the module's docstring). One
    transaction, started by locking the watermark row, so two refreshes never overlap.
    ``full`` (or a first run) rebuilds the facts of every order and every rollup row."""
    say = progress or (lambda message: None)
    result = RefreshResult()
    with transaction.atomic():
        RefreshState.objects.get_or_create(pk=1)
        state = RefreshState.objects.select_for_update().get(pk=1)
        top = WorkOrderEvent.objects.aggregate(m=Max("id"))["m"] or 0
        maps = PlaceMaps()
        if full or state.last_event_id == 0:
            result.full = True
            OrderFact.objects.all().delete()
            ids = list(WorkOrder.objects.order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                result.facts_written += _insert_facts(compute_facts(chunk, maps))
                result.orders += len(chunk)
                if start and start % (CHUNK * 25) == 0:
                    say(f"  figures: {start:,} of {len(ids):,} orders")
            result.rollup_rows = _rebuild_rollups()
            state.safe_event_id = max(top - 1000, 0)
        else:
            changed = sorted(
                set(
                    WorkOrderEvent.objects.filter(id__gt=state.safe_event_id, id__lte=top)
                    .order_by()
                    .values_list("order_id", flat=True)
                    .distinct()
                )
            )
            for start in range(0, len(changed), CHUNK):
                _recount(changed[start : start + CHUNK], maps, result)
            state.safe_event_id = state.last_event_id
        state.last_event_id = top
        result.last_event_id = top
        stamp = _population_stamp()
        if stamp != state.population_stamp:
            _recount_population(maps)
            state.population_stamp = stamp
            result.population = True
        state.refreshed_at = clock.now()
        state.save()
    return result
