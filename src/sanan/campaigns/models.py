"""Campaigns (专项行动): the 100-day tackling 百日攻坚, the topic of the month 每月一题 and other
special drives, with their scope, targets, dates, owner, linked orders and manual tasks.

A campaign belongs to a place (the community that runs it); its scope is narrowed by level-1
or level-2 categories and by places below it (both optional: no category means every
category, no place means the whole of ``place``). ``CampaignOrder`` is the link between a
campaign and a work order: rows are written by ``services.campaign_links_sync`` (at the
campaign's start and from the worker's tick, never on the intake path) or by hand with a
reason; a row unlinked by hand stays, inactive, so that the next synchronisation does not
link the order again. Figures read the active rows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanan.accounts.permissions import ScopedQuerySet
from sanan.places.models import Place

VIEW = "campaign.view"  # see campaigns, their orders, burndown and closing report
MANAGE = "campaign.manage"  # create, start, close, link and unlink orders, manage tasks


class CampaignKind(models.TextChoices):
    TACKLING = "tackling", _("100-day tackling")  # 百日攻坚
    MONTHLY_TOPIC = "monthly_topic", _("Topic of the month")  # 每月一题
    SPECIAL = "special", _("Special campaign")  # 专项行动


class CampaignState(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("campaign", "Draft")
    RUNNING = "running", pgettext_lazy("campaign", "Running")
    CLOSED = "closed", pgettext_lazy("campaign", "Closed")


# Which state may follow which (``services._move`` checks it).
TRANSITIONS: dict[str, frozenset[str]] = {
    CampaignState.DRAFT: frozenset({CampaignState.RUNNING}),
    CampaignState.RUNNING: frozenset({CampaignState.CLOSED}),
    CampaignState.CLOSED: frozenset(),
}


class CampaignQuerySet(ScopedQuerySet["Campaign"]):
    def visible_to(self, user: Any, action: str = VIEW) -> models.QuerySet[Campaign]:
        return super().visible_to(user, action)


class Campaign(models.Model):
    """A time-boxed drive on a set of problems, with a target and an owner."""

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("run by (place)")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CampaignKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True, default="")
    categories = models.ManyToManyField(
        "workorders.Category",
        blank=True,
        related_name="+",
        verbose_name=_("categories"),
        help_text=_("Level-1 or level-2 categories; none means every category."),
    )
    places = models.ManyToManyField(
        Place,
        blank=True,
        related_name="+",
        verbose_name=_("places"),
        help_text=_("Courtyards or areas inside the campaign's place; none means all of it."),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    target_solved = models.PositiveIntegerField(_("problems to solve"))
    target_resolution_percent = models.PositiveSmallIntegerField(
        _("resolution rate to reach (%)"), null=True, blank=True
    )
    owner_organisation = models.ForeignKey(
        "organisation.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owning organisation"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("person in charge"),
    )
    state = models.CharField(
        _("state"), max_length=8, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closing_note = models.TextField(_("closing summary"), blank=True, default="")
    linked_at = models.DateTimeField(_("orders last linked at"), null=True, blank=True)
    code = models.CharField(max_length=64, blank=True, default="")  # stable demo key
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="campaign_code"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(target_resolution_percent__isnull=True)
                | models.Q(target_resolution_percent__lte=100),
                name="campaign_rate_percent",
            ),
        ]
        indexes = [models.Index(fields=["state", "ends_on"], name="campaign_state_ends")]

    def __str__(self) -> str:
        return self.title

    def audit_label(self) -> str:
        return f"campaign {self.pk} · {self.title}"


class LinkSource(models.TextChoices):
    SCOPE = "scope", _("In scope (linked automatically)")
    MANUAL = "manual", _("Linked by hand")


class CampaignOrderQuerySet(models.QuerySet["CampaignOrder"]):
    def active(self) -> CampaignOrderQuerySet:
        return self.filter(active=True)


class CampaignOrder(models.Model):
    """A work order counted for a campaign (``active``), or unlinked by hand (kept so that the
    automatic linking leaves it out). One row per campaign and order."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    order = models.ForeignKey(
        "workorders.WorkOrder", on_delete=models.CASCADE, related_name="campaign_links"
    )
    source = models.CharField(_("how linked"), max_length=8, choices=LinkSource.choices)
    active = models.BooleanField(_("counted"), default=True)
    linked_at = models.DateTimeField(_("linked at"))
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    unlinked_at = models.DateTimeField(_("unlinked at"), null=True, blank=True)
    unlinked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    unlink_reason = models.CharField(_("why unlinked"), max_length=200, blank=True, default="")

    objects = CampaignOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign order")
        verbose_name_plural = _("campaign orders")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "order"], name="campaign_order_once")
        ]
        indexes = [
            models.Index(fields=["order", "active"], name="campaign_order_by_order"),
            models.Index(fields=["campaign", "active"], name="campaign_order_by_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} ↔ {self.order_id}"


class CampaignTask(models.Model):
    """A manual step of a campaign (a checklist item): who does it and by when."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("task"), max_length=160)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("who"),
    )
    owner_organisation = models.ForeignKey(
        "organisation.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("organisation"),
    )
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign task")
        verbose_name_plural = _("campaign tasks")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title

    def audit_label(self) -> str:
        return f"campaign task {self.pk}"

    @property
    def place(self) -> Place:  # scoping and the audit log's place: the campaign's
        return self.campaign.place
