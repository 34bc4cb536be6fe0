"""Helpers for the browser tests: languages, viewports, the demo's logins, signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PHONE = (390, 844)
DESK = (1440, 900)

CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Lang:
    """One of the two languages a user may browse in."""

    code: str  # Django's language code
    locale: str  # the browser's locale
    accept: str  # the Accept-Language header the browser sends
    html_lang: str  # what <html lang> must say

    def __str__(self) -> str:
        return self.code


ZH = Lang("zh-hans", "zh-CN", "zh-CN,zh;q=0.9", "zh-CN")
EN = Lang("en", "en-US", "en-US,en;q=0.9", "en")
LANGS = [ZH, EN]


# --- Translations ---------------------------------------------------------------------------
def translated(text: Any, lang: Lang) -> str:
    """What the app shows for ``text`` (a lazy gettext string) in ``lang``."""
    from django.utils import translation

    with translation.override(lang.code):
        return str(text)


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


# --- The demo community ----------------------------------------------------------------------
# Every demo login, in the order build_demo numbers their phones (13808330001 …).
DEMO_USERNAMES = [
    "resident",
    "commissioner",
    "commissioner2",
    "butler",
    "dispatcher",
    "handler",
    "unitmember",
    "committee",
    "leader",
    "admin",
]
# One per role.
ROLE_USERNAMES = [u for u in DEMO_USERNAMES if u != "commissioner2"]


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str  # Role value, as in data-role
    phone: str
    name: str

    def __str__(self) -> str:
        return self.username


@dataclass
class Demo:
    password: str
    users: dict[str, DemoUser]

    def place_pk(self, code: str) -> int:
        from sanan.places.models import Place

        return int(Place.objects.values_list("pk", flat=True).get(code=code))


# --- Journeys --------------------------------------------------------------------------------
def sign_in(page: Any, login: str, password: str) -> None:
    """Fill the sign-in form as a person would and submit it."""
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(login)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():  # the answer: home, or the form again with an error
        page.locator("form button[type=submit].primary").click()
