"""Writes of the Open311 adapter: client keys, posted requests and posted updates.

A posted request becomes a work order through ``workorders.services.work_order_submit``, as
every other channel does (routing, SLA, notifications), acting as the key's service account;
an update becomes a public note through ``work_order_note``. Each write runs in one
transaction with its audit record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant, user_create
from sanan.audit.services import audit_record
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.open311.models import ApiKey, Open311Request, Open311Update
from sanan.places.coords import LatLng
from sanan.places.models import Place, PlaceKind
from sanan.workorders.models import Category, Channel, WorkOrder, WorkOrderEvent
from sanan.workorders.services import work_order_attach, work_order_note, work_order_submit

KEY_TAG = "s311"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_secret() -> tuple[str, str]:
    """A fresh key and its prefix: ``s311_<8 hex>_<43 URL-safe characters>`` (256 bits)."""
    prefix = secrets.token_hex(4)
    return f"{KEY_TAG}_{prefix}_{secrets.token_urlsafe(32)}", prefix


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: ``key`` is shown once and never stored."""

    api_key: ApiKey
    key: str


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(
            "open311_key.name_required",
            _("Give the client application a name: it is shown on its orders."),
            fields={"name": [_("Required.")]},
        )
    if len(name) > 60:
        raise DomainError(
            "open311_key.name_too_long",
            _("At most %(n)d characters, please.") % {"n": 60},
            fields={"name": [_("Too long.")]},
        )
    if ApiKey.objects.filter(name__iexact=name).exists():
        raise DomainError(
            "open311_key.name_taken",
            _("Another client application has this name."),
            fields={"name": [_("Choose another name.")]},
        )
    return name


def _check_rate(rate_per_minute: int) -> int:
    if not 1 <= int(rate_per_minute) <= 100_000:
        raise DomainError(
            "open311_key.bad_rate",
            _("The rate limit is between 1 and 100000 requests a minute."),
            fields={"rate_per_minute": [_("Between 1 and 100000.")]},
        )
    return int(rate_per_minute)


def api_key_create(
    *,
    actor: Any,
    name: str,
    jurisdiction: Place,
    rate_per_minute: int = 60,
    note: str = "",
) -> IssuedKey:
    """A key for a client application, with its own service account holding the
    ``open311_client`` role over the community: it may report anywhere there and read back its
    own orders, and nothing else (no registry, no map, no rating)."""
    name = _clean_name(name)
    rate = _check_rate(rate_per_minute)
    if jurisdiction.kind != PlaceKind.COMMUNITY:
        raise DomainError(
            "open311_key.jurisdiction_not_community",
            _("An Open311 jurisdiction is a community."),
            fields={"jurisdiction": [_("Choose a community.")]},
        )
    key, prefix = _new_secret()
    with transaction.atomic():
        user = user_create(
            actor=actor,
            username=f"open311-{prefix}",
            password=secrets.token_urlsafe(32),  # never told to anyone: no one signs in
            display_name=name,
            validate=False,
        )
        role_grant(actor=actor, user=user, role=Role.OPEN311_CLIENT, place=jurisdiction)
        api_key = ApiKey.objects.create(
            name=name,
            prefix=prefix,
            key_hash=_hash(key),
            user=user,
            jurisdiction=jurisdiction,
            rate_per_minute=rate,
            note=(note or "").strip()[:200],
            created_at=clock.now(),
        )
        audit_record(
            actor=actor,
            action="open311_key.created",
            target=api_key,
            data={"prefix": prefix, "rate_per_minute": rate},
        )
    return IssuedKey(api_key, key)


def api_key_rotate(*, actor: Any, api_key: ApiKey) -> IssuedKey:
    """A new secret for the same application; the old key stops working at once."""
    if not api_key.active:
        raise DomainError("open311_key.revoked", _("This key is revoked; create a new one."))
    key, prefix = _new_secret()
    with transaction.atomic():
        old = api_key.prefix
        api_key.prefix, api_key.key_hash = prefix, _hash(key)
        api_key.save(update_fields=["prefix", "key_hash"])
        audit_record(
            actor=actor,
            action="open311_key.rotated",
            target=api_key,
            data={"old_prefix": old, "prefix": prefix},
        )
    return IssuedKey(api_key, key)


def api_key_revoke(*, actor: Any, api_key: ApiKey, reason: str = "") -> ApiKey:
    """The key answers 403 from now on; the application's orders stay as they are."""
    if not api_key.active:
        return api_key
    with transaction.atomic():
        api_key.revoked_at = clock.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="open311_key.revoked",
            target=api_key,
            reason=(reason or "").strip()[:200],
            data={"prefix": api_key.prefix},
        )
    return api_key


def api_key_update(
    *, actor: Any, api_key: ApiKey, rate_per_minute: int | None = None, note: str | None = None
) -> ApiKey:
    changed: dict[str, Any] = {}
    if rate_per_minute is not None and rate_per_minute != api_key.rate_per_minute:
        api_key.rate_per_minute = changed["rate_per_minute"] = _check_rate(rate_per_minute)
    if note is not None and note.strip()[:200] != api_key.note:
        api_key.note = note.strip()[:200]
        changed["note"] = True
    if not changed:
        return api_key
    with transaction.atomic():
        api_key.save(update_fields=[f for f in ("rate_per_minute", "note") if f in changed])
        audit_record(actor=actor, action="open311_key.changed", target=api_key, data=changed)
    return api_key


# --- using a key ----------------------------------------------------------------------------


class KeyRejected(PermissionDenied):
    """403: the key is missing, unknown or revoked."""


class RateLimited(DomainError):
    status_code = 429


def api_key_for(key: str | None) -> ApiKey:
    """The active key ``key`` is, or 403 ``open311.api_key_invalid``."""
    key = (key or "").strip()
    if not key:
        raise KeyRejected(
            "open311.api_key_missing", _("An api_key is required to create or update requests.")
        )
    parts = key.split("_", 2)
    row = None
    if len(parts) == 3 and parts[0] == KEY_TAG:
        row = ApiKey.objects.select_related("user", "jurisdiction").filter(prefix=parts[1]).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(key)):
        raise KeyRejected("open311.api_key_invalid", _("Invalid api_key received."))
    if not row.active:
        raise KeyRejected("open311.api_key_revoked", _("This api_key has been revoked."))
    return row


def api_key_hit(*, api_key: ApiKey, now: dt.datetime | None = None) -> None:
    """Count one call in the key's one-minute window; 429 past ``rate_per_minute``.

    Conditional UPDATEs, so concurrent processes share one count: the first call of a new
    minute resets the window, later ones increment it while under the limit."""
    now = now or clock.now()
    window = now.replace(second=0, microsecond=0)
    rows = ApiKey.objects.filter(pk=api_key.pk)
    counted = rows.filter(window_start=window, window_count__lt=api_key.rate_per_minute).update(
        window_count=F("window_count") + 1, last_used_at=now
    )
    if not counted:
        counted = rows.filter(Q(window_start__isnull=True) | Q(window_start__lt=window)).update(
            window_start=window, window_count=1, last_used_at=now
        )
    if not counted:
        raise RateLimited(
            "open311.rate_limited",
            _("Too many requests from this api_key; at most %(n)d a minute. Try again shortly.")
            % {"n": api_key.rate_per_minute},
        )


# --- requests and updates -------------------------------------------------------------------


def open311_request_submit(
    *,
    api_key: ApiKey,
    category: Category,
    description: str,
    place: Place | None = None,
    point: LatLng | None = None,
    point_system: str = "wgs84",
    contact_name: str = "",
    contact_phone: str = "",
    answers: dict[str, Any] | None = None,
    media_url: str = "",
    uploads: Sequence[Any] = (),
    idempotency_key: str | None = None,
) -> Open311Request:
    """A work order from a posted request, and the Open311 row that ties it to the client.
    A retry with the same ``Idempotency-Key`` returns the first request."""
    with transaction.atomic():
        submitted = work_order_submit(
            actor=api_key.user,
            channel=Channel.OPEN311,
            category=category,
            description=description,
            place=place,
            point=point,
            point_system=point_system,
            contact_name=contact_name,
            contact_phone=contact_phone,
            answers=answers,
            idempotency_key=idempotency_key,
            attachments=uploads,
            duplicate_hints=False,
        )
        if not submitted.created:
            existing = Open311Request.objects.filter(order=submitted.order).first()
            if existing is not None:
                return existing
        row = Open311Request.objects.create(
            order=submitted.order,
            api_key=api_key,
            channel_name=api_key.name,
            token=secrets.token_urlsafe(16),
            media_url=media_url,
            created_at=clock.now(),
        )
        audit_record(
            actor=api_key.user,
            action="open311.request_received",
            target=submitted.order,
            data={"client": api_key.pk, "channel_name": api_key.name},
        )
    return row


@dataclass(frozen=True)
class PostedUpdate:
    update: Open311Update
    created: bool


def open311_update_post(
    *,
    api_key: ApiKey,
    order: WorkOrder,
    external_id: str,
    description: str,
    upload: Any = None,
) -> PostedUpdate:
    """A public note on one of the client's orders from another system's update (mySociety
    ``servicerequestupdates``). The same ``external_id`` twice returns the first note."""
    external_id = (external_id or "").strip()
    if not external_id:
        raise DomainError(
            "open311.update_id_required",
            _("update_id is required."),
            fields={"update_id": [_("Required.")]},
        )
    if len(external_id) > 100:
        raise DomainError(
            "open311.update_id_too_long",
            _("update_id has at most 100 characters."),
            fields={"update_id": [_("Too long.")]},
        )
    existing = Open311Update.objects.filter(api_key=api_key, external_id=external_id).first()
    if existing is not None:
        if existing.order_id != order.pk:
            raise DomainError(
                "open311.update_id_reused",
                _("This update_id was already used for another request."),
                fields={"update_id": [_("Use a new update_id.")]},
            )
        return PostedUpdate(existing, created=False)
    if order.created_by_id != api_key.user_id:
        raise NotFound("open311.request_not_found", _("No such service request."))
    try:
        with transaction.atomic():
            event: WorkOrderEvent
            if upload is not None:
                attachment = work_order_attach(
                    actor=api_key.user, order=order, upload=upload, public_note=description
                )
                event = WorkOrderEvent.objects.get(pk=int(attachment.event_id or 0))
            else:
                event = work_order_note(actor=api_key.user, order=order, public_note=description)
            update = Open311Update.objects.create(
                api_key=api_key,
                external_id=external_id,
                order=order,
                event=event,
                created_at=clock.now(),
            )
            audit_record(
                actor=api_key.user,
                action="open311.update_received",
                target=order,
                data={"client": api_key.pk, "event": event.pk},
            )
    except IntegrityError:  # the same update posted twice at once: the first one won
        update = Open311Update.objects.get(api_key=api_key, external_id=external_id)
        return PostedUpdate(update, created=False)
    return PostedUpdate(update, created=True)
