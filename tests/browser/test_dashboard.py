"""The leader's dashboard, the big screen and the public page in a real browser, on the demo
community with a simulated season of orders (``workorders.demo``, built small) and its figures
refreshed as the worker would. Pages are saved at desk (1440×900), hall (1920×1080) and phone
(390×844) size for people to look at.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .support import DESK, PHONE, ZH, Demo, sign_in

pytestmark = pytest.mark.browser

HALL = (1920, 1080)
REFRESH = "htmx.ajax('GET', '/dashboard/screen/', {target: '#screen-live', swap: 'innerHTML'})"
ORDERS = 80


def _season() -> None:
    """A small simulated year ending now, and the figures brought up to date."""
    from sanan.core import clock
    from sanan.insights.services import insights_refresh
    from sanan.workorders.demo import build_workorders_demo

    build_workorders_demo(seed=2018, progress=lambda _line: None, orders=ORDERS, end=clock.now())
    insights_refresh()


def _registered_in_the_last_12_months() -> int:
    from sanan.dashboard import periods
    from sanan.workorders.models import WorkOrder

    period = periods.rolling()
    return WorkOrder.objects.filter(created_at__gte=period.start, created_at__lt=period.end).count()


def test_dashboard__leader_reads_the_figures_and_follows_a_number(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    _season()
    expected = _registered_in_the_last_12_months()
    page = open_page(ZH, DESK)
    sign_in(page, live_demo.users["leader"].phone, live_demo.password)
    page.goto("/")
    with page.expect_navigation():
        page.get_by_test_id("dashboard-link").click()
    expect(page.get_by_test_id("dash-title")).to_contain_text("牛咡桥社区")
    expect(page.get_by_test_id("fig-registered").locator("strong")).to_have_text(str(expected))
    expect(page.get_by_test_id("dash-map")).to_be_visible()
    expect(page.locator("#chart-hotline canvas")).to_have_count(1)  # ECharts drew it, offline
    expect(page.locator("#chart-rates canvas")).to_have_count(1)
    expect(page.get_by_test_id("rate-satisfaction_rate")).to_contain_text("%")
    page.screenshot(path=screenshot_dir / "dashboard-desk.png", full_page=True)

    # The period filter swaps the panels in place (HTMX) and the URL follows.
    from sanan.core import clock

    month = clock.today().replace(day=1) - dt.timedelta(days=1)
    page.select_option("#dash-period", f"{month:%Y-%m}")
    expect(page).to_have_url(re.compile(rf"/dashboard/\?place=&period={month:%Y-%m}$"))
    expect(page.get_by_test_id("dash-title")).to_contain_text(f"{month.year}")

    # Every number is a link to the orders it counts.
    opened = page.get_by_test_id("fig-open").locator("strong").inner_text()
    with page.expect_navigation():
        page.get_by_test_id("fig-open").click()
    expect(page.get_by_test_id("dash-orders")).to_be_visible()
    assert opened in page.get_by_test_id("order-count").inner_text()


def test_dashboard__without_javascript__the_numbers_are_tables(
    live_demo: Demo, open_page: Any
) -> None:
    _season()
    page = open_page(ZH, DESK, java_script_enabled=False)
    sign_in(page, live_demo.users["leader"].phone, live_demo.password)
    page.goto("/dashboard/")
    expect(page.get_by_test_id("hotline-table")).to_be_visible()
    expect(page.get_by_test_id("rates-table")).to_be_visible()
    expect(page.get_by_test_id("dash-map")).to_be_visible()  # inline SVG, no script needed
    expect(page.get_by_test_id("fig-registered").locator("strong")).to_have_text(
        str(_registered_in_the_last_12_months())
    )


def test_screen__hall_size_and_refresh_without_reloading_the_charts(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    _season()
    page = open_page(ZH, HALL)
    sign_in(page, live_demo.users["leader"].phone, live_demo.password)
    page.goto("/dashboard/screen/")
    expect(page.locator("#s-chart-hotline canvas")).to_have_count(1)
    page.wait_for_timeout(800)  # the charts' first animation
    page.screenshot(path=screenshot_dir / "dashboard-screen-hall.png")
    size = page.evaluate("[document.body.scrollWidth, document.body.scrollHeight]")
    assert size == [1920, 1080]
    # The minute's refresh, now: the figures are swapped, the chart element stays the same.
    page.evaluate("document.getElementById('s-chart-hotline').dataset.mark = 'kept'")
    before = page.get_by_test_id("screen-time").inner_text()
    with page.expect_response("**/dashboard/screen/"):
        page.evaluate(REFRESH)
    expect(page.get_by_test_id("screen-time")).to_be_visible()
    assert page.evaluate("document.getElementById('s-chart-hotline').dataset.mark") == "kept"
    assert before  # the clock line was there before the refresh too
    assert "html" not in page.get_by_test_id("screen").inner_text().lower()[:20]


def test_public__a_resident_on_a_phone_reads_the_figures(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    _season()
    page = open_page(ZH, PHONE)
    page.goto("/public/figures/")
    expect(page.get_by_test_id("public-figures")).to_contain_text("牛咡桥社区")
    expect(page.get_by_test_id("pub-registered")).to_have_text(
        str(_registered_in_the_last_12_months())
    )
    expect(page.locator("#pub-chart-hotline canvas")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "public-figures-phone.png", full_page=True)
    text = page.locator("main").inner_text()
    assert not re.search(r"1[3-9]\d{9}", text)  # no phone number
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0]
