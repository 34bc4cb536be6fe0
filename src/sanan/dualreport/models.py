"""Dual-reporting 双报到: outside units and in-service Party members register with the
community, say what they offer (资源清单) and how many volunteer hours a month they can give;
the community publishes tasks (需求清单), units claim them, report them done with evidence, and
residents rate them. "The grid collects, the branch dispatches, many take, residents rate."

A registration names either a dual-reporting unit (``organisation.Organisation`` of kind
``unit``) or a person (an in-service Party member). A task has ``slots`` places; claims take
them with a conditional UPDATE of ``claimed_slots``, so of two units racing for the last place
exactly one wins. Hours are kept in whole minutes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanan.accounts.permissions import ScopedQuerySet
from sanan.core import crypto
from sanan.places.models import Place

VIEW = "dual.view"  # see registrations, tasks and claims (unit members: their unit's only)
MANAGE = "dual.manage"  # register units, publish and close tasks, evaluate
CLAIM = "dual.claim"  # claim tasks and report them done, for one's own unit
RATE = "dual.rate"  # residents: rate finished tasks of their community

CONTACT_PHONE_PURPOSE = "dualreport.contact_phone"
crypto.register_encrypted_field(
    "dualreport.Registration", "contact_phone_encrypted", purpose=CONTACT_PHONE_PURPOSE
)


class RegistrationKind(models.TextChoices):
    UNIT = "unit", _("Unit (its Party organisation)")
    MEMBER = "member", _("In-service Party member")


class RegistrationState(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("registration", "Active")
    ENDED = "ended", pgettext_lazy("registration", "Ended")


class RegistrationQuerySet(ScopedQuerySet["Registration"]):
    def visible_to(self, user: Any, action: str = VIEW) -> models.QuerySet[Registration]:
        from sanan.dualreport.access import registrations_q

        return self.filter(registrations_q(user))


class Registration(models.Model):
    """A unit or a Party member registered with a community (报到)."""

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=RegistrationKind.choices)
    organisation = models.ForeignKey(
        "organisation.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit"),
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Party member"),
    )
    contact_name = models.CharField(_("contact person"), max_length=60)
    contact_phone_encrypted = models.TextField(blank=True, default="")
    contact_phone_masked = models.CharField(_("contact phone"), max_length=16, blank=True)
    contact_phone_index = models.CharField(max_length=64, blank=True, default="")
    resources = models.TextField(_("what they offer"))  # 资源清单
    skills = models.CharField(_("skills (comma separated)"), max_length=200, blank=True)
    capacity_minutes_month = models.PositiveIntegerField(_("volunteer time a month (minutes)"))
    state = models.CharField(
        _("state"),
        max_length=8,
        choices=RegistrationState.choices,
        default=RegistrationState.ACTIVE,
    )
    registered_on = models.DateField(_("registered on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    code = models.CharField(max_length=64, blank=True, default="")  # stable demo key
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["kind", "contact_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["place", "organisation"],
                condition=models.Q(state="active", organisation__isnull=False),
                name="dual_registration_unit_once",
            ),
            models.UniqueConstraint(
                fields=["place", "member"],
                condition=models.Q(state="active", member__isnull=False),
                name="dual_registration_member_once",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="unit", organisation__isnull=False, member__isnull=True)
                    | models.Q(kind="member", member__isnull=False, organisation__isnull=True)
                ),
                name="dual_registration_who",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="dual_registration_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if self.organisation is not None:
            return self.organisation.name
        return str(self.member) if self.member_id is not None else self.contact_name

    @property
    def capacity_hours(self) -> float:
        return self.capacity_minutes_month / 60

    def audit_label(self) -> str:
        return f"registration {self.pk}"  # no names or numbers in the audit log


class TaskState(models.TextChoices):
    OPEN = "open", pgettext_lazy("dual task", "Open for claims")
    CLOSED = "closed", pgettext_lazy("dual task", "Closed")
    CANCELLED = "cancelled", pgettext_lazy("dual task", "Cancelled")


class TaskQuerySet(ScopedQuerySet["Task"]):
    def visible_to(self, user: Any, action: str = VIEW) -> models.QuerySet[Task]:
        from sanan.dualreport.access import tasks_q

        return self.filter(tasks_q(user))


class Task(models.Model):
    """A need the community publishes (需求清单): what, where, when, how many units and how
    many hours each; optionally part of a campaign."""

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("where")
    )
    community = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dual_tasks",
        verbose_name=_("campaign"),
    )
    title = models.CharField(_("task"), max_length=120)
    description = models.TextField(_("description"), blank=True, default="")
    skills = models.CharField(_("skills wanted"), max_length=200, blank=True, default="")
    slots = models.PositiveSmallIntegerField(_("units wanted"))
    claimed_slots = models.PositiveSmallIntegerField(_("places taken"), default=0)
    minutes_per_slot = models.PositiveIntegerField(_("time each unit gives (minutes)"))
    starts_on = models.DateField(_("from"))
    due_on = models.DateField(_("until"))
    state = models.CharField(
        _("state"), max_length=10, choices=TaskState.choices, default=TaskState.OPEN
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    published_at = models.DateTimeField(_("published at"))
    code = models.CharField(max_length=64, blank=True, default="")

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("dual-reporting task")
        verbose_name_plural = _("dual-reporting tasks")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(claimed_slots__lte=models.F("slots")),
                name="dual_task_not_overclaimed",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="dual_task_code"
            ),
        ]
        indexes = [models.Index(fields=["community", "state"], name="dual_task_community")]

    def __str__(self) -> str:
        return self.title

    def audit_label(self) -> str:
        return f"dual task {self.pk}"

    @property
    def free_slots(self) -> int:
        return max(0, self.slots - self.claimed_slots)


class ClaimState(models.TextChoices):
    CLAIMED = "claimed", pgettext_lazy("dual claim", "Claimed")
    DONE = "done", pgettext_lazy("dual claim", "Done")
    WITHDRAWN = "withdrawn", pgettext_lazy("dual claim", "Withdrawn")


class Claim(models.Model):
    """A registered unit (or member) takes a place on a task, then reports it done with the
    time given and evidence; residents rate it."""

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="claims")
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="claims")
    state = models.CharField(
        _("state"), max_length=10, choices=ClaimState.choices, default=ClaimState.CLAIMED
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    claimed_at = models.DateTimeField(_("claimed at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    minutes = models.PositiveIntegerField(_("time given (minutes)"), default=0)
    people = models.PositiveSmallIntegerField(_("people who came"), default=0)
    evidence = models.TextField(_("what was done"), blank=True, default="")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["-claimed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "registration"],
                condition=~models.Q(state="withdrawn"),
                name="dual_claim_once",
            )
        ]
        indexes = [
            models.Index(fields=["registration", "claimed_at"], name="dual_claim_registration")
        ]

    def __str__(self) -> str:
        return f"{self.registration_id} → {self.task_id}"

    def audit_label(self) -> str:
        return f"dual claim {self.pk}"

    @property
    def place(self) -> Place:
        return self.task.place

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None


class Rating(models.Model):
    """A resident's rating of a finished claim: 1–5 stars and an optional word."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="ratings")
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.CharField(_("comment"), max_length=200, blank=True, default="")
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["claim", "resident"], name="dual_rating_once"),
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="dual_rating_stars"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stars}★ → {self.claim_id}"
