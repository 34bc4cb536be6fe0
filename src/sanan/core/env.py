"""Typed readers for settings that come from environment variables.

Every reader fails at start-up with :class:`ImproperlyConfigured` on a value it cannot use,
naming the variable, so a misconfigured server never starts half-working.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}"
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {number}")
    return number


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(
    name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None
) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_area_code(name: str, *, environ: Mapping[str, str] | None = None) -> str:
    """A Chinese telephone area code (``0833``: 0 and 2 or 3 digits, ``010`` and ``02X`` the
    three-character ones), or empty."""
    value = env_str(name, "", environ=environ)
    if value and not re.fullmatch(r"0(?:[12]\d|[3-9]\d{2})", value):
        raise ImproperlyConfigured(
            f"{name} must be an area code such as 0833 (or 010, 028); got {value!r}"
        )
    return value


def persistent_secret(path: Path, *, nbytes: int = 32) -> str:
    """Return the URL-safe secret kept in ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


def parse_pii_keys(name: str, value: str) -> dict[str, bytes]:
    """Parse ``id:base64key[,id:base64key...]``; the first key encrypts, all of them decrypt."""
    keys: dict[str, bytes] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id.isalnum():
            raise ImproperlyConfigured(f"{name}: each key must look like 'k1:<base64>'")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: key {key_id!r} is not valid base64") from None
        if len(key) != 32:
            raise ImproperlyConfigured(f"{name}: key {key_id!r} must be 32 bytes (AES-256)")
        keys[key_id] = key
    if not keys:
        raise ImproperlyConfigured(f"{name} holds no key")
    return keys


def database_from_url(url: str, *, sqlite_busy_timeout_s: int = 20) -> dict[str, Any]:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/name`` into a DATABASES entry."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query))
    if scheme == "sqlite":
        # sqlite:////abs/path.db is absolute; sqlite:///rel/path.db is relative to the cwd.
        path = unquote(parts.path)[1:]
        if parts.netloc or not path:
            raise ImproperlyConfigured(
                "DATABASE_URL for SQLite must look like sqlite:////absolute/path.db"
            )
        return sqlite_database(Path(path).resolve(), busy_timeout_s=sqlite_busy_timeout_s)
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL for PostgreSQL needs a database name")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", "60")),
            "CONN_HEALTH_CHECKS": True,
            # Behind PgBouncer in transaction mode (?pgbouncer=1): no server-side cursors,
            # which would outlive the transaction their server connection served.
            "DISABLE_SERVER_SIDE_CURSORS": options.pop("pgbouncer", "0").lower() in _TRUE,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {scheme!r} is not supported (use sqlite:// or postgres://)"
    )


def sqlite_database(path: Path, *, busy_timeout_s: int = 20) -> dict[str, Any]:
    """SQLite tuned for a server: WAL, IMMEDIATE write transactions, durable commits, and a
    connection kept across requests (as on PostgreSQL): opening one runs the init command and
    closing the last one checkpoints the WAL, together about 9 ms of CPU per request.

    The file holds personal data: it is created readable by its owner only (SQLite gives the
    WAL and shared-memory files the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return {
        "ENGINE": "sanan.core.sqlite",  # Django's, with writers queued (core/sqlite/base.py)
        "NAME": str(path),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": busy_timeout_s,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL;"
                "PRAGMA foreign_keys=ON;"
                f"PRAGMA busy_timeout={busy_timeout_s * 1000};"
            ),
        },
        # Tests use a file too, not SQLite's shared-cache memory database: there a reader and a
        # writer in two threads (a page polling while a background import writes) fail at once
        # with "database table is locked" instead of waiting as WAL readers and writers do.
        "TEST": {"NAME": str(path.with_name(f"test-{path.stem}.sqlite3"))},
    }
