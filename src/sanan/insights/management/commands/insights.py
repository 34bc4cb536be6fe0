"""``sanan insights refresh [--full]``: bring the figures up to date with the work-order
event log (incremental from the watermark; ``--full`` recomputes every order and rollup)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sanan.insights.services import insights_refresh


class Command(BaseCommand):
    help = "Keep the figures (key performance indicators) up to date with the order events."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="apply the new order events to the figures")
        refresh.add_argument(
            "--full", action="store_true", help="recompute every order and every rollup row"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        result = insights_refresh(
            full=options["full"], progress=lambda line: self.stderr.write(line)
        )
        self.stdout.write(f"{result.summary()} ({time.monotonic() - started:.1f} s)")
