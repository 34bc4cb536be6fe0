"""What real clients send, old and new: keys in the query string, empty parameters, the
singular /service/ path, multipart photos, Chinese names, JSON bodies, GCJ-02 points,
addresses instead of points, and the mySociety update calls."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from sanan.open311.models import Open311Update
from sanan.open311.services import IssuedKey
from sanan.places.coords import CoordSystem, LatLng, from_wgs84
from sanan.workorders.models import Attachment, WorkOrder
from tests.open311.helpers import BASE, errors_of, fields, json_of, xml_of
from tests.workorders.world import OrderWorld


def _photo() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    out.seek(0)
    out.name = "lamp.jpg"
    return out


def _id(response: Any) -> int:
    assert response.status_code == 200, response.content
    return int(json_of(response)[0]["service_request_id"])


def test_post__key_and_jurisdiction_in_the_query_string_xml(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    """As the 2011 ``open311`` client posts: key and jurisdiction on the URL, form body."""
    response = client.post(
        f"{BASE}/requests.xml?jurisdiction_id=t-community&api_key={issued.key}",
        {"service_code": "road_damage", "lat": "30.6605", "long": "104.0605"},
    )
    assert response.status_code == 200
    element = xml_of(response).find("request")
    assert element is not None
    assert WorkOrder.objects.filter(pk=int(element.findtext("service_request_id") or 0)).exists()


def test_service__singular_path_and_empty_jurisdiction(client: Client, wo: OrderWorld) -> None:
    response = client.get(f"{BASE}/service/water_outage.xml?jurisdiction_id=")
    assert response.status_code == 200
    assert xml_of(response).findtext("service_code") == "water_outage"


def test_post__multipart_media_becomes_a_photo_with_a_media_url(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    response = client.post(
        f"{BASE}/requests.json",
        {
            "api_key": issued.key,
            "service_code": "street_light",
            "lat": "30.6605",
            "long": "104.0605",
            "media": _photo(),
        },
    )
    order_id = _id(response)
    (photo,) = Attachment.objects.filter(order_id=order_id)
    (row,) = json_of(client.get(f"{BASE}/requests/{order_id}.json"))
    assert row["media_url"] == f"http://testserver{BASE}/media/{photo.pk}.jpg"
    image = client.get(row["media_url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(image.streaming_content))).size == (64, 48)


def test_post__client_media_url_is_kept(client: Client, wo: OrderWorld, issued: IssuedKey) -> None:
    url = "https://img.example.org/lamp.jpg"
    order_id = _id(
        client.post(
            f"{BASE}/requests.json",
            {"api_key": issued.key, "service_code": "street_light", "lat": "30.6605",
             "long": "104.0605", "media_url": url},
        )
    )  # fmt: skip
    assert json_of(client.get(f"{BASE}/requests/{order_id}.json"))[0]["media_url"] == url


@pytest.mark.parametrize(
    ("first", "last", "stored"),
    [
        ("王阿姨", "", "王阿姨"),
        ("", "王", "王"),
        ("阿姨", "王", "王阿姨"),
        ("John", "Smith", "John Smith"),
    ],
)
def test_post__names_without_a_space(
    client: Client, wo: OrderWorld, issued: IssuedKey, first: str, last: str, stored: str
) -> None:
    order_id = _id(
        client.post(
            f"{BASE}/requests.json",
            {"api_key": issued.key, "service_code": "street_light", "lat": "30.6605",
             "long": "104.0605", "first_name": first, "last_name": last},
        )
    )  # fmt: skip
    assert WorkOrder.objects.get(pk=order_id).contact_name == stored


def test_post__json_body_with_a_multivaluelist(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    body = {
        "api_key": issued.key,
        "service_code": "noise_nuisance",
        "lat": 30.6605,
        "long": 104.0605,
        "attribute[when][]": ["evening", "night"],
    }
    response = client.post(f"{BASE}/requests.json", json.dumps(body), "application/json")
    assert WorkOrder.objects.get(pk=_id(response)).answers == {"when": ["evening", "night"]}


def test_post__multivaluelist_as_repeated_form_fields(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    response = client.post(
        f"{BASE}/requests.json",
        {"api_key": issued.key, "service_code": "noise_nuisance", "lat": "30.6605",
         "long": "104.0605", "attribute[when][]": ["night", "morning"]},
    )  # fmt: skip
    assert WorkOrder.objects.get(pk=_id(response)).answers == {"when": ["morning", "night"]}


@pytest.mark.parametrize("system", ["gcj02", "bd09", "GCJ-02"])
def test_post__chinese_map_coordinates(
    client: Client, wo: OrderWorld, issued: IssuedKey, system: str
) -> None:
    sent = from_wgs84(LatLng(30.6605, 104.0615), CoordSystem(system.lower().replace("-", "")))
    order_id = _id(
        client.post(
            f"{BASE}/requests.json",
            {"api_key": issued.key, "service_code": "street_light", "lat": str(sent.lat),
             "long": str(sent.lng), "coordinate_system": system},
        )
    )  # fmt: skip
    order = WorkOrder.objects.get(pk=order_id)
    assert order.courtyard == wo.world.courtyard_b  # not 300 m off in the wrong place
    (row,) = json_of(client.get(f"{BASE}/requests/{order_id}.json"))
    assert row["lat"] == pytest.approx(30.6605, abs=1e-5)  # answered in WGS-84
    assert row["long"] == pytest.approx(104.0615, abs=1e-5)
    # … or in the client's own system when it asks
    (mapped,) = json_of(client.get(f"{BASE}/requests/{order_id}.json?coordinate_system={system}"))
    assert mapped["lat"] == pytest.approx(sent.lat, abs=1e-5)
    assert mapped["long"] == pytest.approx(sent.lng, abs=1e-5)


def test_post__unknown_coordinate_system_is_a_400(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    response = client.post(
        f"{BASE}/requests.xml",
        {"api_key": issued.key, "service_code": "street_light", "lat": "30.6605",
         "long": "104.0605", "coordinate_system": "mars"},
    )  # fmt: skip
    assert response.status_code == 400
    assert errors_of(response, "xml")[0]["code"] == "400"


def test_post__address_id_and_address_string(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    by_id = _id(
        client.post(
            f"{BASE}/requests.json",
            {"api_key": issued.key, "service_code": "street_light", "address_id": "t-b-h1"},
        )
    )
    assert WorkOrder.objects.get(pk=by_id).place == wo.world.house_b
    by_text = _id(
        client.post(
            f"{BASE}/requests.json",
            {"api_key": issued.key, "service_code": "street_light",
             "address_string": "测试小区 A院 门口"},
        )
    )  # fmt: skip
    assert WorkOrder.objects.get(pk=by_text).place == wo.world.courtyard_a
    (row,) = json_of(client.get(f"{BASE}/requests/{by_text}.json"))
    assert (row["lat"], row["long"]) == (pytest.approx(30.6605), pytest.approx(104.0605))
    unknown = client.post(
        f"{BASE}/requests.json",
        {"api_key": issued.key, "service_code": "street_light", "address_string": "火星"},
    )
    assert unknown.status_code == 400


def test_post__a_point_outside_the_keys_community_is_a_400(
    client: Client, demo: Any, wo: OrderWorld, issued: IssuedKey
) -> None:
    from shapely.geometry import shape

    from sanan.places.models import Place, PlaceKind

    elsewhere = (
        Place.objects.filter(kind=PlaceKind.COURTYARD, boundary__isnull=False)
        .exclude(path__startswith=wo.community.path)
        .first()
    )
    assert elsewhere is not None  # a courtyard of the demo community in Leshan
    inside = shape(elsewhere.boundary).representative_point()
    response = client.post(
        f"{BASE}/requests.json",
        {"api_key": issued.key, "service_code": "street_light", "lat": str(inside.y),
         "long": str(inside.x)},
    )  # fmt: skip
    assert response.status_code == 400
    assert not WorkOrder.objects.filter(place=elsewhere).exists()
    by_id = client.post(
        f"{BASE}/requests.json",
        {"api_key": issued.key, "service_code": "street_light", "address_id": elsewhere.code},
    )
    assert by_id.status_code == 400


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_updates__post_a_note_and_read_the_timeline(
    client: Client, wo: OrderWorld, issued: IssuedKey, fmt: str
) -> None:
    order_id = _id(
        client.post(
            f"{BASE}/requests.json",
            {"api_key": issued.key, "service_code": "street_light", "lat": "30.6605",
             "long": "104.0605"},
        )
    )  # fmt: skip
    form = {
        "api_key": issued.key,
        "service_request_id": str(order_id),
        "update_id": "fms-77",
        "status": "OPEN",
        "description": "还是不亮，电话 13912345678",
        "first_name": "张",
    }
    first = client.post(f"{BASE}/servicerequestupdates.{fmt}", form)
    again = client.post(f"{BASE}/servicerequestupdates.{fmt}", form)  # a retry
    assert first.status_code == again.status_code == 200
    if fmt == "json":
        update_id = json_of(first)[0]["update_id"]
        assert json_of(again)[0]["update_id"] == update_id
    else:
        root = xml_of(first)
        assert root.tag == "service_request_updates"
        update_id = root.findtext("request_update/update_id")
    assert Open311Update.objects.filter(external_id="fms-77").count() == 1
    order = WorkOrder.objects.get(pk=order_id)
    assert order.events.filter(pk=int(update_id), public_note__startswith="还是不亮").exists()

    got = client.get(f"{BASE}/servicerequestupdates.{fmt}?start_date=2026-11-25T00:00:00+08:00")
    if fmt == "json":
        rows = json_of(got)
    else:
        rows = [fields(u) for u in xml_of(got).findall("request_update")]
    mine = [r for r in rows if r["update_id"] == update_id]
    assert mine[0]["service_request_id"] == str(order_id)
    assert mine[0]["status"] == "open"
    assert mine[0]["description"] == "还是不亮，电话 139****5678"
    assert "13912345678" not in got.content.decode()


def test_updates__only_on_the_clients_own_requests(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    theirs = wo.submit()  # a resident's public order
    response = client.post(
        f"{BASE}/servicerequestupdates.json",
        {"api_key": issued.key, "service_request_id": str(theirs.pk), "update_id": "x1",
         "description": "hello"},
    )  # fmt: skip
    assert response.status_code == 404
    assert not Open311Update.objects.exists()


def test_post__attributes_the_service_does_not_ask_are_ignored(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    """FixMyStreet sends its own attributes (report_url, title…) with every report."""
    response = client.post(
        f"{BASE}/requests.json",
        {"api_key": issued.key, "service_code": "street_light", "lat": "30.6605",
         "long": "104.0605", "attribute[pole_number]": "LD-1",
         "attribute[report_url]": "https://fms.example/report/1", "attribute[title]": "Lamp"},
    )  # fmt: skip
    assert WorkOrder.objects.get(pk=_id(response)).answers == {"pole_number": "LD-1"}


def test_post__a_missing_required_attribute_is_named(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    response = client.post(
        f"{BASE}/requests.json",
        {"api_key": issued.key, "service_code": "water_outage", "lat": "30.6605",
         "long": "104.0605", "attribute[scope]": "home"},
    )  # fmt: skip
    assert response.status_code == 400
    descriptions = [e["description"] for e in errors_of(response, "json")]
    assert any(d.startswith("attribute[since]: ") for d in descriptions)


def test_post__json_body_with_an_attribute_object(
    client: Client, wo: OrderWorld, issued: IssuedKey
) -> None:
    body = {
        "api_key": issued.key,
        "service_code": "water_outage",
        "lat": 30.6605,
        "long": 104.0605,
        "attribute": {"since": "2026-11-25T07:00:00+08:00", "scope": "courtyard"},
    }
    response = client.post(f"{BASE}/requests.xml", json.dumps(body), "application/json")
    assert response.status_code == 200
    element = xml_of(response).find("request")
    assert element is not None
    order = WorkOrder.objects.get(pk=int(element.findtext("service_request_id") or 0))
    assert order.answers["scope"] == "courtyard"
