"""The demo's year of hotline calls, derived from the simulated work orders: every hotline
order was a call, the volume falls as the courtyards' problems are solved, numbers are never
stored readable, and building again adds nothing."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from sanan.accounts.models import User
from sanan.hotline import demo as hotline_demo
from sanan.hotline.models import CallRecord, KnowledgeEntry, Outcome
from sanan.hotline.selectors import hotline_trend
from sanan.places.models import Place
from sanan.workorders import demo as wo_demo
from sanan.workorders.models import Channel, WorkOrder

END = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ORDERS = 150

pytestmark = pytest.mark.django_db


def test_hotline_demo__a_year_of_calls_from_the_orders(demo: Place) -> None:
    wo_demo.build_workorders_demo(seed=2018, progress=lambda _line: None, orders=ORDERS, end=END)
    lines: list[str] = []
    year = hotline_demo.build_hotline_demo(seed=2018, progress=lines.append, end=END)
    calls = CallRecord.objects.filter(code__startswith="demo-call-")
    assert year["hotline calls"] == calls.count()

    hotline_orders = set(
        WorkOrder.objects.filter(
            idempotency_key__startswith="demo-wo-", channel=Channel.HOTLINE
        ).values_list("pk", flat=True)
    )
    linked = list(calls.filter(outcome=Outcome.WORK_ORDER).values_list("work_order_id", flat=True))
    assert sorted(linked) == sorted(hotline_orders)  # one call per hotline order
    assert calls.filter(outcome=Outcome.ANSWERED, knowledge__isnull=False).exists()
    assert calls.count() > len(hotline_orders)  # and calls about the unsolved problems
    assert not calls.filter(started_at__gt=END).exists()

    # the volume falls as the problems are solved: computed from the records
    leader = User.objects.get(username="leader")
    trend = hotline_trend(user=leader, months=12, end=END.date())
    volumes = [f.calls for f in trend.figures]
    assert (
        sum(volumes)
        == calls.filter(started_at__gte=dt.datetime(2025, 12, 1, tzinfo=END.tzinfo)).count()
    )
    assert sum(volumes[:3]) > sum(volumes[-3:])
    assert trend.by_courtyard
    assert trend.by_category

    for summary, masked in calls.values_list("summary", "caller_phone_masked")[:500]:
        assert not re.search(r"1[3-9]\d{9}", summary)
        assert not masked or "*" in masked
    assert (
        not calls.exclude(caller_phone_encrypted="")
        .filter(caller_phone_encrypted__regex=r"1[3-9]\d{9}")
        .exists()
    )

    knowledge = KnowledgeEntry.objects.filter(code__startswith="demo-kb-").count()
    again = hotline_demo.build_hotline_demo(seed=2018, progress=lines.append, end=END)
    assert again["hotline calls"] == year["hotline calls"]
    assert KnowledgeEntry.objects.filter(code__startswith="demo-kb-").count() == knowledge
