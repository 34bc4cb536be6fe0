"""``sanan backup``: a consistent snapshot of the live database, with a JSON manifest."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanan.core.backup import (
    ENGINE_LABELS,
    BackupError,
    Progress,
    database_backup,
    database_engine,
    default_backup_dir,
    human_size,
)


class ProgressPrinter:
    """Prints a line each time another tenth of the work is done, once a run has taken more
    than ``quiet_s`` seconds: short runs stay quiet, long ones show they are moving."""

    def __init__(self, write: Callable[[str], object], *, label: str, quiet_s: float = 1.0) -> None:
        self.write = write
        self.label = label
        self.quiet_until = time.monotonic() + quiet_s
        self.shown = 0

    def __call__(self, progress: Progress) -> None:
        if progress.total <= 0 or time.monotonic() < self.quiet_until:
            return
        tenth = progress.done * 10 // progress.total
        if tenth > self.shown:
            self.shown = tenth
            then = "; checking the result…" if progress.done >= progress.total else ""
            self.write(
                f"  {self.label} {tenth * 10}% ({progress.done}/{progress.total} {progress.unit})"
                + then
            )


class Command(BaseCommand):
    help = (
        "Write a consistent backup of the live database (safe while Sanan runs), check it, "
        "and write a JSON manifest next to it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            default=None,
            help="file to write, or a folder (existing, or ending in /) for a timestamped name "
            f"(default: a timestamped file in {default_backup_dir()})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"]
        if output is not None and output.endswith(("/", os.sep)):
            Path(output).mkdir(parents=True, exist_ok=True)
        try:
            engine = database_engine()
            self.stdout.write(f"Backing up the {ENGINE_LABELS[engine]} database…")
            result = database_backup(
                output=Path(output) if output is not None else None,
                progress=ProgressPrinter(self.stdout.write, label="copied"),
            )
        except BackupError as exc:
            raise CommandError(str(exc.message)) from None
        manifest = result.manifest
        check = "integrity check ok" if engine == "sqlite" else "archive readable"
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {result.path} ({human_size(result.size)}, {check})"
            )
        )
        self.stdout.write(f"Manifest: {result.manifest_path}")
        rows = ", ".join(f"{table} {n}" for table, n in manifest["rows"].items())
        self.stdout.write(
            f"  rows: {rows or 'none'}; audit chain ends at #{manifest['audit_last_seq']}"
        )
        self.stdout.write(
            f"  {manifest['migrations_applied']} migrations applied; "
            f"took {manifest['duration_s']} s"
        )
        keys = ", ".join(manifest["pii_keys"]["encryption"])
        self.stdout.write(
            f"Personal data in it is encrypted with key(s) {keys}, which are not in the backup: "
            "keep SANAN_PII_KEYS and SANAN_PII_INDEX_KEY (or var/pii_*) safe separately, or the "
            "restored personal data cannot be read."
        )
