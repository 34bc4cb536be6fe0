"""Caller recognition for the call-taker: the number (as heard, in any spelling) finds the
registered residents through the blind index, with household, courtyard and care tags, and
the caller's open and past orders — masked, within the call-taker's scope, never by URL."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.core.errors import DomainError
from sanan.registry.models import StandardCareTag
from sanan.registry.services import care_tags_ensure_standard, resident_register
from sanan.workorders.callers import caller_lookup
from sanan.workorders.state import State
from tests.workorders.world import OrderWorld

Client = Callable[[User], APIClient]
URL = "/api/v1/callers/lookup/"
PHONE = "13712345678"


@pytest.fixture
def caller(wo: OrderWorld) -> object:
    care_tags_ensure_standard()
    return resident_register(
        actor="tests",
        name="李大爷",
        place=wo.world.unit_a,
        phone=PHONE,
        tags=["elderly_alone"],
    )


def test_caller_lookup__recognises_resident_household_courtyard_tags_and_orders(
    wo: OrderWorld, api_as: Client, caller: object
) -> None:
    open_order = wo.submit(
        actor=wo.dispatcher, channel="hotline", description="楼道灯坏了", contact_phone=PHONE
    )
    past = wo.order_in(State.FINISHED, actor=wo.dispatcher, channel="hotline",
                       description="门口垃圾没人收", contact_phone=PHONE)  # fmt: skip
    someone_else = wo.submit(
        actor=wo.dispatcher, channel="hotline", description="噪音", contact_phone="13800000000"
    )
    response = api_as(wo.dispatcher).post(URL, {"phone": "+86 137-1234-5678"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["recognised"] is True
    assert body["phone_masked"] == "137****5678"
    [resident] = body["residents"]
    assert resident["name"] == "李大爷"
    assert resident["phone_masked"] == "137****5678"
    assert resident["courtyard"]["name"] == "A院"
    assert resident["dwelling"]["id"] == wo.world.unit_a.pk
    assert resident["household"]["code"]
    assert resident["care_tags"] == [str(StandardCareTag.ELDERLY_ALONE.label)]
    assert [o["id"] for o in body["open_orders"]] == [open_order.pk]
    assert [o["id"] for o in body["past_orders"]] == [past.pk]
    assert someone_else.pk not in [o["id"] for o in body["open_orders"] + body["past_orders"]]
    assert PHONE not in json.dumps(body)


def test_caller_lookup__a_resident_with_an_account_finds_their_own_orders(
    wo: OrderWorld,
) -> None:
    mine = wo.submit(description="楼道灯坏了")  # p-resident, phone 13900000001
    found = caller_lookup(user=wo.fresh(wo.dispatcher), phone="139 0000 0001")
    assert [o.pk for o in found.open_orders] == [mine.pk]
    assert found.residents == []  # an account, not registered in the registry


def test_caller_lookup__unknown_number__not_recognised(wo: OrderWorld, api_as: Client) -> None:
    body = api_as(wo.dispatcher).post(URL, {"phone": "13600000000"}, format="json").json()
    assert body == {
        "phone_masked": "136****0000",
        "recognised": False,
        "residents": [],
        "open_orders": [],
        "past_orders": [],
    }


def test_caller_lookup__invalid_number__400_without_echoing_it(
    wo: OrderWorld, api_as: Client
) -> None:
    response = api_as(wo.dispatcher).post(URL, {"phone": "99887766"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "phone.invalid"
    assert "99887766" not in response.content.decode()


@pytest.mark.parametrize("who", ["resident", "commissioner_a", "handler", "leader"])
def test_caller_lookup__call_takers_only(
    wo: OrderWorld, api_as: Client, caller: object, who: str
) -> None:
    response = api_as(getattr(wo, who)).post(URL, {"phone": PHONE}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "caller.forbidden"
    assert PHONE not in response.content.decode()


def test_caller_lookup__never_by_url(wo: OrderWorld, api_as: Client) -> None:
    assert api_as(wo.dispatcher).get(URL, {"phone": PHONE}).status_code == 405


def test_caller_lookup__outside_the_scope__not_found(wo: OrderWorld, caller: object) -> None:
    """A call-taker of another community finds neither the resident nor the orders."""
    from sanan.accounts.roles import Role
    from sanan.places.models import Place, PlaceKind
    from sanan.places.services import place_create
    from tests.factories import UserFactory

    elsewhere = place_create(
        actor="tests", parent=Place.objects.get(code="t-sub"), kind=PlaceKind.COMMUNITY,
        code="t-community-2", name="另一社区",
    )  # fmt: skip
    desk = UserFactory(roles=[(Role.DISPATCHER, elsewhere, None)])
    wo.submit(actor=wo.dispatcher, channel="hotline", description="灯坏了", contact_phone=PHONE)
    found = caller_lookup(user=desk, phone=PHONE)
    assert (found.residents, found.open_orders, found.past_orders) == ([], [], [])
    with pytest.raises(DomainError):
        caller_lookup(user=wo.fresh(wo.resident), phone=PHONE)
