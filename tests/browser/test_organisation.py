"""The organisation pages in a real browser: the committee member at a desk sees every courtyard
of the demo with its commissioner, removes one and sees the gap at once (map and list), then
fills it again; a commissioner on a phone records a visit to a household whose problem becomes a
work order in the same step, and once the department has finished it the outcome shows on the
ledger; a Party member whose post grants no role signs in on a phone and publishes a
commitment that residents then see on the public card. Pages are saved at phone and desk size for
people to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .support import DESK, PHONE, ZH, Demo, sign_in

pytestmark = pytest.mark.browser


def test_coverage__remove_a_commissioner_and_fill_the_gap(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    page = open_page(ZH, DESK)
    sign_in(page, live_demo.users["committee"].phone, live_demo.password)
    page.goto("/org/coverage/")
    expect(page.get_by_test_id("covered")).to_have_text("55/55")
    expect(page.get_by_test_id("gap-count")).to_have_text("0")
    page.screenshot(path=screenshot_dir / "org-coverage-desk.png", full_page=True)

    row = page.get_by_test_id("row-hq-c07")
    name = row.get_by_test_id("commissioner").inner_text().strip("✓ ")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.get_by_role("button", name="移除").click()
    expect(page.get_by_test_id("gap-count")).to_have_text("1")
    expect(page.get_by_test_id("gaps")).to_contain_text("7号院")
    expect(page.get_by_test_id("cell-hq-c07")).to_have_class("cell gap")
    expect(page.get_by_test_id("row-hq-c07").get_by_test_id("gap")).to_be_visible()

    row = page.get_by_test_id("row-hq-c07")
    row.locator("select[name=holder]").select_option(label=name)
    with page.expect_navigation():
        row.get_by_test_id("assign-hq-c07").click()
    expect(page.get_by_test_id("gap-count")).to_have_text("0")
    expect(page.get_by_test_id("row-hq-c07").get_by_test_id("commissioner")).to_contain_text(name)


def test_ledger__a_problem_found_on_a_visit_becomes_an_order_and_its_outcome_shows(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from sanan.accounts.models import User
    from sanan.organisation.models import Organisation, VisitProblem
    from sanan.places.models import Place, PlaceKind
    from sanan.registry.services import household_create
    from sanan.workorders import services as wo
    from sanan.workorders.models import Category

    courtyard = Place.objects.get(code="hq-c01")
    unit = Place.objects.filter(path__startswith=courtyard.path, kind=PlaceKind.UNIT).first()
    assert unit is not None
    household = household_create(actor="browser-tests", place=unit)
    street_light = Category.objects.get(code="street_light")

    page = open_page(ZH, PHONE)
    sign_in(page, live_demo.users["commissioner"].phone, live_demo.password)
    page.goto("/org/ledger/visit/")
    page.locator("#household").select_option(str(household.pk))
    page.locator("#topics").fill("了解老人近况，宣传防汛知识")
    page.locator("#problem-0").fill("楼道口路灯不亮")
    page.locator("#category-0").select_option(str(street_light.pk))
    page.screenshot(path=screenshot_dir / "org-visit-form-phone.png", full_page=True)
    with page.expect_navigation():
        page.get_by_test_id("save-visit").click()
    order = VisitProblem.objects.get(visit__household=household).work_order
    assert order is not None
    expect(page.get_by_test_id(f"problem-{order.visit_problem.pk}")).to_contain_text(
        order.reference
    )
    expect(page.get_by_test_id("outcome")).to_contain_text("已受理")

    desk = User.objects.get(username="dispatcher")
    handler = User.objects.get(username="handler")
    housing = Organisation.objects.get(code="dept-housing")
    order = wo.work_order_dispatch(actor=desk, order=order, lead_organisation=housing)
    for step in (wo.work_order_sign, wo.work_order_contact, wo.work_order_start):
        order = step(actor=User.objects.get(pk=handler.pk), order=order)
    wo.work_order_finish(actor=User.objects.get(pk=handler.pk), order=order, public_note="已换灯泡")
    page.reload()
    expect(page.get_by_test_id("outcome")).to_contain_text("✓")
    page.screenshot(path=screenshot_dir / "org-visit-phone.png", full_page=True)
    page.goto("/org/ledger/")
    expect(page.get_by_test_id("problems-collected")).to_have_text("1")
    expect(page.get_by_test_id("problems-solved")).to_have_text("1")


def test_commitment__a_party_member_without_a_role_granting_post_publishes_one(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from sanan.organisation.models import MemberProfile, Membership

    membership = (
        Membership.objects.filter(organisation__code="branch-hq", ended_on__isnull=True)
        .exclude(user__posts__post_type__grants_role__gt="")
        .exclude(user__username__in=list(live_demo.users))
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    assert membership is not None
    member = membership.user
    assert {a.role for a in member.role_assignments.all()} == {"party_member"}

    page = open_page(ZH, PHONE)
    sign_in(page, member.username, live_demo.password)
    expect(page.get_by_test_id("home")).to_have_attribute("data-role", "party_member")
    with page.expect_navigation():
        page.get_by_test_id("commitments-link").click()
    mine = page.get_by_test_id("my-commitments")
    mine.locator("summary").click()
    mine.locator("#k-title").fill("每月陪院内老人读一次报")
    mine.locator("#k-place").select_option(index=0)
    mine.locator("#k-due").fill("2099-12-31")
    page.screenshot(path=screenshot_dir / "org-member-publish-phone.png", full_page=True)
    with page.expect_navigation():
        mine.get_by_role("button", name="发布").click()
    expect(page.locator(".messages")).to_be_visible()
    page.goto("/")
    with page.expect_navigation():
        page.get_by_test_id("my-card-link").click()
    expect(page.locator("body")).to_contain_text("每月陪院内老人读一次报")

    # The card is public: a resident scanning the QR code needs no account.
    card = MemberProfile.objects.get(user=member)
    anonymous = open_page(ZH, PHONE)
    anonymous.goto(f"/org/card/{card.card_token}/")
    expect(anonymous.locator("body")).to_contain_text("每月陪院内老人读一次报")
    expect(anonymous.locator("body")).not_to_contain_text(member.phone_masked)
    anonymous.screenshot(path=screenshot_dir / "org-member-card-phone.png", full_page=True)
