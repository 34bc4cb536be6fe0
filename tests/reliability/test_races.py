"""Races through the API, on SQLite (a file database, in a subprocess) and on PostgreSQL, with
real threads and connections: two dispatchers dispatching one order, sign-for against return
(退单), the reporter's rating against the desk's call-back, finish against chase. Exactly one
wins, the loser gets a 409 with a stable code and a message, nothing is written twice or lost
(``races.check``).

The other races live with their apps: several handlers signing for one order and concurrent
SLA sweeps in ``tests/workorders/test_concurrency.py``; units claiming the last place on a
dual-reporting task (the booking-like claim) in ``tests/dualreport/test_concurrency.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from sanan.audit.services import audit_verify
from tests.reliability.races import check_all, run_all
from tests.workorders.world import OrderWorld

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.own_sqlite_file
def test_work_order__api_races_on_sqlite_file__one_wins_the_loser_gets_409(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "SANAN_VAR_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.race_probe"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    check_all(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (run with DATABASE_URL=postgres://...)",
)
@pytest.mark.django_db(transaction=True)
def test_work_order__api_races_on_postgresql__one_wins_the_loser_gets_409(
    wo: OrderWorld,
) -> None:
    assert connection.vendor == "postgresql"
    check_all(run_all(wo))
    assert audit_verify().ok
