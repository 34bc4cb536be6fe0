"""Real Open311 client libraries from PyPI against a running Sanan, used the way a city's
integrator uses them: ``georeport`` (2025) lists services, reads a definition and reads
requests back in JSON and XML; ``civicbot``'s Open311 client (2026) posts a request with
its attributes. The order they make is on the dispatcher's board."""

from __future__ import annotations

from typing import Any

import pytest
from civicbot.http import HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint
from django.test import Client
from georeport import GeoReport

from sanan.workorders.models import Channel, WorkOrder
from tests.open311.conftest import IssuedKey
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db(transaction=True)


def _endpoint(live_server: Any) -> str:
    return f"{live_server.url}/open311/v2"


def _civicbot(live_server: Any) -> Open311Client:
    endpoint = Endpoint(id="sanan", name="Sanan", base_url=_endpoint(live_server), write=True)
    transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0))
    return Open311Client(endpoint, transport=transport, jurisdiction_id="t-community")


def test_georeport__services_and_definitions(live_server: Any, wo: OrderWorld) -> None:
    for fmt in ("json", "xml"):
        client = GeoReport(_endpoint(live_server), jurisdiction="t-community", output_format=fmt)
        services = client.get_service_list()
        codes = {s["service_code"] for s in services}
        assert {"street_light", "water_outage", "noise_nuisance"} <= codes
        definition = client.get_service_definition("water_outage")
        assert definition["service_code"] == "water_outage"
        attributes = definition["attributes"]
        if fmt == "xml":
            attributes = attributes["attribute"]
        assert [a["code"] for a in attributes] == ["since", "scope"]


def test_civicbot_posts__georeport_reads_back__desk_sees_it(
    live_server: Any, wo: OrderWorld, issued: IssuedKey
) -> None:
    bot = _civicbot(live_server)
    prepared = bot.create_request(
        "water_outage",
        dry_run=False,
        confirm="SEND",
        api_key=issued.key,
        validate_remote=True,  # reads the service list and the definition first
        lat=30.6605,
        lng=104.0615,  # courtyard B
        description="B院整栋楼停水",
        first_name="李",
        last_name="四",
        attributes={"since": "2026-11-25T07:30:00+08:00", "scope": "building"},
    )
    (answer,) = prepared.response
    request_id = answer["service_request_id"]
    order = WorkOrder.objects.get(pk=int(request_id))
    assert order.channel == Channel.OPEN311
    assert order.courtyard == wo.world.courtyard_b
    assert order.answers["scope"] == "building"

    reader = GeoReport(_endpoint(live_server), jurisdiction="t-community")
    as_json = reader.get_service_request(request_id)
    assert as_json["service_request_id"] == request_id
    assert as_json["status"] == "open"
    assert as_json["description"] == "B院整栋楼停水"
    as_xml = GeoReport(
        _endpoint(live_server), jurisdiction="t-community", output_format="xml"
    ).get_service_request(request_id)
    assert as_xml["service_request_id"] == request_id
    assert as_xml["service_code"] == "water_outage"
    listed = reader.get_service_requests(service_code="water_outage", status="open")
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert bot.get_request(request_id)["address_id"] == "t-court-b"

    desk = Client()
    desk.force_login(wo.dispatcher)
    board = desk.get("/orders/board/?bucket=new")
    assert board.status_code == 200
    page = board.content.decode()
    assert f'data-order="{order.pk}"' in page
    # the desk's channel filter finds Open311 orders whatever their state
    by_channel = desk.get("/orders/board/?channel=open311").content.decode()
    assert f'data-order="{order.pk}"' in by_channel
    detail = desk.get(f"/orders/{order.pk}/").content.decode()
    assert "城管通" in detail  # the channel name, as the reporter
    assert "Open311" in detail
