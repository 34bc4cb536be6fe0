"""``sanan sweep_sla``: escalate overdue work orders once per level, close unrated ones."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sanan.workorders.sla import calendar_status
from sanan.workorders.sweep import sweep


class Command(BaseCommand):
    help = (
        "Warn, chase and supervise work orders whose deadline is near or past (each once per "
        "level), close finished orders nobody rated, archive rated ones. Safe to run often "
        "and from several processes at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=500, help="orders per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        status = calendar_status()
        if not status.ok:
            self.stderr.write(self.style.WARNING(status.message))
        result = sweep(batch=max(1, options["batch"]))
        self.stdout.write(self.style.SUCCESS(f"SLA sweep: {result.summary()}"))
