"""Import jobs: one row per spreadsheet a person uploads to the registry.

The import wizard polls the row for progress (``phase``, ``rows_done`` of ``rows_total``) and
reads the report from it (``counts``, ``problems``). The uploaded file is kept encrypted, like
every personal number (its ID numbers and phones are in plain text inside), and only until it
is imported or the job expires; problems name a row, a column and a reason, never a value.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sanan.core import crypto
from sanan.places.models import Place

IMPORT_FILE_PURPOSE = "registry.import_file"

crypto.register_encrypted_field("registry.ImportJob", "file_encrypted", purpose=IMPORT_FILE_PURPOSE)


class ImportKind(models.TextChoices):
    RESIDENTS = "residents", _("Residents")
    HOUSES = "houses", _("Houses")
    RENTALS = "rentals", _("Rentals")
    VEHICLES = "vehicles", _("Vehicles")


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded: choose the columns")
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    CHECKED = "checked", _("Checked: no problems found")
    REFUSED = "refused", _("Not imported: some rows need correcting")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Stopped by an error")


class ImportPhase(models.TextChoices):
    READING = "reading", _("Reading and checking rows")
    MATCHING = "matching", _("Matching with the registry")
    WRITING = "writing", _("Saving")
    FINISHED = "finished", _("Finished")


class ImportJobQuerySet(models.QuerySet["ImportJob"]):
    def visible_to(self, user: Any) -> ImportJobQuerySet:
        """A job is its uploader's (it holds their file and their report)."""
        if getattr(user, "is_superuser", False):
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(actor=user)


class ImportJob(models.Model):
    """One upload and its check or import. ``place`` is the smallest subtree holding every
    record the import touched (audit events of the import belong there)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    actor_label = models.CharField(max_length=150, blank=True)
    kind = models.CharField(_("what"), max_length=12, choices=ImportKind.choices)
    filename = models.CharField(_("file"), max_length=200, blank=True)
    file_format = models.CharField(max_length=8, blank=True)  # xlsx / csv
    file_encrypted = models.TextField(blank=True, default="")
    mapping = models.JSONField(_("columns"), default=dict, blank=True)
    dry_run = models.BooleanField(_("check only"), default=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    phase = models.CharField(max_length=12, choices=ImportPhase.choices, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    # the first PROBLEMS_KEPT, each reason in every language (imports.import_job_problems)
    problems = models.JSONField(default=list, blank=True)
    problem_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, blank=True)  # the run's (of ``error``)
    place = models.ForeignKey(
        Place, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    PROBLEMS_KEPT = 2000

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["actor", "created_at"], name="import_job_actor")]
        constraints = [
            models.CheckConstraint(
                condition=Q(file_encrypted="") | Q(file_encrypted__startswith="v1:"),
                name="import_job_file_is_a_token",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def audit_label(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.filename[:80]})"

    @property
    def percent(self) -> int:
        if self.state in (ImportState.DONE, ImportState.CHECKED, ImportState.REFUSED):
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def finished(self) -> bool:
        return self.state in (
            ImportState.CHECKED,
            ImportState.REFUSED,
            ImportState.DONE,
            ImportState.FAILED,
        )
