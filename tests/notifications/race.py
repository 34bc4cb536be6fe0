"""Several workers deliver the same due outbox at the same instant, each on its own thread
and database connection. Used in-process on PostgreSQL and, through ``race_probe``, on a
SQLite file database."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.db import connection

from sanan.notifications.services import DeliveryResult, outbox_deliver_due


def race_deliver(now: dt.datetime, n: int) -> list[DeliveryResult | str]:
    barrier = threading.Barrier(n, timeout=30)
    results: list[Any] = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = outbox_deliver_due(now=now)
        except Exception as exc:  # report, do not hide
            results[i] = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def outcome(results: list[DeliveryResult | str]) -> dict[str, Any]:
    """What the assertions need, from the database after the race."""
    from django.db.models import Count

    from sanan.notifications.models import AttemptOutcome, DeliveryAttempt, InboxItem
    from sanan.workorders.models import OutboxMessage

    return {
        "errors": [r for r in results if isinstance(r, str)],
        "claimed": sum(r.claimed for r in results if not isinstance(r, str)),
        "sent": sum(r.sent for r in results if not isinstance(r, str)),
        "messages": OutboxMessage.objects.count(),
        "statuses": sorted(set(OutboxMessage.objects.values_list("status", flat=True))),
        "max_attempts": max(OutboxMessage.objects.values_list("attempts", flat=True)),
        "inbox_dupes": InboxItem.objects.values("source_key", "user_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
        "inbox_items": InboxItem.objects.count(),
        "delivered_attempts": DeliveryAttempt.objects.filter(
            outcome=AttemptOutcome.DELIVERED
        ).count(),
    }
