"""SQLite's writers queue on a lock file (``sanan.core.sqlite``): one write transaction at a
time, the next one beginning as soon as the previous ends, the lock always given back."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from sanan.core.env import sqlite_database


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker: Any) -> Any:
    """These tests open databases of their own, not the test database."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def handler(tmp_path: Path) -> Any:
    """Connections of their own to a new database file (one per thread, as Django's)."""
    settings = sqlite_database(tmp_path / "writers.sqlite3", busy_timeout_s=5)
    connections = ConnectionHandler({"default": settings})
    conn = connections["default"]
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    yield connections
    connections.close_all()


@contextlib.contextmanager
def _write(conn: Any) -> Iterator[Any]:
    """A write transaction as ``transaction.atomic`` runs one on SQLite (which looks the
    connection up by alias among the project's databases, not these)."""
    conn.ensure_connection()
    conn._start_transaction_under_autocommit()
    try:
        with conn.cursor() as cursor:
            yield cursor
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _lock_is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the only descriptor of this open file releases a lock taken here
    return True


def test_a_writer_waits_for_the_one_before_and_both_commit(handler: Any, tmp_path: Path) -> None:
    order: list[str] = []
    first_inside = threading.Event()
    let_first_finish = threading.Event()

    def first() -> None:
        conn = handler["default"]
        with _write(conn) as cursor:
            cursor.execute("INSERT INTO note (text) VALUES ('first')")
            order.append("first in")
            first_inside.set()
            let_first_finish.wait(10)
            order.append("first out")
        conn.close()

    def second() -> None:
        conn = handler["default"]
        first_inside.wait(10)
        with _write(conn) as cursor:
            order.append("second in")
            cursor.execute("INSERT INTO note (text) VALUES ('second')")
        conn.close()

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start()
    b.start()
    first_inside.wait(10)
    assert not _lock_is_free(tmp_path / "writers.sqlite3.writers")  # the first holds it
    b.join(0.3)
    assert b.is_alive()  # the second is queued, not failing with "database is locked"
    let_first_finish.set()
    a.join(10)
    b.join(10)
    assert order == ["first in", "first out", "second in"]
    conn = handler["default"]
    with conn.cursor() as cursor:
        cursor.execute("SELECT text FROM note ORDER BY id")
        assert [r[0] for r in cursor.fetchall()] == ["first", "second"]
    assert _lock_is_free(tmp_path / "writers.sqlite3.writers")


def test_a_rolled_back_transaction_gives_the_lock_back(handler: Any, tmp_path: Path) -> None:
    conn = handler["default"]
    held = []

    def failing_change() -> None:
        with _write(conn) as cursor:
            cursor.execute("INSERT INTO note (text) VALUES ('gone')")
            held.append(not _lock_is_free(tmp_path / "writers.sqlite3.writers"))
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        failing_change()
    assert held == [True]
    assert _lock_is_free(tmp_path / "writers.sqlite3.writers")
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM note")
        assert cursor.fetchone()[0] == 0


def test_reads_outside_a_transaction_do_not_queue(handler: Any, tmp_path: Path) -> None:
    conn = handler["default"]
    fd = os.open(tmp_path / "writers.sqlite3.writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another writer holds the queue
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM note")
            assert cursor.fetchone()[0] == 0
    finally:
        os.close(fd)


def test_a_queue_held_past_the_busy_timeout_leaves_it_to_sqlite(tmp_path: Path) -> None:
    """A lock file held by a stuck program does not stop writers for good: after the busy
    timeout they begin anyway, and SQLite's own lock decides (here it is free)."""
    settings = sqlite_database(tmp_path / "stuck.sqlite3", busy_timeout_s=1)
    connections = ConnectionHandler({"default": settings})
    conn = connections["default"]
    fd = os.open(tmp_path / "stuck.sqlite3.writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with _write(conn) as cursor:
            cursor.execute("CREATE TABLE t (x INTEGER)")
            cursor.execute("INSERT INTO t VALUES (1)")
        with conn.cursor() as cursor:
            cursor.execute("SELECT x FROM t")
            assert cursor.fetchone()[0] == 1
    finally:
        os.close(fd)
        connections.close_all()


def test_a_forked_process_queues_on_its_own_open_file(handler: Any, tmp_path: Path) -> None:
    """A lock taken through a descriptor inherited across a fork would be the parent's lock
    too: the child opens the lock file again."""
    conn = handler["default"]
    with _write(conn) as cursor:
        cursor.execute("INSERT INTO note (text) VALUES ('parent')")
    parent_fd = conn._writers_fd
    assert parent_fd is not None
    conn._writers_pid = -1  # as seen from a child: another process opened it
    with _write(conn) as cursor:
        cursor.execute("INSERT INTO note (text) VALUES ('child')")
    assert conn._writers_fd not in (None, parent_fd)
    os.close(parent_fd)


def test_threads_of_one_process_write_one_at_a_time_and_leave_the_queues_free(
    handler: Any, tmp_path: Path
) -> None:
    """Eight threads, fifty transactions each: never two inside at once, every row written,
    and afterwards the process's queue and the lock file are both free."""
    from sanan.core.sqlite.base import _process_queue

    inside = 0
    most = 0
    guard = threading.Lock()
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        nonlocal inside, most
        conn = handler["default"]
        try:
            for i in range(50):
                with _write(conn) as cursor:
                    with guard:
                        inside += 1
                        most = max(most, inside)
                    cursor.execute("INSERT INTO note (text) VALUES (%s)", [f"{n}-{i}"])
                    with guard:
                        inside -= 1
        except BaseException as exc:
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    assert most == 1
    conn = handler["default"]
    with conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM note")
        assert cursor.fetchone()[0] == 400
    queue = _process_queue(os.path.realpath(tmp_path / "writers.sqlite3"))
    assert queue.acquire(blocking=False)
    queue.release()
    assert _lock_is_free(tmp_path / "writers.sqlite3.writers")


def test_a_forked_child_does_not_inherit_a_queue_held_by_a_thread_of_its_parent(
    tmp_path: Path,
) -> None:
    """A server forks its processes: a queue held in the parent at that moment would stay held
    in the child for ever, with no thread there to release it."""
    from sanan.core.sqlite.base import _process_queue

    name = str(tmp_path / "forked.sqlite3")
    held = _process_queue(name)
    held.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # the child: its own queue, free
            os._exit(0 if _process_queue(name).acquire(timeout=2) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        held.release()


def test_the_wal_is_checkpointed_after_the_queue_is_left_not_inside_a_commit(
    handler: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own checkpoint would run inside the COMMIT of whichever writer pushed the WAL
    past its size, with every other writer queued behind it. It is set far off; the process
    checkpoints every ``CHECKPOINT_EVERY`` commits, after leaving the queue."""
    from sanan.core.sqlite import base

    monkeypatch.setattr(base, "_commits", {})
    conn = handler["default"]
    with conn.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == base.AUTOCHECKPOINT_PAGES
    database = tmp_path / "writers.sqlite3"
    before = database.stat().st_size
    seen_inside: list[int] = []
    for i in range(base.CHECKPOINT_EVERY - 1):
        with _write(conn) as cursor:
            cursor.execute("INSERT INTO note (text) VALUES (%s)", ["x" * 4000 + str(i)])
    assert database.stat().st_size == before  # all of it still in the WAL
    checkpoint = conn._checkpoint

    def watched() -> None:
        seen_inside.append(int(not _lock_is_free(tmp_path / "writers.sqlite3.writers")))
        checkpoint()

    monkeypatch.setattr(conn, "_checkpoint", watched)
    with _write(conn) as cursor:
        cursor.execute("INSERT INTO note (text) VALUES ('last')")
    assert seen_inside == [0]  # once, with the queue already left
    assert database.stat().st_size > before + 4000 * (base.CHECKPOINT_EVERY - 1)


def test_commits_are_counted_per_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process writing two files checkpoints each every ``CHECKPOINT_EVERY`` of its own
    commits, not each about half as often."""
    from sanan.core.sqlite import base

    monkeypatch.setattr(base, "_commits", {})
    checkpointed: list[str] = []
    monkeypatch.setattr(
        base.DatabaseWrapper,
        "_checkpoint",
        lambda self: checkpointed.append(Path(self.settings_dict["NAME"]).name),
    )
    files = {"default": "one.sqlite3", "other": "two.sqlite3"}
    connections = ConnectionHandler(
        {alias: sqlite_database(tmp_path / name, busy_timeout_s=5) for alias, name in files.items()}
    )
    try:
        for alias in files:
            with connections[alias].cursor() as cursor:
                cursor.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        for i in range(base.CHECKPOINT_EVERY):
            for alias in files:
                with _write(connections[alias]) as cursor:
                    cursor.execute("INSERT INTO note (text) VALUES (%s)", [str(i)])
        assert checkpointed == list(files.values())
    finally:
        connections.close_all()


def test_two_names_for_one_file_share_its_queue_lock_file_and_commit_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database named through a link and by its own path is one file: a writer on either
    name holds the same process queue and the same lock file, and their commits are counted
    together for the checkpoints."""
    from sanan.core.sqlite import base

    monkeypatch.setattr(base, "_commits", {})
    real = tmp_path / "data"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    names = {"default": real / "one.sqlite3", "other": tmp_path / "link" / "." / "one.sqlite3"}
    connections = ConnectionHandler(
        {alias: sqlite_database(name, busy_timeout_s=5) for alias, name in names.items()}
    )
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        with _write(connections["other"]) as cursor:
            cursor.execute("INSERT INTO note (text) VALUES ('via the link')")
            queue = base._process_queue(os.path.realpath(real / "one.sqlite3"))
            assert not queue.acquire(blocking=False)
            assert not _lock_is_free(real / "one.sqlite3.writers")
        with _write(connections["default"]) as cursor:
            cursor.execute("INSERT INTO note (text) VALUES ('by its path')")
        assert sorted(p.name for p in real.glob("*.writers")) == ["one.sqlite3.writers"]
        count = base._count_commit(os.path.realpath(real / "one.sqlite3"))
        assert count == 3  # two commits before this one
    finally:
        connections.close_all()


def test_a_connection_dropped_without_close_gives_its_lock_file_back(tmp_path: Path) -> None:
    """A server may end an idle thread without closing its connections (granian ends its
    blocking threads after a quiet spell): the lock file's descriptor goes with the wrapper
    instead of leaking one per thread until the process runs out."""
    import gc

    settings = sqlite_database(tmp_path / "dropped.sqlite3", busy_timeout_s=5)
    lock_file = str(tmp_path / "dropped.sqlite3.writers")

    def open_lock_files() -> int:
        return sum(
            1 for fd in os.listdir("/proc/self/fd")
            if os.path.realpath(f"/proc/self/fd/{fd}") == lock_file
        )  # fmt: skip

    def a_thread_that_writes_and_ends() -> None:
        conn = ConnectionHandler({"default": settings})["default"]
        with _write(conn) as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            cursor.execute("INSERT INTO t VALUES (1)")
        # the thread ends here without conn.close()

    for _ in range(5):
        t = threading.Thread(target=a_thread_that_writes_and_ends)
        t.start()
        t.join(10)
    gc.collect()
    assert open_lock_files() == 0
    assert _lock_is_free(Path(lock_file))
