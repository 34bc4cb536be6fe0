"""gunicorn's configuration for Sanan (``gunicorn -c python:sanan.core.gunicorn_conf
sanan.wsgi:application``, or ``sanan serve``). Every value comes from a ``SANAN_WEB_*``
environment variable read by :func:`sanan.core.serving.web_settings`."""

from __future__ import annotations

import os

from sanan.core.serving import ACCESS_LOG_FORMAT, web_settings

# gunicorn, whatever SANAN_WEB_SERVER says: this file is how gunicorn is configured.
_web = web_settings({**os.environ, "SANAN_WEB_SERVER": "gunicorn"})

wsgi_app = "sanan.wsgi:application"
bind = [_web.bind]
workers = _web.workers
worker_class = "gthread"
threads = _web.threads
reuse_port = _web.reuse_port
timeout = _web.timeout
graceful_timeout = _web.graceful_timeout
keepalive = _web.keepalive
# A process is replaced after this many requests (memory held by a long-lived process comes
# back); the jitter keeps the processes of one server from all restarting at the same moment.
max_requests = _web.max_requests
max_requests_jitter = _web.max_requests_jitter
accesslog = _web.access_log or None
access_log_format = ACCESS_LOG_FORMAT
errorlog = "-"
loglevel = "info"
proc_name = "sanan-web"
# gunicorn ≥ 25 opens a control socket at one path per user: several instances on one host
# would fight over it, and they are managed by signals (SIGTERM, SIGHUP, SIGTTIN/SIGTTOU).
control_socket_disable = True
# The workers' heartbeat files in memory, not on a disk that may stall (containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Requests larger than a work order's photos are refused by the app; these bound the headers.
limit_request_line = 8190
limit_request_fields = 100
