"""Open311 GeoReport v2: the client applications' keys and what Open311 adds to an order.

An order posted through Open311 is an ordinary ``workorders.WorkOrder`` (channel ``open311``),
made by ``work_order_submit`` like every other. What only Open311 knows — which client
application sent it, the token, the client's media URL — lives here, one row per order
(``Open311Request``), so the work-order tables stay the same for every channel. Writes go
through ``open311.services``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sanan.places.models import Place
from sanan.workorders.models import WorkOrder, WorkOrderEvent

DEFAULT_RATE_PER_MINUTE = 60


class ApiKey(models.Model):
    """The key of one client application (a city app, a partner's system).

    Only a hash of the key is kept (``key_hash``, SHA-256 of a 256-bit random secret); the
    first characters (``prefix``) find the row. The application acts through its own service
    account (``user``): the ``open311_client`` role over the jurisdiction's community lets it
    report there and see its own orders, and its name — the channel name — is what the desk
    sees as the reporter of the order. A revoked key answers 403; its orders stay."""

    name = models.CharField(_("channel name"), max_length=60, unique=True)
    prefix = models.CharField(_("key prefix"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="open311_key",
        verbose_name=_("service account"),
    )
    jurisdiction = models.ForeignKey(
        Place,
        on_delete=models.PROTECT,
        related_name="open311_keys",
        verbose_name=_("jurisdiction (community)"),
    )
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=DEFAULT_RATE_PER_MINUTE
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    # Fixed one-minute window of the rate limit, counted with conditional UPDATEs so that
    # every process sees the same count.
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def place(self) -> Place:
        """Where the key's audit events belong: its community."""
        return self.jurisdiction


class Open311Request(models.Model):
    """What Open311 adds to an order it created: the client that sent it, the token the
    client may look the request up by, and the client's own media URL, if any."""

    order = models.OneToOneField(
        WorkOrder, on_delete=models.CASCADE, related_name="open311", verbose_name=_("work order")
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="requests", verbose_name=_("client")
    )
    channel_name = models.CharField(_("channel name"), max_length=60)
    token = models.CharField(_("token"), max_length=32, unique=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")

    def __str__(self) -> str:
        return f"{self.order_id} ← {self.channel_name}"


class Open311Update(models.Model):
    """An update another system posted (mySociety ``servicerequestupdates``): their id, and
    the note it became. A repeated post of the same ``external_id`` returns the same note."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="updates")
    external_id = models.CharField(max_length=100)
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+")
    event = models.OneToOneField(WorkOrderEvent, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Open311 update")
        verbose_name_plural = _("Open311 updates")
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "external_id"], name="open311_update_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.external_id}"
