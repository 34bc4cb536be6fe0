"""The hotline desk with the keyboard alone: from a ringing phone to a dispatched order.

The call-taker types the caller's number (recognised from the registry: the courtyard comes
with the resident), the caller's words, takes the suggested category, answers nothing more,
ends the call as a work order, and dispatches it from the order's dispatch form, without
touching the mouse. The old call-taker's form sends them to the desk. Screenshots go to
test-results/screenshots/hotline-*.png."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .support import DESK, ZH, Demo, sign_in

pytestmark = pytest.mark.browser


def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus")


def test_hotline_desk__ringing_phone_to_dispatched_order__keyboard_only(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from sanan.hotline.models import CallRecord
    from sanan.places.models import Place, PlaceKind
    from sanan.registry.services import resident_register
    from sanan.workorders.models import WorkOrder

    # The browser demo has no registry: the caller is registered at the resident's home.
    home = Place.objects.filter(code__startswith="hq-c01-h01-", kind=PlaceKind.UNIT)
    resident_register(
        actor="browser-tests",
        name="王秀英",
        place=home.order_by("path").first(),
        phone=live_demo.users["resident"].phone,
    )

    def shot(name: str) -> None:
        page.screenshot(path=str(screenshot_dir / f"hotline-{name}.png"), full_page=True)

    page = open_page(ZH, viewport=DESK)
    sign_in(page, "dispatcher", live_demo.password)
    page.goto("/orders/hotline/")  # the old form's address: the desk answers
    expect(page.get_by_test_id("hotline-desk")).to_be_visible()
    assert page.url.endswith("/hotline/")

    started = time.monotonic()
    # The phone rings: Alt+1, the number; the resident and their courtyard are recognised.
    page.keyboard.press("Alt+1")
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.type(live_demo.users["resident"].phone, delay=10)
    expect(page.get_by_test_id("caller-recognised")).to_be_visible()
    expect(page.locator("input[name=resident]:checked")).to_have_count(1)
    courtyard = page.locator("input[name=resident]:checked").get_attribute("data-place")
    expect(page.locator("#id_place")).to_have_value(courtyard or "")

    # What the caller says; the suggested category taken with Alt+U.
    page.keyboard.press("Alt+3")
    expect(page.locator("#id_summary")).to_be_focused()
    page.keyboard.type("楼道的路灯坏了好几天，晚上黑黢黢的，老年人上下楼怕摔", delay=5)
    use = page.get_by_test_id("triage-use")
    expect(use).to_be_visible(timeout=60_000)  # a new install trains its model first
    page.keyboard.press("Alt+U")
    expect(page.locator("#id_category")).to_have_value(use.get_attribute("data-category") or "")
    expect(page.locator("#id_category")).not_to_have_value("")
    shot("call")

    # Alt+O ends the call as a work order; the desk offers to dispatch it (focused: Enter).
    with page.expect_navigation():
        page.keyboard.press("Alt+O")
    last = page.get_by_test_id("last-order")
    expect(last).to_be_visible()
    order = WorkOrder.objects.order_by("-pk").first()
    assert order is not None
    assert order.channel == "hotline"
    assert order.contact_phone_masked  # acting for the caller: their number, masked
    assert live_demo.users["resident"].phone not in order.description
    call = CallRecord.objects.get(work_order=order)
    assert call.resident_id is not None
    shot("order-registered")
    if last.get_attribute("data-state") == "registered":
        expect(page.get_by_test_id("dispatch-last-order")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        form = page.get_by_test_id("action-form")
        expect(form).to_be_visible()
        organisation = form.locator("select[name=lead_organisation]")
        if not organisation.input_value():
            _tab_to(page, "select[name=lead_organisation]")
            page.keyboard.press("ArrowDown")
        _tab_to(page, "[data-testid=confirm-action]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    order.refresh_from_db()
    elapsed = time.monotonic() - started
    assert order.state == "dispatched", order.state
    assert order.lead_organisation_id is not None
    assert elapsed < 60, f"{elapsed:.0f} s from the ring to the dispatched order"
    shot("dispatched")
