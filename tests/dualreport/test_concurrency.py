"""Units racing for the last place on a task: exactly one wins, the others are told the
places are gone (``dual_task.full``). Real threads and connections, on SQLite (a file
database, in a subprocess) and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from sanan.dualreport.models import Claim, Task
from tests.dualreport.conftest import Dual
from tests.dualreport.race import race_claim, racers

ROOT = Path(__file__).resolve().parents[2]
UNITS = 4


@pytest.mark.own_sqlite_file
def test_claim__race_on_sqlite_file__one_unit_wins(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.dualreport.race_probe", str(UNITS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(result["results"]) == ["dual_task.full"] * (UNITS - 1) + ["ok"]
    assert result["claims"] == 1
    assert result["claimed_slots"] == 1


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (run with DATABASE_URL=postgres://...)",
)
@pytest.mark.django_db(transaction=True)
def test_claim__race_on_postgresql__one_unit_wins(dual: Dual) -> None:
    assert connection.vendor == "postgresql"
    pairs = racers(dual, UNITS)
    task = dual.task(slots=1, hours_per_slot=1)
    results = race_claim(task.pk, pairs)
    assert sorted(results) == ["dual_task.full"] * (UNITS - 1) + ["ok"]
    assert Claim.objects.filter(task=task).count() == 1
    assert Task.objects.get(pk=task.pk).claimed_slots == 1
