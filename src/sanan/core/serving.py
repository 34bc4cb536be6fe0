"""How Sanan is served in production: the WSGI server's settings, read from environment
variables.

``sanan serve`` collects the static files (hashed names, gzip copies) and replaces itself with
the server ``SANAN_WEB_SERVER`` names, with every value from :func:`web_settings`:

- ``granian`` (the default): HTTP parsed and connections handled in Rust, the app on one
  thread per process. On the intake benchmark it serves 15-25 % more orders per second than
  gunicorn on the same two cores (docs/performance.md): gunicorn parses every request and hands
  it between threads in Python, under the interpreter lock the app needs.
- ``gunicorn``, configured by :mod:`sanan.core.gunicorn_conf`; the same module can be given to
  gunicorn directly::

    gunicorn -c python:sanan.core.gunicorn_conf sanan.wsgi:application

The access log names no person: time, process, method, path without its query string, status,
size, duration and the request id (the query string and the client's address are left out:
the first can carry what someone typed, the second is personal data in itself).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from sanan.core.env import env_bool, env_int, env_str

# gunicorn's log atoms: t time, p worker pid, m method, U path (no query), s status, B bytes,
# M milliseconds; the request id is the response header the app sets on every answer.
ACCESS_LOG_FORMAT = '%(t)s %(p)s %(m)s "%(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
# granian's atoms: the path without its query string, status, milliseconds; the request id as
# a proxy in front sent it (granian logs request headers, not the answer's). The time and the
# process id come from the logging configuration (granian_log.json), as gunicorn's line has them.
GRANIAN_ACCESS_LOG_FORMAT = (
    '%(method)s "%(path)s" %(status)d %(dt_ms).0fms rid=%(header{x-request-id})s'
)
GRANIAN_LOG_CONFIG = Path(__file__).with_name("granian_log.json")
SERVERS = ("granian", "gunicorn")
# Set by ``sanan serve`` for granian: the process id its main process keeps (it replaces
# ``sanan serve`` in the same process).
MAIN_PID_VARIABLE = "SANAN_WEB_MAIN_PID"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def cpu_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_workers(cores: int) -> int:
    """One process per core plus one: the app spends 3-4 ms of CPU per submission, so
    processes beyond the cores only add memory, and the one more runs while another waits for
    the database (docs/performance.md, intake over HTTP)."""
    return cores + 1


# One thread per process by default. A second thread in a process shares its interpreter lock:
# on SQLite the thread holding the one write lock waited for the interpreter after each
# statement while its sibling ran, which lengthened every write transaction and with it the
# queue of writers (3 × 1 served 300-334 orders/s where 2 × 4 served 256-281).
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class WebSettings:
    server: str
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
    max_rss_mb: int = 0

    def describe(self) -> str:
        head = (
            f"{self.server} on {self.bind}: {self.workers} process(es) × {self.threads} thread(s), "
        )
        if self.server == "granian":
            recycled = (
                f"recycled above {self.max_rss_mb} MiB of memory, " if self.max_rss_mb else ""
            )
            return (
                head + recycled + f"access log {'on standard output' if self.access_log else 'off'}"
            )
        return (
            head
            + ("a listening socket each (SO_REUSEPORT), " if self.reuse_port else "")
            + f"timeout {self.timeout} s, recycled after {self.max_requests} "
            f"(+ up to {self.max_requests_jitter}) requests, access log "
            f"{self.access_log or 'off'}"
        )

    def granian_argv(self) -> list[str]:
        """granian's command line (after ``granian``) for these settings."""
        argv = ["--interface", "wsgi", "--http", "1", "--no-ws",
                "--workers", str(self.workers), "--blocking-threads", str(self.threads),
                "--respawn-failed-workers", "--workers-kill-timeout", str(self.graceful_timeout),
                # Idle threads kept 10 min (granian's most), not 30 s: each new thread opens
                # its database connections again.
                "--blocking-threads-idle-timeout", "600",
                "--log-level", "info", "--log-config", str(GRANIAN_LOG_CONFIG)]  # fmt: skip
        if self.bind.startswith("unix:"):
            argv += ["--uds", self.bind.removeprefix("unix:")]
        else:
            host, _, port = self.bind.rpartition(":")
            argv += ["--host", host.strip("[]") or "127.0.0.1", "--port", port]
        if self.max_rss_mb:
            # granian's counterpart of gunicorn's max_requests: a process whose memory has grown
            # past the limit is replaced (after finishing its requests).
            argv += ["--workers-max-rss", str(self.max_rss_mb)]
        if self.access_log:
            argv += ["--access-log", "--access-log-fmt", GRANIAN_ACCESS_LOG_FORMAT]
        else:
            argv += ["--no-access-log"]
        return [*argv, "sanan.wsgi:application"]


def web_settings(environ: Mapping[str, str] | None = None) -> WebSettings:
    """gunicorn's settings from ``SANAN_WEB_*`` (docs/operations.md); a bad value stops
    start-up naming the variable."""
    max_requests = env_int("SANAN_WEB_MAX_REQUESTS", 5000, minimum=0, environ=environ)
    access_log = env_str("SANAN_WEB_ACCESS_LOG", "-", environ=environ)
    bind = env_str("SANAN_WEB_BIND", "127.0.0.1:8000", environ=environ)
    server = env_str("SANAN_WEB_SERVER", "granian", environ=environ).lower()
    if server not in SERVERS:
        raise ImproperlyConfigured(
            f"SANAN_WEB_SERVER={server!r}: one of {', '.join(SERVERS)} / 可选 granian 或 gunicorn"
        )
    if server == "granian" and access_log not in ("-", "off", "OFF", "Off"):
        raise ImproperlyConfigured(
            "SANAN_WEB_ACCESS_LOG: granian writes its access log to standard output (- or off); "
            "a file needs SANAN_WEB_SERVER=gunicorn / granian 的访问日志只能写到标准输出"
        )
    if (
        server == "granian"
        and not bind.startswith("unix:")
        and not bind.rpartition(":")[2].isdigit()
    ):
        raise ImproperlyConfigured(
            f"SANAN_WEB_BIND={bind!r}: host:port or unix:/path / 应为 主机:端口 或 unix:/路径"
        )
    return WebSettings(
        server=server,
        bind=bind,
        workers=env_int(
            "SANAN_WEB_WORKERS", default_workers(cpu_cores()), minimum=1, environ=environ
        ),
        threads=env_int(
            "SANAN_WEB_THREADS", DEFAULT_THREADS, minimum=1, maximum=64, environ=environ
        ),
        timeout=env_int("SANAN_WEB_TIMEOUT", 30, minimum=5, environ=environ),
        graceful_timeout=env_int(
            "SANAN_WEB_GRACEFUL_TIMEOUT", 30, minimum=1, maximum=1800, environ=environ
        ),
        keepalive=env_int("SANAN_WEB_KEEPALIVE", 5, minimum=0, environ=environ),
        max_requests=max_requests,
        max_requests_jitter=env_int(
            "SANAN_WEB_MAX_REQUESTS_JITTER", max_requests // 10, minimum=0, environ=environ
        ),
        access_log="" if access_log.lower() == "off" else access_log,
        # Off unless set: a registry import runs in a thread of the process that took the
        # upload, and a process replaced mid-import ends it (the job then reads as stopped).
        max_rss_mb=env_int("SANAN_WEB_MAX_RSS_MB", 0, minimum=0, environ=environ),
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


def end_with_the_server(environ: Mapping[str, str] | None = None) -> bool:
    """In a worker process of granian started by ``sanan serve``: have the kernel kill this
    process when the server's main process ends. Killed outright (``kill -9``, the OOM killer),
    the main process cannot stop its workers, and they went on answering on the old socket
    beside the server started again. gunicorn's workers watch their master themselves.
    True when the worker is now tied to the main process."""
    env = os.environ if environ is None else environ
    main = env.get(MAIN_PID_VARIABLE, "")
    if environ is None:
        # Not handed on to what this process starts (a child of it is not granian's worker).
        os.environ.pop(MAIN_PID_VARIABLE, None)
    if not main.isdigit() or not sys.platform.startswith("linux") or os.getpid() == int(main):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        return False
    if os.getppid() != int(main):  # it ended before the request above: end now
        os._exit(1)
    return True


# What a WSGI server sets itself (PEP 3333 and CGI): kept even when the process's environment
# has a variable of the same name.
_REQUEST_KEYS = frozenset(
    [
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_PORT",
        "SERVER_SOFTWARE",
    ]
)


def without_process_environment(app: Any) -> Any:
    """``app`` answering with the process's own environment variables taken out of each
    request's environ. granian copies them in (``DATABASE_URL`` with its password,
    ``SANAN_SECRET_KEY``…), where anything that shows ``request.META`` would show them."""
    inherited = frozenset(
        k for k in os.environ if k not in _REQUEST_KEYS and not k.startswith("HTTP_")
    )

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        for key in inherited & environ.keys():
            del environ[key]
        return app(environ, start_response)

    return wsgi
