"""``sanan restore PATH``: put a backup made by ``sanan backup`` back as the live database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanan.core.backup import (
    ENGINE_LABELS,
    BackupError,
    backup_check,
    database_engine,
    database_restore,
    human_size,
    pii_key_warnings,
    read_manifest,
)
from sanan.core.management.commands.backup import ProgressPrinter


class Command(BaseCommand):
    help = (
        "Replace the live database with a backup made by `sanan backup` (the current database "
        "is backed up first), then verify the audit chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the .sqlite3 or .pgdump file to restore")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="do not ask for confirmation (needed without a terminal)",
        )
        parser.add_argument(
            "--no-safety-backup",
            action="store_true",
            help="do not back up the current database before replacing it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["path"]
        try:
            engine = database_engine()
            backup_check(source=source, thorough=False)  # read it all later
        except BackupError as exc:
            raise CommandError(str(exc.message)) from None
        manifest = read_manifest(source) or {}
        made = f", made {manifest['created_at']}" if manifest.get("created_at") else ""
        self.stdout.write(
            f"Backup {source} ({human_size(source.stat().st_size)}{made}) will REPLACE everything "
            f"in the live {ENGINE_LABELS[engine]} database."
        )
        for warning in pii_key_warnings(manifest):
            self.stderr.write(self.style.WARNING(warning))
        if not options["yes"]:
            self._confirm()
        try:
            result = database_restore(
                source=source,
                safety_backup=not options["no_safety_backup"],
                progress=ProgressPrinter(self.stdout.write, label="restored"),
            )
        except BackupError as exc:
            raise CommandError(str(exc.message)) from None
        if result.safety_backup is not None:
            self.stdout.write(f"The database as it was is saved in {result.safety_backup.path}")
        self.stdout.write(self.style.SUCCESS(f"Restored {source}"))
        if result.unknown_migrations:
            self.stderr.write(
                self.style.WARNING(
                    "The backup was made by a newer Sanan: it has migrations this version does "
                    "not know (" + ", ".join(result.unknown_migrations) + ")."
                )
            )
        if result.pending_migrations:
            self.stderr.write(
                self.style.WARNING(
                    f"{len(result.pending_migrations)} migration(s) are not applied yet: "
                    "run `sanan migrate` before starting Sanan."
                )
            )
        if result.audit_error:
            raise CommandError(f"Restored, but {result.audit_error}.")
        for problem in result.audit_problems:
            self.stderr.write(self.style.ERROR(problem))
        if not result.audit_ok:
            raise CommandError(
                f"Restored, but the audit chain is BROKEN: {len(result.audit_problems)} "
                f"problem(s) in {result.audit_checked} rows. The backup itself was altered."
            )
        self.stdout.write(
            self.style.SUCCESS(f"audit chain OK: {result.audit_checked} rows verified")
        )

    def _confirm(self) -> None:
        if sys.stdin is None or not sys.stdin.isatty():
            raise CommandError(
                "Refusing to restore without confirmation: there is no terminal to ask on. "
                "Add --yes to replace the database without asking."
            )
        answer = input("Type yes to replace the live database: ")
        if answer.strip().lower() != "yes":
            raise CommandError("Nothing was restored.")
