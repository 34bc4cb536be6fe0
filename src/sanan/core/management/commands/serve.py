"""``sanan serve``: collect the static files, then run the WSGI server ``SANAN_WEB_SERVER``
names (granian by default, or gunicorn with :mod:`sanan.core.gunicorn_conf`) with Sanan's
settings (:mod:`sanan.core.serving`). The server replaces this process, so signals reach it
directly: SIGTERM stops it gracefully."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanan.core.serving import MAIN_PID_VARIABLE, web_settings

CONFIG = "python:sanan.core.gunicorn_conf"


class Command(BaseCommand):
    help = (
        "Serve Sanan with granian (or gunicorn: SANAN_WEB_SERVER): workers from the CPU cores, "
        "static files with hashed names and compressed copies (docs/operations.md, Serving)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", help="address:port (default SANAN_WEB_BIND, 127.0.0.1:8000)")
        parser.add_argument("--workers", type=int, help="processes (default: cores + 1)")
        parser.add_argument("--threads", type=int, help="threads per process (default 1)")
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="the static files were collected already (by a deployment step)",
        )
        parser.add_argument(
            "--print-config", action="store_true", help="show the settings, serve nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env = dict(os.environ)
        for option, variable in (
            ("bind", "SANAN_WEB_BIND"),
            ("workers", "SANAN_WEB_WORKERS"),
            ("threads", "SANAN_WEB_THREADS"),
        ):
            if options[option] is not None:
                env[variable] = str(options[option])
        # Hashed names and gzip copies (WhiteNoise's manifest storage), cacheable for a year.
        env.setdefault("SANAN_STATIC_MANIFEST", "1")
        try:
            web = web_settings(env)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if options["print_config"]:
            self.stdout.write(
                web.describe() + (f", gunicorn {CONFIG}" if web.server == "gunicorn" else "")
            )
            self.stdout.write(f"static files with hashed names: {env['SANAN_STATIC_MANIFEST']}")
            return
        if not options["no_collectstatic"]:
            self.stdout.write("Collecting the static files…")
            # A process of its own: the storage (hashed or not) is chosen when settings load.
            done = subprocess.run(
                [sys.executable, "-m", "sanan.cli", "collectstatic", "--noinput", "-v", "0"],
                env=env,
                check=False,
            )
            if done.returncode != 0:
                raise CommandError("collectstatic failed; see the messages above")
        self.stdout.write(f"Serving {web.describe()}")
        self.stdout.flush()
        if web.server == "granian":
            argv = [sys.executable, "-m", "granian", *web.granian_argv()]
            env[MAIN_PID_VARIABLE] = str(os.getpid())  # granian's main process keeps it
        else:
            env.pop(MAIN_PID_VARIABLE, None)  # gunicorn's workers watch their master themselves
            argv = [sys.executable, "-m", "gunicorn", "-c", CONFIG, "sanan.wsgi:application"]
        os.execve(sys.executable, argv, env)  # noqa: S606 (the server takes over this process)
