"""``sanan audit verify`` checks the hash chain; ``sanan audit prune`` applies retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanan.audit.services import audit_prune, audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain, or prune events past the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="recompute every row's hash; exit 1 on any break")
        prune = sub.add_parser("prune", help="remove events older than the retention period")
        prune.add_argument("--days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            result = audit_verify()
            for problem in result.problems:
                self.stderr.write(self.style.ERROR(problem))
            if not result.ok:
                raise CommandError(
                    f"audit chain BROKEN: {len(result.problems)} problem(s)"
                    f" in {result.checked} rows"
                )
            self.stdout.write(self.style.SUCCESS(f"audit chain OK: {result.checked} rows verified"))
        else:
            count = audit_prune(older_than_days=options["days"])
            self.stdout.write(f"pruned {count} audit event(s)")
