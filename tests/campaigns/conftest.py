"""Campaign fixtures: the work-order world (``wo``) with the clock stopped on a Wednesday
morning, and a campaign on infrastructure problems in the persona community."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine

from sanan.campaigns import services
from sanan.campaigns.models import Campaign, CampaignKind
from sanan.workorders.models import Category
from sanan.workorders.sla import calendar_cache
from tests.personas import World
from tests.workorders.world import WEDNESDAY_10, OrderWorld, build_order_world

START = WEDNESDAY_10.date() - dt.timedelta(days=2)  # Monday 2026-11-23
END = START + dt.timedelta(days=99)  # a hundred days


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    calendar_cache.invalidate()
    yield
    calendar_cache.invalidate()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def wo(world: World, clock: time_machine.Coordinates) -> OrderWorld:
    return build_order_world(world)


def make_campaign(wo: OrderWorld, **kwargs: object) -> Campaign:
    defaults: dict[str, object] = {
        "actor": wo.fresh(wo.dispatcher),
        "place": wo.community,
        "kind": CampaignKind.TACKLING,
        "title": "百日攻坚：基础设施",
        "starts_on": START,
        "ends_on": END,
        "target_solved": 4,
        "target_resolution_percent": 90,
        "owner_organisation": wo.housing,
        "owner": wo.dispatcher,
        "categories": [Category.objects.get(code="infrastructure")],
    }
    defaults.update(kwargs)
    return services.campaign_create(**defaults)  # type: ignore[arg-type]


@pytest.fixture
def draft(wo: OrderWorld) -> Campaign:
    return make_campaign(wo)


@pytest.fixture
def running(wo: OrderWorld, draft: Campaign) -> Campaign:
    return services.campaign_start(actor=wo.fresh(wo.dispatcher), campaign=draft)
