"""What each demo role sees in a real browser, in Chinese and in English.

Language-independent checks use <html lang>, data-testid and data-role; visible text is compared
with what Django's own translation of the same message gives, so the tests hold while the
Chinese catalogue is still being written, and get stricter (CJK text) as it fills in.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .support import (
    DESK,
    EN,
    LANGS,
    PHONE,
    ROLE_USERNAMES,
    ZH,
    Demo,
    Lang,
    has_cjk,
    sign_in,
    translated,
)

pytestmark = pytest.mark.browser


def _role_label(role: str, lang: Lang) -> str:
    from sanan.accounts.roles import Role

    return translated(Role(role).label, lang)


def _scope_heading(role: str, lang: Lang) -> str:
    from django.utils.translation import gettext_lazy as _

    if role == "commissioner":
        return translated(_("My courtyards"), lang)
    if role == "resident":
        return translated(_("My home"), lang)
    return translated(_("Where I work"), lang)


def _expect_text(page: Any, text: str, lang: Lang) -> None:
    """The page shows ``text`` as the app translates it. In Chinese, once the catalogue has a
    translation (CJK characters), that Chinese text must be on the page; until then Django falls
    back to the English text, which is then what the page shows."""
    if lang is ZH and has_cjk(text):
        assert text in page.locator("body").inner_text()
    else:
        expect(page.locator("body")).to_contain_text(text)


@pytest.mark.parametrize("lang", LANGS, ids=str)
@pytest.mark.parametrize("username", ROLE_USERNAMES)
def test_each_role_signs_in_and_sees_its_home(
    live_demo: Demo, open_page: Any, username: str, lang: Lang
) -> None:
    user = live_demo.users[username]
    # Every user signs in once by mobile number and once by username across the two languages.
    by_phone = (ROLE_USERNAMES.index(username) + LANGS.index(lang)) % 2 == 0
    page = open_page(lang)

    sign_in(page, user.phone if by_phone else user.username, live_demo.password)

    assert urlsplit(page.url).path == "/"
    expect(page.locator("html")).to_have_attribute("lang", lang.html_lang)
    home = page.get_by_test_id("home")
    expect(home).to_have_attribute("data-role", user.role)
    label = _role_label(user.role, lang)
    expect(home.get_by_test_id("role-label")).to_have_text(label)
    _expect_text(page, label, lang)
    expect(page.get_by_test_id("who")).to_have_text(user.name)
    expect(page.get_by_role("heading", name=_scope_heading(user.role, lang))).to_be_visible()
    if lang is EN:
        assert not has_cjk(label), f"the English page shows {label!r}"
        expect(page.get_by_role("button", name="中文")).to_be_visible()
    else:
        expect(page.get_by_role("button", name="English")).to_be_visible()


@pytest.mark.parametrize("lang", LANGS, ids=str)
def test_commissioner_sees_only_their_own_courtyard(
    live_demo: Demo, open_page: Any, lang: Lang
) -> None:
    """A commissioner whose patch includes courtyard 1 reaches the area through the
    breadcrumbs; its map and list show the courtyards of the patch only, and another
    courtyard's address is "not found", not "forbidden"."""
    from django.utils.translation import gettext_lazy as _

    from sanan.accounts.models import User
    from sanan.accounts.permissions import permissions_for
    from sanan.places.models import Place, PlaceKind

    user = User.objects.get(username=live_demo.users["commissioner"].username)
    roots = permissions_for(user).scope_paths("place.view")
    patch = sorted(
        Place.objects.filter(kind=PlaceKind.COURTYARD, path__in=roots).values_list("code", "name")
    )
    names = {name for _code, name in patch}
    assert "1号院" in names
    outside = Place.objects.filter(kind=PlaceKind.COURTYARD).exclude(path__in=roots).first()
    assert outside is not None

    page = open_page(lang)
    sign_in(page, "commissioner", live_demo.password)
    scope = page.locator("section.card").filter(
        has=page.get_by_role("heading", name=_scope_heading("commissioner", lang))
    )
    expect(scope.locator("a.tile")).to_have_count(len(patch))
    scope.locator("a.tile").filter(
        has=page.locator(".tile-name", has_text=re.compile(r"^1号院$"))  # not 11号院
    ).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("1号院")
    crumbs = page.get_by_role("navigation", name=translated(_("You are here"), lang))
    crumbs.get_by_role("link", name="红旗小区").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("红旗小区")
    area_map = page.get_by_test_id("place-map")
    expect(area_map).to_be_visible()
    expect(area_map.locator("a")).to_have_count(len(patch))
    for name in names:
        expect(area_map.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.locator("main").get_by_text(outside.name, exact=True)).to_have_count(0)

    response = page.goto(f"/places/{outside.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("main")).not_to_contain_text(outside.name)


def test_butler_opens_the_area_map_with_all_55_courtyards(live_demo: Demo, open_page: Any) -> None:
    page = open_page(EN)
    sign_in(page, live_demo.users["butler"].phone, live_demo.password)
    page.locator("main").get_by_role("link", name="红旗小区").first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("红旗小区")
    expect(page.get_by_role("heading", name="Map of the courtyards")).to_be_visible()
    area_map = page.get_by_test_id("place-map")
    links = area_map.locator("a")
    expect(links).to_have_count(55)
    names = {links.nth(i).get_attribute("aria-label") for i in range(55)}
    assert names == {f"{n}号院" for n in range(1, 56)}

    area_map.get_by_role("link", name="37号院", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("37号院")
    expect(page.get_by_role("heading", name="Boundary")).to_be_visible()


def test_language_switcher_goes_from_chinese_to_english_and_back(
    live_demo: Demo, open_page: Any
) -> None:
    page = open_page(ZH)
    sign_in(page, "leader", live_demo.password)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("home").locator(".eyebrow")).to_have_text(_role_label("leader", ZH))

    page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("home").locator(".eyebrow")).to_have_text("Community leader")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.reload()  # the choice sticks, whatever the browser asks for
    expect(html).to_have_attribute("lang", "en")

    page.get_by_role("button", name="中文").click()
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("home").locator(".eyebrow")).to_have_text(_role_label("leader", ZH))
    expect(page.get_by_role("button", name="English")).to_be_visible()


@pytest.mark.parametrize("lang", LANGS, ids=str)
def test_sign_out(live_demo: Demo, open_page: Any, lang: Lang) -> None:
    from django.utils.translation import gettext_lazy as _

    page = open_page(lang)
    sign_in(page, "dispatcher", live_demo.password)
    expect(page.get_by_test_id("home")).to_be_visible()

    page.get_by_role("button", name=translated(_("Sign out"), lang)).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_count(0)

    page.goto("/")  # the session is gone: home sends us back to sign in
    assert urlsplit(page.url).path == "/accounts/login/"
    expect(page.get_by_test_id("home")).to_have_count(0)


@pytest.mark.parametrize("lang", LANGS, ids=str)
def test_wrong_password_shows_an_error(live_demo: Demo, open_page: Any, lang: Lang) -> None:
    from sanan.accounts.forms import LoginForm

    page = open_page(lang)
    sign_in(page, live_demo.users["resident"].phone, "not-the-password")

    message = translated(LoginForm.error_messages["invalid_login"], lang)
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_text(message)
    _expect_text(page, message, lang)
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.get_by_test_id("home")).to_have_count(0)


def test_screenshots_phone_and_desk(live_demo: Demo, open_page: Any, screenshot_dir: Any) -> None:
    """Home and area map on a phone (390x844) and a desk (1440x900), saved for people to look
    at in test-results/screenshots/; on the phone nothing may stick out sideways."""
    for lang in LANGS:
        for size_name, size in (("phone", PHONE), ("desk", DESK)):
            page = open_page(lang, viewport=size)
            sign_in(page, "butler", live_demo.password)
            expect(page.get_by_test_id("home")).to_be_visible()
            shots = {"home": page.url}
            page.locator("main").get_by_role("link", name="红旗小区").first.click()
            expect(page.get_by_test_id("place-map").locator("a")).to_have_count(55)
            shots["area"] = page.url
            for name, url in shots.items():
                if page.url != url:
                    page.goto(url)
                path = screenshot_dir / f"{name}-{size_name}-{lang.locale}.png"
                page.screenshot(path=str(path), full_page=True)
                assert path.stat().st_size > 10_000
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} page scrolls sideways by {overflow}px at {size}"
            page.context.close()
