"""``sanan demo``: build the Hongqi demo community and one user per role (idempotent)."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

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
        with _unflushed_commits():
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


@contextlib.contextmanager
def _unflushed_commits() -> Iterator[None]:
    """On SQLite, the build's tens of thousands of small transactions commit without waiting
    for the disk (``synchronous=OFF``), then one checkpoint writes everything out. A build cut
    short by a power failure may leave a damaged file; the demo holds nothing that building it
    again does not restore. PostgreSQL and other servers, and a build inside a caller's
    transaction, are left as they are."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA wal_checkpoint(FULL)")


def _columns(text: str) -> int:
    """Terminal width: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
