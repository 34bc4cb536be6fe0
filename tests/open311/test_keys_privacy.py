"""API keys (hashed, revocable, rate-limited, bound to a channel name; the command and the
admin) and what may leave through Open311 (public orders only, no personal data)."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from django.test import Client

from sanan.audit.models import AuditEvent
from sanan.core.privacy import mask_personal
from sanan.open311.models import ApiKey
from sanan.open311.services import IssuedKey, api_key_revoke, api_key_rotate, api_key_update
from sanan.workorders.models import Category
from tests.open311.helpers import BASE, errors_of, json_of
from tests.workorders.world import OrderWorld

POST = {"service_code": "street_light", "lat": "30.6605", "long": "104.0605"}


def _ids(client: Client, query: str = "") -> list[int]:
    return [
        int(r["service_request_id"]) for r in json_of(client.get(f"{BASE}/requests.json?{query}"))
    ]


def test_key__stored_hashed_and_audited(wo: OrderWorld, issued: IssuedKey) -> None:
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.key.startswith(f"s311_{row.prefix}_")
    assert issued.key not in row.key_hash
    assert len(row.key_hash) == 64
    assert row.user.display_name == "城管通"
    event = AuditEvent.objects.filter(action="open311_key.created").latest("seq")
    assert issued.key not in str(event.data)


def test_key__revoked_and_rotated_keys_are_refused(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    rotated = api_key_rotate(actor=wo.admin, api_key=issued.api_key)
    old = client.post(f"{BASE}/requests.json", {"api_key": issued.key, **POST})
    assert old.status_code == 403
    assert client.post(f"{BASE}/requests.json", {"api_key": rotated.key, **POST}).status_code == 200
    api_key_revoke(actor=wo.admin, api_key=rotated.api_key, reason="app retired")
    gone = client.post(f"{BASE}/requests.xml", {"api_key": rotated.key, **POST})
    assert gone.status_code == 403
    assert errors_of(gone, "xml")[0]["code"] == "403"
    # a bad key on a read is refused too, rather than silently ignored
    assert client.get(f"{BASE}/services.json?api_key=nonsense").status_code == 403


def test_key__rate_limited_per_minute(
    client: Client, wo: OrderWorld, issued: IssuedKey, clock: Any
) -> None:
    api_key_update(actor=wo.admin, api_key=issued.api_key, rate_per_minute=3)
    codes = [client.get(f"{BASE}/services.json?api_key={issued.key}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get(f"{BASE}/services.xml?api_key={issued.key}")
    assert errors_of(limited, "xml")[0]["code"] == "429"
    clock.shift(60)  # a new minute
    assert client.get(f"{BASE}/services.json?api_key={issued.key}").status_code == 200


def test_command__create_list_rotate_revoke(wo: OrderWorld, client: Client) -> None:
    out = io.StringIO()
    call_command(
        "open311", "keys", "create", "--name", "随手拍", "--jurisdiction", "t-community",
        "--rate", "30", stdout=out,
    )  # fmt: skip
    key = next(line for line in out.getvalue().splitlines() if line.startswith("api_key: "))[9:]
    assert client.post(f"{BASE}/requests.json", {"api_key": key, **POST}).status_code == 200
    listing = io.StringIO()
    call_command("open311", "keys", "list", stdout=listing)
    assert "随手拍" in listing.getvalue()
    assert "30/min" in listing.getvalue()
    assert key not in listing.getvalue()
    call_command("open311", "keys", "revoke", "随手拍", stdout=io.StringIO())
    assert client.post(f"{BASE}/requests.json", {"api_key": key, **POST}).status_code == 403


def test_admin__lists_keys_without_secrets(wo: OrderWorld, issued: IssuedKey) -> None:
    admin = Client()
    admin.force_login(wo.admin)
    page = admin.get("/admin/open311/apikey/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "城管通" in body
    assert issued.key not in body
    assert issued.api_key.key_hash not in body


def test_privacy__private_categories_and_anonymous_orders_stay_inside(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    public = wo.submit()
    anonymous = wo.submit(anonymous=True)
    dispute = wo.submit(
        category=Category.objects.get(code="leak_dispute"), description="楼上漏水，张三不管"
    )
    assert _ids(client) == [public.pk]
    assert client.get(f"{BASE}/requests/{dispute.pk}.json").status_code == 404
    assert client.get(f"{BASE}/requests/{anonymous.pk}.json").status_code == 404
    # a client sees what it posted itself, whatever the category, but not other clients
    own = json_of(
        client.post(
            f"{BASE}/requests.json",
            {"api_key": issued.key, "service_code": "pet_dispute", "lat": "30.6605",
             "long": "104.0605"},
        )
    )[0]["service_request_id"]  # fmt: skip
    assert int(own) not in _ids(client)
    assert int(own) in _ids(client, f"api_key={issued.key}")


def test_privacy__no_personal_fields_leave(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    client.post(
        f"{BASE}/requests.json",
        {"api_key": issued.key, **POST, "first_name": "Wang", "last_name": "Fang",
         "email": "fang@example.org", "phone": "13700001111", "device_id": "dev-1",
         "account_id": "acc-9",
         "description": "身份证 511102199001011234，电话 0833-2123456，车 川L12345"},
    )  # fmt: skip
    for fmt in ("json", "xml"):
        body = client.get(f"{BASE}/requests.{fmt}?extensions=true").content.decode()
        for secret in (
            "Wang",
            "Fang",
            "fang@example.org",
            "13700001111",
            "dev-1",
            "acc-9",
            "511102199001011234",
            "2123456",
            "川L12345",
            "王阿姨",
            "13900000001",
        ):
            assert secret not in body, (fmt, secret)  # fmt: skip
        assert "511***********1234" in body


def test_mask_personal__numbers_people_type() -> None:
    assert mask_personal("打 138 1234 5678 或 +86-139-1234-5678") == "打 138****5678 或 139****5678"
    assert mask_personal("１３８１２３４５６７８") == "138****5678"
    assert mask_personal("51110219900101123x") == "511***********123x"
    assert mask_personal("A1号门口 3 盏路灯") == "A1号门口 3 盏路灯"


def test_admin__issues_a_key_shown_once(wo: OrderWorld, client: Client) -> None:
    admin = Client()
    admin.force_login(wo.admin)
    response = admin.post(
        "/admin/open311/apikey/add/",
        {"name": "街道App", "jurisdiction": wo.community.pk, "rate_per_minute": 10, "note": ""},
        follow=True,
    )
    assert response.status_code == 200
    row = ApiKey.objects.get(name="街道App")
    shown = [str(m) for m in response.context["messages"]]
    (message,) = [m for m in shown if "s311_" in m]
    key = message[message.index("s311_") :]
    assert client.post(f"{BASE}/requests.json", {"api_key": key, **POST}).status_code == 200
    assert row.rate_per_minute == 10
    again = admin.get(f"/admin/open311/apikey/{row.pk}/change/").content.decode()
    assert key not in again
