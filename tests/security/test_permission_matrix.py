"""Every route of Sanan (walked from the URL resolver) against every role, the anonymous
visitor and the outsiders, held to the table in ``matrix.py``:

- nobody ever gets a server error;
- the anonymous visitor is sent to the sign-in page (pages) or refused with 401/403 (API),
  unless the route is public;
- each role gets 200 exactly where the table says, and never 200 elsewhere;
- for a route about one object of courtyard A, every outsider gets 404 — never 403 or 200 —
  or, where the request is refused before any object is looked up (a missing field), exactly
  the answer they get for an object that does not exist: nothing tells them it is there.

One world per module (``conftest.sec``); every request runs in a savepoint rolled back at once,
so a POST by one person changes nothing for the next.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client

from tests.security.matrix import (
    ADMIN,
    API,
    COURT,
    INSIDERS,
    LOGIN,
    PUBLIC,
    SIGN_IN,
    SPEC,
    Rule,
)
from tests.security.routes import all_routes, url_of
from tests.security.world import SecurityWorld

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _request(sec: SecurityWorld, who: str | None, method: str, url: str) -> Any:
    client = Client(raise_request_exception=False)
    if who is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = sec.sessions[who]
    with transaction.atomic():
        response = getattr(client, method)(url, **EN)
        transaction.set_rollback(True)
    return response


def _anon_kind(route: str, rule: Rule) -> str:
    if rule.anon:
        return rule.anon
    return API if route.startswith("api/") else LOGIN


def test_routes__every_route__is_in_the_table() -> None:
    routes = set(all_routes())
    unclassified = sorted(routes - set(SPEC))
    gone = sorted(set(SPEC) - routes)
    assert not unclassified, f"say in tests/security/matrix.py who may use: {unclassified}"
    assert not gone, f"no longer routes, remove from tests/security/matrix.py: {gone}"


@pytest.mark.parametrize("route", sorted(SPEC))
def test_route__anonymous__signs_in_first_unless_public(sec: SecurityWorld, route: str) -> None:
    rule = SPEC[route]
    url = url_of(route, sec.ids)
    kind = _anon_kind(route, rule)
    for method in ("get", "post"):
        response = _request(sec, None, method, url)
        status = response.status_code
        assert status < 500, (method, url, status)
        if kind == LOGIN:
            assert status == 302, (method, url, status)
            assert response["Location"].startswith("/accounts/login/?next="), response["Location"]
        elif kind == API:
            assert status in (401, 403), (method, url, status)
        elif kind == SIGN_IN:
            assert status in (200, 302), (method, url, status)
            if status == 302:
                assert response["Location"].startswith("/accounts/login/"), response["Location"]
        elif kind == ADMIN:
            assert status == 302
            assert response["Location"].startswith("/admin/login/")
        else:
            assert kind == PUBLIC
            location = response.get("Location", "")
            assert not location.startswith("/accounts/login/"), (method, url, location)


@pytest.mark.parametrize("route", sorted(r for r, rule in SPEC.items() if not rule.post_only))
def test_route__each_role__gets_exactly_what_the_table_says(sec: SecurityWorld, route: str) -> None:
    rule = SPEC[route]
    url = url_of(route, sec.ids)
    wrong = {}
    for role in INSIDERS:
        status = _request(sec, role, "get", url).status_code
        assert status < 500, (role, url, status)
        if (status == 200) != (role in rule.ok):
            wrong[role] = status
    assert not wrong, f"{url}: expected 200 for {sorted(rule.ok)}, got {wrong}"


@pytest.mark.parametrize("route", sorted(r for r, rule in SPEC.items() if rule.outsiders))
def test_route__outsiders__find_nothing_there(sec: SecurityWorld, route: str) -> None:
    rule = SPEC[route]
    url = url_of(route, sec.ids)
    absent = url_of(route, sec.ids, missing=True)
    method = "post" if rule.post_only else "get"
    for who in rule.outsiders:
        response = _request(sec, who, method, url)
        status = response.status_code
        if status == 404:
            continue
        assert status not in (200, 403), (who, method, url, status)
        assert status < 500, (who, method, url, status)
        missing = _request(sec, who, method, absent).status_code
        assert status == missing, f"{who} {method} {url}: {status}, but {missing} when absent"


# What courtyard A keeps to itself: its residents' names (an elderly woman living alone, a
# left-behind child), a hotline caller's question, what a commissioner noted on a home visit.
# No list, search or figure shows them to an outsider. (王建国 of household A is the landlord
# of a rental in courtyard B, so B's commissioner rightly sees his name there.)
PRIVATE_TO_A = ("王秀英", "王小明", "问垃圾收运时间", "聊了聊老人的身体")


def _lists() -> list[str]:
    return sorted(
        route
        for route, rule in SPEC.items()
        if not rule.post_only and not rule.outsiders and rule.anon != PUBLIC and rule.ok
    )


@pytest.mark.parametrize("route", _lists())
def test_route__lists_and_figures__show_outsiders_nothing_of_courtyard_a(
    sec: SecurityWorld, route: str
) -> None:
    url = url_of(route, sec.ids)
    for who in COURT:
        response = _request(sec, who, "get", url)
        assert response.status_code < 500, (who, url, response.status_code)
        body = response.content.decode("utf-8", "replace")
        for text in PRIVATE_TO_A:
            escaped = text.encode("unicode_escape").decode()
            assert text not in body, (who, url, text)
            assert escaped not in body, (who, url, text)
