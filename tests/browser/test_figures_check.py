"""The leader's dashboard checked as its reader would: every number that is a link opens the
list of exactly that many orders, and the panels read cleanly (a campaign's progress bar does
not cover the line under it). On the demo community with a short simulated season and a
running campaign."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .support import DESK, ZH, Demo, sign_in

pytestmark = pytest.mark.browser

ORDERS = 20


def _season_with_a_campaign() -> None:
    from sanan.accounts.models import User
    from sanan.campaigns import services
    from sanan.campaigns.models import CampaignKind
    from sanan.core import clock
    from sanan.insights.services import insights_refresh
    from sanan.organisation.models import Organisation
    from sanan.places.models import Place
    from sanan.workorders.demo import build_workorders_demo

    build_workorders_demo(seed=2018, progress=lambda _line: None, orders=ORDERS, end=clock.now())
    insights_refresh()
    leader = User.objects.get(username="leader")
    today = clock.today()
    campaign = services.campaign_create(
        actor=leader,
        place=Place.objects.get(code="511102-tj-nyq"),
        kind=CampaignKind.MONTHLY_TOPIC,
        title="本月一题：院落环境",
        starts_on=today - dt.timedelta(days=60),
        ends_on=today + dt.timedelta(days=10),
        target_solved=3,
        target_resolution_percent=None,
        owner_organisation=Organisation.objects.order_by("pk").first(),
        owner=leader,
        categories=[],
        places=[],
    )
    services.campaign_start(actor=leader, campaign=campaign)


def _count(html: str) -> int:
    found = re.search(r'data-testid="orders?-count"[^>]*>\s*([\d,]+)', html)
    return int(found.group(1).replace(",", "")) if found else 0


def test_dashboard__each_number_opens_that_many_orders_and_the_panels_read_cleanly(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    _season_with_a_campaign()
    page = open_page(ZH, DESK)
    sign_in(page, live_demo.users["leader"].phone, live_demo.password)
    page.goto("/dashboard/")
    expect(page.get_by_test_id("dash-campaigns")).to_contain_text("本月一题")
    page.screenshot(path=screenshot_dir / "dashboard-check.png", full_page=True)
    checked = 0
    for testid in ("fig-registered", "fig-finished", "fig-solved", "fig-open", "fig-overdue"):
        link = page.get_by_test_id(testid)
        shown = int(link.locator("strong").inner_text().replace(",", ""))
        listed = _count(page.request.get(str(link.get_attribute("href"))).text())
        assert listed == shown, (testid, shown, listed)
        checked += 1
    for code in ("response_rate", "resolution_rate", "satisfaction_rate"):
        link = page.get_by_test_id(f"rate-{code}")
        numbers = re.findall(r"\d+", link.locator("small").inner_text())
        listed = _count(page.request.get(str(link.get_attribute("href"))).text())
        assert listed == int(numbers[0]), (code, numbers, listed)
        checked += 1
    assert checked == 8

    # The running campaign's progress bar sits above the line that says how far it got.
    item = page.get_by_test_id("dash-campaigns").locator("li").first
    bar = item.locator(".dash-bar").bounding_box()
    line = item.locator(".dash-sub").bounding_box()
    assert bar is not None
    assert line is not None
    assert bar["y"] + bar["height"] <= line["y"], (bar, line)
