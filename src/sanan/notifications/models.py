"""Notifications: what a person finds in their inbox, where organisations want webhooks, and
the log of every delivery attempt. Rows are written by ``notifications.services`` only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import ScopedQuerySet
from sanan.core import crypto
from sanan.organisation.models import Organisation

WEBHOOK_SECRET_PURPOSE = "notifications.webhook_secret"  # noqa: S105 - a purpose label
crypto.register_encrypted_field(
    "notifications.WebhookEndpoint", "secret_encrypted", purpose=WEBHOOK_SECRET_PURPOSE
)


class InboxItem(models.Model):
    """One notification in one person's in-app inbox. Title and body are written at delivery
    time in the person's language; ``source_key`` (the outbox message's ``dedupe_key``) with
    the user is unique, so a message reaches an inbox once however often it is retried."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_items"
    )
    created_at = models.DateTimeField(_("received"))
    template = models.CharField(max_length=64)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(max_length=300, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)  # no FK: the order app may change
    source_key = models.CharField(max_length=160)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source_key", "user"], name="inbox_item_once"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="inbox_user_recent"),
            models.Index(
                fields=["user"], condition=models.Q(read_at__isnull=True), name="inbox_unread"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class WebhookEndpointQuerySet(ScopedQuerySet["WebhookEndpoint"]):
    place_field = "organisation__place"


class WebhookEndpoint(models.Model):
    """An organisation's system that wants its notifications as signed HTTP POSTs. The
    secret is encrypted at rest (``core.crypto``) and shown once, when it is created."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("address"), max_length=400)
    secret_encrypted = models.TextField()
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["organisation_id", "pk"]

    def __str__(self) -> str:
        return f"{self.organisation_id} → {self.url}"

    @property
    def place(self) -> Any:
        """Where the endpoint belongs (its organisation's place): scoping and audit use it."""
        return self.organisation.place

    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted, purpose=WEBHOOK_SECRET_PURPOSE)


class AttemptOutcome(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, will retry")
    SKIPPED = "skipped", _("Nobody to deliver to")


class DeliveryAttempt(models.Model):
    """One try at delivering one outbox message to one target (``inbox:<user>``,
    ``webhook:<endpoint>``, ``email:<user>``, ``sms:<user>|contact``). A target with a
    ``delivered`` row is never tried again. Holds no personal data: ids, codes and the
    HTTP status, never addresses or numbers."""

    message_key = models.CharField(max_length=160)  # OutboxMessage.dedupe_key
    message_id = models.BigIntegerField()
    channel = models.CharField(max_length=16)
    target = models.CharField(max_length=64)
    attempt = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        indexes = [models.Index(fields=["message_key", "target"], name="attempt_target")]
        constraints = [
            models.UniqueConstraint(
                fields=["message_key", "target"],
                condition=models.Q(outcome="delivered"),
                name="attempt_delivered_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_key} {self.target} #{self.attempt} {self.outcome}"
