"""gunicorn settings for the intake benchmark (``gunicorn -c bench/workorders_gunicorn.py``):
``sanan serve``'s own (``sanan.core.gunicorn_conf``, from the ``SANAN_WEB_*`` variables), and
one hook of the benchmark's.

``SANAN_BENCH_SQLITE_SYNC`` (``NORMAL`` or ``FULL``), when set, overrides SQLite's
``synchronous`` on every connection of the workers, so that the benchmark can compare the two
without changing the application's default (``FULL``, ``core/env.py``)."""

from __future__ import annotations

import os
from typing import Any

from sanan.core.gunicorn_conf import *  # noqa: F403 (the served settings, as sanan serve's)

_SYNC = os.environ.get("SANAN_BENCH_SQLITE_SYNC", "").upper()


def _synchronous(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={_SYNC}")


def post_worker_init(worker: Any) -> None:
    if _SYNC not in ("", "NORMAL", "FULL"):
        raise SystemExit(f"SANAN_BENCH_SQLITE_SYNC={_SYNC!r}: NORMAL or FULL")
    if _SYNC:
        from django.db import connections
        from django.db.backends.signals import connection_created

        connection_created.connect(_synchronous, weak=False, dispatch_uid="bench-sqlite-sync")
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None:  # opened while the app loaded
                _synchronous(None, conn)
