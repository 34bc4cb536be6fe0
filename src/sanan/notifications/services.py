"""Delivery of the outbox, the inbox and webhook endpoints (writes only).

Delivering a message
    1. **claim** it with a conditional UPDATE (``WHERE id = … AND status = 'pending' AND
       attempts = <seen> AND next_attempt_at <= now``) that bumps ``attempts`` and leases the
       row for :data:`LEASE`: of two workers, exactly one gets it; a worker that dies holding
       it lets another take it when the lease runs out;
    2. work out the **targets** (inbox users, webhook endpoints, email addresses, a phone)
       and skip those that already have a ``delivered`` :class:`DeliveryAttempt`;
    3. **deliver** each, logging an attempt row per target; inbox items are written in one
       transaction fenced by the claim (the row must still carry our ``attempts``), unique per
       (message, user);
    4. **finish**: all targets delivered → ``sent``; otherwise back to ``pending`` with
       ``next_attempt_at`` = now + base·2^(attempts−1) (capped), or ``failed`` once
       ``NOTIFY_MAX_ATTEMPTS`` tries are used up.

So a message is delivered once per target: inbox and the attempt log are unique in the
database, and a webhook receiver that still sees a repeat (a worker died between the POST
and its record) recognises it by the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import ROLE_ACTIONS
from sanan.audit.services import audit_record
from sanan.core import clock, crypto
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.notifications import config, delivery
from sanan.notifications.messages import Rendered, render
from sanan.notifications.models import (
    WEBHOOK_SECRET_PURPOSE,
    AttemptOutcome,
    DeliveryAttempt,
    InboxItem,
    WebhookEndpoint,
)
from sanan.organisation.models import Organisation
from sanan.workorders import access
from sanan.workorders.models import (
    CONTACT_PHONE_PURPOSE,
    Category,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    WorkOrder,
)

logger = logging.getLogger("sanan.notifications")

LEASE = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=6)
WEBHOOK_MANAGE = "routing.manage"  # the desk (dispatchers, administrators) over the place


# --- the outbox -------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # another worker claimed it first
    next_retry_at: dt.datetime | None = None
    messages: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return f"delivered {self.sent}, retrying {self.retrying}, gave up {self.failed}" + (
            f" ({self.lost} taken by another worker)" if self.lost else ""
        )


def backoff(attempts: int) -> dt.timedelta:
    """Wait before try ``attempts + 1``: base, 2·base, 4·base … at most 6 hours."""
    seconds = config.retry_base_seconds() * 2 ** max(attempts - 1, 0)
    return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


def _due(now: dt.datetime) -> Q:
    return Q(status=OutboxStatus.PENDING) & (
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
    )


def outbox_claim(message: OutboxMessage, *, now: dt.datetime) -> int | None:
    """Take ``message`` for this worker: its new ``attempts`` number, or None if another
    worker (or an earlier run) got there first."""
    won = OutboxMessage.objects.filter(_due(now), pk=message.pk, attempts=message.attempts).update(
        attempts=F("attempts") + 1, next_attempt_at=now + LEASE
    )
    return message.attempts + 1 if won == 1 else None


def _in_force(prefix: str = "") -> Q:
    today = clock.today()
    return (Q(**{f"{prefix}starts_on__isnull": True}) | Q(**{f"{prefix}starts_on__lte": today})) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": today})
    )


def _prefixes(path: str, steplen: int = 4) -> list[str]:
    return [path[:i] for i in range(steplen, len(path) + 1, steplen)]


def recipients(message: OutboxMessage, order: WorkOrder | None) -> list[User]:
    """The people a message is for: its user; the members of its organisation (role holders
    for that organisation whose scope covers the order); or the holders of its role action
    over its place. Only people who may see the order are kept."""
    from sanan.accounts.models import RoleAssignment

    users: dict[int, User] = {}
    if message.recipient_user_id:
        user = User.objects.filter(pk=message.recipient_user_id, is_active=True).first()
        if user is not None:
            users[user.pk] = user
    elif message.recipient_organisation_id or message.recipient_action:
        action = message.recipient_action or "work_order.view"
        roles = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
        place = message.recipient_place or (order.place if order is not None else None)
        grants = RoleAssignment.objects.filter(
            _in_force(), role__in=roles, user__is_active=True
        ).select_related("user")
        if message.recipient_organisation_id:
            grants = grants.filter(organisation_id=message.recipient_organisation_id)
        else:
            grants = grants.filter(organisation__isnull=True)
        if place is not None:
            grants = grants.filter(place__path__in=_prefixes(place.path))
        for grant in grants.order_by("user_id"):
            users.setdefault(grant.user_id, grant.user)
    if order is None:
        return list(users.values())
    return [u for u in users.values() if access.can_see(u, order)]


def _language(user: User | None) -> str:
    return (getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE) if user else ""


def _done_targets(message: OutboxMessage) -> set[str]:
    return set(
        DeliveryAttempt.objects.filter(
            message_key=message.dedupe_key, outcome=AttemptOutcome.DELIVERED
        ).values_list("target", flat=True)
    )


def _log(
    message: OutboxMessage,
    attempt: int,
    target: str,
    now: dt.datetime,
    outcome: str,
    *,
    status_code: int | None = None,
    error: str = "",
    duration_ms: int = 0,
) -> DeliveryAttempt:
    return DeliveryAttempt(
        message_key=message.dedupe_key,
        message_id=message.pk,
        channel=message.channel,
        target=target,
        attempt=attempt,
        at=now,
        outcome=outcome,
        status_code=status_code,
        error=error[:300],
        duration_ms=duration_ms,
    )


def _record(attempts: Iterable[DeliveryAttempt]) -> None:
    # A delivered row that already exists (a second worker after a lease ran out) is dropped.
    DeliveryAttempt.objects.bulk_create(list(attempts), ignore_conflicts=True)


def _deliver_inbox(
    message: OutboxMessage,
    attempt: int,
    users: list[User],
    now: dt.datetime,
    categories: dict[int, Category],
) -> bool:
    """Write the inbox items, fenced by our claim; False if the claim was lost."""
    with transaction.atomic():
        fenced = OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxStatus.PENDING, attempts=attempt
        ).update(last_error="")
        if fenced != 1:
            return False
        items = []
        for user in users:
            text: Rendered = render(
                message.template, message.payload, language=_language(user), categories=categories
            )
            items.append(
                InboxItem(
                    user=user,
                    created_at=now,
                    template=message.template,
                    title=text.title,
                    body=text.body,
                    link=text.link,
                    order_id=message.order_id,
                    source_key=message.dedupe_key,
                )
            )
        InboxItem.objects.bulk_create(items, ignore_conflicts=True)
        _record([_log(message, attempt, "inbox", now, AttemptOutcome.DELIVERED)])
    return True


def _deliver_webhook(
    message: OutboxMessage, attempt: int, endpoint: WebhookEndpoint, now: dt.datetime
) -> str:
    target = f"webhook:{endpoint.pk}"
    body = delivery.webhook_body(
        key=message.dedupe_key,
        template=message.template,
        payload=message.payload,
        occurred_at=message.created_at.isoformat(),
        link=config.public_url() + render(message.template, message.payload).link,
    )
    try:
        result = delivery.webhook_post(
            url=endpoint.url,
            secret=endpoint.secret(),
            body=body,
            event=message.template,
            idempotency_key=message.dedupe_key,
        )
    except (delivery.DeliveryError, crypto.DecryptionError) as exc:
        code = getattr(exc, "status_code", None)
        _record([_log(message, attempt, target, now, AttemptOutcome.FAILED, status_code=code,
                      error=str(exc))])  # fmt: skip
        return str(exc)
    _record([_log(message, attempt, target, now, AttemptOutcome.DELIVERED,
                  status_code=result.status_code, duration_ms=result.duration_ms)])  # fmt: skip
    return ""


def _deliver_email(message: OutboxMessage, attempt: int, user: User, now: dt.datetime) -> str:
    target = f"email:{user.pk}"
    text = render(message.template, message.payload, language=_language(user))
    body = f"{text.body}\n\n{config.public_url()}{text.link}" if text.link else text.body
    try:
        delivery.email_send(to=user.email, subject=text.title, body=body, key=message.dedupe_key)
    except delivery.DeliveryError as exc:
        _record([_log(message, attempt, target, now, AttemptOutcome.FAILED, error=str(exc))])
        return str(exc)
    _record([_log(message, attempt, target, now, AttemptOutcome.DELIVERED)])
    return ""


def _deliver_sms(
    message: OutboxMessage, attempt: int, user: User | None, order: WorkOrder | None,
    now: dt.datetime,
) -> str:  # fmt: skip
    target = f"sms:{user.pk}" if user is not None else "sms:contact"
    try:
        if user is not None:
            phone = user.phone_reveal()
        elif order is not None and order.contact_phone_encrypted:
            phone = crypto.decrypt(order.contact_phone_encrypted, purpose=CONTACT_PHONE_PURPOSE)
        else:
            phone = ""
    except crypto.DecryptionError:
        phone = ""
    if not phone:
        _record([_log(message, attempt, target, now, AttemptOutcome.SKIPPED, error="no_phone")])
        return ""
    text = render(message.template, message.payload, language=_language(user))
    try:
        delivery.sms_adapter().send(phone=phone, text=text.title, key=message.dedupe_key)
    except delivery.DeliveryError as exc:
        _record([_log(message, attempt, target, now, AttemptOutcome.FAILED, error=str(exc))])
        return str(exc)
    _record([_log(message, attempt, target, now, AttemptOutcome.DELIVERED)])
    return ""


def _endpoints(message: OutboxMessage) -> list[WebhookEndpoint]:
    if not message.recipient_organisation_id:
        return []
    return list(
        WebhookEndpoint.objects.filter(
            organisation_id=message.recipient_organisation_id, active=True
        ).order_by("pk")
    )


def outbox_deliver(
    message: OutboxMessage,
    *,
    now: dt.datetime | None = None,
    categories: dict[int, Category] | None = None,
    result: DeliveryResult | None = None,
) -> str:
    """Claim and deliver one message; returns its status afterwards (``lost`` if another
    worker holds it)."""
    now = now or clock.now()
    result = result if result is not None else DeliveryResult()
    categories = categories if categories is not None else {}
    attempt = outbox_claim(message, now=now)
    if attempt is None:
        result.lost += 1
        return "lost"
    result.claimed += 1
    order = (
        WorkOrder.objects.select_related("place").filter(pk=message.order_id).first()
        if message.order_id
        else None
    )
    done = _done_targets(message)
    errors: list[str] = []
    lost = False
    channel = message.channel
    if channel == OutboxChannel.INBOX:
        if "inbox" not in done:
            users = recipients(message, order)
            lost = not _deliver_inbox(message, attempt, users, now, categories)
        for endpoint in _endpoints(message):
            if not lost and f"webhook:{endpoint.pk}" not in done:
                errors.append(_deliver_webhook(message, attempt, endpoint, now))
    elif channel == OutboxChannel.WEBHOOK:
        for endpoint in _endpoints(message):
            if f"webhook:{endpoint.pk}" not in done:
                errors.append(_deliver_webhook(message, attempt, endpoint, now))
    elif channel == OutboxChannel.EMAIL:
        for user in recipients(message, order):
            if user.email and f"email:{user.pk}" not in done:
                errors.append(_deliver_email(message, attempt, user, now))
    elif channel == OutboxChannel.SMS:
        texted: list[User | None] = (
            list(recipients(message, order)) if message.recipient_user_id else [None]
        )
        for maybe_user in texted:
            target = f"sms:{maybe_user.pk}" if maybe_user is not None else "sms:contact"
            if target not in done:
                errors.append(_deliver_sms(message, attempt, maybe_user, order, now))
    else:
        errors.append(f"unknown channel {channel}")
    if lost:
        result.lost += 1
        return "lost"
    return _finish(message, attempt, [e for e in errors if e], now, result)


def _finish(
    message: OutboxMessage, attempt: int, errors: list[str], now: dt.datetime,
    result: DeliveryResult,
) -> str:  # fmt: skip
    mine = OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.PENDING, attempts=attempt
    )
    if not errors:
        if mine.update(status=OutboxStatus.SENT, sent_at=now, next_attempt_at=None) == 1:
            result.sent += 1
            result.messages.append(message.pk)
        return OutboxStatus.SENT
    error = "; ".join(errors)[:300]
    if attempt >= config.max_attempts():
        mine.update(status=OutboxStatus.FAILED, last_error=error, next_attempt_at=None)
        result.failed += 1
        logger.warning("message %s given up after %s tries: %s", message.pk, attempt, error)
        return OutboxStatus.FAILED
    retry_at = now + backoff(attempt)
    mine.update(next_attempt_at=retry_at, last_error=error)
    result.retrying += 1
    if result.next_retry_at is None or retry_at < result.next_retry_at:
        result.next_retry_at = retry_at
    return OutboxStatus.PENDING


def outbox_deliver_due(*, now: dt.datetime | None = None, limit: int = 500) -> DeliveryResult:
    """Deliver every message that is due now (at most ``limit``), oldest first."""
    now = now or clock.now()
    result = DeliveryResult()
    categories: dict[int, Category] = {}
    due = list(OutboxMessage.objects.filter(_due(now)).order_by("next_attempt_at", "pk")[:limit])
    for message in due:
        try:
            outbox_deliver(message, now=now, categories=categories, result=result)
        except Exception:  # one broken message must not stop the others; it stays leased
            logger.exception("delivering message %s failed", message.pk)
    return result


def outbox_kick() -> None:
    """Ask the worker to deliver soon, once the current transaction commits. Writing an outbox
    row does this by itself (``worker.OutboxWake``); this is for a producer that wants a
    delivery run without writing one (the worker's minute tick is the safety net)."""
    from sanan.notifications import worker

    transaction.on_commit(worker.kick)


# --- the inbox --------------------------------------------------------------------------------


def inbox_mark_read(*, actor: Any, item_id: int) -> InboxItem:
    """Mark one of the actor's own items read (another person's item is a 404)."""
    item = (
        InboxItem.objects.filter(pk=item_id, user_id=actor.pk).first()
        if getattr(actor, "is_authenticated", False)
        else None
    )
    if item is None:
        raise NotFound("not_found", _("No such message."))
    if item.read_at is None:
        now = clock.now()
        InboxItem.objects.filter(pk=item.pk, read_at__isnull=True).update(read_at=now)
        item.read_at = now
    return item


def inbox_mark_all_read(*, actor: Any) -> int:
    return InboxItem.objects.filter(user_id=actor.pk, read_at__isnull=True).update(
        read_at=clock.now()
    )


# --- webhook endpoints ------------------------------------------------------------------------


def _require_manage(actor: Any, organisation: Organisation) -> None:
    perms = permissions_for(actor)
    if not perms.can_see(organisation):
        raise NotFound("not_found", _("No such organisation."))
    if not perms.can(WEBHOOK_MANAGE, organisation):
        raise PermissionDenied(
            "webhook_endpoint.forbidden",
            _("Only the community desk may manage this organisation's webhooks."),
        )


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url.lower().startswith(("https://", "http://")) or len(url) > 400:
        raise DomainError(
            "webhook_endpoint.bad_url",
            _("Give a web address starting with https:// (at most 400 characters)."),
            fields={"url": [_("Enter a valid web address.")]},
        )
    return url


def webhook_endpoint_create(
    *, actor: Any, organisation: Organisation, url: str
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned this once; stored encrypted)."""
    _require_manage(actor, organisation)
    url = _clean_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organisation=organisation,
            url=url,
            secret_encrypted=crypto.encrypt(secret, purpose=WEBHOOK_SECRET_PURPOSE),
            created_at=clock.now(),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action="webhook_endpoint.created",
            target=endpoint,
            data={"organisation": organisation.pk},
        )
    return endpoint, secret


def webhook_endpoint_update(
    *, actor: Any, endpoint: WebhookEndpoint, url: str | None = None, active: bool | None = None
) -> WebhookEndpoint:
    _require_manage(actor, endpoint.organisation)
    changed: dict[str, Any] = {}
    if url is not None:
        endpoint.url = changed["url"] = _clean_url(url)
    if active is not None:
        endpoint.active = changed["active"] = bool(active)
    if changed:
        with transaction.atomic():
            endpoint.save(update_fields=list(changed))
            audit_record(
                actor=actor,
                action="webhook_endpoint.updated",
                target=endpoint,
                data={"fields": sorted(changed), "active": endpoint.active},
            )
    return endpoint


def webhook_endpoint_rotate_secret(*, actor: Any, endpoint: WebhookEndpoint) -> str:
    _require_manage(actor, endpoint.organisation)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint.secret_encrypted = crypto.encrypt(secret, purpose=WEBHOOK_SECRET_PURPOSE)
        endpoint.save(update_fields=["secret_encrypted"])
        audit_record(actor=actor, action="webhook_endpoint.secret_rotated", target=endpoint)
    return secret


def webhook_endpoints_visible(user: Any) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.visible_to(user, WEBHOOK_MANAGE).select_related("organisation")
