"""Organisations (Party bodies, departments, outside units, residents' groups) and members."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import ScopedQuerySet
from sanan.places.models import Place


class OrganisationKind(models.TextChoices):
    PARTY_COMMITTEE = "party_committee", _("Community Party committee")
    PARTY_BRANCH = "party_branch", _("Party branch")
    RESIDENTS_COMMITTEE = "residents_committee", _("Residents' committee")
    SELF_MANAGEMENT = "self_management", _("Self-management committee")
    DEPARTMENT = "department", _("Government department")
    UNIT = "unit", _("Dual-reporting unit")
    GROUP = "group", _("Residents' group")


class Organisation(models.Model):
    """A body that acts in a place: it is where departments' handlers and units' members belong."""

    kind = models.CharField(_("kind"), max_length=24, choices=OrganisationKind.choices)
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("serves")
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(ScopedQuerySet["Membership"]):
    place_field = "organisation__place"


class Membership(models.Model):
    """A person's place in an organisation, with a title and a term."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    title = models.CharField(_("title"), max_length=60, blank=True)
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"],
                condition=models.Q(ended_on__isnull=True),
                name="membership_one_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"
