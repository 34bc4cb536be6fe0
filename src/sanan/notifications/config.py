"""Settings of background work and delivery, read once and checked at start-up.

Every value comes from ``sanan.settings`` (environment variables read by ``core.env``);
defaults apply when a setting is absent, so the app also runs with older settings files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULT_SMS_ADAPTER = "sanan.notifications.delivery.LoggingSmsAdapter"


@dataclass(frozen=True)
class QueueConfig:
    """Where the task queue lives: ``sqlite`` (a file beside the database, the embedded
    mode), ``redis`` (scale-out) or ``memory`` (tests, one process)."""

    kind: str
    url: str
    path: Path | None = None

    def describe(self) -> str:
        """The queue for a log line, without any password."""
        if self.kind == "sqlite":
            return f"sqlite file {self.path}"
        if self.kind == "redis":
            parts = urlsplit(self.url)
            host = parts.hostname or "127.0.0.1"
            netloc = f"{host}:{parts.port}" if parts.port else host
            return "redis " + urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        return "memory (this process only)"


def parse_queue_url(value: str, *, var_dir: Path) -> QueueConfig:
    """``""`` → the SQLite file ``<var>/queue.sqlite3``; ``sqlite:////abs/path``;
    ``redis://[:password@]host:port/db`` (or ``rediss://``); ``memory://``."""
    value = (value or "").strip()
    if not value:
        return QueueConfig("sqlite", "", var_dir / "queue.sqlite3")
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("//") else parts.path.lstrip("/")
        if parts.netloc or not path:
            raise ImproperlyConfigured(
                "SANAN_QUEUE_URL for SQLite must look like sqlite:////absolute/queue.sqlite3"
            )
        return QueueConfig("sqlite", value, Path(path if path.startswith("/") else "/" + path))
    if scheme in {"redis", "rediss"}:
        if not parts.hostname:
            raise ImproperlyConfigured(
                "SANAN_QUEUE_URL for Redis must look like redis://127.0.0.1:6379/0"
            )
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise ImproperlyConfigured(f"SANAN_QUEUE_URL: Redis database must be a number; {db!r}")
        return QueueConfig("redis", value)
    if scheme == "memory":
        return QueueConfig("memory", value)
    raise ImproperlyConfigured(
        f"SANAN_QUEUE_URL scheme {scheme!r} is not supported (use redis://, sqlite:// or "
        "leave it empty for the embedded queue)"
    )


def queue_config() -> QueueConfig:
    var_dir = Path(getattr(settings, "VAR_DIR", Path.cwd() / "var"))
    return parse_queue_url(getattr(settings, "QUEUE_URL", ""), var_dir=var_dir)


def worker_threads() -> int:
    return int(getattr(settings, "WORKER_THREADS", 2))


def max_attempts() -> int:
    """Tries per message before it is given up (status ``failed``)."""
    return int(getattr(settings, "NOTIFY_MAX_ATTEMPTS", 8))


def retry_base_seconds() -> int:
    """The first retry waits this long; each next one twice as long (capped at 6 hours)."""
    return int(getattr(settings, "NOTIFY_RETRY_BASE_SECONDS", 30))


def webhook_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10))


def public_url() -> str:
    return str(getattr(settings, "PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")


def sms_adapter_path() -> str:
    return str(getattr(settings, "SMS_ADAPTER", "") or DEFAULT_SMS_ADAPTER)


def check() -> None:
    """Raise :class:`ImproperlyConfigured` naming the variable when a value cannot work."""
    queue_config()
    path = sms_adapter_path()
    try:
        import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"SANAN_SMS_ADAPTER: cannot import {path!r}") from exc
