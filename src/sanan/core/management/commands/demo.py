"""``sanan demo``: build the Hongqi demo community and one user per role (idempotent)."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from sanan.core.demo import build_demo


class Command(BaseCommand):
    help = "Create (or complete) the demo community of Hongqi, Leshan, and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2018, help="random seed (default 2018)")
        parser.add_argument(
            "--no-migrate", action="store_true", help="do not apply migrations first"
        )
        parser.add_argument(
            "--orders",
            type=int,
            default=3000,
            help="work orders in the simulated year (default 3000; 0 for none)",
        )
        parser.add_argument(
            "--no-registry", action="store_true", help="no residents, houses or vehicles"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        result = build_demo(
            seed=options["seed"],
            progress=self.stdout.write,
            registry=not options["no_registry"],
            work_orders=options["orders"],
        )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo community ready: " + result.summary()))
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {result.password})")
        width = max(_columns(login.role_label) for login in result.logins)
        for login in result.logins:
            pad = " " * (width - _columns(login.role_label))
            self.stdout.write(
                f"  {login.role_label}{pad}  {login.username:<14} {login.phone}  {login.scope}"
            )


def _columns(text: str) -> int:
    """Terminal width: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
