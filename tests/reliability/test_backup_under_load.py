"""``sanan backup`` (the operator's command, in a subprocess) while residents submit orders through
the real intake (``sanan serve``, HTTP, tokens, idempotency keys), then ``sanan restore`` into a
fresh installation: the restore checks the snapshot and its audit chain, and the restored data is
consistent (each order with its intake event, each event with its audit record, no orphan events
or outbox rows, ``sanan audit verify`` passes), holds every order acknowledged before the backup
began and none sent after it ended.

On SQLite (a file database of the test's own) and on PostgreSQL (databases created for it).
``tests/test_backup.py`` covers the round trip, the refusals and SQLite's page-by-page copy."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.checks import consistency
from tests.reliability.site import (
    Burst,
    DemoSite,
    Intake,
    Submission,
    free_port,
    new_site,
    serving,
)

SUBMISSIONS = 3000  # more than the burst needs: it is stopped once the backup is done
CLIENTS = 6
BEFORE = 20  # acknowledged orders before the backup starts
AFTER = 5  # orders sent after it ended and acknowledged, before the burst stops


def backup_under_load(tmp_path: Path, demo: DemoSite) -> None:
    engine = demo.site.engine
    folder = tmp_path / "backups"
    folder.mkdir()
    seen: dict[str, list[Submission]] = {}
    ended: list[float] = []
    with new_site(tmp_path / "live", engine, like=demo.site) as live:
        intake = Intake.prepare(demo.setup, SUBMISSIONS, tag=f"backup-{engine}")

        def back_up_meanwhile(burst: Burst) -> None:
            deadline = time.monotonic() + 60
            while len(burst.acknowledged()) < BEFORE and time.monotonic() < deadline:
                time.sleep(0.01)
            seen["before"] = burst.acknowledged()
            live.sanan("backup", "--output", str(folder))
            ended.append(time.monotonic())
            seen["after"] = burst.acknowledged()
            deadline = time.monotonic() + 60
            while (
                sum(s.started > ended[0] for s in burst.acknowledged()) < AFTER
                and time.monotonic() < deadline
            ):
                time.sleep(0.01)
            burst.stop()

        port = free_port()
        with serving(live, port):
            sent = intake.burst(port, threads=CLIENTS, during=back_up_meanwhile)

    assert all(s.status in (None, 200, 201) for s in sent), [
        (s.status, s.error) for s in sent if s.status not in (None, 200, 201)
    ]
    before, after = seen["before"], seen["after"]
    assert len(before) >= BEFORE, "the burst never got going"
    assert len(after) > len(before), "no order was written while the backup ran"
    acked = [s for s in sent if s.acknowledged]
    late = [s for s in acked if s.started > ended[0]]  # sent after the backup had ended
    assert len(late) >= AFTER

    (path,) = (p for p in folder.glob("sanan-*") if p.suffix != ".json")
    manifest: dict[str, Any] = json.loads(path.with_name(path.name + ".json").read_text())

    with new_site(tmp_path / "restored", engine) as restored:
        proc = restored.sanan("restore", "--yes", "--no-safety-backup", str(path))
        assert "audit chain OK" in proc.stdout
        # That installation has keys of its own, so the operator is warned about them.
        assert "SANAN_PII_KEYS" in proc.stderr
        found = consistency(restored, [s.key for s in sent if s.started])
        last_seq = restored.count("SELECT last_seq FROM audit_audithead WHERE id = 1")

    by_key = found["by_key"]
    for sub in before:
        assert by_key.get(sub.key) == [sub.order], f"acknowledged before the backup: {sub.key}"
    for sub in late:
        assert sub.key not in by_key, f"sent after the backup ended: {sub.key}"
    told = {s.key: s.order for s in acked}
    for key, orders in by_key.items():
        assert key not in told or told[key] == orders[0], key
    assert found["orders"] == len(by_key), "no order but the submitted ones"
    assert last_seq == manifest["audit_last_seq"] + 1  # + "database.restored"
    print(  # noqa: T201 - what the backup caught, in the test's output (-s)
        f"\n{engine}: {len(before)} orders acknowledged before the backup, "
        f"{len(after) - len(before)} while it ran, {len(late)} sent after; the backup holds "
        f"{found['orders']}; {found['audit_verify']}"
    )


@pytest.mark.own_sqlite_file
def test_database__backup_during_an_intake_burst_on_sqlite__restores_and_verifies(
    tmp_path: Path, demo_sqlite: DemoSite
) -> None:
    backup_under_load(tmp_path, demo_sqlite)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (run with DATABASE_URL=postgres://...)",
)
def test_database__backup_during_an_intake_burst_on_postgresql__restores_and_verifies(
    tmp_path: Path, demo_postgresql: DemoSite
) -> None:
    backup_under_load(tmp_path, demo_postgresql)
