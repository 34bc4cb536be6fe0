"""The work-order API: the whole loop over HTTP, stable error codes, filters, the timeline,
and an OpenAPI schema that generates cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.places.coords import from_wgs84
from sanan.workorders import routing
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.seed import LEVEL_1_CODES
from sanan.workorders.state import State
from tests.workorders.test_intake import CENTRE_A
from tests.workorders.world import OrderWorld, at

ORDERS = "/api/v1/orders/"
Client = Callable[[User], APIClient]


def _submit(client: APIClient, wo: OrderWorld, headers: dict[str, str] | None = None,
            **extra: Any) -> Any:  # fmt: skip
    body = {
        "category": wo.street_light.pk,
        "description": "A1号门口的路灯不亮了",
        "place": wo.world.house_a.pk,
        "channel": "resident_form",
        **extra,
    }
    return client.post(ORDERS, body, format="json", headers=headers)


def _act(client: APIClient, order_id: int, action: str, **body: Any) -> Any:
    return client.post(f"{ORDERS}{order_id}/{action}/", body, format="json")


def test_categories_api__the_tree_with_deadlines_and_questions(
    wo: OrderWorld, api_as: Client
) -> None:
    rows = api_as(wo.resident).get("/api/v1/order-categories/").json()
    assert [r["code"] for r in rows if r["level"] == 1] == LEVEL_1_CODES
    by_code = {r["code"]: r for r in rows}
    light = by_code["street_light"]
    assert light["parent_id"] == by_code["infrastructure"]["id"]
    assert light["sla"]["code"] == "general"
    assert light["icon"] == "road"
    assert by_code["gas_leak"]["sla"]["emergency"] is True
    water = by_code["water_outage"]
    assert [(q["code"], q["datatype"], q["required"]) for q in water["questions"]] == [
        ("since", "datetime", True),
        ("scope", "singlevaluelist", True),
    ]
    assert [v["key"] for v in water["questions"][1]["values"]] == ["home", "building", "courtyard"]
    one = api_as(wo.resident).get(
        f"/api/v1/order-categories/{water['id']}/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert one.json()["name"] == "No water"


def test_orders_api__submit_and_idempotent_retry(wo: OrderWorld, api_as: Client) -> None:
    client = api_as(wo.resident)
    first = _submit(client, wo, headers={"Idempotency-Key": "phone-retry-1"})
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["state"] == "registered"
    assert body["courtyard"]["name"] == "A院"
    assert first["ETag"] == '"1"'
    again = client.post(
        ORDERS,
        {"category": wo.street_light.pk, "description": "A1号门口的路灯不亮了",
         "place": wo.world.house_a.pk, "channel": "resident_form"},
        format="json", HTTP_IDEMPOTENCY_KEY="phone-retry-1",
    )  # fmt: skip
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert WorkOrder.objects.filter(reporter=wo.resident).count() == 1


def test_orders_api__map_point_with_its_coordinate_system(wo: OrderWorld, api_as: Client) -> None:
    gcj = from_wgs84(CENTRE_A, "gcj02")
    client = api_as(wo.resident)
    point = {"lat": gcj.lat, "lng": gcj.lng, "system": "gcj02"}
    ok = _submit(client, wo, place=None, point=point)
    assert ok.status_code == 201
    assert ok.json()["place"]["name"] == "A院"
    wrong = _submit(client, wo, place=None, point={**point, "system": "utm"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "coordinates.unknown_system"
    assert "system" in wrong.json()["fields"]
    assert WorkOrder.objects.count() == 1  # the refused one left nothing behind


def test_orders_api__bad_input_is_400_with_fields(wo: OrderWorld, api_as: Client) -> None:
    response = _submit(api_as(wo.resident), wo, description="")
    assert response.status_code == 400
    assert response.json()["code"] == "validation.invalid"
    assert "description" in response.json()["fields"]
    answers = _submit(api_as(wo.resident), wo, category=wo.water_outage.pk, answers={})
    assert answers.status_code == 400
    assert answers.json()["code"] == "work_order.invalid_answers"


def test_orders_api__each_submission_is_checked_on_its_own(wo: OrderWorld, api_as: Client) -> None:
    """The intake form is checked by one serializer per process: nothing of one request's
    data or errors reaches the next."""
    client = api_as(wo.resident)
    no_text = _submit(client, wo, description="", title="门口")
    assert no_text.status_code == 400
    assert set(no_text.json()["fields"]) == {"description"}
    good = _submit(client, wo, description="楼道灯不亮")
    assert good.status_code == 201
    assert good.json()["title"] != "门口"
    assert good.json()["answers"] == {}
    bad_channel = _submit(client, wo, channel="fax")
    assert bad_channel.status_code == 400
    assert set(bad_channel.json()["fields"]) == {"channel"}
    not_an_object = client.post(ORDERS, data="[1]", content_type="application/json")
    assert not_an_object.status_code == 400
    assert not_an_object.json()["code"] == "validation.invalid"
    assert WorkOrder.objects.count() == 1


@pytest.mark.parametrize("path", [ORDERS, "/api/v1/audit/events/"])
def test_api_lists__count_up_to_the_cap_and_page_on_past_it(
    wo: OrderWorld, api_as: Client, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """An API list does not count a district's million orders or audit events to serve fifty:
    ``count`` stops at the cap with ``count_capped`` true, and ``next`` goes on to the end."""
    from sanan.core.pagination import CappedPageNumberPagination, CappedPaginator

    monkeypatch.setattr(CappedPaginator, "count_cap", 3)
    monkeypatch.setattr(CappedPageNumberPagination, "page_size", 2)
    for i in range(5):
        wo.submit(description=f"井盖松动 第{i}处")
    client = api_as(wo.dispatcher if path == ORDERS else wo.admin)
    statements: list[str] = []

    def noted(execute: Any, sql: str, *rest: Any) -> Any:
        statements.append(sql)
        return execute(sql, *rest)

    url: str | None = path
    seen: list[int] = []
    with connection.execute_wrapper(noted):
        first = client.get(path).json()
        while url:
            body = client.get(url).json()
            seen += [row.get("id") or row["seq"] for row in body["results"]]
            url = body["next"]
    assert first["count"] == 3
    assert first["count_capped"] is True
    assert not [q for q in statements if "COUNT(*)" in q and "workorders_workorder" in q]
    assert not [q for q in statements if "COUNT(*)" in q and "audit_auditevent" in q]
    assert len(seen) == len(set(seen)) >= 5
    # The browsable API's page links past the counted pages (DRF's assume a last page).
    browsed = client.get(path, {"page": 3}, HTTP_ACCEPT="text/html")
    assert browsed.status_code == 200
    assert "?page=2" in browsed.content.decode()


def test_orders_api__the_whole_loop_with_a_rehandling(wo: OrderWorld, api_as: Client) -> None:
    resident, desk = api_as(wo.resident), api_as(wo.dispatcher)
    handler = api_as(wo.handler)
    oid = _submit(resident, wo).json()["id"]
    assert handler.get(f"{ORDERS}{oid}/").status_code == 404  # not theirs yet

    steps = [
        (desk, "dispatch", {"lead_organisation": wo.housing.pk}, "dispatched"),
        (handler, "sign", {}, "signed"),
        (handler, "contact", {"public_note": "已电话联系", "method": "phone"}, "contacted"),
        (handler, "start", {}, "in_progress"),
        (handler, "finish", {"public_note": "已更换灯泡"}, "finished"),
        (resident, "callback", {"resolution": "not_solved", "satisfaction": "dissatisfied"},
         "dispatched"),
        (handler, "sign", {}, "signed"),
        (handler, "contact", {}, "contacted"),
        (handler, "finish", {"public_note": "已更换整套灯具"}, "finished"),
        (resident, "callback", {"resolution": "solved", "satisfaction": "satisfied"}, "callback"),
        (desk, "archive", {}, "archived"),
    ]  # fmt: skip
    for client, action, body, expected in steps:
        response = _act(client, oid, action, **body)
        assert response.status_code == 200, (action, response.json())
        assert response.json()["state"] == expected, action
    detail = resident.get(f"{ORDERS}{oid}/").json()
    assert detail["rehandle_count"] == 1
    assert detail["satisfaction"] == "satisfied"
    assert detail["allowed_actions"] == []


def test_orders_api__illegal_action_is_409_with_a_stable_code(
    wo: OrderWorld, api_as: Client
) -> None:
    order = wo.order_in(State.SIGNED)
    response = _act(api_as(wo.handler), order.pk, "sign")
    assert response.status_code == 409
    assert response.json()["code"] == "work_order.illegal_transition"


def test_orders_api__stale_version_is_409_conflict(wo: OrderWorld, api_as: Client) -> None:
    order = wo.order_in(State.DISPATCHED)
    client = api_as(wo.handler)
    seen = client.get(f"{ORDERS}{order.pk}/")["ETag"]
    assert _act(client, order.pk, "sign").status_code == 200
    stale = client.post(f"{ORDERS}{order.pk}/contact/", {}, format="json", HTTP_IF_MATCH=seen)
    assert stale.status_code == 409
    assert stale.json()["code"] == "work_order.conflict"
    bad = client.post(f"{ORDERS}{order.pk}/contact/", {}, format="json", HTTP_IF_MATCH="soon")
    assert bad.status_code == 400


def test_orders_api__return_without_a_reason_is_400(wo: OrderWorld, api_as: Client) -> None:
    order = wo.order_in(State.DISPATCHED)
    response = _act(api_as(wo.handler), order.pk, "return")
    assert response.status_code == 400
    assert response.json()["code"] == "work_order.return_needs_reason"
    assert "reason_code" in response.json()["fields"]
    ok = _act(api_as(wo.handler), order.pk, "return", reason_code="wrong_place", reason="不在辖区")
    assert ok.status_code == 200
    assert ok.json()["state"] == "returned"
    ruled = _act(
        api_as(wo.dispatcher), order.pk, "rule", decision="redispatch", reason="城管负责",
        lead_organisation=wo.urban.pk,
    )  # fmt: skip
    assert ruled.status_code == 200
    assert ruled.json()["lead_organisation"]["id"] == wo.urban.pk


def test_orders_api__outside_scope_is_404_inside_but_not_allowed_is_403(
    wo: OrderWorld, api_as: Client
) -> None:
    order = wo.submit()
    for action in ("dispatch", "sign", "note"):
        response = _act(api_as(wo.commissioner_b), order.pk, action, lead_organisation=1)
        assert response.status_code == 404, action
        assert response.json()["code"] == "not_found"
    assert api_as(wo.commissioner_b).get(f"{ORDERS}{order.pk}/").status_code == 404
    assert api_as(wo.commissioner_b).get(f"{ORDERS}{order.pk}/events/").status_code == 404
    forbidden = _act(
        api_as(wo.commissioner_a), order.pk, "dispatch", lead_organisation=wo.housing.pk
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "work_order.forbidden"


def test_orders_api__extension_request_and_decision(wo: OrderWorld, api_as: Client) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    asked = _act(api_as(wo.handler), order.pk, "request-extension", days=2, reason="等待配件")
    assert asked.status_code == 200
    assert asked.json()["pending_extension"]["days"] == 2
    decided = _act(api_as(wo.dispatcher), order.pk, "decide-extension", approve=True)
    assert decided.status_code == 200
    assert decided.json()["pending_extension"] is None
    assert decided.json()["paused_minutes"] == 900


def test_orders_api__timeline_hides_internal_notes_from_the_reporter(
    wo: OrderWorld, api_as: Client
) -> None:
    order = wo.order_in(State.DISPATCHED)
    _act(api_as(wo.dispatcher), order.pk, "note", internal_note="此户曾多次投诉", public_note="")
    _act(api_as(wo.handler), order.pk, "sign", note="明早处理")
    _act(
        api_as(wo.handler), order.pk, "contact", public_note="明早九点上门", internal_note="带梯子"
    )
    mine = api_as(wo.resident).get(f"{ORDERS}{order.pk}/events/").json()
    assert [e["action"] for e in mine] == ["submit", "dispatch", "sign", "contact"]
    assert all(e["internal_note"] == "" for e in mine)
    assert mine[3]["public_note"] == "明早九点上门"
    assert mine[3]["who"] == "测试区住建局"  # the organisation, not the clerk's name
    assert mine[0]["who"] == "居民 王阿姨"  # their own action
    staff = api_as(wo.handler).get(f"{ORDERS}{order.pk}/events/").json()
    assert [e["internal_note"] for e in staff if e["internal_note"]] == [
        "此户曾多次投诉", "明早处理", "带梯子"
    ]  # fmt: skip
    assert staff[3]["who"] == "住建 经办"


def test_orders_api__filters_shared_with_the_pages(
    wo: OrderWorld, api_as: Client, clock: time_machine.Coordinates
) -> None:
    a = wo.order_in(State.DISPATCHED)
    b = wo.submit(place=wo.world.house_b, category=wo.water_outage, description="家里停水了",
                  answers={"since": "2026-11-25T08:00", "scope": "home"})  # fmt: skip
    c = wo.submit(actor=wo.commissioner_a, channel="discovery")
    clock.move_to(at(2026, 11, 25, 12, 30))
    desk = api_as(wo.dispatcher)

    def ids(**params: Any) -> set[int]:
        response = desk.get(ORDERS, params)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(state="registered") == {b.pk, c.pk}
    assert ids(state=["registered", "dispatched"]) == {a.pk, b.pk, c.pk}
    assert ids(courtyard=wo.world.courtyard_b.pk) == {b.pk}
    infrastructure = Category.objects.get(code="infrastructure")
    assert ids(category=infrastructure.pk) == {a.pk, c.pk}
    assert ids(discovery="true") == {c.pk}
    assert ids(overdue="true") == {a.pk}
    assert ids(bucket="new") == {b.pk, c.pk}
    assert ids(q=a.reference) == {a.pk}
    assert ids(q="路灯") == {a.pk, c.pk}
    assert ids(place=wo.world.courtyard_a.pk) == {a.pk, c.pk}
    assert api_as(wo.resident).get(ORDERS, {"mine": "true"}).json()["count"] == 2
    row = desk.get(ORDERS, {"overdue": "true"}).json()["results"][0]
    assert row["overdue"] is True
    assert row["due_stage"] == "sign"


def test_orders_api__board_queue_route_and_calendar(wo: OrderWorld, api_as: Client) -> None:
    routing.routing_rule_create(
        actor=wo.fresh(wo.dispatcher), place=wo.community, lead_organisation=wo.housing,
        backstop=True,
    )  # fmt: skip
    order = wo.submit()
    board = api_as(wo.dispatcher).get(f"{ORDERS}board/").json()
    assert {b["code"]: b["count"] for b in board["buckets"]}["new"] == 1
    assert board["courtyards"] == [{"courtyard_id": wo.world.courtyard_a.pk, "name": "A院",
                                    "open": 1, "overdue": 0}]  # fmt: skip
    route = api_as(wo.dispatcher).get(f"{ORDERS}{order.pk}/route/").json()
    assert route["reason"] == "backstop"
    assert route["lead_organisation"]["id"] == wo.housing.pk
    assert api_as(wo.commissioner_a).get(f"{ORDERS}{order.pk}/route/").status_code == 403
    queue = api_as(wo.handler).get(f"{ORDERS}queue/").json()
    assert [b["code"] for b in queue["buckets"]][:2] == ["to_sign", "in_progress"]
    status = api_as(wo.leader).get("/api/v1/work-calendar/status/").json()
    assert status["missing_years"] == [2027]
    assert status["working_hours"] == ["09:00–12:00", "13:30–18:00"]


def test_orders_api__openapi_schema_has_no_warnings() -> None:
    patterns = [path("api/v1/", include("sanan.workorders.api_urls"))]
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
    paths = schema["paths"]
    assert "/api/v1/orders/{id}/return/" in paths
    assert "/api/v1/orders/{id}/sign/" in paths
    assert "Idempotency-Key" in str(paths["/api/v1/orders/"]["post"]["parameters"])


@pytest.mark.parametrize("action", ["sign", "dispatch", "callback"])
def test_orders_api__anonymous_request_is_401(wo: OrderWorld, action: str) -> None:
    order = wo.submit()
    response = APIClient().post(f"{ORDERS}{order.pk}/{action}/", {}, format="json")
    assert response.status_code == 401
