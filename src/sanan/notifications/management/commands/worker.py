"""``sanan worker``: sweep the SLA deadlines every minute and deliver notifications until
stopped (SIGTERM or Ctrl-C finish the running tasks first). ``--once`` runs one cycle and
exits (tests, cron)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanan.notifications import config
from sanan.notifications.worker import queue, run_tick


class Command(BaseCommand):
    help = "Run the background worker: the SLA sweep every minute and notification delivery."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="run one sweep and one delivery pass, then exit"
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="worker threads (default SANAN_WORKER_THREADS, 2)",
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="do not enqueue the every-minute tick (another worker does)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            result = run_tick()
            self.stdout.write(result.summary())
            if result.sweep_failed:
                raise CommandError("the SLA sweep failed; see the log")
            return
        q = queue()
        threads = options["threads"] or config.worker_threads()
        periodic = not options["no_scheduler"]
        self.stdout.write(
            f"sanan worker: queue {q.description}, {threads} thread(s), "
            f"{'sweep every minute' if periodic else 'no scheduler'}; SIGTERM or Ctrl-C stops"
        )
        self.stdout.flush()
        for name in ("huey", "sanan.worker", "sanan.notifications"):
            logging.getLogger(name).setLevel(min(logging.getLogger().level or 20, logging.INFO))
        q.deliver()  # catch up with whatever waited while no worker ran
        q.consumer(workers=threads, periodic=periodic).run()
        self.stdout.write("sanan worker: stopped")
