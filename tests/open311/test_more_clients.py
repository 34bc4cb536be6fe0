"""More Open311 clients from PyPI, old and new, against a running Sanan (``live_server``),
nothing of their HTTP replaced:

- ``open311`` 1.1 (2011), the first Python wrapper of GeoReport v2, written for Python 2: run
  by a Python 2.7 interpreter when the machine has one. It reads XML through its own
  converter, asks for ``/service/<code>`` (singular) and posts with ``api_key`` and
  ``jurisdiction_id`` in the query string and the rest in a form body;
- ``boston311`` 0.1.1 (2021): reads services and requests into strict pydantic models (a
  ``lat`` that is a number, dates with their zone, ``status`` open or closed, a ``media_url``
  that is a URL) and sends its dates in UTC with a ``Z``;
- ``chicagorequests`` 0.0.5 (2023), the Chicago bulk downloader: ``extensions=true``,
  ``page``/``page_size`` and ``updated_after``/``updated_before`` with microseconds.
"""

from __future__ import annotations

import datetime as dt
import glob
import importlib.metadata
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boston311.api
import pytest
from boston311.datamodels import Status
from chicagorequests import Downloader
from django.test import Client

from sanan.open311.services import IssuedKey
from sanan.workorders.models import Channel, WorkOrder
from sanan.workorders.routing import routing_rule_create
from tests.open311.helpers import BASE, json_of
from tests.workorders.world import WEDNESDAY_10, OrderWorld

pytestmark = pytest.mark.django_db(transaction=True)

POINT_A = {"lat": "30.6605", "long": "104.0605"}  # inside courtyard A (WGS-84)
WATER = {"attribute[scope]": "building", "attribute[since]": "2026-11-25T07:30:00+08:00"}


def _endpoint(live_server: Any) -> str:
    return f"{live_server.url}{BASE}"


def _post(issued: IssuedKey, **data: Any) -> str:
    payload = {"api_key": issued.key, "service_code": "street_light", **POINT_A, **data}
    response = Client().post(f"{BASE}/requests.json", payload)
    assert response.status_code == 200, response.content
    return str(json_of(response)[0]["service_request_id"])


# --- open311 1.1 (2011, Python 2) -------------------------------------------------------------


def _python27() -> str | None:
    home = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for candidate in sorted(glob.glob(f"{home}/versions/2.7*/bin/python2.7")):
        return candidate
    found = shutil.which("python2.7")
    if found and subprocess.run([found, "-V"], capture_output=True).returncode == 0:
        return found
    return None


_OLD_CLIENT = r"""
import json, os, sys
from open311 import Open311

endpoint, jurisdiction, key = sys.argv[1:4]
xml = Open311(endpoint=endpoint, jurisdiction=jurisdiction, api_key=key)
services = xml.service_list()
definition = xml.service_definition('street_light')
posted = xml.post_service_request(
    service_code='street_light', lat='30.6605', long='104.0605',
    first_name='\xe9\x98\xbf\xe5\xa7\xa8', last_name='\xe7\x8e\x8b',
    description='A\xe9\x99\xa2\xe8\xb7\xaf\xe7\x81\xaf\xe4\xb8\x8d\xe4\xba\xae',
    **{'attribute[pole_number]': 'L-17'})
request_id = posted['service_requests']['request']['service_request_id']
one = xml.get_service_request(request_id)['service_requests']['request']
listed = xml.service_requests(service_code='street_light')
as_json = Open311(endpoint=endpoint, jurisdiction=jurisdiction, format='json')
print(json.dumps({
    'codes': [s['service_code'] for s in services],
    'attribute': definition['service_definition']['attributes']['attribute'],
    'request_id': request_id,
    'status': one['status'],
    'address_id': one['address_id'],
    'listed': listed['service_request_id'] if isinstance(listed, dict) else
              [r['service_request_id'] for r in listed],
    'json': as_json.get_service_request(request_id)[0],
}))
"""


def test_open311_2011_client__lists_defines_posts_and_reads(
    live_server: Any, wo: OrderWorld, issued: IssuedKey, tmp_path: Path
) -> None:
    python = _python27()
    if python is None:
        pytest.skip("no Python 2.7 interpreter on this machine for the 2011 client")
    # The installed package, located (not imported: it is Python 2 code).
    package = Path(str(importlib.metadata.distribution("open311").locate_file("open311")))
    assert (package / "open311.py").is_file()
    (tmp_path / "open311").symlink_to(package)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)}
    ran = subprocess.run(
        [python, "-c", _OLD_CLIENT, _endpoint(live_server), "t-community", issued.key],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr.decode()
    got = json.loads(ran.stdout)
    assert {"street_light", "water_outage"} <= set(got["codes"])
    assert got["attribute"]["code"] == "pole_number"  # read through /service/street_light.xml
    assert got["status"] == "open"
    assert got["address_id"] == "t-court-a"
    assert got["listed"] == got["request_id"]  # one request: its XML converter gives a dict
    assert got["json"]["service_request_id"] == got["request_id"]
    order = WorkOrder.objects.get(pk=int(got["request_id"]))
    assert order.channel == Channel.OPEN311
    assert order.contact_name == "王阿姨"  # family name first, no space
    assert order.answers == {"pole_number": "L-17"}
    assert got["json"]["description"] == "A院路灯不亮"


# --- boston311 (2021) ----------------------------------------------------------------------------


def test_boston311__strict_models_read_services_and_requests(
    live_server: Any, wo: OrderWorld, issued: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boston311.api, "BOSTON_API_ENDPOINT", f"{_endpoint(live_server)}/")
    routing_rule_create(
        actor=wo.admin, category=wo.street_light, place=wo.community, lead_organisation=wo.housing
    )
    photo = _post(issued, description="A院路灯不亮", media_url="https://img.example.org/1.jpg")
    plain = _post(issued, service_code="water_outage", description="停水", **WATER)

    services = boston311.api.get_services()
    assert services.get_service_code("路灯故障") == "street_light"  # Chinese unless asked
    assert {s.group for s in services.services} >= {"基础设施"}

    one = boston311.api.get_service_request(photo)
    assert one is not None
    assert one.service_request_id == photo
    assert one.status == Status.OPEN
    assert one.requested_datetime == WEDNESDAY_10
    assert one.requested_datetime.utcoffset() == dt.timedelta(hours=8)
    assert one.expected_datetime is not None
    assert one.expected_datetime > WEDNESDAY_10
    assert one.agency_responsible == wo.housing.name
    assert str(one.media_url) == "https://img.example.org/1.jpg"
    assert 30.65 < one.lat < 30.67
    assert 104.05 < one.long < 104.07

    # dates in UTC with a Z, as the client sends them
    listed = boston311.api.get_service_requests(
        start_date=WEDNESDAY_10 - dt.timedelta(hours=1),
        end_date=WEDNESDAY_10 + dt.timedelta(hours=1),
        status=Status.OPEN,
    )
    assert {r.service_request_id for r in listed.service_requests} == {photo, plain}
    by_code = boston311.api.get_service_requests(service_code="water_outage")
    assert [r.service_request_id for r in by_code.service_requests] == [plain]
    earlier = boston311.api.get_service_requests(
        start_date=WEDNESDAY_10 - dt.timedelta(days=3),
        end_date=WEDNESDAY_10 - dt.timedelta(days=2),
    )
    assert len(earlier) == 0


# --- chicagorequests (2023) --------------------------------------------------------------------


def test_chicagorequests__downloads_a_day_with_extensions_and_pages(
    live_server: Any, wo: OrderWorld, issued: IssuedKey
) -> None:
    first = _post(issued, description="A院路灯不亮，电话13912345678")
    second = _post(issued, service_code="water_outage", description="停水", **WATER)
    resident = wo.submit()  # a resident's order through the web form: public too

    class SananDownloader(Downloader):
        BASE_URL = f"{_endpoint(live_server)}/requests.json"

    day_start = WEDNESDAY_10.replace(hour=0)
    day_end = dt.datetime.combine(day_start, dt.time.max).replace(tzinfo=day_start.tzinfo)
    rows = SananDownloader(
        updated_start_date=day_start.isoformat(), updated_end_date=day_end.isoformat()
    )((day_start, day_end))
    by_id = {r["service_request_id"]: r for r in rows}
    assert set(by_id) == {first, second, str(resident.pk)}
    mine = by_id[first]
    assert mine["description"] == "A院路灯不亮，电话139****5678"
    assert mine["extended_attributes"]["channel"] == "城管通"
    assert mine["extended_attributes"]["token"] is None  # no key was sent: no token
    assert [n["type"] for n in mine["notes"]] == ["submit"]
    answers = {a["code"]: a["value"] for a in by_id[second]["attributes"]}
    assert answers["scope"] == "building"

    only_water = SananDownloader(request_type=["water_outage"])((day_start, day_end))
    assert [r["service_request_id"] for r in only_water] == [second]
    yesterday = SananDownloader()((day_start - dt.timedelta(days=1), day_start))
    assert yesterday == []
