"""Hostile identifiers: numbers past the database's 64-bit range, negative and zero IDs, in
paths, bodies, lists and filters. Each answers 404 or a clear 400, never a 500 (SQLite cannot
even bind such a number; PostgreSQL compares it as a numeric)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.hostile.conftest import Hostile
from tests.hostile.support import nothing_written

pytestmark = pytest.mark.django_db

HUGE = 2**70  # past a 64-bit integer


def _api(h: Hostile, who: str = "dispatcher") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


def _web(h: Hostile, who: str = "dispatcher") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


PATHS = [
    f"/api/v1/orders/{HUGE}/",
    f"/api/v1/orders/{HUGE}/events/",
    f"/api/v1/registry/residents/{HUGE}/",
    f"/api/v1/registry/households/{HUGE}/",
    f"/api/v1/places/{HUGE}/",
    f"/api/v1/hotline/calls/{HUGE}/",
    f"/api/v1/org/visits/{HUGE}/",
    f"/orders/{HUGE}/",
    f"/registry/residents/{HUGE}/",
    f"/registry/households/{HUGE}/",
    f"/hotline/calls/{HUGE}/",
    f"/hotline/knowledge/{HUGE}/",
    f"/places/{HUGE}/",
    f"/org/ledger/visits/{HUGE}/",
]


@pytest.mark.parametrize("path", PATHS, ids=[p.replace(str(HUGE), "HUGE") for p in PATHS])
def test_id__past_64_bits_in_the_path__not_found(hostile: Hostile, path: str) -> None:
    client = _api(hostile) if path.startswith("/api/") else _web(hostile)
    assert client.get(path).status_code == 404


FILTERS = [
    f"/api/v1/orders/?place={HUGE}",
    f"/api/v1/registry/residents/?place={HUGE}",
    f"/api/v1/registry/residents/?household={HUGE}",
    f"/api/v1/orders/?page={HUGE}",
    f"/registry/?place={HUGE}",
    f"/orders/board/?courtyard={HUGE}",
    f"/hotline/calls/?place={HUGE}",
]


@pytest.mark.parametrize("path", FILTERS, ids=[p.replace(str(HUGE), "HUGE") for p in FILTERS])
def test_id__past_64_bits_in_a_filter__an_answer_not_a_crash(hostile: Hostile, path: str) -> None:
    client = _api(hostile) if path.startswith("/api/") else _web(hostile)
    response = client.get(path)
    assert response.status_code in (200, 400, 404), response.status_code


def _order_body(h: Hostile, **extra: Any) -> dict[str, Any]:
    return {"category": h.wo.street_light.pk, "description": "路灯不亮",
            "place": h.world.house_a.pk, **extra}  # fmt: skip


def _call_body(h: Hostile, **extra: Any) -> dict[str, Any]:
    return {"call_type": "consultation", "summary": "问路", "outcome": "noted",
            "place": h.world.courtyard_a.pk, **extra}  # fmt: skip


def _new_order_url(h: Hostile, action: str) -> str:
    return f"/api/v1/orders/{h.wo.order_in('registered').pk}/{action}/"


BODIES: dict[str, tuple[str, Callable[[Hostile], str], Callable[[Hostile], dict[str, Any]]]] = {
    "order-category": ("resident", lambda h: "/api/v1/orders/",
                       lambda h: _order_body(h, category=HUGE)),
    "order-place": ("resident", lambda h: "/api/v1/orders/", lambda h: _order_body(h, place=HUGE)),
    "order-place-negative": ("resident", lambda h: "/api/v1/orders/",
                             lambda h: _order_body(h, place=-5)),
    "order-place-zero": ("resident", lambda h: "/api/v1/orders/",
                         lambda h: _order_body(h, place=0)),
    "order-reporter": ("dispatcher", lambda h: "/api/v1/orders/",
                       lambda h: _order_body(h, reporter=HUGE)),
    "resident-place": ("commissioner_b", lambda h: "/api/v1/registry/residents/",
                       lambda h: {"place": HUGE, "name": "周八"}),
    "resident-household": ("commissioner_b", lambda h: "/api/v1/registry/residents/",
                           lambda h: {"household": HUGE, "name": "周八"}),
    "vehicle-place": ("commissioner_a", lambda h: "/api/v1/registry/vehicles/",
                      lambda h: {"plate": "川L12399", "place": HUGE}),
    "vehicle-owner": ("commissioner_a", lambda h: "/api/v1/registry/vehicles/",
                      lambda h: {"plate": "川L12399", "place": h.world.courtyard_a.pk,
                                 "owner": HUGE}),
    "rental-tenants": ("commissioner_a", lambda h: "/api/v1/registry/rentals/",
                       lambda h: {"place": h.world.unit_a.pk, "tenants": [HUGE]}),
    "rental-landlord": ("commissioner_a", lambda h: "/api/v1/registry/rentals/",
                        lambda h: {"place": h.world.unit_a.pk, "landlord": HUGE}),
    "call-place": ("dispatcher", lambda h: "/api/v1/hotline/calls/",
                   lambda h: _call_body(h, place=HUGE)),
    "call-resident": ("dispatcher", lambda h: "/api/v1/hotline/calls/",
                      lambda h: _call_body(h, resident=HUGE)),
    "call-knowledge": ("dispatcher", lambda h: "/api/v1/hotline/calls/",
                       lambda h: _call_body(h, knowledge=HUGE)),
    "call-duration": ("dispatcher", lambda h: "/api/v1/hotline/calls/",
                      lambda h: _call_body(h, duration_seconds=HUGE)),
    "knowledge-place": ("dispatcher", lambda h: "/api/v1/hotline/knowledge/",
                        lambda h: {"question": "问", "answer": "答", "place": HUGE}),
    "visit-household": ("commissioner_a", lambda h: "/api/v1/org/visits/",
                        lambda h: {"household": HUGE, "topics": "走访"}),
    "dispatch-lead": ("dispatcher", lambda h: _new_order_url(h, "dispatch"),
                      lambda h: {"lead_organisation": HUGE}),
    "dispatch-co-handlers": (
        "dispatcher",
        lambda h: _new_order_url(h, "dispatch"),
        lambda h: {"lead_organisation": h.wo.housing.pk, "co_handlers": [HUGE]},
    ),
    "merge-into": ("dispatcher", lambda h: _new_order_url(h, "merge"),
                   lambda h: {"into": HUGE}),
}  # fmt: skip


@pytest.mark.parametrize(("who", "url", "body"), list(BODIES.values()), ids=list(BODIES))
def test_id__past_64_bits_in_a_body__refused_nothing_written(
    hostile: Hostile, who: str, url: Any, body: Any
) -> None:
    path, data = url(hostile), body(hostile)
    with nothing_written():
        response = _api(hostile, who).post(path, data, format="json")
    assert response.status_code in (400, 404), response.content[:300]
    answer = response.json()
    assert answer["code"], answer
    assert len(answer["message"]) >= 8, answer


def test_id__board_dispatch_of_orders_past_64_bits__says_so_nothing_written(
    hostile: Hostile,
) -> None:
    with nothing_written():
        response = _web(hostile).post(
            "/orders/board/dispatch/",
            {"orders": [str(HUGE)], "lead_organisation": hostile.wo.housing.pk},
        )
    assert response.status_code == 302


def test_id__open311_request_id_past_64_bits__empty_answer(hostile: Hostile) -> None:
    response = Client().get(f"/open311/v2/requests.json?service_request_id={HUGE},12")
    assert response.status_code == 200, response.content[:300]
    assert response.json() == []


def test_id__lookups_past_64_bits__find_nothing_and_keep_the_other_values(
    hostile: Hostile,
) -> None:
    from sanan.registry.models import Resident

    wang = hostile.reg.wang
    assert list(Resident.objects.filter(pk__in=[HUGE, wang.pk])) == [wang]
    assert not Resident.objects.filter(pk__in=[HUGE, -HUGE]).exists()
    assert not Resident.objects.filter(household_id=HUGE).exists()
    assert list(Resident.objects.filter(household__in=[HUGE, wang.household_id])).count(wang) == 1
    assert Resident.objects.exclude(household_id=HUGE).filter(pk=wang.pk).exists()
