"""The rollups kept incrementally from the event log equal a full recompute, also when
orders change after they were counted (rated weeks later, transferred, merged)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sanan.insights.kpis import COUNTERS
from sanan.insights.models import KpiRollup, OrderFact, RefreshState
from sanan.insights.services import insights_refresh
from sanan.workorders import services
from tests.insights.scenario import build_scenario

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[dict[Any, tuple[int, ...]], dict[int, tuple[Any, ...]]]:
    rollups = {}
    for row in KpiRollup.objects.all():
        values = tuple(getattr(row, c) for c in COUNTERS)
        if any(values):
            key = (row.grain, row.place_path, row.month, row.category_id, row.organisation_id,
                   row.channel)  # fmt: skip
            rollups[key] = values
    facts = {
        f.order_id: (f.month, f.place_path, f.organisation_id, *(getattr(f, c) for c in COUNTERS))
        for f in OrderFact.objects.all()
    }
    return rollups, facts


def test_refresh__incremental_equals_full_after_late_changes(wo, clock):  # type: ignore[no-untyped-def]
    f = wo.fresh
    early = wo.order_in("finished")  # to be rated weeks later
    moving = wo.order_in("dispatched")  # to be transferred to another organisation
    first = insights_refresh()
    assert first.full
    assert OrderFact.objects.get(order_id=early.pk).rated_satisfaction == 0

    s = build_scenario(wo, clock)  # many more orders and steps, over several weeks
    assert not insights_refresh().full
    clock.shift(dt.timedelta(days=30))
    services.work_order_callback(
        actor=f(wo.resident), order=wo.reload(early), resolution="solved", satisfaction="fairly"
    )
    services.work_order_transfer(
        actor=f(wo.dispatcher), order=wo.reload(moving), lead_organisation=wo.urban,
        reason="城管负责",
    )  # fmt: skip
    duplicate = wo.submit(description="重复的路灯")
    services.work_order_merge(
        actor=f(wo.dispatcher), parent=wo.reload(s.returned), children=[wo.reload(duplicate)]
    )
    insights_refresh()
    incremental = snapshot()

    fact = OrderFact.objects.get(order_id=early.pk)
    assert (fact.rated_satisfaction, fact.satisfied, fact.month) == (1, 1, dt.date(2026, 11, 1))
    assert OrderFact.objects.get(order_id=moving.pk).organisation_id == wo.urban.pk
    assert not OrderFact.objects.filter(order_id=duplicate.pk).exists()

    assert insights_refresh(full=True).full
    assert snapshot() == incremental


def test_refresh__twice_changes_nothing(wo, clock):  # type: ignore[no-untyped-def]
    build_scenario(wo, clock)
    insights_refresh()
    wo.order_in("signed")
    insights_refresh()
    once = snapshot()
    again = insights_refresh()  # re-reads the events above the safe watermark
    assert again.facts_written == 0
    assert again.rollup_rows == 0
    assert snapshot() == once


def test_refresh__an_event_committed_late_below_the_watermark_is_counted(wo, clock):  # type: ignore[no-untyped-def]
    order = wo.order_in("dispatched")
    insights_refresh()
    insights_refresh()  # safe watermark = last watermark
    services.work_order_sign(actor=wo.fresh(wo.handler), order=wo.reload(order))
    # Another refresh saw a later event first (a transaction that committed earlier): the
    # watermark moved past the sign-for event before it was visible.
    state = RefreshState.objects.get(pk=1)
    state.last_event_id += 5
    state.save()
    insights_refresh()
    assert OrderFact.objects.get(order_id=order.pk).signed == 1


def test_refresh__the_worker_runs_it_every_minute(wo, clock):  # type: ignore[no-untyped-def]
    from sanan.notifications import worker
    from sanan.notifications.config import QueueConfig

    queue = worker.build_queue(QueueConfig("memory", "memory://"))
    task = queue.insights_refresh
    assert task.name == "sanan.insights.refresh"
    assert task.task_class in queue.huey._registry._periodic_tasks  # every minute (crontab *)
    wo.order_in("signed")
    assert "figures" in task.call_local()
    assert OrderFact.objects.count() == 1


def test_refresh__the_command_says_what_it_did(wo, clock):  # type: ignore[no-untyped-def]
    from io import StringIO

    from django.core.management import call_command

    wo.order_in("finished")
    out = StringIO()
    call_command("insights", "refresh", "--full", stdout=out, stderr=StringIO())
    assert "full rebuild" in out.getvalue()
    assert "1 facts written" in out.getvalue()
