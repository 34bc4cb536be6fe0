"""Real concurrency: several threads, each with its own database connection, act on the same
order (or sweep the same overdue orders) at the same instant. Used in-process on PostgreSQL
and, through ``race_probe`` (and ``tests.reliability.race_probe``), on a SQLite file database.

``race_api`` sends the requests through the whole stack (URL, token authentication, the API
view, the service, the error handler), as two people's browsers or apps would."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.core.errors import DomainError
from sanan.places.models import Place
from sanan.workorders import services
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.sweep import SweepResult, sweep


def _run(n: int, work: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    barrier = threading.Barrier(n, timeout=30)
    results: list[Any] = [None] * n

    def target(i: int) -> None:
        try:
            results[i] = work(i, barrier)
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

    def work(i: int, barrier: threading.Barrier) -> str:
        user = User.objects.get(pk=user_pk)
        order = WorkOrder.objects.select_related("place", "category").get(pk=order_pk)
        barrier.wait()  # everyone has the order open, now all click
        try:
            services.work_order_sign(actor=user, order=order)
        except DomainError as exc:
            return exc.code
        return "ok"

    return _run(n, work)


def race_courtyard(
    *, reporter_pk: int, place_pk: int, category_pk: int, handler_pk: int, to_sign: list[int]
) -> list[str]:
    """In one courtyard at the same instant: as many residents' submissions as there are
    orders in ``to_sign``, and a handler signing each of those (other orders of the same
    courtyard): every writer moves orders between the same counter rows of the board."""
    n = len(to_sign)

    def work(i: int, barrier: threading.Barrier) -> str:
        if i < n:
            user = User.objects.get(pk=reporter_pk)
            barrier.wait()
            services.work_order_submit(
                actor=user,
                channel="resident_form",
                category=Category.objects.get(pk=category_pk),
                description=f"同一院落同时报事 {i}",
                place=Place.objects.get(pk=place_pk),
            )
            return "ok"
        user = User.objects.get(pk=handler_pk)
        order = WorkOrder.objects.select_related("place", "category").get(pk=to_sign[i - n])
        barrier.wait()
        services.work_order_sign(actor=user, order=order)
        return "ok"

    return _run(2 * n, work)


def race_sweep(now: dt.datetime, n: int) -> list[SweepResult | str]:
    def work(i: int, barrier: threading.Barrier) -> SweepResult:
        barrier.wait()
        return sweep(now=now, batch=7)

    return _run(n, work)


@dataclass(frozen=True)
class ApiCall:
    """One person's POST to the API: who, where, what, and the version they saw (If-Match)."""

    user_pk: int
    path: str
    body: dict[str, Any] = field(default_factory=dict)
    if_match: int | None = None


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    code: str  # "ok" for a 2xx, else the error's stable code
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message}


def race_api(calls: Sequence[ApiCall]) -> list[ApiAnswer | str]:
    """Every call is sent at the same instant from its own thread (own connection), each
    client authenticated with its user's API token."""
    tokens = {c.user_pk: Token.objects.get_or_create(user_id=c.user_pk)[0].key for c in calls}

    def work(i: int, barrier: threading.Barrier) -> ApiAnswer:
        call = calls[i]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[call.user_pk]}")
        headers = {} if call.if_match is None else {"HTTP_IF_MATCH": f'"{call.if_match}"'}
        barrier.wait()  # everyone has the order open, now all click
        response = client.post(call.path, call.body, format="json", **headers)
        if response.status_code < 300:
            return ApiAnswer(response.status_code, "ok", "")
        body = (
            response.json()
            if response.get("Content-Type", "").startswith("application/json")
            else {}
        )
        return ApiAnswer(
            response.status_code, str(body.get("code", "")), str(body.get("message", ""))
        )

    return _run(len(calls), work)
