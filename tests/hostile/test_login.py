"""Hostile sign-in attempts: SQL and script in the login, NUL bytes, 10,000 characters,
direction overrides and look-alike letters, Arabic-Indic digits of a real number with the wrong
password, lists instead of strings. Nobody is signed in, the page says what a person needs
to know, what was typed comes back escaped, and nothing but the failure count is written."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sanan.accounts.models import User
from tests.hostile.conftest import Hostile

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
WRONG = "not-the-password-1"
NOT_RIGHT = "The mobile number/username or the password is not right"


def _sign_in(data: Any) -> tuple[Client, Any]:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    return client, client.post(LOGIN, data)


ATTEMPTS: dict[str, dict[str, Any]] = {
    "sql-tautology-login": {"username": "' OR '1'='1' --", "password": WRONG},
    "sql-tautology-password": {"username": "p-admin", "password": "' OR '1'='1' --"},
    "sql-union": {"username": "x' UNION SELECT password FROM accounts_user --", "password": "x"},
    "script-login": {"username": "<script>alert(1)</script>", "password": WRONG},
    "template-login": {"username": "{{ request.user.password }}", "password": WRONG},
    "rtl-override-login": {"username": "p-adm\u202enimda", "password": WRONG},
    "cyrillic-look-alike-admin": {"username": "p-аdmin", "password": WRONG},  # Cyrillic а
    "full-width-username-wrong-password": {"username": "ｐ－ａｄｍｉｎ", "password": WRONG},
    "arabic-indic-number-wrong-password": {
        "username": "".join(chr(0x660 + int(c)) for c in "13900000007"),
        "password": WRONG,
    },
    "ten-thousand-character-password": {"username": "p-admin", "password": "x" * 10_000},
    "empty-both": {"username": "", "password": ""},
    "blank-spaces": {"username": "   ", "password": "   "},
    "list-of-logins": {"username": ["p-admin", "p-leader"], "password": WRONG},
}

FORM_REFUSES: dict[str, dict[str, Any]] = {
    "nul-in-login": {"username": "p-ad\x00min", "password": WRONG},
    "nul-in-password": {"username": "p-admin", "password": "pass\x00word-1"},
    "ten-thousand-character-login": {"username": "长" * 10_000, "password": WRONG},
}


@pytest.mark.parametrize("data", list(ATTEMPTS.values()), ids=list(ATTEMPTS))
def test_login__hostile_attempt__nobody_signed_in_and_told_plainly(
    hostile: Hostile, data: dict[str, Any]
) -> None:
    client, response = _sign_in(data)
    assert response.status_code in (200, 403), response.status_code
    html = response.content.decode()
    assert client.session.get("_auth_user_id") is None
    assert 'name="password"' in html or response.status_code == 403
    if data["username"] and str(data["username"]).strip() and response.status_code == 200:
        assert NOT_RIGHT in html or "This field is required" in html
    assert "<script>alert(1)" not in html
    assert WRONG not in html
    if isinstance(data["password"], str) and len(data["password"]) > 6:
        assert data["password"] not in html


@pytest.mark.parametrize("data", list(FORM_REFUSES.values()), ids=list(FORM_REFUSES))
def test_login__malformed_field__refused_by_the_form(
    hostile: Hostile, data: dict[str, Any]
) -> None:
    client, response = _sign_in(data)
    assert response.status_code in (200, 400), response.status_code
    assert client.session.get("_auth_user_id") is None
    html = response.content.decode()
    assert "Null characters are not allowed" in html or "characters" in html or NOT_RIGHT in html


def test_login__hostile_attempts__change_no_account(hostile: Hostile) -> None:
    before = list(User.objects.order_by("pk").values_list("pk", "password", "is_active"))
    for data in [*ATTEMPTS.values(), *FORM_REFUSES.values()]:
        _sign_in(data)
    after = list(User.objects.order_by("pk").values_list("pk", "password", "is_active"))
    assert before == after
