"""Photos of orders: only real JPEG/PNG/WebP (by content), size and pixel limits, metadata and
location stripped, upright, thumbnails, random names, served only to those who see the order,
and nothing left behind when anything fails."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.core.errors import DomainError
from sanan.workorders import services
from sanan.workorders.models import Attachment, WorkOrder, WorkOrderEvent
from tests.workorders.world import OrderWorld

Client = Callable[[User], APIClient]
SECRET = "GPS-SECRET-家门口"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def jpeg_with_location(width: int = 40, height: int = 20, orientation: int = 6) -> bytes:
    """A photo as a phone takes it: sideways pixels with an orientation tag, a GPS position
    and a description in its EXIF."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, width // 2, height))  # left half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.ImageDescription] = SECRET
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 39.0, 36.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (104.0, 3.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (30, 30), mode: str = "RGB") -> bytes:
    colour: Any = {"RGBA": (10, 200, 10, 128), "L": 120}.get(mode, (10, 200, 10))
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


def post_photo(client: APIClient, order: WorkOrder, data: bytes, name: str = "photo.jpg",
               content_type: str = "image/jpeg", **extra: Any) -> Any:  # fmt: skip
    return client.post(
        f"/api/v1/orders/{order.pk}/attachments/",
        {"file": upload(data, name, content_type), **extra},
        format="multipart",
    )


def test_attachment__upload__strips_location_turns_upright_and_stores_under_a_random_name(
    wo: OrderWorld, api_as: Client, media: Path
) -> None:
    original = jpeg_with_location()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # sanity
    order = wo.submit()
    response = post_photo(api_as(wo.resident), order, original, name="../../etc/家门口.jpg")
    assert response.status_code == 201, response.json()
    body = response.json()
    attachment = Attachment.objects.get(pk=body["id"])
    assert body["name"] == "家门口.jpg"
    assert body["content_type"] == attachment.content_type == "image/jpeg"

    stored = media / attachment.file
    data = stored.read_bytes()
    assert "家门口" not in attachment.file
    assert "etc" not in attachment.file
    assert stored.is_relative_to(media)
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert SECRET.encode() not in data
    photo = Image.open(io.BytesIO(data))
    assert photo.format == "JPEG"
    assert not photo.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert dict(photo.getexif()) == {}
    # Orientation 6 (turned 90° clockwise to view): the stored pixels are upright, 20 × 40,
    # and the blue half that was on the left is now on top.
    assert photo.size == (20, 40) == (attachment.width, attachment.height)
    top, bottom = photo.convert("RGB").getpixel((10, 5)), photo.convert("RGB").getpixel((10, 35))
    assert top[2] > 150 > top[0]
    assert bottom[0] > 150 > bottom[2]

    thumb = Image.open(media / attachment.thumbnail)
    assert thumb.format == "JPEG"
    assert max(thumb.size) <= 480
    # The upload is a note with the photo on the timeline.
    event = WorkOrderEvent.objects.get(pk=attachment.event_id)
    assert (event.action, event.attachments) == ("note", [attachment.pk])


def test_attachment__thumbnail__at_most_480_pixels(
    wo: OrderWorld, api_as: Client, media: Path
) -> None:
    order = wo.submit()
    response = post_photo(api_as(wo.resident), order, image_bytes("PNG", (1200, 600)), "a.png")
    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert Image.open(media / attachment.thumbnail).size == (480, 240)


@pytest.mark.parametrize(
    ("fmt", "mode", "content_type"),
    [("PNG", "RGBA", "image/png"), ("WEBP", "RGB", "image/webp"), ("JPEG", "L", "image/jpeg")],
)
def test_attachment__upload__keeps_png_and_webp(
    wo: OrderWorld, api_as: Client, media: Path, fmt: str, mode: str, content_type: str
) -> None:
    order = wo.submit()
    # The client's name and type are ignored: the bytes decide.
    response = post_photo(
        api_as(wo.resident), order, image_bytes(fmt, mode=mode), "x.gif", "application/pdf"
    )
    assert response.status_code == 201, response.json()
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert attachment.content_type == content_type
    assert Image.open(media / attachment.file).format == fmt


FAKES = {
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
    "script": b"<script>alert(document.cookie)</script>",
    "shell": b"#!/bin/sh\nrm -rf /\n",
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
    b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
    "truncated_jpeg": jpeg_with_location()[:200],
    "empty": b"",
}


@pytest.mark.parametrize("kind", list(FAKES))
def test_attachment__upload__not_an_image__400_and_nothing_left(
    wo: OrderWorld, api_as: Client, media: Path, kind: str
) -> None:
    order = wo.submit()
    events = order.events.count()
    response = post_photo(api_as(wo.resident), order, FAKES[kind], name="photo.jpg")
    assert response.status_code == 400
    assert response.json()["code"] == "attachment.not_an_image"
    assert not Attachment.objects.exists()
    assert files_in(media) == []
    assert order.events.count() == events


def test_attachment__upload__too_large__400(
    wo: OrderWorld, api_as: Client, media: Path, settings: Any
) -> None:
    settings.WORK_ORDER_ATTACHMENT_MAX_BYTES = 1000
    order = wo.submit()
    noise = Image.frombytes("L", (100, 100), os.urandom(100 * 100))  # does not compress
    out = io.BytesIO()
    noise.save(out, "PNG")
    big = out.getvalue()
    assert len(big) > 1000
    response = post_photo(api_as(wo.resident), order, big, "big.png")
    assert response.status_code == 400
    assert response.json()["code"] == "attachment.too_large"
    assert not Attachment.objects.exists()
    assert files_in(media) == []


def test_attachment__upload__too_many_pixels__400(
    wo: OrderWorld, api_as: Client, media: Path, settings: Any
) -> None:
    settings.WORK_ORDER_ATTACHMENT_MAX_PIXELS = 10_000
    order = wo.submit()
    response = post_photo(api_as(wo.resident), order, image_bytes("PNG", (200, 200)), "a.png")
    assert response.status_code == 400
    assert response.json()["code"] == "attachment.too_many_pixels"
    assert files_in(media) == []


def test_attachment__decompression_bomb__refused_by_pillow_too(
    wo: OrderWorld, media: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """Pillow's own guard (DecompressionBombError/Warning) is a 400, not a crash."""
    settings.WORK_ORDER_ATTACHMENT_MAX_PIXELS = 10**9
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    order = wo.submit()
    for side in (40, 100):  # past the warning (1×) and past the error (2×)
        with pytest.raises(DomainError) as caught:
            services.work_order_attach(
                actor=wo.fresh(wo.resident), order=order, upload=image_bytes("PNG", (side, side))
            )
        assert caught.value.code == "attachment.too_many_pixels"
    assert files_in(media) == []


def test_attachment__failure_after_files_are_written__leaves_no_file_and_no_row(
    wo: OrderWorld, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = wo.submit()
    events = order.events.count()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr(services, "audit_record_many", broken)
    with pytest.raises(RuntimeError):
        services.work_order_attach(
            actor=wo.fresh(wo.resident), order=order, upload=jpeg_with_location()
        )
    assert not Attachment.objects.exists()
    assert files_in(media) == []
    assert order.events.count() == events


def test_attachment__serve__the_stored_type_nosniff_and_only_to_who_sees_the_order(
    wo: OrderWorld, api_as: Client, media: Path
) -> None:
    order = wo.submit()
    created = post_photo(api_as(wo.resident), order, jpeg_with_location()).json()
    attachment = Attachment.objects.get(pk=created["id"])
    url = created["url"]
    for user in (wo.resident, wo.commissioner_a, wo.dispatcher):
        response = api_as(user).get(url, HTTP_ACCEPT="image/jpeg")
        assert response.status_code == 200, user
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["Content-Disposition"].startswith("inline")
        assert order.reference in response["Content-Disposition"]
        assert b"".join(response.streaming_content) == (media / attachment.file).read_bytes()
    thumb = api_as(wo.resident).get(created["thumbnail_url"])
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"
    # Out of sight: the other courtyard's commissioner, a department the order is not theirs.
    for user in (wo.commissioner_b, wo.urban_handler):
        assert api_as(user).get(url).status_code == 404
        assert api_as(user).get(created["thumbnail_url"]).status_code == 404
        assert api_as(user).get(f"/api/v1/orders/{order.pk}/attachments/").status_code == 404
    # Another order's photo through this order's address: not found.
    other = wo.submit(description="另一件事")
    assert (
        api_as(wo.resident)
        .get(f"/api/v1/orders/{other.pk}/attachments/{attachment.pk}/")
        .status_code
        == 404
    )
    listed = api_as(wo.resident).get(f"/api/v1/orders/{order.pk}/attachments/").json()
    assert [a["id"] for a in listed] == [attachment.pk]


def test_attachment__upload__who_may(wo: OrderWorld, api_as: Client, media: Path) -> None:
    order = wo.submit()
    photo = image_bytes("JPEG")
    assert post_photo(api_as(wo.commissioner_b), order, photo).status_code == 404
    # The commissioner of courtyard A sees the order but is no party to it.
    refused = post_photo(api_as(wo.commissioner_a), order, photo)
    assert refused.status_code == 403
    assert refused.json()["code"] == "work_order.forbidden"
    assert post_photo(api_as(wo.dispatcher), order, photo).status_code == 201
    assert files_in(media)
    assert Attachment.objects.count() == 1
    missing = api_as(wo.resident).post(
        f"/api/v1/orders/{order.pk}/attachments/", {}, format="multipart"
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "attachment.file_required"


def test_work_order__submit__with_photos(wo: OrderWorld, media: Path) -> None:
    submitted = services.work_order_submit(
        actor=wo.fresh(wo.resident),
        channel="resident_form",
        category=wo.street_light,
        description="A1号门口的路灯不亮了",
        place=wo.world.house_a,
        attachments=[upload(jpeg_with_location(), "a.jpg"), upload(image_bytes("PNG"), "b.png")],
    )
    rows = list(Attachment.objects.filter(order=submitted.order).order_by("id"))
    assert [a.content_type for a in rows] == ["image/jpeg", "image/png"]
    intake = submitted.order.events.get(action="submit")
    assert intake.attachments == [a.pk for a in rows]
    assert {a.event_id for a in rows} == {intake.pk}
    assert len(files_in(media)) == 4  # two photos, two thumbnails


def test_work_order__submit__a_fake_photo__no_order_and_no_file(
    wo: OrderWorld, media: Path
) -> None:
    before = WorkOrder.objects.count()
    with pytest.raises(DomainError) as caught:
        services.work_order_submit(
            actor=wo.fresh(wo.resident),
            channel="resident_form",
            category=wo.street_light,
            description="A1号门口的路灯不亮了",
            place=wo.world.house_a,
            attachments=[upload(image_bytes("JPEG")), upload(FAKES["pdf"], "scan.jpg")],
        )
    assert caught.value.code == "attachment.not_an_image"
    assert WorkOrder.objects.count() == before
    assert files_in(media) == []


def test_work_order__submit__fails_after_storing__no_order_and_no_file(
    wo: OrderWorld, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = WorkOrder.objects.count()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr(services, "audit_record_many", broken)
    with pytest.raises(RuntimeError):
        services.work_order_submit(
            actor=wo.fresh(wo.resident),
            channel="resident_form",
            category=wo.street_light,
            description="A1号门口的路灯不亮了",
            place=wo.world.house_a,
            attachments=[upload(jpeg_with_location())],
        )
    assert WorkOrder.objects.count() == before
    assert not Attachment.objects.exists()
    assert files_in(media) == []
