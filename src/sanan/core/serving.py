"""How Sanan is served in production: gunicorn's settings, read from environment variables.

``sanan serve`` collects the static files (hashed names, gzip copies) and replaces itself with
gunicorn configured by :mod:`sanan.core.gunicorn_conf`, which takes every value from
:func:`web_settings`. The same module can be given to gunicorn directly::

    gunicorn -c python:sanan.core.gunicorn_conf sanan.wsgi:application

The access log names no person: time, process, method, path without its query string, status,
size, duration and the request id (the query string and the client's address are left out:
the first can carry what someone typed, the second is personal data in itself).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from sanan.core.env import env_bool, env_int, env_str

# gunicorn's log atoms: t time, p worker pid, m method, U path (no query), s status, B bytes,
# M milliseconds; the request id is the response header the app sets on every answer.
ACCESS_LOG_FORMAT = '%(t)s %(p)s %(m)s "%(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'


def cpu_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_workers(cores: int) -> int:
    """One process per core plus one, each with threads: the app spends about 5 ms of CPU per
    submission, so processes beyond the cores only add memory; the second thread of each runs
    while the first waits for the database (docs/performance.md, intake over HTTP)."""
    return cores + 1


@dataclass(frozen=True)
class WebSettings:
    bind: str
    workers: int
    threads: int
    timeout: int
    graceful_timeout: int
    keepalive: int
    max_requests: int
    max_requests_jitter: int
    access_log: str
    reuse_port: bool

    def describe(self) -> str:
        return (
            f"{self.bind}: {self.workers} process(es) × {self.threads} thread(s), "
            + ("a listening socket each (SO_REUSEPORT), " if self.reuse_port else "")
            + f"timeout {self.timeout} s, recycled after {self.max_requests} "
            f"(+ up to {self.max_requests_jitter}) requests, access log "
            f"{self.access_log or 'off'}"
        )


def web_settings(environ: Mapping[str, str] | None = None) -> WebSettings:
    """gunicorn's settings from ``SANAN_WEB_*`` (docs/operations.md); a bad value stops
    start-up naming the variable."""
    max_requests = env_int("SANAN_WEB_MAX_REQUESTS", 5000, minimum=0, environ=environ)
    access_log = env_str("SANAN_WEB_ACCESS_LOG", "-", environ=environ)
    bind = env_str("SANAN_WEB_BIND", "127.0.0.1:8000", environ=environ)
    return WebSettings(
        bind=bind,
        workers=env_int(
            "SANAN_WEB_WORKERS", default_workers(cpu_cores()), minimum=1, environ=environ
        ),
        threads=env_int("SANAN_WEB_THREADS", 2, minimum=1, maximum=64, environ=environ),
        timeout=env_int("SANAN_WEB_TIMEOUT", 30, minimum=5, environ=environ),
        graceful_timeout=env_int("SANAN_WEB_GRACEFUL_TIMEOUT", 30, minimum=1, environ=environ),
        keepalive=env_int("SANAN_WEB_KEEPALIVE", 5, minimum=0, environ=environ),
        max_requests=max_requests,
        max_requests_jitter=env_int(
            "SANAN_WEB_MAX_REQUESTS_JITTER", max_requests // 10, minimum=0, environ=environ
        ),
        access_log="" if access_log.lower() == "off" else access_log,
        # Each process listens on a socket of its own and the kernel spreads new connections
        # over them. On one shared socket the first process to wake took every kept-alive
        # connection of a burst: one process (one interpreter lock) served 16 connections while
        # the others idled (171 orders/s against 281, docs/performance.md). TCP addresses only.
        reuse_port=env_bool(
            "SANAN_WEB_REUSE_PORT",
            hasattr(socket, "SO_REUSEPORT") and not bind.startswith(("unix:", "fd://")),
            environ=environ,
        ),
    )
