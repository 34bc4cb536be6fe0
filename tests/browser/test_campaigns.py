"""Campaigns and dual-reporting in a real browser, as their users go through them, on the demo
community with a short simulated season of orders (``workorders.demo``, built small).

- The leader creates a campaign at the desk, starts it, finds the orders of its scope linked
  (as many as the figure says), adds a task, reads the burndown, closes it, and downloads the
  closing report whose solved orders are the figure on the report page.
- Dual-reporting (双报到): a unit member registers their unit on a phone, the leader publishes
  a task, the unit member claims it and reports it done, a resident rates the work, and the
  yearly evaluation (page and XLSX) counts it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from .support import DESK, PHONE, ZH, Demo, sign_in

pytestmark = pytest.mark.browser

ORDERS = 20


def _season() -> None:
    from sanan.core import clock
    from sanan.workorders.demo import build_workorders_demo

    build_workorders_demo(seed=2018, progress=lambda _line: None, orders=ORDERS, end=clock.now())


def _number(text: str) -> int:
    found = re.search(r"\d+", text.replace(",", ""))
    assert found is not None, text
    return int(found.group(0))


def test_campaign__leader_creates_starts_follows_and_closes_it(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from sanan.campaigns.models import Campaign
    from sanan.campaigns.selectors import progress_of
    from sanan.campaigns.services import scope_orders
    from sanan.core import clock

    _season()
    today = clock.today()
    page = open_page(ZH, DESK)
    sign_in(page, live_demo.users["leader"].phone, live_demo.password)
    page.goto("/campaigns/")
    with page.expect_navigation():
        page.get_by_test_id("new-campaign").click()
    # Only the community the leader answers for is offered, not the places above it.
    assert page.locator("#id_place option[value]:not([value=''])").all_inner_texts() == [
        "牛咡桥社区"
    ]
    page.select_option("#id_kind", "tackling")
    page.fill("#id_title", "百日攻坚：院落环境整治")
    page.select_option("#id_place", label="牛咡桥社区")
    page.fill("#id_starts_on", f"{today - dt.timedelta(days=90):%Y-%m-%d}")
    page.fill("#id_ends_on", f"{today + dt.timedelta(days=9):%Y-%m-%d}")
    page.fill("#id_target_solved", "5")
    page.fill("#id_target_resolution_percent", "90")
    page.select_option("#id_owner_organisation", index=1)
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    expect(page.get_by_test_id("campaign-state")).to_have_text("草稿")

    with page.expect_navigation():
        page.get_by_test_id("start").click()
    expect(page.get_by_test_id("campaign-state")).to_have_text("进行中")
    campaign = Campaign.objects.get(title="百日攻坚：院落环境整治")
    in_scope = scope_orders(campaign).count()
    assert in_scope > 0
    figures = page.get_by_test_id("campaign-figures").locator("b")
    assert _number(figures.nth(0).inner_text()) == in_scope  # orders linked
    expect(page.get_by_test_id("order-count")).to_contain_text(str(in_scope))
    assert page.locator("[data-testid=orders] tbody tr").count() == in_scope
    expect(page.get_by_test_id("burndown").locator("svg polyline")).to_have_count(3)

    form = page.get_by_test_id("task-form")
    form.locator("input[name=title]").fill("清理楼道堆物")
    form.locator("input[name=due_on]").fill(f"{today + dt.timedelta(days=5):%Y-%m-%d}")
    with page.expect_navigation():
        form.locator("button").click()
    expect(page.get_by_test_id("tasks")).to_contain_text("清理楼道堆物")
    page.screenshot(path=screenshot_dir / "campaign-running-desk.png", full_page=True)

    page.fill("textarea[name=note]", "提前完成整治目标")
    with page.expect_navigation():
        page.get_by_test_id("close").click()
    expect(page.get_by_test_id("campaign-state")).to_have_text("已结束")

    progress = progress_of(Campaign.objects.get(pk=campaign.pk))
    with page.expect_download() as download:
        page.get_by_test_id("xlsx-link").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    solved_sheet = next(ws for ws in book.worksheets if "Solved" in ws.title)
    assert solved_sheet.max_row - 1 == progress.solved
    with page.expect_navigation():
        page.get_by_test_id("report-link").click()
    expect(page.get_by_test_id("report-solved")).to_have_text(str(progress.solved))
    rows = page.locator("[data-testid=solved-orders] tbody tr")
    assert rows.count() == progress.solved


def test_dual_reporting__register_publish_claim_report_rate_and_evaluate(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from sanan.core import clock

    today = clock.today()
    unit = open_page(ZH, PHONE)
    sign_in(unit, live_demo.users["unitmember"].phone, live_demo.password)
    unit.goto("/dual/registrations/new/")
    unit.select_option("#id_organisation", index=1)
    unit.select_option("#id_place", label="牛咡桥社区")
    unit.fill("#id_contact_name", "李医生")
    unit.fill("#id_resources", "义诊、健康讲座")
    unit.fill("#id_capacity_hours_month", "20")
    with unit.expect_navigation():
        unit.get_by_test_id("save").click()
    expect(unit.get_by_test_id("dual-registrations")).to_contain_text("乐山市人民医院党总支")

    leader = open_page(ZH, DESK)
    sign_in(leader, live_demo.users["leader"].phone, live_demo.password)
    leader.goto("/dual/")
    with leader.expect_navigation():
        leader.get_by_test_id("new-task").click()
    leader.fill("input[name=title]", "重阳节义诊")
    leader.fill("textarea[name=description]", "在社区广场为老人量血压")
    leader.select_option("select[name=place]", label="牛咡桥社区")
    leader.fill("input[name=slots]", "2")
    leader.fill("input[name=hours_per_slot]", "3")
    leader.fill("input[name=starts_on]", f"{today:%Y-%m-%d}")
    leader.fill("input[name=due_on]", f"{today + dt.timedelta(days=3):%Y-%m-%d}")
    with leader.expect_navigation():
        leader.get_by_test_id("save").click()
    expect(leader.get_by_test_id("slots")).to_contain_text("0")
    task_url = leader.url

    unit.goto(task_url)
    with unit.expect_navigation():
        unit.get_by_test_id("claim").click()
    expect(unit.get_by_test_id("slots")).to_contain_text("1")
    done = unit.get_by_test_id("complete-form")
    done.locator("textarea").fill("为42位老人量了血压，发放健康手册")
    done.locator("input[name=hours]").fill("3")
    done.locator("input[name=people]").fill("4")
    with unit.expect_navigation():
        done.locator("button.primary").click()
    expect(unit.get_by_test_id("claims")).to_contain_text("为42位老人量了血压")
    unit.screenshot(path=screenshot_dir / "dual-unit-phone.png", full_page=True)
    assert unit.evaluate("document.documentElement.scrollWidth") <= PHONE[0]

    resident = open_page(ZH, PHONE)
    sign_in(resident, live_demo.users["resident"].phone, live_demo.password)
    resident.goto("/dual/")
    expect(resident.get_by_test_id("rateable")).to_contain_text("重阳节义诊")
    assert "李医生" not in resident.content()  # a unit's contact is not for residents
    with resident.expect_navigation():
        resident.get_by_test_id("rateable").get_by_role("link", name=re.compile("评价")).click()
    rate = resident.get_by_test_id("rate-form")
    rate.locator("input[name=comment]").fill("很耐心")
    with resident.expect_navigation():
        rate.locator("button[value='5']").click()
    expect(resident.get_by_test_id("claims")).to_contain_text("5")
    expect(resident.get_by_test_id("rate-form")).to_have_count(0)  # once per resident
    resident.screenshot(path=screenshot_dir / "dual-resident-phone.png", full_page=True)

    leader.goto("/dual/evaluation/")
    row = leader.get_by_test_id("sheet").locator("tr", has_text="乐山市人民医院党总支")
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["1", "1", "3.0"], cells  # claimed, finished, hours
    assert "5" in cells[5]  # average stars
    with leader.expect_download() as download:
        leader.get_by_test_id("xlsx").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    values = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert any("乐山市人民医院党总支" in [str(v) for v in r] for r in values)
