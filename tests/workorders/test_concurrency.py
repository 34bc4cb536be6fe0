"""Two people acting on the same order at once: exactly one wins, the others get 409
``work_order.conflict``; two sweeps at once escalate each order once per level. With real
threads and connections, on SQLite (a file database, in a subprocess) and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from sanan.workorders import counts
from sanan.workorders.models import WorkOrder, WorkOrderEvent
from sanan.workorders.state import State
from sanan.workorders.sweep import SweepResult
from tests.workorders.race import race_courtyard, race_sign, race_sweep
from tests.workorders.world import WEDNESDAY_10, OrderWorld

ROOT = Path(__file__).resolve().parents[2]
THREADS = 4


@pytest.mark.own_sqlite_file
def test_work_order__race_on_sqlite_file__one_wins_the_rest_conflict(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.workorders.race_probe", str(THREADS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(result["sign"]) == ["ok"] + ["work_order.conflict"] * (THREADS - 1)
    assert result["sign_events"] == 1
    assert result["state"] == "signed"
    assert all(not isinstance(s, str) for s in result["sweeps"]), result["sweeps"]
    assert sum(s["warned"] for s in result["sweeps"]) == 12
    assert sum(s["chased"] for s in result["sweeps"]) == 12
    assert all(v == ["chase", "warn"] for v in result["escalations"].values())


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (run with DATABASE_URL=postgres://...)",
)
@pytest.mark.django_db(transaction=True)
def test_work_order__race_on_postgresql__one_wins_the_rest_conflict(wo: OrderWorld) -> None:
    assert connection.vendor == "postgresql"
    order = wo.order_in(State.DISPATCHED)
    overdue = [wo.order_in(State.DISPATCHED).pk for _ in range(12)]
    results = race_sign(order.pk, wo.handler.pk, THREADS)
    assert sorted(results) == ["ok"] + ["work_order.conflict"] * (THREADS - 1)
    assert WorkOrderEvent.objects.filter(order=order, action="sign").count() == 1
    assert WorkOrder.objects.get(pk=order.pk).state == State.SIGNED

    sweeps = race_sweep(WEDNESDAY_10 + dt.timedelta(hours=3), THREADS)
    assert all(isinstance(s, SweepResult) for s in sweeps), sweeps
    assert sum(s.warned for s in sweeps if isinstance(s, SweepResult)) == 12
    assert sum(s.chased for s in sweeps if isinstance(s, SweepResult)) == 12
    for pk in overdue:
        actions = WorkOrderEvent.objects.filter(order_id=pk, action__in=["warn", "chase"])
        assert sorted(actions.values_list("action", flat=True)) == ["chase", "warn"]


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (run with DATABASE_URL=postgres://...)",
)
@pytest.mark.django_db(transaction=True)
def test_board_counts__writers_in_one_courtyard_at_once__no_deadlock(wo: OrderWorld) -> None:
    """Intakes and signatures in one courtyard at the same instant share the board's counter
    rows (registered or dispatched, signed): each waits for the others' rows, which every
    writer takes in the same order, so none deadlocks and the counts add up."""
    assert connection.vendor == "postgresql"
    to_sign = [wo.order_in(State.DISPATCHED).pk for _ in range(THREADS)]
    results = race_courtyard(
        reporter_pk=wo.resident.pk, place_pk=wo.world.house_a.pk,
        category_pk=wo.street_light.pk, handler_pk=wo.handler.pk, to_sign=to_sign,
    )  # fmt: skip
    assert results == ["ok"] * (2 * THREADS), results
    assert WorkOrder.objects.filter(pk__in=to_sign, state=State.SIGNED).count() == THREADS
    assert counts.differences() == {}
