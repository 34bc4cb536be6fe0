"""The worker: ``sanan worker --once`` sweeps and delivers; the queue in Redis (scale-out) and
in memory runs the same tasks; a bad queue setting stops start-up."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from sanan.notifications import config, worker
from sanan.notifications.models import InboxItem
from sanan.notifications.services import DeliveryResult
from sanan.workorders.models import OutboxMessage, OutboxStatus, WorkOrderEvent
from sanan.workorders.state import State
from tests.workorders.world import WEDNESDAY_10, OrderWorld

REDIS_URL = os.environ.get("SANAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def test_worker__once__sweeps_the_deadlines_and_delivers(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.DISPATCHED)
    clock.move_to(WEDNESDAY_10 + dt.timedelta(hours=3))  # past the sign-for deadline
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    text = out.getvalue()
    assert "warned 1, chased 1" in text
    assert "notifications: delivered" in text
    actions = WorkOrderEvent.objects.filter(order=order).values_list("action", flat=True)
    assert {"warn", "chase"} <= set(actions)
    chased = InboxItem.objects.filter(user=wo.handler, template="work_order.chased")
    assert chased.count() == 1
    assert not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()
    # A second run a minute later finds nothing new to do.
    clock.shift(dt.timedelta(minutes=1))
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert "warned 0, chased 0" in out.getvalue()
    assert "delivered 0" in out.getvalue()
    assert chased.count() == 1


@pytest.fixture
def redis_queue() -> Iterator[worker.Queue]:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    q = worker.build_queue(config.parse_queue_url(REDIS_URL, var_dir=Path("/nonexistent")))
    q.huey.flush()
    yield q
    q.huey.flush()
    q.huey.storage.conn.flushdb()  # the test's own database number only


def test_worker__redis_queue__kick_enqueues_and_the_consumer_task_delivers(
    wo: OrderWorld, redis_queue: worker.Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "_queue", redis_queue)
    monkeypatch.setattr(worker, "KICK_INTERVAL_SECONDS", 0.0)
    assert redis_queue.description == "redis redis://127.0.0.1:6379/7"
    wo.order_in(State.DISPATCHED)
    worker.kick()
    worker.kick()
    assert redis_queue.huey.pending_count() == 2
    task = redis_queue.huey.dequeue()
    assert task is not None
    redis_queue.huey.execute(task)
    assert InboxItem.objects.filter(user=wo.handler).exists()
    assert not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()
    task = redis_queue.huey.dequeue()  # the second wake-up finds nothing left
    assert task is not None
    redis_queue.huey.execute(task)
    assert InboxItem.objects.filter(user=wo.handler).count() == 1


def test_worker__redis_queue__tick_holds_a_lock_so_only_one_worker_sweeps(
    wo: OrderWorld, redis_queue: worker.Queue
) -> None:
    with redis_queue.tick_lock():
        summary = redis_queue.tick.call_local()
        ttl = redis_queue.huey.storage.conn.ttl(f"sanan.lock.{worker.TICK_LOCK}")
    assert "skipped" in summary
    assert 0 < ttl <= worker.TICK_LOCK_SECONDS  # a crashed sweeper's lock expires
    assert "sweep:" in redis_queue.tick.call_local()


def test_worker__memory_queue__a_retry_due_soon_wakes_the_worker_then(wo: OrderWorld) -> None:
    q = worker.build_queue(config.parse_queue_url("memory://", var_dir=Path("/x")))
    q._schedule_retry(DeliveryResult(next_retry_at=WEDNESDAY_10 + dt.timedelta(seconds=30)))
    task = q.huey.dequeue()
    assert task is not None
    assert task.name.endswith("sanan.deliver")
    assert task.eta is not None
    assert (
        dt.timedelta(seconds=29)
        <= task.eta - dt.datetime.now(dt.UTC).replace(tzinfo=None)
        <= dt.timedelta(seconds=31)
    )
    q._schedule_retry(DeliveryResult(next_retry_at=WEDNESDAY_10 + dt.timedelta(minutes=10)))
    assert q.huey.dequeue() is None  # far retries: the minute tick picks them up


def test_worker__unreachable_queue__kick_does_not_fail_the_request(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    q = worker.build_queue(
        config.parse_queue_url("redis://127.0.0.1:1/0", var_dir=Path("/nonexistent"))
    )
    monkeypatch.setattr(worker, "_queue", q)
    monkeypatch.setattr(worker, "_last_kick", 0.0)
    worker.kick()
    assert "could not wake the worker" in caplog.text


def test_worker__kick__once_a_second_however_many_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    q = worker.build_queue(config.parse_queue_url("memory://", var_dir=Path("/x")))
    monkeypatch.setattr(worker, "_queue", q)
    monkeypatch.setattr(worker, "_last_kick", 0.0)
    monkeypatch.setattr(worker, "_trailing_until", 0.0)
    for _ in range(50):
        worker.kick()
    # One wake-up now, and one at the end of the second for what was committed meanwhile.
    assert q.huey.pending_count() == 2
    now_task, later_task = q.huey.dequeue(), q.huey.dequeue()
    assert now_task is not None
    assert now_task.eta is None
    assert later_task is not None
    assert later_task.eta is not None


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("", "sqlite"),
        ("redis://127.0.0.1:6379/0", "redis"),
        ("redis://:secret@cache:6380/2", "redis"),
        ("sqlite:////srv/sanan/queue.sqlite3", "sqlite"),
        ("memory://", "memory"),
    ],
)
def test_queue_url__valid__parsed(value: str, kind: str) -> None:
    cfg = config.parse_queue_url(value, var_dir=Path("/srv/var"))
    assert cfg.kind == kind
    assert "secret" not in cfg.describe()


@pytest.mark.parametrize("value", ["amqp://x", "redis://", "redis://h:1/zero", "sqlite://"])
def test_queue_url__bad__stops_start_up_naming_the_variable(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="SANAN_QUEUE_URL"):
        config.parse_queue_url(value, var_dir=Path("/srv/var"))


@pytest.mark.own_sqlite_file
def test_worker__process__runs_until_sigterm_then_stops_gracefully(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SANAN_VAR_DIR": str(tmp_path),
        "SANAN_QUEUE_URL": "",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "sanan.settings"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    migrate = [sys.executable, "-m", "sanan", "migrate", "-v0"]
    subprocess.run(migrate, env=env, cwd=root, check=True, timeout=300)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sanan", "worker", "--threads", "1"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "sanan worker: queue sqlite file" in first
        assert "sweep every minute" in first
        time.sleep(1.5)  # let it start its threads and run the catch-up delivery
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "sanan worker: stopped" in out
    assert "Shutting down gracefully" in err
    assert (tmp_path / "queue.sqlite3").exists()  # the embedded queue: a file, no service


def test_worker__once__broken_sweep_still_delivers_and_exits_non_zero(
    wo: OrderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.management.base import CommandError

    from sanan.workorders import sweep as sweep_module

    def broken(**kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(sweep_module, "sweep", broken)
    wo.order_in(State.DISPATCHED)
    out = io.StringIO()
    with pytest.raises(CommandError, match="sweep failed"):
        call_command("worker", "--once", stdout=out)
    assert "sweep: FAILED" in out.getvalue()
    assert InboxItem.objects.filter(user=wo.handler).exists()  # notifications went out anyway
