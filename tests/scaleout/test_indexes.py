"""The hot queries read the indexes made for them, on both databases: the SLA sweep the
partial index of orders whose clock runs, the dispatcher's board and the handler's queue the
partial index of open orders and the board's counters (never the archive; a place is only
ever read by its key, for a courtyard's name); on PostgreSQL the work-order events have a BRIN
index of their time.

The plans are asked for with sequential scans priced out of reach (PostgreSQL's
``enable_seqscan``): on a test-sized table the planner would rightly scan it whole; the point
here is that each index *can* answer its query — a partial index whose condition the query
does not imply would never appear. docs/operations.md shows the same plans over 400,000 orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sanan.accounts.models import User
from sanan.workorders import selectors
from sanan.workorders.models import WorkOrder

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)


def plans(run: Callable[[], Any]) -> list[str]:
    """The plan of every query ``run`` sends that reads the orders."""
    with CaptureQueriesContext(connection) as ctx:
        run()
    found = []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
        for query in ctx.captured_queries:
            sql = query["sql"]
            if "workorders_workorder" not in sql:
                continue
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN " + sql)
                found.append("\n".join(row[0] for row in cursor.fetchall()))
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                found.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
    assert found, "no query read the orders"
    return found


def places_by_key_only(plan: str) -> bool:
    """No scan of the places and no join over them: a place read at all is read by its key
    (a courtyard's name for a row of counts)."""
    lines = [line for line in plan.splitlines() if "places_place" in line]
    return all("places_place_pkey" in line for line in lines)


def sweep_query() -> None:
    list(WorkOrder.objects.filter(escalation_at__lte=NOW).order_by("escalation_at", "pk")[:500])


@pytest.mark.django_db
def test_indexes__sla_sweep__reads_the_partial_index_of_running_clocks() -> None:
    (plan,) = plans(sweep_query)
    assert "work_order_escalating" in plan, plan


@pytest.mark.django_db
def test_indexes__dispatchers_board__reads_only_the_open_orders_index(world: Any) -> None:
    dispatcher = User.objects.get(username="p-dispatcher")
    for plan in plans(lambda: selectors.work_order_board(user=dispatcher, now=NOW)):
        assert "work_order_board" in plan or "work_order_state" in plan, plan
        assert places_by_key_only(plan), plan


@pytest.mark.django_db
def test_indexes__handlers_queue__never_scans_the_archive_or_joins_places(world: Any) -> None:
    handler = User.objects.get(username="p-handler")
    (plan,) = plans(lambda: selectors.work_order_queue(user=handler, now=NOW))
    assert places_by_key_only(plan), plan
    if connection.vendor == "postgresql":
        assert "Seq Scan on workorders_workorder " not in plan, plan
    else:
        assert "USING INDEX work_order_board" in plan or "work_order_state" in plan, plan


@pytest.mark.django_db
def test_indexes__event_time_brin__on_postgresql_summarised_as_it_fills_absent_on_sqlite() -> None:
    """Which plan reads it depends on the table's size (on a test-sized table the btree of
    (action, at) costs less than anything): docs/operations.md has the plan over 1.2 million
    events. Here: it exists where it can, as a BRIN of the events' time that summarises each
    range of pages as it fills (an unsummarised range would be read whole)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'work_order_event_at_brin'"
            )
            (definition,) = cursor.fetchone()
            assert "USING brin (at)" in definition
            assert "autosummarize='on'" in definition
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'work_order_event_at_brin'"
            )
            assert cursor.fetchone() == (0,)
