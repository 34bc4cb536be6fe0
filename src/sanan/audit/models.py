"""The append-only, hash-chained audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, user: Any) -> AuditEventQuerySet:
        """Events about places in the user's audit scope; events tied to no place (accounts,
        system jobs) only for those whose scope starts at the top of the tree."""
        from sanan.accounts.permissions import permissions_for

        roots = permissions_for(user).scope_paths("audit.view")
        if roots == [""]:
            return self
        if not roots:
            return self.none()
        cond = models.Q()
        for root in roots:
            cond |= models.Q(place_path__startswith=root)
        if any(len(root) <= 4 for root in roots):
            cond |= models.Q(place_path="")
        return self.filter(cond)

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are only removed by audit_prune")


class AuditEvent(models.Model):
    """Who did what to which object, when, from where and why.

    ``hash`` = SHA-256 over the previous row's hash and this row's canonical content, so editing
    or deleting any row breaks the chain from there on (``sanan audit verify``).
    """

    seq = models.BigIntegerField(primary_key=True)  # assigned from AuditHead, gap-free
    at = models.DateTimeField(_("when"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=200, blank=True)
    place_path = models.CharField(max_length=255, blank=True, db_index=True)
    reason = models.TextField(_("why"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("from"), null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are only removed by audit_prune")


class AuditHead(models.Model):
    """The single row that pins the chain's ends: the last hash, and where pruning stopped.

    Appends lock this row, so the chain is written by one transaction at a time.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    floor_seq = models.BigIntegerField(default=0)  # rows up to here were pruned
    floor_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"audit head @{self.last_seq}"
