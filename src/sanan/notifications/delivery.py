"""Channel adapters: how one message reaches one target.

- inbox: rows in ``InboxItem`` (written by ``services``, in the claim's transaction);
- email: Django's configured email backend;
- webhook: an HTTP POST signed with HMAC-SHA256 over ``<timestamp>.<body>``, with the
  message's key as ``Idempotency-Key`` so a receiver can drop a repeat;
- SMS: any class following :class:`SmsAdapter` (``SANAN_SMS_ADAPTER``); the development
  adapter :class:`LoggingSmsAdapter` writes the text to the log with the number masked.

An adapter raises :class:`DeliveryError` when the target did not accept the message; the
caller records the attempt and retries later with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from sanan.core.phone import mask_mobile
from sanan.notifications import config

logger = logging.getLogger("sanan.notifications")

SIGNATURE_HEADER = "X-Sanan-Signature"
TIMESTAMP_HEADER = "X-Sanan-Timestamp"
EVENT_HEADER = "X-Sanan-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """The target did not take the message; worth another try later."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


# --- webhooks ---------------------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def webhook_verify(
    secret: str,
    *,
    signature: str,
    timestamp: str,
    body: bytes,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: recompute the signature and refuse stale timestamps (replays)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret, ts, body), signature)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer we do not follow: it counts as a failure


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    duration_ms: int


def webhook_post(
    *, url: str, secret: str, body: bytes, event: str, idempotency_key: str
) -> WebhookResult:
    """POST ``body`` to ``url``, signed; any 2xx is success, anything else raises."""
    if not url.lower().startswith(("http://", "https://")):
        raise DeliveryError("webhook.bad_url")
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Sanan-Webhook/1",
            EVENT_HEADER: event,
            IDEMPOTENCY_HEADER: idempotency_key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: webhook_signature(secret, timestamp, body),
        },
    )
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=config.webhook_timeout()) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = int(exc.code)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook.unreachable: {type(reason).__name__}") from None
    duration = int((time.monotonic() - started) * 1000)
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook.http_{status}", status_code=status)
    return WebhookResult(status, duration)


def webhook_body(
    *, key: str, template: str, payload: dict[str, Any], occurred_at: str, link: str
) -> bytes:
    """The JSON a receiver gets: ids and codes only, never personal data."""
    document = {
        "id": key,
        "event": template,
        "occurred_at": occurred_at,
        "data": payload,
        "link": link,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# --- email ------------------------------------------------------------------------------------


def email_send(*, to: str, subject: str, body: str, key: str) -> None:
    try:
        sent = EmailMessage(
            subject=subject, body=body, to=[to], headers={"X-Sanan-Message": key}
        ).send()
    except Exception as exc:  # SMTP errors come in many classes; the type is enough to log
        raise DeliveryError(f"email.failed: {type(exc).__name__}") from None
    if sent != 1:
        raise DeliveryError("email.not_sent")


# --- SMS --------------------------------------------------------------------------------------


class SmsAdapter(Protocol):
    """Sends one text message. ``key`` identifies the message (providers that support it use
    it to drop repeats); raise :class:`DeliveryError` when the provider refused it."""

    def send(self, *, phone: str, text: str, key: str) -> None: ...


class LoggingSmsAdapter:
    """Development adapter: writes the message to the log, with the number masked."""

    def send(self, *, phone: str, text: str, key: str) -> None:
        digits = "".join(ch for ch in phone if ch.isdigit())
        logger.info("sms %s to %s: %s", key, mask_mobile(digits), text)


def sms_adapter() -> SmsAdapter:
    adapter: SmsAdapter = import_string(config.sms_adapter_path())()
    return adapter
