"""`sanan backup` / `sanan restore` on the engine the suite runs on.

The commands are run as an operator runs them: the `sanan` CLI in a subprocess, against a
throwaway installation (a temporary SANAN_VAR_DIR; on SQLite its file-backed database, on
PostgreSQL a database created for the test and dropped afterwards). The test process's own
database (in memory on SQLite) is not used.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from sanan.core.backup import Progress, sqlite_restore, sqlite_snapshot
from tests.reliability import site

ENGINE: site.Engine = (
    "postgresql" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
)
EXT = {"sqlite": "sqlite3", "postgresql": "pgdump"}[ENGINE]
OTHER_MAGIC = {"sqlite": b"PGDMP\x01\x0e\x00", "postgresql": b"SQLite format 3\x00"}[ENGINE]
only_sqlite = pytest.mark.skipif(ENGINE != "sqlite", reason="the suite runs on PostgreSQL")

STATE_CODE = """
import json
from sanan.accounts.models import RoleAssignment, User
from sanan.audit.models import AuditEvent, AuditHead
from sanan.places.models import Place
head = AuditHead.objects.filter(pk=1).first()
latest = AuditEvent.objects.order_by("-seq").first()
print("STATE=" + json.dumps({
    "places": Place.objects.count(),
    "units": Place.objects.filter(kind="unit").count(),
    "users": sorted(User.objects.values_list("username", flat=True)),
    "roles": RoleAssignment.objects.count(),
    "audit_rows": AuditEvent.objects.count(),
    "audit_last_seq": head.last_seq if head else 0,
    "latest_action": latest.action if latest else None,
}))
"""

DAMAGE_CODE = """
from sanan.accounts.models import RoleAssignment
from sanan.accounts.services import user_create
from sanan.places.models import Place
RoleAssignment.objects.all().delete()
Place.objects.filter(kind="unit").delete()
user_create(actor="test", username="intruder", password="x", validate=False)
"""

WRITER_CODE = """
import os, pathlib
from django.db import transaction
from sanan.audit.services import audit_record
stop, ready = pathlib.Path(os.environ["STOP_FILE"]), pathlib.Path(os.environ["READY_FILE"])
n = 0
while not stop.exists():
    with transaction.atomic():
        audit_record(actor="writer", action="test.tick", data={"n": n})
    n += 1
    if n == 5:
        ready.touch()
print(f"WROTE={n}")
"""


# --- A throwaway Sanan installation ------------------------------------------------------------


@dataclass
class Site(site.Site):
    """One Sanan installation (``tests/reliability/site.py``), with what these tests read."""

    def state(self) -> dict[str, Any]:
        return dict(self.shell_json(STATE_CODE, marker="STATE="))

    def backup(self, folder: Path) -> tuple[Path, dict[str, Any]]:
        folder.mkdir(parents=True, exist_ok=True)
        self.sanan("backup", "--output", str(folder))
        (path,) = (p for p in folder.glob(f"sanan-*.{EXT}"))
        manifest = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
        return path, manifest

    @contextmanager
    def writer(self, scratch: Path) -> Iterator[Callable[[], int]]:
        """Keeps appending audit events (through the service) until the block ends; yields a
        function that stops it and returns how many it wrote."""
        stop, ready = scratch / "stop", scratch / "ready"
        env = {**self.env, "STOP_FILE": str(stop), "READY_FILE": str(ready)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "sanan.cli", "shell", "-c", WRITER_CODE],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def finish() -> int:
            stop.touch()
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            return int(next(x for x in out.splitlines() if x.startswith("WROTE=")).split("=")[1])

        try:
            deadline = time.monotonic() + 120
            while not ready.exists():
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the writer never started"
                time.sleep(0.05)
            yield finish
        finally:
            stop.touch()
            if proc.poll() is None:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def new_site(var_dir: Path) -> Iterator[Site]:
    with site.new_site(var_dir, ENGINE) as base:
        yield Site(var_dir=base.var_dir, env=base.env, engine=base.engine)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo community, shared by the tests below; each one leaves it as it found it."""
    with new_site(tmp_path_factory.mktemp("demo-site")) as demo:
        demo.sanan("demo", "--orders", "0", "--no-registry")
        yield demo


# --- Round trip ---------------------------------------------------------------------------------


def test_database__backup_and_restore__bring_back_changed_and_deleted_data(
    demo_site: Site, tmp_path: Path
) -> None:
    before = demo_site.state()
    path, manifest = demo_site.backup(tmp_path)

    assert manifest["engine"] == ENGINE
    assert manifest["rows"]["places_place"] == before["places"]
    assert manifest["rows"]["accounts_user"] == len(before["users"])
    assert manifest["rows"]["audit_auditevent"] == before["audit_rows"]
    assert manifest["audit_last_seq"] == before["audit_last_seq"]
    assert manifest["migrations"]["places"].startswith("0001")
    assert manifest["size_bytes"] == path.stat().st_size
    assert path.stat().st_mode & 0o077 == 0, "backups hold personal data: owner only"

    demo_site.sanan("shell", "-c", DAMAGE_CODE)
    damaged = demo_site.state()
    assert damaged["units"] == 0
    assert damaged["roles"] == 0
    assert "intruder" in damaged["users"]

    restored = demo_site.sanan("restore", "--yes", str(path))
    assert "audit chain OK" in restored.stdout

    after = demo_site.state()
    assert after["places"] == before["places"]
    assert after["units"] == before["units"]
    assert after["roles"] == before["roles"]
    assert after["users"] == before["users"]
    # The chain is the backup's, plus one event recording the restore itself.
    assert after["audit_rows"] == before["audit_rows"] + 1
    assert after["latest_action"] == "database.restored"
    assert "audit chain OK" in demo_site.sanan("audit", "verify").stdout

    # What was replaced is not lost: a safety backup of it was made first.
    (safety,) = demo_site.var_dir.joinpath("backups").glob(f"pre-restore-*.{EXT}")
    assert json.loads(safety.with_name(safety.name + ".json").read_text())["rows"][
        "accounts_user"
    ] == len(damaged["users"])


# --- Refusals -----------------------------------------------------------------------------------


def test_database__restore__refuses_without_yes_when_there_is_no_terminal(
    demo_site: Site, tmp_path: Path
) -> None:
    path, _ = demo_site.backup(tmp_path)
    before = demo_site.state()

    proc = demo_site.sanan("restore", str(path), check=False)  # stdin is not a terminal

    assert proc.returncode != 0
    assert "--yes" in proc.stderr
    assert demo_site.state() == before


def test_database__restore__refuses_a_backup_of_the_other_engine(
    demo_site: Site, tmp_path: Path
) -> None:
    other = tmp_path / "other-engine.backup"
    other.write_bytes(OTHER_MAGIC + b"\0" * 64)

    proc = demo_site.sanan("restore", "--yes", str(other), check=False)

    assert proc.returncode != 0
    wanted = "PostgreSQL backup" if ENGINE == "sqlite" else "SQLite backup"
    assert wanted in proc.stderr


def test_database__restore__refuses_a_file_that_differs_from_its_manifest(
    demo_site: Site, tmp_path: Path
) -> None:
    path, _ = demo_site.backup(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, e.g. a bad disk sector
    path.write_bytes(bytes(data))
    before = demo_site.state()

    proc = demo_site.sanan("restore", "--yes", "--no-safety-backup", str(path), check=False)

    assert proc.returncode != 0
    assert "not the file its manifest describes" in proc.stderr
    assert demo_site.state() == before


def test_database__restore__of_a_damaged_backup_leaves_the_database_unchanged(
    demo_site: Site, tmp_path: Path
) -> None:
    path, _ = demo_site.backup(tmp_path)
    path.with_name(path.name + ".json").unlink()  # no manifest: the engine must notice
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a copy cut short
    before = demo_site.state()

    proc = demo_site.sanan("restore", "--yes", "--no-safety-backup", str(path), check=False)

    assert proc.returncode != 0
    assert "nothing was restored" in proc.stderr or "left as it was" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert demo_site.state() == before


def test_database__backup__never_overwrites_a_file(demo_site: Site, tmp_path: Path) -> None:
    existing = tmp_path / "precious.bin"
    existing.write_bytes(b"keep me")

    proc = demo_site.sanan("backup", "--output", str(existing), check=False)

    assert proc.returncode != 0
    assert "already exists" in proc.stderr
    assert existing.read_bytes() == b"keep me"


# --- Backup while the application writes --------------------------------------------------------
# With orders written through the real intake, on both engines, and the snapshot restored
# elsewhere: tests/reliability/test_backup_under_load.py. Here: SQLite's page-by-page copy.


@only_sqlite
def test_sqlite_snapshot__spans_many_concurrent_commits__and_stays_consistent(
    tmp_path: Path,
) -> None:
    with new_site(tmp_path / "live") as live:
        live.sanan("migrate")

        def last_seq() -> int:
            with sqlite3.connect(live.database, timeout=20) as conn:
                return int(conn.execute("SELECT last_seq FROM audit_audithead").fetchone()[0])

        steps: list[Progress] = []

        def slowly(progress: Progress) -> None:  # a copy that takes a while, one page a step
            steps.append(progress)
            time.sleep(0.005)

        copy = tmp_path / "copy.sqlite3"
        with live.writer(tmp_path) as stop_writer:
            seq_before = last_seq()
            summary = sqlite_snapshot(
                source=live.database, target=copy, progress=slowly, pages_per_step=1
            )
            seq_after = last_seq()
            stop_writer()

        assert len(steps) > 50
        assert seq_after > seq_before, "the writer committed while the copy was being made"
        assert seq_before <= summary["audit_last_seq"] <= seq_after
        assert summary["rows"]["audit_auditevent"] == summary["audit_last_seq"]
        with sqlite3.connect(copy) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        verify = live.sanan(
            "audit", "verify", env={**live.env, "DATABASE_URL": f"sqlite:///{copy}"}
        )
        assert f"{summary['audit_last_seq']} rows verified" in verify.stdout


@only_sqlite
def test_sqlite_snapshot__includes_commits_still_only_in_the_wal(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # nothing reaches the main file
    writer.execute("CREATE TABLE note (body TEXT)")
    writer.executemany("INSERT INTO note VALUES (?)", [(f"note {i}",) for i in range(500)])
    assert live.with_name(live.name + "-wal").stat().st_size > live.stat().st_size

    copy = tmp_path / "copy.sqlite3"
    sqlite_snapshot(source=live, target=copy)
    writer.close()

    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT COUNT(*) FROM note").fetchone() == (500,)
    assert not copy.with_name(copy.name + "-wal").exists(), "the copy is one self-contained file"


@only_sqlite
def test_sqlite_restore__a_connection_left_open_sees_the_restored_data(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    app = sqlite3.connect(live, isolation_level=None)  # a running server's connection
    app.execute("PRAGMA journal_mode=WAL")
    app.execute("CREATE TABLE note (body TEXT)")
    app.executemany("INSERT INTO note VALUES (?)", [(f"note {i}",) for i in range(10)])
    copy = tmp_path / "copy.sqlite3"
    sqlite_snapshot(source=live, target=copy)
    app.executemany("INSERT INTO note VALUES (?)", [("after the backup",)] * 5)

    sqlite_restore(source=copy, target=live)

    assert app.execute("SELECT COUNT(*) FROM note").fetchone() == (10,)
    assert app.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert app.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    app.close()
