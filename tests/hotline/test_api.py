"""The hotline API: record calls, call-backs, the knowledge base and the trend; scoped like the
rest (404 out of sight, 403 in sight but not allowed), numbers only masked on the way out."""

from __future__ import annotations

import json
from collections.abc import Callable

from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.hotline import services
from sanan.workorders.models import WorkOrder
from tests.hotline.conftest import PHONE, Desk

Api = Callable[[User], APIClient]


def test_api__record_answered_call_and_read_it_back(desk: Desk, api_as: Api) -> None:
    client = api_as(desk.wo.dispatcher)
    response = client.post(
        "/api/v1/hotline/calls/",
        {"call_type": "consultation", "summary": f"问垃圾，回电{PHONE}", "outcome": "answered",
         "place": desk.wo.world.courtyard_a.pk, "phone": PHONE, "resident": desk.caller.pk,
         "knowledge": desk.garbage.pk, "duration_seconds": 40},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["resolved_first_contact"] is True
    assert body["caller_phone"] == "137****5678"
    assert body["resident_name"] == "李大爷"
    assert PHONE not in json.dumps(body)
    listed = client.get("/api/v1/hotline/calls/?outcome=answered").json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]


def test_api__work_order_call_with_category_code(desk: Desk, api_as: Api) -> None:
    response = api_as(desk.wo.dispatcher).post(
        "/api/v1/hotline/calls/",
        {"call_type": "report", "summary": "路灯不亮", "outcome": "work_order",
         "place": desk.wo.world.courtyard_a.pk, "phone": PHONE,
         "category": desk.wo.street_light.code},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    order = WorkOrder.objects.get(pk=response.json()["work_order"])
    assert response.json()["work_order_reference"] == order.reference


def test_api__refused_rule__400_with_code(desk: Desk, api_as: Api) -> None:
    response = api_as(desk.wo.dispatcher).post(
        "/api/v1/hotline/calls/",
        {"call_type": "help", "summary": "要回电", "outcome": "callback",
         "place": desk.wo.world.courtyard_a.pk},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["code"] == "call.callback_due_required"
    assert "callback_due_at" in response.json()["fields"]


def test_api__callbacks_and_called_back(desk: Desk, api_as: Api) -> None:
    client = api_as(desk.wo.dispatcher)
    created = client.post(
        "/api/v1/hotline/calls/",
        {"call_type": "help", "summary": "要回电", "outcome": "callback",
         "place": desk.wo.world.courtyard_a.pk, "callback_due_at": "2026-11-26T09:00:00+08:00"},
        format="json",
    ).json()  # fmt: skip
    assert [c["id"] for c in client.get("/api/v1/hotline/callbacks/").json()] == [created["id"]]
    done = client.post(f"/api/v1/hotline/calls/{created['id']}/called-back/", {}, format="json")
    assert done.status_code == 200
    assert done.json()["callback_done_at"]
    assert client.get("/api/v1/hotline/callbacks/").json() == []


def test_api__knowledge_create_search_edit_retire(desk: Desk, api_as: Api) -> None:
    client = api_as(desk.wo.dispatcher)
    created = client.post(
        "/api/v1/hotline/knowledge/",
        {"question": "社保卡丢了怎么办？", "answer": "到社区服务站挂失补办。",
         "place": desk.wo.community.pk},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    found = client.get("/api/v1/hotline/knowledge/?q=社保").json()["results"]
    assert [e["id"] for e in found] == [pk]
    edited = client.patch(
        f"/api/v1/hotline/knowledge/{pk}/", {"answer": "到社区服务站挂失补办，带身份证。"},
        format="json",
    )  # fmt: skip
    assert edited.json()["answer"].endswith("带身份证。")
    client.patch(f"/api/v1/hotline/knowledge/{pk}/", {"active": False}, format="json")
    assert client.get("/api/v1/hotline/knowledge/?q=社保").json()["results"] == []


def test_api__scope__404_outside_403_in_sight_not_allowed(desk: Desk, api_as: Api) -> None:
    outside = services.call_record(
        actor=desk.wo.admin, call_type="consultation", summary="别处", outcome="noted",
        place=desk.wo.world.city,
    )  # fmt: skip
    dispatcher = api_as(desk.wo.dispatcher)
    assert dispatcher.get(f"/api/v1/hotline/calls/{outside.pk}/").status_code == 404
    commissioner = api_as(desk.wo.commissioner_a)
    assert commissioner.get("/api/v1/hotline/calls/").status_code == 404
    assert commissioner.get(f"/api/v1/hotline/knowledge/{desk.garbage.pk}/").status_code == 404
    leader = api_as(desk.wo.leader)
    assert leader.get("/api/v1/hotline/trend/").status_code == 200
    refused = leader.post(
        "/api/v1/hotline/calls/",
        {"call_type": "consultation", "summary": "x", "outcome": "noted",
         "place": desk.wo.world.courtyard_a.pk},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 403
    assert (
        leader.patch(
            f"/api/v1/hotline/knowledge/{desk.garbage.pk}/", {"active": False}, format="json"
        ).status_code
        == 403
    )
