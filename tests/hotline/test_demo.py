"""The demo's year of hotline calls, derived from the simulated work orders: every hotline
order was a call, the volume falls as the courtyards' problems are solved, numbers are never
stored readable, and building again adds nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

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


def _local_month(at: dt.datetime) -> dt.date:
    return at.astimezone(END.tzinfo).date().replace(day=1)


def test_hotline_demo__calls_follow_the_unsolved_problems_and_both_trends_count_them(
    demo: Place,
) -> None:
    """Point 7 of issue 6, on a demo-like build: every call about a courtyard's problems comes
    in a month when that courtyard still had one unsolved; the year's calls rise and fall with
    the problems still unsolved; the trend on /hotline/statistics/ and on the dashboard are
    the call records counted, month by month."""
    wo_demo.build_workorders_demo(seed=2018, progress=lambda _line: None, orders=ORDERS, end=END)
    hotline_demo.build_hotline_demo(seed=2018, progress=lambda _line: None, end=END)
    orders = list(
        WorkOrder.objects.filter(idempotency_key__startswith="demo-wo-").values(
            "courtyard_id", "finished_at", "resolution"
        )
    )
    calls = CallRecord.objects.filter(code__startswith="demo-call-")
    general = calls.exclude(outcome=Outcome.WORK_ORDER).exclude(call_type="praise")
    months = sorted({_local_month(at) for at in calls.values_list("started_at", flat=True)})

    def unsolved(courtyard_id: int | None, month: dt.date) -> int:
        start = dt.datetime.combine(month, dt.time.min, tzinfo=END.tzinfo)
        return sum(
            1
            for o in orders
            if (courtyard_id is None or o["courtyard_id"] == courtyard_id)
            and (
                o["finished_at"] is None
                or o["resolution"] in ("partly", "not_solved")
                or o["finished_at"] >= start
            )
        )

    # no call about problems from a courtyard whose problems were all solved
    for yard, at in general.values_list("courtyard_id", "started_at"):
        assert unsolved(yard, _local_month(at)) > 0, (yard, at)
    # the month's calls move with the problems still unsolved (whole months only)
    full = [m for m in months if m < _local_month(END)]
    per_month = [sum(1 for at in general.values_list("started_at", flat=True)
                     if _local_month(at) == m) for m in full]  # fmt: skip
    open_problems = [unsolved(None, m) for m in full]
    assert open_problems[0] > open_problems[-1]
    assert per_month[0] > per_month[-1]
    n = len(full)
    mean_c, mean_o = sum(per_month) / n, sum(open_problems) / n
    cov = sum((c - mean_c) * (o - mean_o) for c, o in zip(per_month, open_problems, strict=True))
    var_c = sum((c - mean_c) ** 2 for c in per_month)
    var_o = sum((o - mean_o) ** 2 for o in open_problems)
    assert cov / (var_c * var_o) ** 0.5 > 0.6  # correlation of calls with open problems

    # the trends shown are the records counted
    counted: dict[str, int] = {}
    for at in calls.values_list("started_at", flat=True):
        key = f"{_local_month(at):%Y-%m}"
        counted[key] = counted.get(key, 0) + 1
    leader = User.objects.get(username="leader")
    client = Client()
    client.force_login(leader)
    with time_machine.travel(END, tick=False):
        page = client.get(reverse("hotline:statistics")).content.decode()
        board = client.get(reverse("dashboard:home"), {"period": "12m"}).content.decode()
    shown = dict(re.findall(r'data-month="(\d{4}-\d\d)" data-calls="(\d+)"', page))
    assert len(shown) == 12
    assert {m: int(c) for m, c in shown.items()} == {m: counted.get(m, 0) for m in shown}
    assert sum(int(c) for c in shown.values()) > 0
    chart = json.loads(
        re.search(r'<script id="hotline-data" type="application/json">(.*?)</script>', board)[1]
    )
    assert len(chart["categories"]) == 12
    assert chart["series"][0]["data"] == [counted.get(m, 0) for m in sorted(shown)]
