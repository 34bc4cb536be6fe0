"""The background worker: a huey consumer that sweeps the SLA deadlines every minute and
delivers the outbox.

The queue holds only *wake-ups*; the outbox is the durable record. Tasks:

- ``sanan.tick`` (periodic, every minute): :func:`workorders.sweep.sweep`, then deliver what
  is due. It runs under a queue lock, so several workers on one Redis do not sweep at once
  (and if they did, the sweep's claims keep every escalation single);
- ``sanan.deliver``: deliver what is due now; :func:`kick` enqueues it after the commit of
  any transaction that wrote outbox rows (:class:`OutboxWake`, installed on every database
  connection at start-up: no producer has to remember it), and a delivery that must retry
  schedules it for the retry time. The minute tick stays the safety net (a queue that was
  unreachable at the commit, a worker that was down).

Embedded mode: a SQLite file beside the database (``var/queue.sqlite3``), nothing to install.
Scale-out: ``SANAN_QUEUE_URL=redis://host:6379/0``, any number of ``sanan worker``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, connection
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Task, TaskWrapper
from huey.consumer import Consumer
from huey.exceptions import TaskLockedException

from sanan.core import clock
from sanan.notifications import config
from sanan.notifications.services import DeliveryResult, outbox_deliver_due

logger = logging.getLogger("sanan.worker")

QUEUE_NAME = "sanan"
TICK_LOCK = "sanan.tick"
TICK_LOCK_SECONDS = 600


@dataclass
class TickResult:
    sweep: str
    delivery: DeliveryResult
    skipped: bool = False
    sweep_failed: bool = False

    def summary(self) -> str:
        if self.skipped:
            return "tick skipped: another worker is sweeping"
        return f"sweep: {self.sweep}; notifications: {self.delivery.summary()}"


def run_tick(*, now: dt.datetime | None = None) -> TickResult:
    """One cycle: the SLA sweep, then delivery of whatever is due."""
    from sanan.workorders.sweep import sweep

    now = now or clock.now()
    try:
        summary = sweep(now=now).summary()
        failed = False
    except Exception:  # a broken sweep must not hold up the notifications
        logger.exception("the SLA sweep failed")
        summary, failed = "FAILED (see the log)", True
    delivered = outbox_deliver_due(now=clock.now())
    return TickResult(sweep=summary, delivery=delivered, sweep_failed=failed)


def run_delivery() -> DeliveryResult:
    return outbox_deliver_due(now=clock.now())


def _recycle_connections() -> None:
    """Drop database connections that are broken or past ``CONN_MAX_AGE``, as Django does
    around a request (a task run inside a caller's transaction keeps its connection)."""
    if not connection.in_atomic_block:
        close_old_connections()


class Queue:
    """A huey instance with Sanan's tasks registered on it."""

    def __init__(self, huey: Huey, description: str) -> None:
        self.huey = huey
        self.description = description
        huey.pre_execute()(self._fresh_connections)
        huey.post_execute()(self._close_connections)
        self.tick: TaskWrapper = huey.periodic_task(crontab(minute="*"), name="sanan.tick")(
            self._tick
        )
        self.deliver: TaskWrapper = huey.task(name="sanan.deliver")(self._deliver)

    @staticmethod
    def _fresh_connections(task: Task) -> None:
        _recycle_connections()

    @staticmethod
    def _close_connections(task: Task, task_value: Any, exc: Exception | None) -> None:
        _recycle_connections()

    @contextlib.contextmanager
    def tick_lock(self) -> Iterator[None]:
        """Held while one worker sweeps. In Redis it expires after :data:`TICK_LOCK_SECONDS`,
        so a worker killed mid-sweep cannot stop the others' ticks; in the embedded mode
        (one machine) the consumer clears stale locks when it starts."""
        conn = getattr(self.huey.storage, "conn", None)
        if isinstance(self.huey, RedisHuey) and conn is not None:
            key = f"{QUEUE_NAME}.lock.{TICK_LOCK}"
            if not conn.set(key, "1", nx=True, ex=TICK_LOCK_SECONDS):
                raise TaskLockedException(TICK_LOCK)
            try:
                yield
            finally:
                conn.delete(key)
            return
        with self.huey.lock_task(TICK_LOCK):
            yield

    def _tick(self) -> str:
        try:
            with self.tick_lock():
                result = run_tick()
        except TaskLockedException:
            result = TickResult(sweep="", delivery=DeliveryResult(), skipped=True)
        logger.info("%s", result.summary())
        self._schedule_retry(result.delivery)
        return result.summary()

    def _deliver(self) -> str:
        result = run_delivery()
        if result.claimed or result.lost:
            logger.info("notifications: %s", result.summary())
        self._schedule_retry(result)
        return result.summary()

    def _schedule_retry(self, result: DeliveryResult) -> None:
        if result.next_retry_at is None:
            return
        delay = max((result.next_retry_at - clock.now()).total_seconds(), 1.0)
        if delay < 60:  # later retries are picked up by the minute tick anyway
            self.deliver.schedule(delay=delay)

    def consumer(self, *, workers: int, periodic: bool) -> Consumer:
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=periodic,
            graceful_signal="TERM",  # SIGTERM (systemd, docker stop) lets running tasks finish
            check_worker_health=True,
            flush_locks=not isinstance(self.huey, RedisHuey),
        )


def build_queue(cfg: config.QueueConfig | None = None) -> Queue:
    cfg = cfg or config.queue_config()
    huey: Huey
    if cfg.kind == "redis":
        huey = RedisHuey(QUEUE_NAME, url=cfg.url, results=False, utc=True)
    elif cfg.kind == "memory":
        huey = MemoryHuey(QUEUE_NAME, results=False, utc=True)
    else:
        assert cfg.path is not None
        cfg.path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(QUEUE_NAME, filename=str(cfg.path), results=False, utc=True)
    return Queue(huey, cfg.describe())


_queue: Queue | None = None
_queue_lock = threading.Lock()


def queue() -> Queue:
    """The process's queue, built on first use from the settings."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = build_queue()
        return _queue


def reset_queue() -> None:
    """Forget the process's queue (tests that change ``QUEUE_URL``)."""
    global _queue, _last_kick, _trailing_until
    with _queue_lock:
        _queue = None
        _last_kick = 0.0
        _trailing_until = 0.0


_last_kick = 0.0
_trailing_until = 0.0
KICK_INTERVAL_SECONDS = 1.0


def kick() -> None:
    """Enqueue a delivery now, at most one a second per process: a sweep that writes a
    thousand messages wakes the worker once. A kick inside that second is not lost: one
    delivery is scheduled for the end of the second (a message committed just after the first
    wake-up was read would otherwise wait for the minute tick). A queue that cannot be reached
    is logged, not raised: the outbox keeps the message and the worker's minute tick delivers
    it."""
    global _last_kick, _trailing_until
    now = time.monotonic()
    waited = now - _last_kick
    try:
        if waited >= KICK_INTERVAL_SECONDS:
            _last_kick = now
            queue().deliver()
        elif _trailing_until <= now:
            delay = KICK_INTERVAL_SECONDS - waited
            _trailing_until = now + delay
            queue().deliver.schedule(delay=max(delay, 0.01))
    except Exception as exc:
        logger.warning("could not wake the worker (%s); the next tick delivers", type(exc).__name__)


# --- wake-on-commit ---------------------------------------------------------------------------


def _outbox_insert_prefixes() -> tuple[str, ...]:
    from sanan.workorders.models import OutboxMessage

    table = OutboxMessage._meta.db_table
    return (f'INSERT INTO "{table}"', f"INSERT INTO `{table}`", f"INSERT INTO {table} ")


def _wake_after_commit(alias: str) -> None:
    """Once per transaction: wake the worker when it commits (at once outside a transaction;
    never when it rolls back, so no wake-up for a message that does not exist)."""
    from django.db import connections, transaction

    conn = connections[alias]
    if any(entry[1] is kick for entry in conn.run_on_commit):
        return
    transaction.on_commit(kick, using=alias)


class OutboxWake:
    """A database execute wrapper that notices every row written to the outbox, whichever
    code writes it (``save``, ``bulk_create``, a sweep) and wakes the worker after the
    transaction commits. Installed on each connection by :func:`install_wake`."""

    def __init__(self) -> None:
        self.prefixes = _outbox_insert_prefixes()

    def __call__(
        self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        result = execute(sql, params, many, context)
        if sql[:12] == "INSERT INTO " and sql.startswith(self.prefixes):
            _wake_after_commit(context["connection"].alias)
        return result


def _install_on(connection: Any, **kwargs: Any) -> None:
    # First in the list (the outermost wrapper): ``connection.execute_wrapper()`` blocks pop
    # the last one on exit, which must stay theirs even if we were installed inside one.
    if not any(isinstance(w, OutboxWake) for w in connection.execute_wrappers):
        connection.execute_wrappers.insert(0, OutboxWake())


def install_wake() -> None:
    """Wake the worker after every commit that wrote outbox rows, on every connection (those
    open now and those opened later)."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.connect(_install_on, dispatch_uid="sanan.notifications.outbox_wake")
    for conn in connections.all(initialized_only=True):
        _install_on(conn)
