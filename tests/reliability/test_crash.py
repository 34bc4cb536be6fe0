"""The server killed (``kill -9`` of the server's whole process group) in the middle of an intake
burst, then restarted: every order a client was told about is there with its events, every
submission retried with its Idempotency-Key maps to exactly one order (the first one, when it
had been written before the crash), nothing is left half-written, the audit chain verifies.

On SQLite (a file database of the test's own) and on PostgreSQL (a database created for it)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from tests.reliability.checks import consistency
from tests.reliability.site import Burst, DemoSite, Intake, Server, free_port, new_site

SUBMISSIONS = 90
CLIENTS = 6
KILL_AFTER = 30  # acknowledged orders before the power goes
COUNT_SQL = "SELECT COUNT(*) FROM workorders_workorder WHERE idempotency_key LIKE 'crash-%'"
RETRY_ANSWERED = 15  # of the acknowledged ones, retried as by a client that missed the answer


def crash_during_burst(tmp_path: Path, demo: DemoSite) -> None:
    engine = demo.site.engine
    with new_site(tmp_path / "site", engine, like=demo.site) as site:
        intake = Intake.prepare(demo.setup, SUBMISSIONS, tag=f"crash-{engine}")
        port = free_port()
        server = Server(site, port)
        killed_at: list[int] = []

        def pull_the_plug(burst: Burst) -> None:
            """Once enough orders were acknowledged, at the moment the database holds more
            orders than clients were told of (one committed, its answer not yet received),
            or after a few seconds more in any case."""
            deadline = time.monotonic() + 60
            while len(burst.acknowledged()) < KILL_AFTER and time.monotonic() < deadline:
                time.sleep(0.005)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and site.count(COUNT_SQL) <= len(
                burst.acknowledged()
            ):
                time.sleep(0.001)
            killed_at.append(len(burst.acknowledged()))
            server.kill()

        try:
            first = intake.burst(port, threads=CLIENTS, during=pull_the_plug)
        finally:
            server.stop()
        acked = [s for s in first if s.acknowledged]
        unanswered = [s for s in first if s.status is None]
        in_flight = [s for s in unanswered if s.sent]
        assert killed_at[0] >= KILL_AFTER, "the burst never got going"
        assert unanswered, "the crash came after the burst: nothing was left to retry"
        assert all(s.status in (None, 200, 201) for s in first), [
            (s.status, s.error) for s in first if s.status not in (None, 200, 201)
        ]

        # Restart, and retry as the clients would, with the same keys: everything that got
        # no answer, and some that did (as if their answer had been lost on the way).
        with_answer = random.Random(8).sample(acked, min(RETRY_ANSWERED, len(acked)))
        server = Server(site, port)
        try:
            retried = intake.burst(port, threads=CLIENTS, only=[*unanswered, *with_answer])
        finally:
            server.stop()
        again = {s.key: s for s in retried}

        for sub in with_answer:
            assert again[sub.key].status == 200, (again[sub.key].status, again[sub.key].error)
            assert again[sub.key].replayed
            assert again[sub.key].order == sub.order, "a retry returns the first order"
        for sub in unanswered:
            assert again[sub.key].acknowledged, (again[sub.key].status, again[sub.key].error)
        # 200 to a retry of a submission in flight at the kill: it had been written, only its
        # answer was lost; 201: it had not been, and is written now.
        written_before = [s for s in in_flight if again[s.key].status == 200]
        assert all(s.sent for s in written_before)

        found = consistency(site, [s.key for s in first])
        by_key = found["by_key"]
        for sub in acked:
            assert by_key.get(sub.key) == [sub.order], f"acknowledged order lost: {sub.key}"
        for sub in unanswered:
            assert by_key.get(sub.key) == [again[sub.key].order]
        assert len(by_key) == SUBMISSIONS
        assert found["orders"] == SUBMISSIONS, "no order but the submitted ones"
        print(  # noqa: T201 - what the crash left, in the test's output (-s)
            f"\n{engine}: {len(acked)} acknowledged before the kill, {len(in_flight)} in flight "
            f"({len(written_before)} of them written), {len(unanswered) - len(in_flight)} "
            f"not sent; {found['orders']} orders, {found['events']} events; "
            f"{found['audit_verify']}"
        )


@pytest.mark.own_sqlite_file
def test_intake__server_killed_during_a_burst_on_sqlite__nothing_lost_nothing_doubled(
    tmp_path: Path, demo_sqlite: DemoSite
) -> None:
    crash_during_burst(tmp_path, demo_sqlite)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (run with DATABASE_URL=postgres://...)",
)
def test_intake__server_killed_during_a_burst_on_postgresql__nothing_lost_nothing_doubled(
    tmp_path: Path, demo_postgresql: DemoSite
) -> None:
    crash_during_burst(tmp_path, demo_postgresql)
