"""Wake-on-commit: a transaction that writes outbox rows wakes the worker once, after it
commits, so the message is delivered at once rather than at the next minute tick; a rolled
back transaction wakes nobody; the minute tick remains the safety net."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from sanan.notifications import config, worker
from sanan.notifications.models import InboxItem
from sanan.workorders import services
from sanan.workorders.models import OutboxMessage, OutboxStatus
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def memory_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[worker.Queue]:
    q = worker.build_queue(config.parse_queue_url("memory://", var_dir=Path("/x")))
    monkeypatch.setattr(worker, "_queue", q)
    monkeypatch.setattr(worker, "_last_kick", 0.0)
    monkeypatch.setattr(worker, "_trailing_until", 0.0)
    yield q
    q.huey.flush()


def _committed() -> None:
    """The test runs in one transaction: forget the wake-ups of the changes made so far, as
    their own commits would have run them."""
    connection.run_on_commit[:] = [c for c in connection.run_on_commit if c[1] is not worker.kick]


def _kicks(callbacks: list[Callable[[], Any]]) -> int:
    return sum(1 for c in callbacks if c is worker.kick)


def test_outbox__commit__worker_delivers_without_waiting_for_the_tick(
    wo: OrderWorld, memory_queue: worker.Queue, django_capture_on_commit_callbacks: Any
) -> None:
    memory_queue.huey.immediate = True  # the consumer runs each enqueued task at once
    ticks: list[str] = []
    memory_queue.huey.pre_execute()(lambda task: ticks.append(task.name))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order = wo.submit()
    assert _kicks(callbacks) == 1
    assert [t.rsplit(".", 1)[-1] for t in ticks] == ["deliver"]  # no periodic tick ran
    item = InboxItem.objects.get(user=wo.resident, template="work_order.registered")
    assert item.order_id == order.pk
    assert not OutboxMessage.objects.filter(order=order, status=OutboxStatus.PENDING).exists()


def test_outbox__commit__one_wake_up_on_the_queue_per_transaction(
    wo: OrderWorld, memory_queue: worker.Queue, django_capture_on_commit_callbacks: Any
) -> None:
    order = wo.submit()
    _committed()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.work_order_dispatch(
            actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.housing
        )
    written = OutboxMessage.objects.filter(order=order, event__action="dispatch")
    assert written.count() >= 2  # the handling organisation and the reporter
    assert _kicks(callbacks) == 1
    task = memory_queue.huey.dequeue()
    assert task is not None
    assert task.name.endswith("sanan.deliver")
    assert memory_queue.huey.dequeue() is None
    memory_queue.huey.execute(task)
    assert InboxItem.objects.filter(user=wo.handler, template="work_order.dispatched").exists()


def test_outbox__rolled_back__wakes_nobody(
    wo: OrderWorld, memory_queue: worker.Queue, django_capture_on_commit_callbacks: Any
) -> None:
    order = wo.submit()
    before = OutboxMessage.objects.count()
    _committed()

    def failing_request() -> None:
        with transaction.atomic():
            services.work_order_dispatch(
                actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.housing
            )
            raise RuntimeError("the request failed after the change")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="failed after the change"),
    ):
        failing_request()
    assert OutboxMessage.objects.count() == before
    assert _kicks(callbacks) == 0
    assert memory_queue.huey.pending_count() == 0


def test_outbox__other_writes__do_not_wake_the_worker(
    wo: OrderWorld, memory_queue: worker.Queue, django_capture_on_commit_callbacks: Any
) -> None:
    order = wo.submit()
    _committed()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.work_order_follow(actor=wo.fresh(wo.dispatcher), order=order)
    assert _kicks(callbacks) == 0


def test_outbox__wake_wrapper__on_every_connection_and_kept_by_other_wrappers() -> None:
    def other(execute: Any, *args: Any) -> Any:
        return execute(*args)

    assert any(isinstance(w, worker.OutboxWake) for w in connection.execute_wrappers)
    with connection.execute_wrapper(other):
        worker._install_on(connection)  # a reconnect inside someone else's wrapper
    assert other not in connection.execute_wrappers
    assert sum(isinstance(w, worker.OutboxWake) for w in connection.execute_wrappers) == 1


def test_outbox__queue_down_at_commit__the_minute_tick_still_delivers(
    wo: OrderWorld, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    q = worker.build_queue(config.parse_queue_url("redis://127.0.0.1:1/0", var_dir=Path("/x")))
    monkeypatch.setattr(worker, "_queue", q)
    monkeypatch.setattr(worker, "_last_kick", 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        order = wo.submit()  # the wake-up is lost; the request does not fail
    assert OutboxMessage.objects.filter(order=order, status=OutboxStatus.PENDING).exists()
    result = worker.run_tick(now=dt.datetime.now(dt.UTC))
    assert result.delivery.sent >= 1
    assert InboxItem.objects.filter(user=wo.resident, order_id=order.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_outbox__commit__a_running_worker_without_its_tick_delivers_within_seconds(
    wo: OrderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: a real consumer (worker threads, the periodic tick switched off) and a
    change committed by a service; the inbox item appears without anyone calling the tick."""
    q = worker.build_queue(config.parse_queue_url("memory://", var_dir=Path("/x")))
    monkeypatch.setattr(worker, "_queue", q)
    monkeypatch.setattr(worker, "_last_kick", 0.0)
    monkeypatch.setattr(worker, "_trailing_until", 0.0)
    delivered = threading.Event()
    q.huey.post_execute()(lambda task, value, exc: delivered.set())
    consumer = q.consumer(workers=1, periodic=False)
    consumer.start()
    try:
        order = wo.submit()  # commits: the wake-up goes to the queue after the commit
        # Wait on the worker, not on the database (SQLite's shared in-memory test database
        # locks tables between threads).
        assert delivered.wait(timeout=15), "the worker was not woken"
    finally:
        consumer.stop(graceful=True)
    assert InboxItem.objects.filter(user=wo.resident, order_id=order.pk).exists()
    assert not OutboxMessage.objects.filter(order=order, status=OutboxStatus.PENDING).exists()
