"""Every organisation endpoint answers each role as the scoping says: the chart, coverage,
commitments and events to everyone around the place; the ledger and overview only to the roles
that hold ``visit.view`` (others: 404, never a 500); writes refused with 403/404."""

from __future__ import annotations

import pytest

from tests.organisation.world import OrgWorld

pytestmark = pytest.mark.django_db

ROLES = [
    "p-resident",
    "p-commissioner-a",
    "p-butler",
    "p-dispatcher",
    "p-handler",
    "p-committee",
    "p-leader",
    "p-admin",
    "p-unitmember",
]
LEDGER = {"p-commissioner-a", "p-dispatcher", "p-committee", "p-leader", "p-admin"}

OPEN = [
    "/api/v1/org/organisations/",
    "/api/v1/org/post-types/",
    "/api/v1/org/posts/",
    "/api/v1/org/coverage/",
    "/api/v1/org/commitments/",
    "/api/v1/org/butlers/",
    "/api/v1/org/events/",
]
LEDGER_ONLY = [
    "/api/v1/org/visits/",
    "/api/v1/org/ledger/",
    "/api/v1/org/ledger/not-visited/",
    "/api/v1/org/overview/",
]


@pytest.mark.parametrize("username", ROLES)
def test_api__reads_by_role(org: OrgWorld, api_as, persona, username: str) -> None:  # type: ignore[no-untyped-def]
    client = api_as(persona(username))
    for url in OPEN:
        assert client.get(url).status_code == 200, url
    for url in LEDGER_ONLY:
        expected = 200 if username in LEDGER else 404
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("username", ROLES)
def test_api__assign_post_by_role(org: OrgWorld, api_as, persona, username: str) -> None:  # type: ignore[no-untyped-def]
    response = api_as(persona(username)).post(
        "/api/v1/org/posts/",
        {
            "holder": org.member_a.pk,
            "post_type": "courtyard_commissioner",
            "place": org.world.courtyard_b.pk,
        },
        format="json",
    )
    allowed = {"p-committee", "p-leader", "p-admin"}
    if username in allowed:
        assert response.status_code == 201
    else:
        assert response.status_code in (403, 404), response.content
        assert response.json()["code"]


def test_api__anonymous_is_401_but_the_card_is_public(org: OrgWorld, client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/org/coverage/").status_code == 401
    assert client.get("/api/v1/org/cards/none/").status_code == 404


def test_pages__anonymous_are_sent_to_sign_in(org: OrgWorld, client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/org/", "/org/coverage/", "/org/ledger/", "/org/overview/", "/org/events/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response.url
