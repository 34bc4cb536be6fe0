"""The heart-to-heart hotline desk (连心热线): call records and the knowledge base.

A call record keeps when and how long, what kind of call, a summary (phone and ID numbers
masked before it is stored), who took it, who called (the resident when recognised; the
number itself only encrypted, with a blind index and a mask, like the registry's phones) and
how it ended: answered on the spot from the knowledge base, turned into a work order, a
call-back needed, or noted. ``place`` is the courtyard the call is about (or the community),
so scoping needs no join.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import ScopedQuerySet
from sanan.core import crypto
from sanan.places.models import Place

CALLER_PHONE_PURPOSE = "hotline.caller_phone"
crypto.register_encrypted_field(
    "hotline.CallRecord", "caller_phone_encrypted", purpose=CALLER_PHONE_PURPOSE
)

VIEW = "hotline.view"  # read call records, call-backs, statistics, the knowledge base
TAKE = "hotline.take"  # record calls at the desk
MANAGE_KNOWLEDGE = "knowledge.manage"  # write the knowledge base


class CallType(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    HELP = "help", _("Request for help")
    COMPLAINT = "complaint", _("Complaint")
    REPORT = "report", _("Report")
    SUGGESTION = "suggestion", _("Suggestion")
    PRAISE = "praise", _("Praise")


class Outcome(models.TextChoices):
    ANSWERED = "answered", _("Answered on the spot")
    WORK_ORDER = "work_order", _("Turned into a work order")
    CALLBACK = "callback", _("Call-back needed")
    NOTED = "noted", _("Noted")


class CallQuerySet(ScopedQuerySet["CallRecord"]):
    def visible_to(self, user: Any, action: str = VIEW) -> models.QuerySet[CallRecord]:
        return super().visible_to(user, action)


class KnowledgeQuerySet(ScopedQuerySet["KnowledgeEntry"]):
    def visible_to(self, user: Any, action: str = VIEW) -> models.QuerySet[KnowledgeEntry]:
        return super().visible_to(user, action)


class KnowledgeEntry(models.Model):
    """A question callers ask and the answer staff give, kept by the desk (retired, not
    deleted, when it no longer holds: calls answered from it keep their link)."""

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("applies in")
    )
    question = models.CharField(_("question"), max_length=200)
    answer = models.TextField(_("answer"))
    keywords = models.CharField(_("keywords"), max_length=200, blank=True, default="")
    category = models.ForeignKey(
        "workorders.Category",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    active = models.BooleanField(_("in use"), default=True, db_index=True)
    code = models.CharField(max_length=64, blank=True, default="")  # stable demo key
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = KnowledgeQuerySet.as_manager()

    class Meta:
        verbose_name = _("knowledge entry")
        verbose_name_plural = _("knowledge base")
        ordering = ["question", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="knowledge_code"
            )
        ]

    def __str__(self) -> str:
        return self.question

    def audit_label(self) -> str:
        return f"knowledge {self.pk}"


class CallRecord(models.Model):
    """One call to the hotline and how it ended."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    courtyard = models.ForeignKey(
        Place,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("courtyard"),
    )
    started_at = models.DateTimeField(_("started at"), db_index=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), default=0)
    call_type = models.CharField(_("type"), max_length=16, choices=CallType.choices)
    category = models.ForeignKey(
        "workorders.Category",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    summary = models.TextField(_("summary"))  # personal numbers masked before storing
    taker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("call-taker"),
    )
    resident = models.ForeignKey(
        "registry.Resident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("caller"),
    )
    caller_phone_encrypted = models.TextField(blank=True, default="")
    caller_phone_masked = models.CharField(_("caller's number"), max_length=16, blank=True)
    caller_phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    resolved_first_contact = models.BooleanField(_("resolved at first contact"), default=False)
    knowledge = models.ForeignKey(
        KnowledgeEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("answered from"),
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("work order"),
    )
    callback_due_at = models.DateTimeField(_("call back by"), null=True, blank=True)
    callback_done_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    callback_note = models.TextField(_("call-back note"), blank=True, default="")
    code = models.CharField(max_length=64, blank=True, default="")  # stable demo key
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=~models.Q(code=""), name="call_code")
        ]
        indexes = [
            models.Index(fields=["callback_done_at", "callback_due_at"], name="call_callback_due"),
            models.Index(fields=["courtyard", "started_at"], name="call_courtyard_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_call_type_display()} @ {self.started_at:%Y-%m-%d %H:%M}"

    def audit_label(self) -> str:
        return f"call {self.pk}"  # no personal text in the audit log

    @property
    def callback_open(self) -> bool:
        return self.outcome == Outcome.CALLBACK and self.callback_done_at is None
