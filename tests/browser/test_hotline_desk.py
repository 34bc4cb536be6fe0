"""The hotline desk with the keyboard alone: from a ringing phone to a dispatched order.

The call-taker types the caller's number (recognised from the registry: the courtyard comes
with the resident), the caller's words, takes the suggested category, answers nothing more,
chooses the caller's own building, ends the call as a work order and dispatches it on the desk
(the routing directory's organisation chosen already), without touching the mouse. The old
call-taker's form sends them to the desk. Screenshots go to
test-results/screenshots/hotline-*.png."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .support import DESK, ZH, Demo, sign_in

pytestmark = pytest.mark.browser


class Keys:
    """The keyboard, counting what the call-taker presses (a typed character counts one)."""

    def __init__(self, page: Any) -> None:
        self.page, self.pressed = page, 0

    def press(self, key: str) -> None:
        self.pressed += 1
        self.page.keyboard.press(key)

    def type(self, text: str, delay: float = 5) -> None:
        self.pressed += len(text)
        self.page.keyboard.type(text, delay=delay)

    def tab_to(self, selector: str, limit: int = 40) -> int:
        """Press Tab until ``selector`` has the focus, as a keyboard user would; how many."""
        for n in range(limit):
            if self.page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return n
            self.press("Tab")
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

    keys = Keys(page)
    started = time.monotonic()
    # The phone rings: Alt+1, the number; the resident and their courtyard are recognised.
    keys.press("Alt+1")
    expect(page.locator("#id_phone")).to_be_focused()
    keys.type(live_demo.users["resident"].phone, delay=10)
    expect(page.get_by_test_id("caller-recognised")).to_be_visible()
    expect(page.locator("input[name=resident]:checked")).to_have_count(1)
    courtyard = page.locator("input[name=resident]:checked").get_attribute("data-place")
    expect(page.locator("#id_place")).to_have_value(courtyard or "")
    # The caller's own building is first in the building list: Alt+8, one Arrow-down.
    home = page.locator("#id_house option[data-home]")
    expect(home).to_have_count(1)
    keys.press("Alt+8")
    expect(page.locator("#id_house")).to_be_focused()
    keys.press("ArrowDown")
    building = home.get_attribute("value") or ""
    expect(page.locator("#id_house")).to_have_value(building)

    # What the caller says; the suggested category taken with Alt+U.
    keys.press("Alt+3")
    expect(page.locator("#id_summary")).to_be_focused()
    keys.type("楼道的路灯坏了好几天，晚上黑黢黢的，老年人上下楼怕摔", delay=5)
    use = page.get_by_test_id("triage-use")
    expect(use).to_be_visible(timeout=60_000)  # a new install trains its model first
    keys.press("Alt+U")
    expect(page.locator("#id_category")).to_have_value(use.get_attribute("data-category") or "")
    expect(page.locator("#id_category")).not_to_have_value("")
    expect(page.locator("#id_call_type")).to_have_value("report")  # a problem: a report
    shot("call")

    # Alt+O ends the call as a work order; the desk offers to dispatch it.
    with page.expect_navigation():
        keys.press("Alt+O")
    last = page.get_by_test_id("last-order")
    expect(last).to_be_visible()
    order = WorkOrder.objects.order_by("-pk").first()
    assert order is not None
    assert order.channel == "hotline"
    assert order.contact_phone_masked  # acting for the caller: their number, masked
    assert live_demo.users["resident"].phone not in order.description
    call = CallRecord.objects.get(work_order=order)
    assert call.resident_id is not None
    assert call.call_type == "report"
    assert str(order.place_id) == building  # the caller's building
    shot("order-registered")
    if last.get_attribute("data-state") == "registered":
        # Dispatched on the desk itself: the routing directory's organisation is chosen and the
        # button has the focus (Enter); with no suggestion the list has it (Arrow-down, Enter).
        organisation = page.get_by_test_id("dispatch-org")
        if organisation.input_value():
            expect(page.get_by_test_id("dispatch-last-order")).to_be_focused()
        else:
            expect(organisation).to_be_focused()
            keys.press("ArrowDown")
            expect(organisation).not_to_have_value("")
        with page.expect_navigation():
            keys.press("Enter")
        expect(page.get_by_test_id("last-order")).to_have_count(0)
        expect(page.locator("#id_phone")).to_be_focused()  # ready for the next call
    order.refresh_from_db()
    elapsed = time.monotonic() - started
    assert order.state == "dispatched", order.state
    assert order.lead_organisation_id is not None
    assert elapsed < 60, f"{elapsed:.0f} s from the ring to the dispatched order"
    print(f"ring to dispatched order: {elapsed:.1f} s, {keys.pressed} keys")  # noqa: T201
    shot("dispatched")
