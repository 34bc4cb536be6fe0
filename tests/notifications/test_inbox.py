"""The inbox page and API, and webhook endpoint management: each person sees only their own
inbox; only the desk manages an organisation's webhooks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.notifications.models import InboxItem, WebhookEndpoint
from sanan.notifications.services import outbox_deliver_due
from sanan.workorders.state import State
from tests.workorders.world import OrderWorld


@pytest.fixture
def delivered(wo: OrderWorld) -> OrderWorld:
    wo.order_in(State.DISPATCHED)
    outbox_deliver_due()
    return wo


def test_inbox_api__lists_only_my_items_with_the_unread_count(
    delivered: OrderWorld, api_as: Callable[[User], APIClient]
) -> None:
    wo = delivered
    response = api_as(wo.handler).get("/api/v1/inbox/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["template"] for r in rows] == ["work_order.dispatched"]
    assert response["X-Unread-Count"] == "1"
    mine = {i.pk for i in InboxItem.objects.filter(user=wo.handler)}
    assert {r["id"] for r in rows} == mine


def test_inbox_api__mark_read__own_item_only(
    delivered: OrderWorld, api_as: Callable[[User], APIClient]
) -> None:
    wo = delivered
    item = InboxItem.objects.get(user=wo.handler)
    assert api_as(wo.resident).post(f"/api/v1/inbox/{item.pk}/read/").status_code == 404
    item.refresh_from_db()
    assert item.read_at is None
    response = api_as(wo.handler).post(f"/api/v1/inbox/{item.pk}/read/")
    assert response.status_code == 200
    assert response.json()["read_at"]
    assert api_as(wo.handler).get("/api/v1/inbox/unread-count/").json() == {"unread": 0}


def test_inbox_api__anonymous__401(client: Client) -> None:
    assert APIClient().get("/api/v1/inbox/").status_code in (401, 403)


def test_inbox_page__phone_first_list_and_htmx_mark_read(
    delivered: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    wo = delivered
    browser = web_as(wo.handler)
    item = InboxItem.objects.get(user=wo.handler)
    page = browser.get("/inbox/")
    assert page.status_code == 200
    html = page.content.decode()
    assert item.title in html
    assert 'data-testid="inbox-unread"' in html
    fragment = browser.post(f"/inbox/{item.pk}/read/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text
    assert 'hx-swap-oob="true"' in text
    item.refresh_from_db()
    assert item.read_at is not None
    # someone else's item is not found
    other = web_as(wo.resident).post(f"/inbox/{item.pk}/read/", HTTP_HX_REQUEST="true")
    assert other.status_code == 404


def test_inbox_page__anonymous__sent_to_sign_in(client: Client) -> None:
    response = client.get("/inbox/")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("who", "status"),
    [("dispatcher", 201), ("admin", 201), ("handler", 403), ("resident", 404), ("leader", 403)],
)
def test_webhook_api__create__desk_only(
    wo: OrderWorld, api_as: Callable[[User], APIClient], who: str, status: int
) -> None:
    user = getattr(wo, who)
    response = api_as(user).post(
        "/api/v1/webhook-endpoints/",
        {"organisation": wo.housing.pk, "url": "https://dept.example.cn/hook"},
        format="json",
    )
    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["secret"].startswith("whsec_")
        endpoint = WebhookEndpoint.objects.get(pk=body["id"])
        assert body["secret"] not in endpoint.secret_encrypted
        assert endpoint.secret() == body["secret"]
        listed = api_as(user).get("/api/v1/webhook-endpoints/").json()
        assert [e["id"] for e in listed] == [endpoint.pk]
        assert "secret" not in listed[0]
    else:
        code = "webhook_endpoint.forbidden" if status == 403 else "not_found"
        assert response.json()["code"] == code
        assert not WebhookEndpoint.objects.exists()


def test_webhook_api__bad_url__400_and_deactivate(
    wo: OrderWorld, api_as: Callable[[User], APIClient]
) -> None:
    desk = api_as(wo.dispatcher)
    bad = desk.post(
        "/api/v1/webhook-endpoints/",
        {"organisation": wo.housing.pk, "url": "ftp://x"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "webhook_endpoint.bad_url"
    made = desk.post(
        "/api/v1/webhook-endpoints/",
        {"organisation": wo.housing.pk, "url": "https://dept.example.cn/hook"},
        format="json",
    ).json()
    off = desk.patch(f"/api/v1/webhook-endpoints/{made['id']}/", {"active": False}, format="json")
    assert off.status_code == 200
    assert off.json()["active"] is False
    rotated = desk.post(f"/api/v1/webhook-endpoints/{made['id']}/rotate-secret/")
    assert rotated.json()["secret"] != made["secret"]
    assert api_as(wo.handler).get(f"/api/v1/webhook-endpoints/{made['id']}/").status_code == 404
