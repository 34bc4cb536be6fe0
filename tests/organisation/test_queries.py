"""List pages and figures read in a fixed number of queries, however many rows they show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sanan.core import clock as sanan_clock
from sanan.organisation import services
from tests.factories import UserFactory
from tests.organisation.world import OrgWorld

pytestmark = pytest.mark.django_db


def _queries(get: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = get()
    assert getattr(response, "status_code", 200) == 200
    return len(ctx.captured_queries)


def _more(org: OrgWorld, n: int) -> None:
    """``n`` more of everything the pages list: visits with orders, commitments with comments
    and cards, Red Butlers with activities, events with attendance."""
    for i in range(n):
        member = UserFactory()
        services.membership_add(actor="tests", organisation=org.branch, user=member)
        services.post_assign(
            actor="tests",
            holder=member,
            post_type=org.commissioner_type,
            place=org.world.courtyard_a,
        )
        services.member_profile_ensure(actor="tests", user=member, place=org.world.courtyard_a)
        commitment = services.commitment_publish(
            actor="tests",
            member=member,
            place=org.world.courtyard_a,
            title=f"承诺{i}",
            due_on=sanan_clock.today() + dt.timedelta(days=3 + i),
        )
        services.commitment_comment(
            actor=org.fresh(org.wo.resident), commitment=commitment, body="好"
        )
        services.visit_record(
            actor=org.fresh(org.wo.commissioner_a),
            household=org.household_a,
            topics="走访",
            problems=[services.ProblemInput("灯坏了", category=org.wo.street_light)],
        )
        butler = services.butler_appoint(
            actor="tests", user=UserFactory(), origin="retiree", place=org.world.courtyard_a
        )
        services.butler_activity_record(actor="tests", butler=butler, kind="assist")
        start = sanan_clock.now() + dt.timedelta(days=1 + i)
        event = services.event_create(
            actor="tests",
            title=f"活动{i}",
            kind="meeting",
            place=org.world.area,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
        )
        services.event_sign_up(actor=org.fresh(org.wo.resident), event=event)


PAGES = [
    ("leader", "/org/"),
    ("leader", "/org/coverage/"),
    ("leader", "/org/ledger/"),
    ("leader", "/org/ledger/not-visited/?days=30"),
    ("leader", "/org/commitments/?state=all"),
    ("leader", "/org/overview/"),
    ("leader", "/org/butlers/"),
    ("leader", "/org/events/"),
    ("leader", "/api/v1/org/visits/"),
    ("leader", "/api/v1/org/commitments/"),
    ("leader", "/api/v1/org/butlers/"),
    ("leader", "/api/v1/org/coverage/"),
    ("committee", "/org/coverage/"),
]


@pytest.mark.parametrize(("who", "url"), PAGES)
def test_page__query_count_does_not_grow_with_rows(
    org: OrgWorld, web_as, who: str, url: str
) -> None:  # type: ignore[no-untyped-def]
    user = org.committee if who == "committee" else org.wo.leader
    _more(org, 1)
    client = web_as(user)
    client.get(url)  # warm caches (sessions, categories)
    few = _queries(lambda: client.get(url))
    _more(org, 3)
    many = _queries(lambda: client.get(url))
    assert many == few, url
