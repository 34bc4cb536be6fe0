"""Hostile map points and files: coordinates out of range, NaN and Infinity, swapped latitude
and longitude, unknown coordinate systems; fake, truncated, oversized and bomb images,
path-traversal and double-extension names. Each is refused with a clear message and a stable
code and leaves no row and no file behind, or is stored safely under a name of our own."""

from __future__ import annotations

import functools
import io
import os
import re
import zlib
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from sanan.workorders.models import Attachment
from tests.hostile.conftest import Hostile
from tests.hostile.support import assert_refused, nothing_written

pytestmark = pytest.mark.django_db

# A point inside courtyard A of the persona world (WGS-84).
LAT, LNG = 30.6605, 104.0605


def _api(h: Hostile, who: str = "resident") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


def _web(h: Hostile, who: str = "resident") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# --- map points through the API ------------------------------------------------------------

BAD_POINTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "latitude-91": ({"lat": 91, "lng": LNG, "system": "wgs84"}, "coordinates.out_of_range", "lat"),
    "latitude-minus-91": (
        {"lat": -91, "lng": LNG, "system": "wgs84"}, "coordinates.out_of_range", "lat"
    ),
    "longitude-181": (
        {"lat": LAT, "lng": 181, "system": "wgs84"}, "coordinates.out_of_range", "lng"
    ),
    "longitude-minus-180.5": (
        {"lat": LAT, "lng": -180.5, "system": "wgs84"}, "coordinates.out_of_range", "lng"
    ),
    "latitude-and-longitude-swapped": (
        {"lat": LNG, "lng": LAT, "system": "wgs84"}, "coordinates.out_of_range", "lat"
    ),
    "huge-exponent": (
        {"lat": 1e308, "lng": 1e308, "system": "wgs84"}, "coordinates.out_of_range", "lat"
    ),
    "nan-as-text": ({"lat": "NaN", "lng": LNG, "system": "wgs84"}, "validation.invalid",
                    "point.lat"),
    "infinity-as-text": (
        {"lat": LAT, "lng": "-Infinity", "system": "wgs84"}, "validation.invalid", "point.lng"
    ),
    "words-not-a-number": (
        {"lat": "thirty", "lng": LNG, "system": "wgs84"}, "validation.invalid", "point.lat"
    ),
    "longitude-missing": ({"lat": LAT, "system": "wgs84"}, "validation.invalid", "point.lng"),
    "web-mercator-system": (
        {"lat": LAT, "lng": LNG, "system": "epsg:3857"}, "coordinates.unknown_system", "system"
    ),
    "utm-system": ({"lat": LAT, "lng": LNG, "system": "utm48n"}, "coordinates.unknown_system",
                   "system"),
    "script-as-system": (
        {"lat": LAT, "lng": LNG, "system": "<script>x</script>"}, "coordinates.unknown_system",
        "system",
    ),
    "system-blank": ({"lat": LAT, "lng": LNG, "system": ""}, "validation.invalid",
                     "point.system"),
    "null-island": ({"lat": 0, "lng": 0, "system": "wgs84"}, "work_order.outside_courtyards",
                    "point"),
    "right-place-wrong-system": (
        {"lat": LAT, "lng": LNG, "system": "bd09"}, "work_order.outside_courtyards", "point"
    ),
    "denormal-latitude": (
        {"lat": 1e-320, "lng": LNG, "system": "wgs84"}, "work_order.outside_courtyards", "point"
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("point", "code", "field"), list(BAD_POINTS.values()), ids=list(BAD_POINTS)
)
def test_point__api_intake__refused_with_the_field_nothing_written(
    hostile: Hostile, point: dict[str, Any], code: str, field: str
) -> None:
    body = {"category": hostile.wo.street_light.pk, "description": "路灯不亮", "point": point}
    with nothing_written():
        response = _api(hostile).post("/api/v1/orders/", body, format="json")
    assert_refused(response, 400, code, field=field)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param('{"lat": NaN, "lng": 104.06, "system": "wgs84"}', "request.malformed",
                     id="json-nan-literal"),
        pytest.param('{"lat": 30.66, "lng": Infinity, "system": "wgs84"}', "request.malformed",
                     id="json-infinity-literal"),
        pytest.param('{"lat": 1e999, "lng": 104.06, "system": "wgs84"}', "validation.invalid",
                     id="json-overflowing-number"),
        pytest.param('{"lat": 30.66, "lng": 104.06, "system": "wgs84"', "request.malformed",
                     id="json-cut-short"),
    ],
)  # fmt: skip
def test_point__raw_json__refused_nothing_written(hostile: Hostile, raw: str, code: str) -> None:
    body = f'{{"category": {hostile.wo.street_light.pk}, "description": "x", "point": {raw}}}'
    with nothing_written():
        response = _api(hostile).post("/api/v1/orders/", body, content_type="application/json")
    refused = assert_refused(response, 400, code)
    if code == "request.malformed":  # said for people; the parser's words for the developer
        assert refused["message"].startswith("The request body could not be read")
        assert "JSON" in refused["fields"]["body"][0]


def test_point__system_in_capitals__understood(hostile: Hostile) -> None:
    body = {"category": hostile.wo.street_light.pk, "description": "路灯不亮",
            "point": {"lat": LAT, "lng": LNG, "system": "WGS84"}}  # fmt: skip
    response = _api(hostile).post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["courtyard"]["id"] == hostile.world.courtyard_a.pk


# --- map points on the resident's form -----------------------------------------------------

WEB_POINTS: dict[str, tuple[str, str, str, str]] = {
    "latitude-91": ("91", "104.06", "wgs84", "lat"),
    "nan": ("nan", "104.06", "wgs84", "lat"),
    "infinity": ("inf", "-inf", "wgs84", "lat"),
    "overflowing-number": ("1e999", "104.06", "wgs84", "lat"),
    "latitude-without-longitude": ("30.66", "", "wgs84", "lat"),
    "swapped": (str(LNG), str(LAT), "wgs84", "lat"),
    "unknown-system": (str(LAT), str(LNG), "epsg:3857", "point_system"),
    "script-as-system": (str(LAT), str(LNG), "<script>x</script>", "point_system"),
}


@pytest.mark.parametrize(
    ("lat", "lng", "system", "field"), list(WEB_POINTS.values()), ids=list(WEB_POINTS)
)
def test_point__resident_form__error_next_to_the_field_nothing_written(
    hostile: Hostile, lat: str, lng: str, system: str, field: str
) -> None:
    data = {"category": hostile.wo.street_light.pk, "description": "路灯不亮", "lat": lat,
            "lng": lng, "point_system": system, "idempotency_key": f"k-{lat}-{system}"}  # fmt: skip
    with nothing_written():
        response = _web(hostile).post("/orders/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    found = re.search(rf'data-testid="field-error-{field}">(.*?)</p>', html, re.S)
    assert found, f"no message next to {field}"
    message = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", found.group(1)))).strip()
    assert len(message) > 8, message
    assert "<script>x" not in html


def test_point__resident_form__full_width_digits__read_as_the_point_they_are(
    hostile: Hostile,
) -> None:
    data = {"category": hostile.wo.street_light.pk, "description": "路灯不亮",
            "lat": "３０.６６０５", "lng": "１０４.０６０５", "point_system": "wgs84",
            "idempotency_key": "k-full-width"}  # fmt: skip
    response = _web(hostile).post("/orders/new/", data)
    assert response.status_code == 302, response.content[:300]
    from sanan.workorders.models import WorkOrder

    assert WorkOrder.objects.latest("pk").place_id == hostile.world.courtyard_a.pk


# --- Open311 clients -------------------------------------------------------------------------


@pytest.fixture
def open311_key(hostile: Hostile) -> str:
    from sanan.open311.services import api_key_create

    issued = api_key_create(
        actor=hostile.wo.admin, name="城管通", jurisdiction=hostile.wo.community
    )
    return issued.key


OPEN311_BAD: dict[str, Any] = {
    "latitude-91": {"lat": "91", "long": str(LNG)},
    "nan": {"lat": "NaN", "long": str(LNG)},
    "infinity": {"lat": str(LAT), "long": "Infinity"},
    "swapped": {"lat": str(LNG), "long": str(LAT)},
    "words": {"lat": "north", "long": "east"},
    "description-nul-byte": {"lat": str(LAT), "long": str(LNG), "description": "灯\x00坏"},
    "description-ten-thousand": {"lat": str(LAT), "long": str(LNG), "description": "长" * 10_000},
}


@pytest.mark.parametrize("extra", [OPEN311_BAD[k] for k in OPEN311_BAD], ids=list(OPEN311_BAD))
def test_open311__hostile_post__error_list_nothing_written(
    hostile: Hostile, open311_key: str, extra: dict[str, str]
) -> None:
    data = {"api_key": open311_key, "service_code": "street_light", "description": "路灯不亮",
            **extra}  # fmt: skip
    with nothing_written():
        response = Client().post("/open311/v2/requests.json", data)
    assert 400 <= response.status_code < 500, response.content[:300]
    errors = response.json()
    assert isinstance(errors, list), errors
    assert errors, errors
    assert all(len(e["description"]) >= 4 for e in errors), errors


def test_open311__script_in_description__stored_and_shown_escaped(
    hostile: Hostile, open311_key: str
) -> None:
    script = '<script>alert("311")</script>'
    data = {"api_key": open311_key, "service_code": "street_light", "description": script,
            "lat": str(LAT), "long": str(LNG)}  # fmt: skip
    response = Client().post("/open311/v2/requests.json", data)
    assert response.status_code in (200, 201), response.content[:300]
    token_or_id = response.json()[0]
    from sanan.workorders.models import WorkOrder

    order = WorkOrder.objects.latest("pk")
    assert order.description == script, token_or_id
    page = _web(hostile, "dispatcher").get(f"/orders/{order.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;311&quot;)&lt;/script&gt;" in page
    assert script not in page


# --- photos ----------------------------------------------------------------------------------


def _image(fmt: str = "JPEG", size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, fmt)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


@functools.cache
def _png_bomb() -> bytes:
    """A real decompression bomb: 20,000 × 20,000 black pixels (400 megapixels, 50 MB as
    one-bit pixels) in about 50 kB."""
    side = 20_000
    row = b"\x00" + b"\x00" * (side // 8)
    squeeze = zlib.compressobj(9)
    idat = b"".join(squeeze.compress(row * 1_000) for _ in range(side // 1_000)) + squeeze.flush()
    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


PHP = b"<?php system($_GET['cmd']); ?>\n"
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'

BAD_FILES: dict[str, tuple[bytes | None, str, str]] = {
    "php-named-jpg": (PHP, "shell.jpg", "attachment.not_an_image"),
    "php-after-jpeg-magic": (b"\xff\xd8\xff\xe0" + PHP, "shell.jpg", "attachment.not_an_image"),
    "html-named-jpg": (HTML, "page.jpg", "attachment.not_an_image"),
    "svg-with-script-named-png": (SVG, "logo.png", "attachment.not_an_image"),
    "truncated-png": (None, "cut.png", "attachment.not_an_image"),
    "truncated-jpeg": (None, "cut.jpg", "attachment.not_an_image"),
    "gif-not-allowed": (None, "anim.gif", "attachment.not_an_image"),
    "empty-file": (b"", "empty.jpg", "attachment.not_an_image"),
    "decompression-bomb": (None, "bomb.png", "attachment.too_many_pixels"),
    "oversized": (None, "big.png", "attachment.too_large"),
    "zip-named-jpg": (b"PK\x03\x04" + os.urandom(64), "archive.jpg", "attachment.not_an_image"),
}


def _bad_file(name: str, data: bytes | None) -> bytes:
    if data is not None:
        return data
    if name == "truncated-png":
        return _image("PNG", (64, 64))[:80]
    if name == "truncated-jpeg":
        return _image("JPEG", (64, 64))[:150]
    if name == "gif-not-allowed":
        return _image("GIF")
    if name == "decompression-bomb":
        return _png_bomb()
    noise = Image.frombytes("L", (400, 400), os.urandom(400 * 400))  # does not compress
    out = io.BytesIO()
    noise.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("kind", "data", "filename", "code"),
    [(k, d, f, c) for k, (d, f, c) in BAD_FILES.items()],
    ids=list(BAD_FILES),
)
def test_photo__hostile_file__refused_no_row_no_file(
    hostile: Hostile, settings: Any, kind: str, data: bytes | None, filename: str, code: str
) -> None:
    settings.WORK_ORDER_ATTACHMENT_MAX_BYTES = 100_000
    upload = SimpleUploadedFile(filename, _bad_file(kind, data), content_type="image/jpeg")
    with nothing_written():
        response = _api(hostile, "dispatcher").post(
            f"/api/v1/orders/{hostile.order.pk}/attachments/", {"file": upload},
            format="multipart",
        )  # fmt: skip
    assert_refused(response, 400, code, field="file")
    assert _files(hostile.media) == []


@pytest.mark.parametrize("kind", ["php-named-jpg", "decompression-bomb", "truncated-png"])
def test_photo__hostile_file_on_the_resident_form__refused_nothing_written(
    hostile: Hostile, kind: str
) -> None:
    data, filename, _code = BAD_FILES[kind]
    upload = SimpleUploadedFile(filename, _bad_file(kind, data), content_type="image/jpeg")
    form = {"category": hostile.wo.street_light.pk, "description": "路灯不亮",
            "courtyard": hostile.world.courtyard_a.pk, "point_system": "wgs84",
            "idempotency_key": f"photo-{kind}", "photos": upload}  # fmt: skip
    with nothing_written():
        response = _web(hostile).post("/orders/new/", form)
    assert response.status_code == 400
    assert "JPEG, PNG or WebP" in response.content.decode() or "megapixels" in (
        response.content.decode()
    )
    assert _files(hostile.media) == []


NAMES: dict[str, str] = {
    "path-traversal": "../../../../etc/passwd.jpg",
    "windows-traversal": "..\\..\\windows\\system32\\evil.jpg",
    "double-extension": "photo.jpg.php",
    "php-extension": "shell.php",
    "html-extension": "index.html",
    "nul-in-name": "photo.php\x00.jpg",
    "rtl-override-name": "photo\u202egpj.exe",
    "script-in-name": "<img src=x onerror=alert(1)>.jpg",
    "very-long-name": "长" * 5_000 + ".jpg",
}


@pytest.mark.parametrize("filename", list(NAMES.values()), ids=list(NAMES))
def test_photo__hostile_name__real_photo_stored_under_our_own_name(
    hostile: Hostile, filename: str
) -> None:
    upload = SimpleUploadedFile(filename, _image(), content_type="application/x-php")
    response = _api(hostile, "dispatcher").post(
        f"/api/v1/orders/{hostile.order.pk}/attachments/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get(pk=response.json()["id"])
    stored = Path(attachment.file)
    assert re.fullmatch(r"workorders/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", attachment.file)
    assert (hostile.media / stored).is_file()
    assert all(p.resolve().is_relative_to(hostile.media.resolve()) for p in _files(hostile.media))
    assert not re.search(r"[/\\\x00-\x1f\u202e<>]", attachment.original_name)
    assert len(attachment.original_name) <= 120
    served = _api(hostile, "dispatcher").get(
        f"/api/v1/orders/{hostile.order.pk}/attachments/{attachment.pk}/"
    )
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert ".php" not in served["Content-Disposition"]
    page = _web(hostile, "dispatcher").get(f"/orders/{hostile.order.pk}/").content.decode()
    assert "<img src=x onerror" not in page


def test_photo__uploaded_files__never_served_from_media_url(hostile: Hostile) -> None:
    """Photos leave only through the checked API view; ``/media/`` serves nothing (no
    DEBUG in production), so a stored file can never be run or sniffed."""
    upload = SimpleUploadedFile("p.jpg", _image(), content_type="image/jpeg")
    response = _api(hostile, "dispatcher").post(
        f"/api/v1/orders/{hostile.order.pk}/attachments/", {"file": upload}, format="multipart"
    )
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert _web(hostile, "dispatcher").get(f"/media/{attachment.file}").status_code == 404
