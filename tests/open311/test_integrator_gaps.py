"""What a city's integrator found checking the endpoint against the specification: a description
of up to 4,000 characters, and a request routed on arrival that the dispatcher finds on the
board's lists without filtering by channel."""

from __future__ import annotations

import io
from importlib import import_module
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from sanan.accounts.models import RoleAssignment
from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import ROLE_ACTIONS, Role
from sanan.core.errors import DomainError
from sanan.open311.services import IssuedKey
from sanan.workorders.models import Channel, WorkOrder
from sanan.workorders.routing import routing_rule_create
from sanan.workorders.selectors import work_order_board
from tests.open311.helpers import BASE, errors_of, json_of, xml_of
from tests.workorders.world import OrderWorld

POINT_A = {"lat": "30.6605", "long": "104.0605"}  # inside courtyard A (WGS-84)


def post(client: Client, issued: IssuedKey, fmt: str = "json", **data: Any) -> Any:
    payload = {"api_key": issued.key, "service_code": "street_light", **POINT_A, **data}
    return client.post(f"{BASE}/requests.{fmt}", payload)


# --- description: 4,000 characters, as the specification allows ------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_description__4000_characters_are_kept_whole(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    text = ("A1院北门路灯不亮，晚上很黑。" * 300)[:4000]
    response = post(client, issued, fmt, description=text)
    assert response.status_code == 200, response.content
    if fmt == "json":
        request_id = json_of(response)[0]["service_request_id"]
    else:
        request_id = xml_of(response).findtext("request/service_request_id")
    order = WorkOrder.objects.get(pk=int(request_id))
    assert order.description == text
    (read,) = json_of(client.get(f"{BASE}/requests/{request_id}.json"))
    assert len(read["description"]) == 4000


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_description__4001_characters_are_a_400_and_nothing_is_written(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    response = post(client, issued, fmt, description="灯" * 4001)
    assert response.status_code == 400
    (error,) = errors_of(response, fmt)
    assert error["code"] == "400"
    assert "4000" in error["description"]
    assert not WorkOrder.objects.filter(channel=Channel.OPEN311).exists()


def test_description__the_other_channels_keep_their_2000(wo: OrderWorld) -> None:
    """Only the Open311 channel takes the specification's 4,000: the resident's phone form
    and the desk keep the shorter limit their screens are made for."""
    wo.submit(description="灯" * 2000)
    with pytest.raises(DomainError) as refused:
        wo.submit(description="灯" * 2001)
    assert refused.value.code == "work_order.text_too_long"


# --- the dispatcher's board -------------------------------------------------------------------


def test_board__a_request_routed_on_arrival_is_in_a_list_of_the_board(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    routing_rule_create(
        actor=wo.admin, category=wo.street_light, place=wo.community, lead_organisation=wo.housing
    )
    response = post(client, issued, description="A院路灯不亮")
    request_id = int(json_of(response)[0]["service_request_id"])
    order = WorkOrder.objects.get(pk=request_id)
    assert order.state == "dispatched"  # routed at intake: never in "new"

    counts = {b.code: b.count for b in work_order_board(user=wo.fresh(wo.dispatcher)).buckets}
    assert counts["new"] == 0
    assert counts["with_departments"] == 1

    desk = Client()
    desk.force_login(wo.dispatcher)
    board = desk.get("/orders/board/").content.decode()
    assert 'data-testid="bucket-with_departments"' in board
    listed = desk.get("/orders/board/?bucket=with_departments").content.decode()
    assert f'data-order="{order.pk}"' in listed


def test_board__the_list_follows_the_order_out_when_it_is_finished(
    wo: OrderWorld, issued: IssuedKey
) -> None:
    dispatched = wo.order_in("dispatched")
    in_progress = wo.order_in("in_progress")
    finished = wo.order_in("finished")
    registered = wo.submit()
    dispatcher = wo.fresh(wo.dispatcher)
    counts = {b.code: b.count for b in work_order_board(user=dispatcher).buckets}
    assert counts["with_departments"] == 2
    assert counts["new"] == 1
    assert counts["awaiting_rating"] == 1
    desk = Client()
    desk.force_login(wo.dispatcher)
    listed = desk.get("/orders/board/?bucket=with_departments").content.decode()
    assert f'data-order="{dispatched.pk}"' in listed
    assert f'data-order="{in_progress.pk}"' in listed
    assert f'data-order="{finished.pk}"' not in listed
    assert f'data-order="{registered.pk}"' not in listed


def test_board__a_filter_alone__lists_every_order_it_matches_whatever_its_state(
    wo: OrderWorld, issued: IssuedKey, client: Client
) -> None:
    by_phone = wo.submit()  # no routing rule yet: it waits in "new"
    routing_rule_create(
        actor=wo.admin, category=wo.street_light, place=wo.community, lead_organisation=wo.housing
    )
    posted = int(json_of(post(client, issued, description="A院路灯不亮"))[0]["service_request_id"])
    desk = Client()
    desk.force_login(wo.dispatcher)
    listed = desk.get("/orders/board/?channel=open311").content.decode()
    assert f'data-order="{posted}"' in listed  # dispatched on arrival, not in "new"
    assert f'data-order="{by_phone.pk}"' not in listed
    unfiltered = desk.get("/orders/board/").content.decode()
    assert f'data-order="{by_phone.pk}"' in unfiltered  # the default list is still "new"
    assert f'data-order="{posted}"' not in unfiltered


def test_board__a_handler_has_no_board(client: Client, wo: OrderWorld) -> None:
    desk = Client()
    desk.force_login(wo.handler)
    assert desk.get("/orders/board/?bucket=with_departments").status_code == 404


# --- the client's service account: the open311_client role ------------------------------------


def test_role__a_new_keys_account_holds_open311_client_only(
    wo: OrderWorld, issued: IssuedKey
) -> None:
    account = issued.api_key.user
    assert list(account.role_assignments.values_list("role", "place")) == [
        (Role.OPEN311_CLIENT, wo.community.pk)
    ]
    perms = permissions_for(account)
    assert perms.has("work_order.create")
    for action in ("resident.view", "place.view", "work_order.rate", "work_order.view"):
        assert not perms.has(action), action
    assert ROLE_ACTIONS[Role.OPEN311_CLIENT] == frozenset({"work_order.create"})


def test_role__the_account_posts_reads_its_own_and_adds_a_photo_note(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    """Everything an Open311 client does, with only that role: post, read back (its own
    request in a private category too), and post an update with a photo."""
    private = post(client, issued, service_code="pet_dispute", description="楼上的狗整夜叫")
    request_id = json_of(private)[0]["service_request_id"]
    assert client.get(f"{BASE}/requests/{request_id}.json").status_code == 404  # not public
    read = client.get(f"{BASE}/requests/{request_id}.json", {"api_key": issued.key})
    assert json_of(read)[0]["service_request_id"] == request_id
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(photo, "JPEG")
    photo.name = "lamp.jpg"
    photo.seek(0)
    update = client.post(
        f"{BASE}/servicerequestupdates.json",
        {
            "api_key": issued.key,
            "service_request_id": request_id,
            "update_id": "ext-1",
            "description": "晚上七点后完全不亮",
            "media": photo,
        },
    )
    assert update.status_code == 200, update.content
    order = WorkOrder.objects.get(pk=int(request_id))
    assert order.attachments.count() == 1


def test_role__the_migration_moves_existing_keys_off_the_resident_role(
    wo: OrderWorld, issued: IssuedKey
) -> None:
    from django.apps import apps

    forwards = import_module("sanan.open311.migrations.0002_keys_open311_client_role").forwards
    account = issued.api_key.user
    RoleAssignment.objects.filter(user=account).update(role=Role.RESIDENT)  # as keys were made
    other = RoleAssignment.objects.get(user=wo.resident)  # a real resident stays one
    forwards(apps, None)
    assert set(account.role_assignments.values_list("role", flat=True)) == {Role.OPEN311_CLIENT}
    other.refresh_from_db()
    assert other.role == Role.RESIDENT
