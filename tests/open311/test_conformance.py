"""Every GeoReport v2 call in both formats, read back the way a client reads it: XML parsed
(never matched as text), JSON decoded. The posted requests go through the work-order loop."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from sanan.open311.models import Open311Request
from sanan.open311.services import IssuedKey
from sanan.workorders.models import Channel, WorkOrder
from sanan.workorders.routing import routing_rule_create
from tests.open311.helpers import BASE, errors_of, fields, json_of, xml_of
from tests.workorders.world import OrderWorld

FORMATS = ["xml", "json"]
POINT_A = {"lat": "30.6605", "long": "104.0605"}  # inside courtyard A (WGS-84)


def post(client: Client, issued: IssuedKey, fmt: str = "json", **data: Any) -> Any:
    payload = {"api_key": issued.key, "service_code": "street_light", **POINT_A, **data}
    return client.post(f"{BASE}/requests.{fmt}", payload)


def posted_id(response: Any, fmt: str) -> str:
    assert response.status_code == 200, response.content
    if fmt == "json":
        (row,) = json_of(response)
        return str(row["service_request_id"])
    root = xml_of(response)
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    return request.findtext("service_request_id") or ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery__both_formats_and_the_root(client: Client, wo: OrderWorld, fmt: str) -> None:
    response = client.get(f"{BASE}/discovery.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        doc = json_of(response)
        (endpoint,) = doc["endpoints"]
        assert endpoint["formats"] == ["text/xml", "application/json"]
        assert endpoint["url"] == "http://testserver/open311/v2"
    else:
        root = xml_of(response)
        assert root.tag == "discovery"
        endpoint = root.find("endpoints/endpoint")
        assert endpoint is not None
        assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
        assert [f.text for f in endpoint.findall("formats/format")] == [
            "text/xml",
            "application/json",
        ]
    # the endpoint's root and the top-level discovery answer the same document
    assert xml_of(client.get(f"{BASE}/")).tag == "discovery"
    assert "endpoints" in json_of(client.get(f"{BASE}/", HTTP_ACCEPT="application/json"))
    assert xml_of(client.get(f"/open311/discovery.{fmt}" if fmt == "xml" else "/open311/")).tag


@pytest.mark.parametrize("fmt", FORMATS)
def test_services__list_from_the_categories(client: Client, wo: OrderWorld, fmt: str) -> None:
    response = client.get(f"{BASE}/services.{fmt}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    if fmt == "json":
        services = {s["service_code"]: s for s in json_of(response)}
    else:
        root = xml_of(response)
        assert root.tag == "services"
        services = {s.findtext("service_code"): fields(s) for s in root.findall("service")}
    light = services["street_light"]
    assert light["service_name"] == "路灯故障"
    assert light["group"] == "基础设施"
    assert str(light["metadata"]).lower() == "true"  # it asks for the pole number
    assert light["type"] == "realtime"
    assert str(services["road_damage"]["metadata"]).lower() == "false"
    # level-1 groups with children are groups, not services
    assert "infrastructure" not in services
    assert len(services) >= 40


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition__all_six_datatypes(client: Client, wo: OrderWorld, fmt: str) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for code in [
        "street_light",
        "water_outage",
        "noise_nuisance",
        "waterlogging",
        "building_hazard",
    ]:
        response = client.get(f"{BASE}/services/{code}.{fmt}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        if fmt == "json":
            doc = json_of(response)
            assert doc["service_code"] == code
            attributes = doc["attributes"]
        else:
            root = xml_of(response)
            assert root.tag == "service_definition"
            assert root.findtext("service_code") == code
            attributes = []
            for a in root.findall("attributes/attribute"):
                row: dict[str, Any] = fields(a)
                row["values"] = [fields(v) for v in a.findall("values/value")]
                attributes.append(row)
        orders = [int(a["order"]) for a in attributes]
        assert orders == list(range(1, len(attributes) + 1))
        for a in attributes:
            seen[a["datatype"]] = a
    assert set(seen) == {
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    }
    scope = seen["singlevaluelist"]
    assert str(scope["required"]).lower() == "true"
    assert {"key": "home", "name": "Only my home"} in scope["values"]
    assert [v["key"] for v in seen["multivaluelist"]["values"]] == [
        "morning",
        "daytime",
        "evening",
        "night",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_request__post_becomes_a_work_order_and_reads_back(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    response = post(
        client,
        issued,
        fmt,
        description="A1号门口路灯不亮，联系我 13812345678",
        first_name="王阿姨",
        phone="13812345678",
        email="wang@example.com",
        **{"attribute[pole_number]": "LD-0012"},
    )
    request_id = posted_id(response, fmt)
    order = WorkOrder.objects.get(pk=int(request_id))
    assert order.channel == Channel.OPEN311
    assert order.created_by == issued.api_key.user
    assert order.reporter == issued.api_key.user  # shown to the desk as "城管通"
    assert str(order.reporter) == "城管通"
    assert order.courtyard == wo.world.courtyard_a
    assert order.answers == {"pole_number": "LD-0012"}
    assert order.contact_name == "王阿姨"
    assert order.contact_phone_masked == "138****5678"
    assert Open311Request.objects.get(order=order).channel_name == "城管通"

    got = client.get(f"{BASE}/requests/{request_id}.{fmt}")
    assert got.status_code == 200
    if fmt == "json":
        (row,) = json_of(got)  # a single request is an array too
    else:
        root = xml_of(got)
        assert root.tag == "service_requests"
        (element,) = root.findall("request")
        row = fields(element)
    assert row["service_request_id"] == request_id
    assert row["status"] == "open"
    assert row["service_code"] == "street_light"
    assert row["description"] == "A1号门口路灯不亮，联系我 138****5678"
    assert row["address_id"] == "t-court-a"
    assert float(row["lat"]) == pytest.approx(30.6605)
    assert float(row["long"]) == pytest.approx(104.0605)
    requested = dt.datetime.fromisoformat(row["requested_datetime"])
    assert requested.utcoffset() == dt.timedelta(hours=8)
    body = got.content.decode()
    for secret in ("王阿姨", "13812345678", "wang@example.com"):
        assert secret not in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_request__status_agency_and_deadline_follow_the_loop(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    routing_rule_create(
        actor=wo.admin,
        category=wo.street_light,
        place=wo.community,
        lead_organisation=wo.housing,
    )
    request_id = posted_id(post(client, issued, fmt), fmt)
    order = WorkOrder.objects.get(pk=int(request_id))
    assert order.state == "dispatched"  # routed at intake like every other channel

    def read() -> dict[str, Any]:
        got = client.get(f"{BASE}/requests/{request_id}.{fmt}", HTTP_ACCEPT_LANGUAGE="zh-hans")
        if fmt == "json":
            return dict(json_of(got)[0])
        element = xml_of(got).find("request")
        assert element is not None
        return fields(element)

    row = read()
    assert row["status"] == "open"
    assert row["agency_responsible"] == "测试区住建局"
    assert row["status_notes"] == "已派单"
    order = wo.reload(order)
    assert dt.datetime.fromisoformat(row["expected_datetime"]) == order.finish_due_at

    wo.drive(order, "finished")
    row = read()
    assert row["status"] == "closed"
    assert row["status_notes"] == "已办结（待评价）: 路灯已更换灯泡"
    order = wo.reload(order)
    assert dt.datetime.fromisoformat(row["updated_datetime"]) == order.finished_at


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests__list_filters_and_paging(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str, clock: Any
) -> None:
    light = posted_id(post(client, issued, fmt), fmt)
    drain = posted_id(post(client, issued, fmt, service_code="road_damage"), fmt)
    closed = wo.order_in("finished")  # a resident's order through the web form: public too

    def ids(query: str) -> list[str]:
        got = client.get(f"{BASE}/requests.{fmt}?{query}")
        assert got.status_code == 200, got.content
        if fmt == "json":
            return [r["service_request_id"] for r in json_of(got)]
        root = xml_of(got)
        assert root.tag == "service_requests"
        return [r.findtext("service_request_id") or "" for r in root.findall("request")]

    assert ids("") == [str(closed.pk), drain, light]  # newest first
    assert ids("service_code=road_damage") == [drain]
    assert ids("service_code=road_damage,street_light") == [str(closed.pk), drain, light]
    assert ids("status=closed") == [str(closed.pk)]
    assert ids("status=open") == [drain, light]
    assert ids(f"service_request_id={light},{drain}&status=closed") == [drain, light]
    assert ids("page_size=2") == [str(closed.pk), drain]
    assert ids("page_size=2&page=2") == [light]
    assert ids("start_date=2026-11-26T00:00:00Z") == []
    assert ids("start_date=2026-11-24T00:00:00Z&end_date=2026-11-26T00:00:00+08:00") == [
        str(closed.pk),
        drain,
        light,
    ]
    assert ids("updated_after=2026-11-25T09:00:00+08:00") == [str(closed.pk), drain, light]
    assert ids("updated_before=2026-11-25T09:00:00+08:00") == []
    # empty parameters are no parameters
    assert ids("service_code=&status=&jurisdiction_id=&start_date=") == ids("")
    # the default window is the last 90 days
    clock.move_to(dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    assert ids("") == []
    assert ids("start_date=2026-11-01T00:00:00Z") == [str(closed.pk), drain, light]


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests__extensions_notes_and_attributes(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    request_id = posted_id(post(client, issued, fmt, **{"attribute[pole_number]": "7"}), fmt)
    wo.drive(WorkOrder.objects.get(pk=int(request_id)), "contacted")
    got = client.get(
        f"{BASE}/requests/{request_id}.{fmt}?extensions=true&api_key={issued.key}",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    if fmt == "json":
        (row,) = json_of(got)
        notes = row["notes"]
        extended = row["extended_attributes"]
        attributes = row["attributes"]
    else:
        element = xml_of(got).find("request")
        assert element is not None
        notes = [fields(n) for n in element.findall("notes/note")]
        ext = element.find("extended_attributes")
        assert ext is not None
        extended = fields(ext)
        attributes = [fields(a) for a in element.findall("attributes/attribute")]
    assert [n["type"] for n in notes] == ["submit", "dispatch", "sign", "contact"]
    assert notes[-1]["description"] == "先行联系 → 已先行联系: 我们已电话联系您"
    assert extended["channel"] == "城管通"
    assert extended["token"] == Open311Request.objects.get(order_id=int(request_id)).token
    assert attributes == [{"code": "pole_number", "name": "灯杆编号", "value": "7"}]
    # without extensions=true none of it is there
    plain = client.get(f"{BASE}/requests/{request_id}.{fmt}")
    assert b"extended_attributes" not in plain.content


@pytest.mark.parametrize("fmt", FORMATS)
def test_tokens__lead_to_the_request(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    request_id = posted_id(post(client, issued, fmt), fmt)
    token = Open311Request.objects.get(order_id=int(request_id)).token
    got = client.get(f"{BASE}/tokens/{token}.{fmt}")
    if fmt == "json":
        assert json_of(got) == [{"service_request_id": request_id, "token": token}]
    else:
        element = xml_of(got).find("request")
        assert element is not None
        assert fields(element) == {"service_request_id": request_id, "token": token}
    missing = client.get(f"{BASE}/tokens/nope.{fmt}")
    assert missing.status_code == 404
    assert errors_of(missing, fmt)[0]["code"] == "404"


@pytest.mark.parametrize("fmt", FORMATS)
def test_errors__as_the_specification_says(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    cases = [
        (client.get(f"{BASE}/services/no_such.{fmt}"), 404),
        (client.get(f"{BASE}/requests/999999.{fmt}"), 404),
        (client.get(f"{BASE}/requests/abc.{fmt}"), 404),
        (client.get(f"{BASE}/services.{fmt}?jurisdiction_id=nowhere.gov"), 404),
        (client.get(f"{BASE}/requests.{fmt}?status=pending"), 400),
        (client.get(f"{BASE}/requests.{fmt}?start_date=yesterday"), 400),
        (client.get(f"{BASE}/requests.{fmt}?page_size=0"), 400),
        (client.post(f"{BASE}/requests.{fmt}", {"service_code": "street_light", **POINT_A}), 403),
        (post(client, issued, fmt, api_key="s311_0000_wrong"), 403),
        (client.post(f"{BASE}/requests.{fmt}", {"api_key": issued.key, **POINT_A}), 400),
        (post(client, issued, fmt, service_code="no_such"), 404),
        (post(client, issued, fmt, lat="", long=""), 400),
        (post(client, issued, fmt, lat="30.6605", long=""), 400),
        (post(client, issued, fmt, lat="1.0", long="1.0"), 400),  # not in a courtyard
        (post(client, issued, fmt, service_code="water_outage"), 400),  # required answers
        (post(client, issued, fmt, media_url="javascript:alert(1)"), 400),
        (client.get(f"/open311/v2/nothing.{fmt}"), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.content)
        errors = errors_of(response, fmt)
        assert errors
        assert errors[0]["code"] == str(status)
        assert errors[0]["description"]
    assert WorkOrder.objects.count() == 0  # nothing half-written


def test_errors__unknown_format_is_a_400_in_xml(client: Client, wo: OrderWorld) -> None:
    response = client.get(f"{BASE}/services.yaml")
    assert response.status_code == 400
    assert errors_of(response, "xml")[0]["code"] == "400"


def test_requests__query_count_does_not_grow_with_rows(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    def count_for(n: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            got = client.get(f"{BASE}/requests.json?extensions=true&api_key={issued.key}")
        assert len(json_of(got)) == n
        return len(ctx.captured_queries)

    post(client, issued)
    one = count_for(1)
    for _ in range(4):
        post(
            client,
            issued,
            service_code="water_outage",
            **{"attribute[since]": "2026-11-25T07:00:00+08:00", "attribute[scope]": "home"},
        )
    wo.order_in("contacted")
    assert count_for(6) == one


def test_requests__dates_with_an_unencoded_plus(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    """``+08:00`` typed into a URL arrives as a space; it is still read as the zone."""
    request_id = posted_id(post(client, issued), "json")
    got = client.get(f"{BASE}/requests.json?start_date=2026-11-25T09:59:00+08:00")
    assert [r["service_request_id"] for r in json_of(got)] == [request_id]
    later = client.get(f"{BASE}/requests.json?start_date=2026-11-25T10:01:00+08:00")
    assert json_of(later) == []


def test_three_style_client__endpoint_with_slash_discovery_and_multipart_post(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    """The ``three`` client (2013): endpoint ending in ``/``, ``discovery.json`` under it,
    ``page_size`` for its ``count``, a multipart post with ``address_string`` and a name
    split on its space."""
    endpoint = f"{BASE}/"
    assert "endpoints" in json_of(client.get(f"{endpoint}discovery.json"))
    response = client.post(
        f"{endpoint}requests.json",
        {
            "api_key": issued.key,
            "jurisdiction_id": "t-community",
            "service_code": "dumping",
            "address_string": "B院 垃圾桶旁",
            "first_name": "Zach",
            "last_name": "Williams",
            "phone": "555-5555",  # not a mainland mobile: not kept, not refused
            "description": "Rubbish dumped by the bins.",
        },
    )
    request_id = posted_id(response, "json")
    order = WorkOrder.objects.get(pk=int(request_id))
    assert order.place == wo.world.courtyard_b
    assert order.contact_name == "Zach Williams"
    assert order.contact_phone_masked == ""
    assert len(json_of(client.get(f"{endpoint}requests.json?page_size=1"))) == 1
