"""The work-order loop in a real browser, as the people who live it: a resident reports on a
phone, the dispatcher dispatches from the board at a desk, the housing department's handler
signs, makes contact and finishes; the resident is not satisfied, the order goes back; it is
finished again, the resident is satisfied, and the desk archives it. A screenshot per step goes
to test-results/screenshots/workorder-*.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .support import DESK, EN, PHONE, ZH, Demo, Lang, sign_in

pytestmark = pytest.mark.browser


class Journey:
    def __init__(self, demo: Demo, open_page: Any, shots: Path) -> None:
        self.demo = demo
        self.open_page = open_page
        self.shots = shots
        self.n = 0

    def page_for(self, username: str, lang: Lang, viewport: tuple[int, int]) -> Any:
        page = self.open_page(lang, viewport=viewport)
        sign_in(page, username, self.demo.password)
        return page

    def shot(self, page: Any, name: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.shots / f"workorder-{self.n:02d}-{name}.png"), full_page=True)


def _state(page: Any) -> str:
    return str(page.get_by_test_id("order").get_attribute("data-state"))


def _handle(j: Journey, order_url: str, ref: str, round_: int) -> None:
    """The department's handler at a desk: queue → sign → first contact → finish."""
    page = j.page_for("handler", EN, DESK)
    page.get_by_test_id("queue-link").click()
    expect(page.get_by_test_id("queue")).to_be_visible()
    row = page.get_by_test_id("queue-row").filter(has_text=ref)
    expect(row).to_be_visible()
    expect(row.locator(".wo-due")).to_contain_text(re.compile(r"Due in \d+ (working )?(hour|day)"))
    j.shot(page, f"handler-queue-{round_}")
    with page.expect_navigation():
        row.get_by_role("button").click()  # sign for, one click
    assert page.url.endswith(order_url)
    assert _state(page) == "signed"

    page.get_by_test_id("action-contact").click()  # the form opens in place (HTMX)
    panel = page.get_by_test_id("action-panel")
    expect(panel).to_have_attribute("data-action", "contact")
    panel.locator("textarea[name=public_note]").fill("您好，我们已收到，明天上午上门查看。")
    panel.locator("textarea[name=internal_note]").fill("需要带梯子和灯泡")
    j.shot(page, f"handler-contact-{round_}")
    panel.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("order")).to_have_attribute("data-state", "contacted")

    page.get_by_test_id("action-finish").click()
    panel = page.get_by_test_id("action-panel")
    expect(panel).to_have_attribute("data-action", "finish")
    panel.get_by_test_id("confirm-action").click()  # without the reply: refused, said why
    expect(panel.get_by_test_id("field-error-public_note")).to_be_visible()
    reply = "路灯已更换灯泡，现已正常照明。" if round_ == 1 else "已更换整套灯具并检修线路。"
    panel.locator("textarea[name=public_note]").fill(reply)
    panel.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("order")).to_have_attribute("data-state", "finished")
    expect(page.get_by_test_id("timeline")).to_contain_text("需要带梯子")  # staff see notes
    j.shot(page, f"handler-finished-{round_}")
    page.context.close()


def _rate(j: Journey, order_url: str, ref: str, resolution: str, satisfaction: str) -> Any:
    page = j.page_for("resident", ZH, PHONE)
    page.get_by_test_id("my-requests-link").click()
    card = page.get_by_test_id("my-order").filter(has_text=ref)
    expect(card).to_have_attribute("data-state", "finished")
    card.locator("a").click()
    rate = page.get_by_test_id("rate")
    expect(rate).to_be_visible()
    expect(page.get_by_test_id("timeline")).not_to_contain_text("需要带梯子")  # internal
    rate.locator(f"input[name=resolution][value={resolution}]").check()
    rate.locator(f"input[name=satisfaction][value={satisfaction}]").check()
    j.shot(page, f"resident-rates-{satisfaction}")
    with page.expect_navigation():
        rate.get_by_test_id("send-rating").click()
    assert page.url.endswith(order_url)
    return page


def _photo() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (40, 48, 64))
    ImageDraw.Draw(image).ellipse((260, 80, 380, 200), fill=(250, 220, 90))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def test_work_order_journey__report_dispatch_handle_rate_rehandle_archive(
    live_demo: Demo, open_page: Any, screenshot_dir: Path, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # the photo goes to a scratch directory
    j = Journey(live_demo, open_page, screenshot_dir)

    # 1. The resident, on a phone, reports a broken street light.
    page = j.page_for("resident", ZH, PHONE)
    page.get_by_test_id("report-problem").click()
    form = page.get_by_test_id("report-form")
    expect(form).to_be_visible()
    body_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body_px >= 18
    assert page.get_by_test_id("courtyard-select").evaluate("e => e.value")  # home courtyard
    page.get_by_test_id("category-group-infrastructure").click()
    page.locator("input[data-code=street_light]").check()
    target = page.locator("label:has(input[data-code=street_light])").bounding_box()
    assert target is not None
    assert target["height"] >= 44
    page.locator("textarea[name=description]").fill("3号楼门口的路灯不亮了，晚上很黑。")
    page.get_by_test_id("photos").set_input_files(
        files=[{"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
    )
    j.shot(page, "resident-report-form")
    with page.expect_navigation():
        page.get_by_test_id("submit-report").click()
    order_url = re.sub(r"^https?://[^/]+", "", page.url)
    assert re.fullmatch(r"/orders/\d+/", order_url)
    assert _state(page) == "registered"
    expect(page.get_by_test_id("photo")).to_have_count(1)
    # It loads (a busy machine may take a moment): the page's own photo, decoded.
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-testid=photo]');"
        " return img.complete && img.naturalWidth > 0; }",
        timeout=15_000,
    )
    ref = page.locator(".wo-order-head .eyebrow").inner_text().split(" ")[0]
    j.shot(page, "resident-registered")
    page.context.close()

    # 2. The dispatcher, at a desk, dispatches it from the board to the housing department.
    page = j.page_for("dispatcher", EN, DESK)
    page.get_by_test_id("board-link").click()
    row = page.get_by_test_id("board-row").filter(has_text=ref)
    expect(row).to_be_visible()
    row.locator("input[type=checkbox]").check()
    page.get_by_test_id("bulk-organisation").select_option(label="市中区住房和城乡建设局")
    j.shot(page, "dispatcher-board")
    with page.expect_navigation():
        page.get_by_test_id("bulk-dispatch").click()
    expect(page.locator(".messages")).to_contain_text("1 order dispatched")
    page.goto(order_url)
    assert _state(page) == "dispatched"
    j.shot(page, "dispatcher-dispatched")
    page.context.close()

    # 3. The handler signs, makes contact and finishes, with a reply.
    _handle(j, order_url, ref, 1)

    # 4. The resident is dissatisfied: the order goes back to the department.
    page = _rate(j, order_url, ref, "partly", "dissatisfied")
    assert _state(page) == "dispatched"
    j.shot(page, "resident-rehandling")
    page.context.close()

    # 5. Re-handled and finished again.
    _handle(j, order_url, ref, 2)

    # 6. Now the resident is satisfied.
    page = _rate(j, order_url, ref, "solved", "satisfied")
    assert _state(page) == "callback"
    j.shot(page, "resident-satisfied")
    page.context.close()

    # 7. The desk archives it.
    page = j.page_for("dispatcher", EN, DESK)
    page.goto(order_url)
    page.get_by_test_id("action-archive").click()
    panel = page.get_by_test_id("action-panel")
    expect(panel).to_have_attribute("data-action", "archive")
    panel.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("order")).to_have_attribute("data-state", "archived")
    j.shot(page, "dispatcher-archived")
    page.context.close()

    # The resident sees the whole story, finished.
    page = j.page_for("resident", ZH, PHONE)
    page.goto(order_url)
    assert _state(page) == "archived"
    expect(page.get_by_test_id("timeline")).to_contain_text("已更换整套灯具并检修线路。")
    j.shot(page, "resident-archived")
