"""The demo's campaigns and dual-reporting over its simulated year of orders: a 100-day
tackling and topics of the month linked to the demo's orders, eight units with tasks claimed,
done and rated through the services; every figure from the records; building again adds
nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sanan.accounts.models import User
from sanan.campaigns import demo as campaigns_demo
from sanan.campaigns.models import Campaign, CampaignKind, CampaignOrder, CampaignState
from sanan.campaigns.selectors import burndown, campaign_progress
from sanan.campaigns.services import scope_orders
from sanan.dualreport import demo as dual_demo
from sanan.dualreport.models import Claim, Rating, Registration, Task
from sanan.dualreport.selectors import evaluation_sheet
from sanan.places.models import Place
from sanan.workorders import demo as wo_demo

END = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ORDERS = 150

pytestmark = pytest.mark.django_db


def test_campaigns_demo__a_year_of_campaigns_on_the_orders(demo: Place) -> None:
    wo_demo.build_workorders_demo(seed=2018, progress=lambda _line: None, orders=ORDERS, end=END)
    lines: list[str] = []
    totals = campaigns_demo.build_campaigns_demo(seed=2018, progress=lines.append, end=END)
    campaigns = Campaign.objects.filter(code__startswith="demo-campaign-")
    tackling = campaigns.get(kind=CampaignKind.TACKLING)
    assert tackling.state == CampaignState.CLOSED
    assert (tackling.ends_on - tackling.starts_on).days == 99
    topics = campaigns.filter(kind=CampaignKind.MONTHLY_TOPIC)
    assert topics.count() >= 10
    assert topics.filter(state=CampaignState.RUNNING).count() == 1  # this month's
    linked = set(CampaignOrder.objects.filter(campaign=tackling).values_list("order_id", flat=True))
    assert linked == set(scope_orders(tackling).values_list("pk", flat=True))
    assert linked
    leader = User.objects.get(username="leader")
    progress = campaign_progress(user=leader, campaign=tackling)
    assert totals["tackling solved"] == progress.solved
    assert progress.linked == len(linked)
    assert progress.tasks_done == 4  # the last task was left open
    days = burndown(tackling)
    assert len(days) == 100
    assert days[-1].finished <= progress.linked

    lines.clear()
    dual = dual_demo.build_dualreport_demo(seed=2018, progress=lines.append, end=END)
    assert dual["dual units"] == 8
    assert dual["dual tasks"] >= 18
    assert Claim.objects.filter(task__code__startswith="demo-dual-").count() == dual["dual claims"]
    assert dual["dual ratings"] == Rating.objects.count()
    assert Task.objects.filter(campaign=tackling).exists()
    for task in Task.objects.filter(code__startswith="demo-dual-"):
        assert task.claimed_slots <= task.slots
        assert task.claimed_slots == task.claims.exclude(state="withdrawn").count()
    sheet = evaluation_sheet(user=leader, year=END.year)
    assert len(sheet) == Registration.objects.filter(place__code="511102-tj-nyq").count()
    assert any(e.score > 0 for e in sheet)
    own = evaluation_sheet(user=User.objects.get(username="unitmember"), year=END.year)
    assert [e.registration.organisation.code for e in own] == ["unit-hospital"]

    # building again adds nothing
    before = (Campaign.objects.count(), CampaignOrder.objects.count(), Claim.objects.count())
    campaigns_demo.build_campaigns_demo(seed=2018, progress=lines.append, end=END)
    dual_demo.build_dualreport_demo(seed=2018, progress=lines.append, end=END)
    after = (Campaign.objects.count(), CampaignOrder.objects.count(), Claim.objects.count())
    assert after == before
