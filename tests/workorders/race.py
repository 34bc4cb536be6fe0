"""Real concurrency: several threads, each with its own database connection, act on the same
order (or sweep the same overdue orders) at the same instant. Used in-process on PostgreSQL
and, through ``race_probe``, on a SQLite file database."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

from sanan.accounts.models import User
from sanan.core.errors import DomainError
from sanan.workorders import services
from sanan.workorders.models import WorkOrder
from sanan.workorders.sweep import SweepResult, sweep


def _run(n: int, work: Callable[[threading.Barrier], Any]) -> list[Any]:
    barrier = threading.Barrier(n, timeout=30)
    results: list[Any] = [None] * n

    def target(i: int) -> None:
        try:
            results[i] = work(barrier)
        except Exception as exc:  # report whatever happened, do not hide it
            results[i] = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def race_sign(order_pk: int, user_pk: int, n: int) -> list[str]:
    """``n`` handlers of the lead organisation click "sign for" on the same order at once."""

    def work(barrier: threading.Barrier) -> str:
        user = User.objects.get(pk=user_pk)
        order = WorkOrder.objects.select_related("place", "category").get(pk=order_pk)
        barrier.wait()  # everyone has the order open, now all click
        try:
            services.work_order_sign(actor=user, order=order)
        except DomainError as exc:
            return exc.code
        return "ok"

    return _run(n, work)


def race_sweep(now: dt.datetime, n: int) -> list[SweepResult | str]:
    def work(barrier: threading.Barrier) -> SweepResult:
        barrier.wait()
        return sweep(now=now, batch=7)

    return _run(n, work)
