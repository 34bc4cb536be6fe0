"""The desk pages as a browser asks for them, over a work-order population (``bench/run.py``).

Runs inside a Django process bound to the population's database (``sanan shell``-like: the
settings come from the environment). Through the Django test client, the whole request
(middleware, session, the user's roles, the view, the template): the dispatcher's board
(``/orders/board/``), the handler's queue (``/orders/queue/``) and one order's page
(``/orders/<id>/``, a different order each call), each ``repeat`` times after a warm-up, for
a user logged in once (as a session is). Prints one JSON line: p50, p95 and the queries of
one request, per page. A status other than 200 is a wrong answer.

The clock is held at the population's moment (``workorders_population.NOW``), as the board's
own runner holds it: a live system's sweep marks what falls due within a minute, and an hour
of the real clock later the population would read as a sweep days behind (every deadline
passed since, unmarked).
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from typing import Any


def measure(repeat: int) -> dict[str, Any]:
    import django
    import time_machine

    django.setup()
    from workorders_population import NOW  # a module of models: after setup

    with time_machine.travel(NOW, tick=True):
        return _measure(repeat)


def _measure(repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.urls import get_resolver

    from sanan.accounts.models import User
    from sanan.workorders.models import WorkOrder
    from sanan.workorders.state import OPEN_STATES

    get_resolver().url_patterns  # noqa: B018 (as sanan/wsgi.py: views imported, then frozen)
    gc.freeze()
    ids = list(
        WorkOrder.objects.filter(state__in=OPEN_STATES)
        .order_by("?")
        .values_list("pk", flat=True)[: max(repeat * 2, 10)]
    )
    rng = random.Random(2018)
    pages = {
        "board": ("dispatcher", lambda: "/orders/board/"),
        "queue": ("handler", lambda: "/orders/queue/"),
        "item": ("dispatcher", lambda: f"/orders/{rng.choice(ids)}/"),
    }
    result: dict[str, Any] = {"orders": WorkOrder.objects.count(), "problems": []}
    for name, (username, url) in pages.items():
        client = Client()
        client.force_login(User.objects.get(username=username))
        first = client.get(url())  # warm-up, and the answer to check
        if first.status_code != 200:
            result["problems"].append(f"{name}: {url()} answered {first.status_code}")
            continue
        # Counted by a wrapper: the test client's request_started signal empties the
        # connection's query log, so CaptureQueriesContext would see nothing.
        queries: list[str] = []

        def count(execute: Any, sql: str, *rest: Any, log: list[str] = queries) -> Any:
            log.append(sql)
            return execute(sql, *rest)

        with connection.execute_wrapper(count):
            client.get(url())
        times = []
        for _ in range(repeat):
            path = url()
            t0 = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - t0)
            if response.status_code != 200:
                result["problems"].append(f"{name}: {path} answered {response.status_code}")
                break
        ordered = sorted(times)
        result[name] = {
            "p50_ms": statistics.median(times) * 1000,
            "p95_ms": ordered[max(0, -(-95 * len(ordered) // 100) - 1)] * 1000,
            "queries": len(queries),
            "calls": len(times),
        }
    return result


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
