"""Photos of work orders: checked by their content, re-encoded, stored under random names.

A photo is accepted only when Pillow recognises its bytes as JPEG, PNG or WebP (the name and
the type the client claims do not count), it is within ``WORK_ORDER_ATTACHMENT_MAX_BYTES``
(default 8 MB) and ``WORK_ORDER_ATTACHMENT_MAX_PIXELS`` (default 40 megapixels: a
decompression bomb is refused before it is decoded). It is then turned upright
(``exif_transpose``) and re-encoded from its pixels alone, which drops EXIF (GPS location
included), XMP and comments; a JPEG thumbnail of at most ``THUMBNAIL_SIZE`` pixels is made.

:func:`prepare` does all of that in memory and raises ``DomainError`` (400) with a stable code;
:func:`store` writes the two files and :func:`discard` removes them again, so that a failure
later in the transaction leaves no file behind (see ``services.work_order_attach``).
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from sanan.core import clock
from sanan.core.errors import DomainError

THUMBNAIL_SIZE = 480
JPEG_QUALITY = 85
MAX_PER_ORDER = 9  # a phone's photo picker offers nine at a time
# Pillow format → (content type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
CONTENT_TYPES = frozenset(ct for ct, _ext in FORMATS.values())


def max_bytes() -> int:
    return int(getattr(settings, "WORK_ORDER_ATTACHMENT_MAX_BYTES", 8 * 1024 * 1024))


def max_pixels() -> int:
    return int(getattr(settings, "WORK_ORDER_ATTACHMENT_MAX_PIXELS", 40_000_000))


@dataclass(frozen=True)
class PreparedImage:
    """A checked, re-encoded photo and its thumbnail, not yet stored."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes
    original_name: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


def clean_name(name: str) -> str:
    """The sender's file name, for display only: no directories, no control characters."""
    name = unicodedata.normalize("NFKC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "", name).strip(" .")
    return name[-120:]


def _read(upload: Any) -> bytes:
    """At most the limit plus one byte: enough to know a file is too large."""
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _too_large(limit)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return bytes(data)


def _too_large(limit: int) -> DomainError:
    return DomainError(
        "attachment.too_large",
        _("A photo may be at most %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:g}"},
        fields={"file": [_("Too large.")]},
    )


def _not_an_image() -> DomainError:
    return DomainError(
        "attachment.not_an_image",
        _("Only photos can be attached: JPEG, PNG or WebP."),
        fields={"file": [_("Not a JPEG, PNG or WebP image.")]},
    )


def _too_many_pixels() -> DomainError:
    return DomainError(
        "attachment.too_many_pixels",
        _("This image is too large to process (at most %(mp)d megapixels).")
        % {"mp": max_pixels() // 1_000_000},
        fields={"file": [_("Too many pixels.")]},
    )


def _open_checked(data: bytes) -> tuple[Image.Image, str]:
    """The decoded first frame of a JPEG, PNG or WebP, or a 400."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data), formats=list(FORMATS))
            fmt = probe.format
            width, height = probe.size
            if fmt not in FORMATS:
                raise _not_an_image()
            if width * height > max_pixels():
                raise _too_many_pixels()
            probe.verify()  # structure and checksums; the object is unusable afterwards
            image = Image.open(io.BytesIO(data), formats=[fmt])
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except DomainError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise _not_an_image() from None
    return image, str(fmt)


def _clean_copy(image: Image.Image, fmt: str) -> Image.Image:
    """The pixels alone, upright, in a mode the format can write (no metadata carried)."""
    upright = ImageOps.exif_transpose(image) or image
    if fmt == "JPEG":
        target = "L" if upright.mode in ("1", "L", "I;16") else "RGB"
    elif upright.mode in ("RGBA", "LA", "P", "PA") or "transparency" in upright.info:
        target = "RGBA"
    else:
        target = "RGB" if upright.mode not in ("L", "RGB") else upright.mode
    clean = upright.convert(target)
    clean.info = {}
    return clean


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=JPEG_QUALITY, method=4)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    if thumb.mode in ("RGBA", "LA"):
        background = Image.new("RGB", thumb.size, (255, 255, 255))
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


def prepare(upload: Any, *, name: str = "") -> PreparedImage:
    """Check and re-encode an uploaded file (anything with ``read``, or bytes). 400s:
    ``attachment.too_large``, ``attachment.not_an_image``, ``attachment.too_many_pixels``."""
    data = _read(io.BytesIO(upload) if isinstance(upload, bytes | bytearray) else upload)
    if not data:
        raise _not_an_image()
    image, fmt = _open_checked(data)
    try:
        clean = _clean_copy(image, fmt)
        encoded = _encode(clean, fmt)
        thumbnail = _thumbnail(clean)
    except (OSError, ValueError):
        raise _not_an_image() from None
    content_type, extension = FORMATS[fmt]
    return PreparedImage(
        data=encoded,
        content_type=content_type,
        extension=extension,
        width=clean.width,
        height=clean.height,
        thumbnail=thumbnail,
        original_name=clean_name(name or getattr(upload, "name", "") or ""),
    )


@dataclass(frozen=True)
class StoredFiles:
    file: str
    thumbnail: str


def store(prepared: PreparedImage) -> StoredFiles:
    """Write the photo and its thumbnail under random names (never the sender's)."""
    today = clock.now()
    stem = f"workorders/{today:%Y/%m}/{secrets.token_hex(16)}"
    file = default_storage.save(f"{stem}.{prepared.extension}", ContentFile(prepared.data))
    try:
        thumbnail = default_storage.save(f"{stem}.thumb.jpg", ContentFile(prepared.thumbnail))
    except Exception:
        default_storage.delete(file)
        raise
    return StoredFiles(file, thumbnail)


def discard(files: StoredFiles) -> None:
    for name in (files.file, files.thumbnail):
        if name:
            default_storage.delete(name)


def is_upload(value: Any) -> bool:
    """An uploaded file (or bytes) rather than the id of an attachment stored earlier."""
    return isinstance(value, bytes | bytearray) or hasattr(value, "read")


__all__ = [
    "CONTENT_TYPES",
    "MAX_PER_ORDER",
    "THUMBNAIL_SIZE",
    "PreparedImage",
    "StoredFiles",
    "clean_name",
    "discard",
    "is_upload",
    "max_bytes",
    "prepare",
    "store",
]
