"""The intake and order pages' helpers in a real browser: a category's questions arrive when
it is tapped (phone), an open order of the same problem is offered while typing, the
call-taker's keyboard shortcuts (never while an input method composes Chinese), and a reply
template put into the handler's reply box to be edited. Screenshots go to
test-results/screenshots/woforms-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .support import DESK, EN, PHONE, ZH, Demo, Lang, sign_in

pytestmark = pytest.mark.browser


def _pk(url: str) -> int:
    return int(url.rstrip("/").rsplit("/", 1)[1])


def _page(demo: Demo, open_page: Any, who: str, lang: Lang, viewport: tuple[int, int]) -> Any:
    page = open_page(lang, viewport=viewport)
    sign_in(page, who, demo.password)
    return page


def test_intake__questions_duplicates_shortcuts_and_reply_templates(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from django.contrib.auth import get_user_model

    from sanan.workorders import services
    from sanan.workorders.models import Category, WorkOrder

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(screenshot_dir / f"woforms-{name}.png"), full_page=True)

    # 1. The resident taps "no water": its questions come in; unanswered, they say so.
    page = _page(live_demo, open_page, "resident", ZH, PHONE)
    page.goto("/orders/new/")
    water = Category.objects.get(code="water_outage")
    group = Category.objects.get(path=water.path[:4])
    page.get_by_test_id(f"category-group-{group.code}").click()
    page.locator("input[data-code=water_outage]").check()
    questions = page.get_by_test_id("questions")
    expect(questions.locator("input[name=answers-since]")).to_be_visible()
    expect(questions).to_contain_text("影响范围")
    page.locator("textarea[name=description]").fill("整栋楼从早上开始停水了")
    with page.expect_navigation():
        page.get_by_test_id("submit-report").click()
    expect(page.get_by_test_id("field-error-answers-since")).to_contain_text("请回答")
    page.locator("input[name=answers-since]").fill("2026-11-26T07:30")
    page.locator("label:has(input[name=answers-scope][value=building])").click()
    shot(page, "resident-questions")
    with page.expect_navigation():
        page.get_by_test_id("submit-report").click()
    expect(page.get_by_test_id("answers")).to_contain_text("整栋楼")
    order_url = page.url
    shot(page, "resident-answers")

    # 2. Reporting it again, the open order is offered while typing (debounced, HTMX).
    page.goto("/orders/new/")
    page.get_by_test_id(f"category-group-{group.code}").click()
    page.locator("input[data-code=water_outage]").check()
    page.locator("textarea[name=description]").press_sequentially("整栋楼从早上停水", delay=30)
    offered = page.get_by_test_id("duplicate")
    expect(offered).to_have_count(1)
    expect(offered.get_by_test_id("open-duplicate")).to_have_attribute(
        "href", f"/orders/{_pk(order_url)}/"
    )
    shot(page, "resident-duplicate-hint")
    page.context.close()

    # 3. The call-taker: Alt+1 to the number, the caller recognised, Alt+3 to the description;
    #    a key pressed while the input method composes is left to it.
    page = _page(live_demo, open_page, "dispatcher", ZH, DESK)
    page.goto("/hotline/")  # the call-taker's screen (/orders/hotline/ leads there)
    expect(page.get_by_test_id("shortcuts")).to_contain_text("Alt")
    page.keyboard.press("Alt+1")
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.type(live_demo.users["resident"].phone, delay=20)
    expect(page.get_by_test_id("caller").locator("p, section, div").first).to_be_visible()
    page.keyboard.press("Alt+3")
    expect(page.locator("#id_summary")).to_be_focused()
    page.evaluate(
        """() => document.getElementById('id_summary').dispatchEvent(new KeyboardEvent(
        'keydown', {key: '1', code: 'Digit1', altKey: true, isComposing: true, bubbles: true}))"""
    )
    expect(page.locator("#id_summary")).to_be_focused()
    page.keyboard.press("Alt+5")
    expect(page.locator("#id_category")).to_be_focused()
    shot(page, "hotline-shortcuts")
    page.context.close()

    # 4. The handler starts the first contact from a template and edits it before sending.
    users = get_user_model().objects
    handler = users.get(username="handler")
    org = handler.role_assignments.exclude(organisation=None).get().organisation
    order = services.work_order_submit(
        actor=users.get(username="resident"), channel="resident_form",
        category=Category.objects.get(code="street_light"), description="楼下路灯不亮",
        place=WorkOrder.objects.get(pk=_pk(order_url)).place,
    ).order  # fmt: skip
    if order.state == "registered":
        services.work_order_dispatch(
            actor=users.get(username="dispatcher"), order=order, lead_organisation=org
        )
    services.work_order_sign(actor=handler, order=WorkOrder.objects.get(pk=order.pk))
    order_url = f"/orders/{order.pk}/"
    page = _page(live_demo, open_page, "handler", EN, DESK)
    page.goto(order_url)
    page.get_by_test_id("action-contact").click()
    panel = page.get_by_test_id("action-panel")
    template = panel.get_by_test_id("reply-template").first
    template.click()
    box = panel.locator("textarea[name=public_note]")
    expect(box).to_have_value(
        "Hello, we have your report; someone will come to look before {time}."
    )
    assert page.evaluate("() => document.activeElement.name") == "public_note"
    page.keyboard.type("11:00 today")  # the {time} placeholder was selected: typed over
    expect(box).to_have_value(
        "Hello, we have your report; someone will come to look before 11:00 today."
    )
    shot(page, "handler-reply-template")
    panel.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("order")).to_have_attribute("data-state", "contacted")
    expect(page.get_by_test_id("public-reply").first).to_contain_text("before 11:00 today")
    page.context.close()
