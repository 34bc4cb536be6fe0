"""Lists of the hotline do not grow their query count with their rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sanan.accounts.models import User
from sanan.hotline import services
from tests.hotline.conftest import PHONE, Desk

Web = Callable[[User], Client]


def _calls(desk: Desk, n: int) -> None:
    wo = desk.wo
    for i in range(n):
        services.call_record(
            actor=wo.dispatcher, call_type="help", summary=f"来电{i}", outcome="callback",
            place=wo.world.courtyard_a, phone=PHONE, resident=desk.caller,
            callback_due_at=dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC),
        )  # fmt: skip
    services.call_record(
        actor=wo.dispatcher, call_type="report", summary="路灯坏了", outcome="work_order",
        place=wo.world.courtyard_a, category=wo.street_light,
    )  # fmt: skip


def _count(client: Client, url: str) -> int:
    """Queries of a second request (the first warms the session and the caches)."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_lists__query_count_does_not_grow_with_rows(desk: Desk, web_as: Web, api_as: Any) -> None:
    client = web_as(desk.wo.dispatcher)
    api = api_as(desk.wo.dispatcher)
    urls = ["/hotline/calls/", "/hotline/callbacks/", "/hotline/knowledge/", "/hotline/"]
    _calls(desk, 2)
    few = {u: _count(client, u) for u in urls}
    few_api = {u: _count(api, u) for u in ("/api/v1/hotline/calls/",
                                                 "/api/v1/hotline/callbacks/")}  # fmt: skip
    _calls(desk, 6)
    for u in urls:
        assert _count(client, u) == few[u], u
    for u, n in few_api.items():
        assert _count(api, u) == n, u
