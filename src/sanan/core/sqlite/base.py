"""Django's SQLite backend, with writers queued on a lock file instead of SQLite's busy wait.

Sanan's write transactions begin with ``BEGIN IMMEDIATE`` (``core.env.sqlite_database``): the
writer takes SQLite's one write lock at once, or waits for it. SQLite waits by sleeping 1, 2,
5, 10, 15, 20, 25… up to 100 ms between tries, so a writer that found the lock taken a few
times sleeps long after it was freed: with six server threads submitting orders, the median
order took 0.17 s and one in a hundred over a second, while the lock stood free much of the
time. Here a writer first takes an exclusive ``flock`` on ``<database>.writers`` (one open file
per connection, so the threads of one process queue too), and only then begins; the lock file
is released when the transaction commits or rolls back. Within a process the threads queue on a
lock of the process first, and only the one at its head tries the file, every 0.2 ms: while the
write lock stood free between two writers for 0.75 ms on average (a 1 ms try, then the
interpreter's lock to win), a fifth of the time went unused (docs/performance.md).

SQLite's own lock stays what guarantees correctness: a program that does not use the lock file
(the ``sqlite3`` shell, a backup) still meets SQLite's lock and its busy wait. A writer that
cannot have the lock file within the busy timeout begins anyway and lets SQLite decide, as
before. Reads never touch the lock file (WAL readers do not wait for writers).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

from django.db.backends.sqlite3 import base

POLL_SECONDS = 0.0002

# The threads of one process queue on a lock of the process first, which wakes the next one
# as soon as it is released and costs nothing while waiting; only the thread at its head tries
# the lock file. With every waiting thread trying the file each millisecond, each try took
# the interpreter's lock from the thread doing the work.
_process_queues: dict[str, threading.Lock] = {}
_process_queues_lock = threading.Lock()


def _forget_process_queues() -> None:
    # A lock held by another thread at the fork would stay held in the child for ever.
    global _process_queues_lock
    _process_queues.clear()
    _process_queues_lock = threading.Lock()
    _commits.clear()


os.register_at_fork(after_in_child=_forget_process_queues)


# Checkpoints outside the writers' queue. SQLite checkpoints the WAL inside the COMMIT that
# pushes it past ``wal_autocheckpoint`` pages, so one writer in every few dozen held the queue
# for the whole checkpoint (copying pages into the database and an fsync), and every writer
# waited behind it. Here a process runs a PASSIVE checkpoint (which never waits for writers and
# does not stop them) after every CHECKPOINT_EVERY of its commits, once it has left the queue;
# SQLite's own stays as the safety net, at a size our checkpoints never let the WAL reach.
# The commits are counted per database file: a process writing two files checkpoints each.
CHECKPOINT_EVERY = 32
AUTOCHECKPOINT_PAGES = 20_000
_commits: dict[str, itertools.count[int]] = {}


def _count_commit(name: str) -> int:
    counter = _commits.get(name)
    if counter is None:
        counter = _commits.setdefault(name, itertools.count(1))
    return next(counter)


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _process_queue(name: str) -> threading.Lock:
    with _process_queues_lock:
        lock = _process_queues.get(name)
        if lock is None:
            lock = _process_queues[name] = threading.Lock()
        return lock


class DatabaseWrapper(base.DatabaseWrapper):
    _file_of: tuple[str, str]  # the name last asked, its real path

    @property
    def _file(self) -> str:
        """The database file's real path: two names for one file (a relative one, a link)
        share its queues, its lock file and its commit count. Worked out again when the name
        changes (the test database's set-up renames a connection's database)."""
        name = str(self.settings_dict["NAME"])
        if self._file_of[0] != name:
            self._file_of = (name, os.path.realpath(name))
        return self._file_of[1]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file_of = ("", "")
        self._writers_fd: int | None = None
        self._writers_pid = 0
        self._writers_held = False
        self._queue_held: threading.Lock | None = None
        self._writers_closer: weakref.finalize[Any, Any] | None = None

    def _writers_file(self) -> int | None:
        if self._writers_fd is not None and self._writers_pid != os.getpid():
            # Inherited across a fork: a lock on the parent's open file would be shared with
            # it, so this process opens its own (and leaves the parent's alone).
            self._writers_fd, self._writers_held, self._queue_held = None, False, None
            if self._writers_closer is not None:
                self._writers_closer.detach()
        if self._writers_fd is None:
            if self.is_in_memory_db() or not self.settings_dict["NAME"]:
                return None
            self._writers_fd = os.open(f"{self._file}.writers", os.O_RDWR | os.O_CREAT, 0o600)
            self._writers_pid = os.getpid()
            # A server may end an idle thread without closing its connections (granian ends
            # its blocking threads after a quiet spell): the file goes with the wrapper.
            self._writers_closer = weakref.finalize(self, _close_quietly, self._writers_fd)
        return self._writers_fd

    def _queue_for_writing(self) -> None:
        fd = self._writers_file()
        if fd is None:
            return
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        queue = _process_queue(self._file)
        if not queue.acquire(timeout=timeout):
            return  # SQLite's own lock and busy timeout decide
        self._queue_held = queue
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return  # SQLite's own lock and busy timeout decide
                time.sleep(POLL_SECONDS)
            else:
                self._writers_held = True
                return

    def _leave_queue(self) -> None:
        if self._writers_held and self._writers_fd is not None and self._writers_pid == os.getpid():
            self._writers_held = False
            fcntl.flock(self._writers_fd, fcntl.LOCK_UN)
        queue, self._queue_held = self._queue_held, None
        if queue is not None and self._writers_pid == os.getpid():
            queue.release()

    def _start_transaction_under_autocommit(self) -> None:
        try:
            if getattr(self, "transaction_mode", None) == "IMMEDIATE":  # set on connecting
                self._queue_for_writing()
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private, not in the stubs
        except BaseException:
            self._leave_queue()
            raise

    def get_new_connection(self, conn_params: Any) -> Any:
        conn = super().get_new_connection(conn_params)
        if not self.is_in_memory_db():
            conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        return conn

    def _commit(self) -> None:
        wrote = self._writers_held
        try:
            super()._commit()  # type: ignore[misc]  # private, not in the stubs
        finally:
            self._leave_queue()
        if wrote and _count_commit(self._file) % CHECKPOINT_EVERY == 0:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy what the WAL holds into the database, without the writers' queue: PASSIVE
        takes what no reader still needs and leaves the rest for the next one."""
        with contextlib.suppress(sqlite3.Error):
            self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # private, not in the stubs
        finally:
            self._leave_queue()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]  # private, not in the stubs
        finally:
            self._leave_queue()
            if self._writers_fd is not None and self._writers_pid == os.getpid():
                if self._writers_closer is not None:
                    self._writers_closer()  # closes it, once
                self._writers_fd = None
