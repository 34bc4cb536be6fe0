"""``sanan workorders recount``: repair the board's maintained counters from the orders."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sanan.workorders import counts


class Command(BaseCommand):
    help = "Work-order maintenance. recount: rebuild the dispatcher board's counters."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "recount",
            help=(
                "count the open orders again and replace the board's counters with the "
                "result (safe while Sanan runs: writers wait for it, then add their changes)"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "recount":
            wrong = counts.recount()
            rows = sum(1 for _ in counts.stored_rows())
            if wrong:
                self.stdout.write(
                    self.style.WARNING(
                        f"Board counters: {wrong} rows were wrong and are repaired "
                        f"({rows} rows now)."
                    )
                )
            else:
                self.stdout.write(self.style.SUCCESS(f"Board counters: all {rows} rows right."))
