"""Rate limits per client address: sign-in attempts (password spraying across accounts) and
writes by people not signed in (Open311 posts, public forms). Over the limit: 429 with
``Retry-After`` and a message a person understands, in the shape the caller reads; other
addresses, signed-in work and reads go on; the next minute starts afresh."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.core.middleware import client_ip
from tests.personas import PERSONA_PASSWORD, World

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 25, 2, 0, 5, tzinfo=dt.UTC)


WRONG = "wrong-password-1"


def _sign_in(address: str, username: str, password: str = WRONG) -> Any:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)
    return client.post("/accounts/login/", {"username": username, "password": password})


@override_settings(RATE_SIGN_IN_PER_MINUTE=5)
def test_rate__sign_in_spraying_from_one_address__paused_with_a_page(world: World) -> None:
    with time_machine.travel(START, tick=False):
        users = [f"p-nobody-{i}" for i in range(5)]
        for name in users:  # five different accounts: no account lockout applies
            assert _sign_in("203.0.113.7", name).status_code == 200
        refused = _sign_in("203.0.113.7", "p-resident", PERSONA_PASSWORD)
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) == 55
        assert "Too many attempts from your address" in refused.content.decode()
        assert refused.wsgi_request.session.get("_auth_user_id") is None
        # Another address is not held back.
        assert _sign_in("198.51.100.9", "p-resident", PERSONA_PASSWORD).status_code == 302
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        assert _sign_in("203.0.113.7", "p-resident", PERSONA_PASSWORD).status_code == 302


@override_settings(RATE_SIGN_IN_PER_MINUTE=3)
def test_rate__token_sign_in__the_api_error_shape(world: World) -> None:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="203.0.113.8")
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json")
        refused = client.post(
            "/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json"
        )
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "request.throttled"
    assert "Please wait 55 seconds" in body["message"]


@override_settings(RATE_SIGN_IN_PER_MINUTE=2)
def test_rate__sign_in_page_reads__not_counted(world: World) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    with time_machine.travel(START, tick=False):
        for _ in range(10):
            assert client.get("/accounts/login/").status_code == 200


@override_settings(RATE_PUBLIC_WRITES_PER_MINUTE=3)
def test_rate__open311_posts_from_one_address__open311_error_list(world: World) -> None:
    client = Client(REMOTE_ADDR="203.0.113.10")
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            client.post("/open311/v2/requests.json", {"service_code": "x"})
        refused = client.post("/open311/v2/requests.json", {"service_code": "x"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "55"
    errors = refused.json()
    assert errors[0]["code"] == 429
    assert "Too many attempts" in errors[0]["description"] or "请" in errors[0]["description"]


@override_settings(RATE_PUBLIC_WRITES_PER_MINUTE=2)
def test_rate__signed_in_work__not_limited_as_public(world: World) -> None:
    client = APIClient(REMOTE_ADDR="203.0.113.11")
    client.force_login(User.objects.get(username="p-resident"))
    with time_machine.travel(START, tick=False):
        for _ in range(6):
            response = client.post("/api/v1/orders/", {}, format="json")
            assert response.status_code == 400  # validated, never throttled


@override_settings(RATE_PUBLIC_WRITES_PER_MINUTE=2)
def test_rate__api_token_clients__not_limited_as_public(world: World) -> None:
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=User.objects.get(username="p-resident"))
    client = APIClient(REMOTE_ADDR="203.0.113.12", HTTP_AUTHORIZATION=f"Token {token.key}")
    with time_machine.travel(START, tick=False):
        for _ in range(6):
            response = client.post("/api/v1/orders/", {}, format="json")
            assert response.status_code == 400  # authenticated by its token, validated
        wrong = APIClient(REMOTE_ADDR="203.0.113.12", HTTP_AUTHORIZATION="Token not-a-token")
        assert wrong.post("/api/v1/orders/", {}, format="json").status_code == 401


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_client_ip__behind_the_proxy__the_address_the_proxy_appended() -> None:
    from django.test import RequestFactory

    request = RequestFactory().get(
        "/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.12", REMOTE_ADDR="10.0.0.2"
    )
    assert client_ip(request) == "203.0.113.12"  # "1.2.3.4" is whatever the client sent


@override_settings(SECURE_PROXY_SSL_HEADER=None)
def test_client_ip__not_behind_a_proxy__forwarded_header_ignored() -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "10.0.0.2"
