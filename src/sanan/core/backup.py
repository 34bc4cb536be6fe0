"""Consistent backups of the live database, and restoring one, for SQLite and PostgreSQL.

SQLite is copied page by page with SQLite's online backup API while the application keeps
running. The copy holds one read transaction for its whole duration, so it is a single
consistent snapshot (committed rows still only in the WAL included) that concurrent writers do
not block or restart, and the result is checked with ``PRAGMA integrity_check``. Restoring runs
the same API in the other direction, into the live file, as one ordinary write transaction: the
WAL and shared-memory files stay consistent and other processes see the old or the new
database, never a mixture.

PostgreSQL is dumped with ``pg_dump --format=custom`` from a snapshot exported by a
``REPEATABLE READ`` transaction, in which the manifest's row counts are also taken, so the
counts describe exactly the rows in the dump. Passwords travel in ``PGPASSWORD``, never on a
command line (where ``ps`` would show them).

Each backup has a JSON manifest next to it (``<file>.json``): engine, time, migrations, a few row
counts and the SHA-256 of the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import django
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from sanan.core import clock
from sanan.core.errors import DomainError

Engine = Literal["sqlite", "postgresql"]

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
EXTENSIONS: dict[Engine, str] = {"sqlite": "sqlite3", "postgresql": "pgdump"}
ENGINE_LABELS: dict[Engine, str] = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
MANIFEST_FORMAT = "sanan-backup/1"
PAGES_PER_STEP = 1024  # 4 MiB with SQLite's default page size: one progress report per step
# libpq connection options that have an environment variable (everything else is Django's).
_LIBPQ_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "options": "PGOPTIONS",
    "gssencmode": "PGGSSENCMODE",
}


class BackupError(DomainError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    unit: str  # "pages" (SQLite) or "tables" (PostgreSQL)


ProgressFn = Callable[[Progress], object]


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_path: Path
    size: int
    manifest: dict[str, Any]


@dataclass
class RestoreResult:
    engine: Engine
    source: Path
    safety_backup: BackupResult | None = None
    audit_checked: int | None = None
    audit_problems: list[str] = field(default_factory=list)
    audit_error: str = ""
    pending_migrations: list[str] = field(default_factory=list)
    unknown_migrations: list[str] = field(default_factory=list)
    key_warnings: list[str] = field(default_factory=list)

    @property
    def audit_ok(self) -> bool:
        return self.audit_checked is not None and not self.audit_problems


# --- Which database, which file --------------------------------------------------------------


def database_engine(*, using: str = "default") -> Engine:
    vendor = connections[using].vendor
    if vendor == "sqlite":
        return "sqlite"
    if vendor == "postgresql":
        return "postgresql"
    raise BackupError(
        "backup.unsupported_engine",
        f"Backups are supported for SQLite and PostgreSQL, not for {vendor}.",
    )


def file_engine(path: Path) -> Engine | None:
    """The engine a backup file was made by, from its first bytes; None if neither."""
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    return None


def default_backup_dir() -> Path:
    return Path(settings.VAR_DIR) / "backups"


def manifest_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def backup_path(*, engine: Engine, output: Path | None = None, prefix: str = "sanan") -> Path:
    """Where a new backup goes: ``output`` if it names a file, else a timestamped name in
    ``output`` (a folder) or in ``VAR_DIR/backups``. Never an existing file."""
    if output is not None and not output.is_dir():
        if output.exists():
            raise BackupError(
                "backup.exists",
                f"{output} already exists. Choose another name; a backup never overwrites a file.",
            )
        return output.resolve()
    folder = (output or default_backup_dir()).resolve()
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M%S")
    ext = EXTENSIONS[engine]
    candidate = folder / f"{prefix}-{stamp}.{ext}"
    n = 1
    while candidate.exists() or manifest_path_for(candidate).exists():
        n += 1
        candidate = folder / f"{prefix}-{stamp}-{n}.{ext}"
    return candidate


def _private_file(path: Path) -> None:
    """Create ``path`` empty, readable by its owner only: backups hold personal data."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# --- What a snapshot holds (the manifest) ----------------------------------------------------


def _key_tables() -> dict[str, str]:
    from sanan.accounts.models import User
    from sanan.audit.models import AuditEvent, AuditHead
    from sanan.places.models import Place

    return {
        "places": Place._meta.db_table,
        "users": User._meta.db_table,
        "audit_events": AuditEvent._meta.db_table,
        "audit_head": AuditHead._meta.db_table,
    }


def snapshot_summary(cursor: Any, *, tables: set[str]) -> dict[str, Any]:
    """Migration state and key row counts, read through a DB-API ``cursor`` (SQLite's own or a
    Django cursor) inside the snapshot being described. ``tables`` are the tables it has."""
    names = _key_tables()
    summary: dict[str, Any] = {"migrations": {}, "migrations_applied": 0, "rows": {}}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations")
        latest: dict[str, str] = {}
        rows = cursor.fetchall()
        for app, name in rows:
            latest[app] = max(latest.get(app, ""), name)
        summary["migrations"] = dict(sorted(latest.items()))
        summary["migrations_applied"] = len(rows)
    for table in (names["places"], names["users"], names["audit_events"]):
        if table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - model table names
            summary["rows"][table] = int(cursor.fetchone()[0])
    summary["audit_last_seq"] = None
    if names["audit_head"] in tables:
        cursor.execute(f'SELECT last_seq FROM "{names["audit_head"]}" WHERE id = 1')  # noqa: S608
        row = cursor.fetchone()
        summary["audit_last_seq"] = int(row[0]) if row else 0
    return summary


def _fingerprint(key: bytes) -> str:
    """A short fingerprint that tells keys apart without revealing them (SHA-256 of a
    256-bit random key says nothing about the key)."""
    return hashlib.sha256(b"sanan-key-fingerprint\0" + key).hexdigest()[:16]


def pii_key_fingerprints() -> dict[str, Any]:
    """Which personal-data keys this server has: key id → fingerprint, and the index key."""
    return {
        "encryption": {key_id: _fingerprint(key) for key_id, key in settings.PII_KEYS.items()},
        "index": _fingerprint(settings.PII_INDEX_KEY),
    }


def pii_key_warnings(manifest: dict[str, Any] | None) -> list[str]:
    """What a restored database will miss, comparing the backup's keys with this server's."""
    wanted = (manifest or {}).get("pii_keys")
    if not isinstance(wanted, dict):
        return []
    have = pii_key_fingerprints()
    warnings = []
    for key_id, fingerprint in (wanted.get("encryption") or {}).items():
        if key_id not in have["encryption"]:
            warnings.append(
                f"Personal data in this backup is encrypted with key {key_id}, which this server "
                "does not have: add it to SANAN_PII_KEYS, or that data cannot be read."
            )
        elif have["encryption"][key_id] != fingerprint:
            warnings.append(
                f"This server's key {key_id} is not the key {key_id} the backup was made with: "
                "personal data cannot be read until SANAN_PII_KEYS holds the original key."
            )
    if wanted.get("index") and wanted["index"] != have["index"]:
        warnings.append(
            "This server's SANAN_PII_INDEX_KEY differs from the backup's: sign-in and search by "
            "mobile number will not find anyone until the original index key is set."
        )
    return warnings


def _manifest(
    *,
    engine: Engine,
    path: Path,
    started: float,
    taken_at: dt.datetime,
    summary: dict[str, Any],
    database: str,
) -> dict[str, Any]:
    try:
        version = metadata.version("sanan")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        version = "unknown"
    return {
        "format": MANIFEST_FORMAT,
        "engine": engine,
        "file": path.name,
        "size_bytes": path.stat().st_size,
        "sha256": _sha256(path),
        "created_at": timezone.localtime(taken_at).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 3),
        "database": database,
        "sanan_version": version,
        "django_version": django.get_version(),
        # Personal data is encrypted with these keys, which are NOT in the backup.
        "pii_keys": pii_key_fingerprints(),
        **summary,
    }


def _write_manifest(path: Path, manifest: dict[str, Any]) -> Path:
    target = manifest_path_for(path)
    _private_file(target)
    target.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest next to backup ``path``, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(manifest_path_for(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_uri(path: Path, mode: str) -> str:
    return f"{path.resolve().as_uri()}?mode={mode}"


def _sqlite_progress(progress: ProgressFn | None) -> Callable[[int, int, int], object] | None:
    if progress is None:
        return None

    def report(_status: int, remaining: int, total: int) -> None:
        progress(Progress(done=total - remaining, total=total, unit="pages"))

    return report


def _sqlite_integrity(conn: sqlite3.Connection) -> list[str]:
    """The problems ``PRAGMA integrity_check`` finds (empty when the database is sound)."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(20)").fetchall()]
    return [] if rows == ["ok"] else rows


def _sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def sqlite_snapshot(
    *,
    source: Path,
    target: Path,
    progress: ProgressFn | None = None,
    pages_per_step: int = PAGES_PER_STEP,
    busy_timeout_s: float = 20.0,
) -> dict[str, Any]:
    """Copy the live SQLite database ``source`` into the new file ``target`` and check it.

    Returns the snapshot summary (migrations, row counts) read from the copy. The copy is
    left in rollback-journal mode, so it is one self-contained file.
    """
    if not source.is_file():
        raise BackupError(
            "backup.no_database",
            f"There is no database at {source} yet. Run `sanan migrate` first.",
        )
    src = sqlite3.connect(
        _sqlite_uri(source, "rw"), uri=True, timeout=busy_timeout_s, isolation_level=None
    )
    try:
        # One read transaction for the whole copy: every step reads the same snapshot, and
        # writers (WAL) neither wait for it nor make the copy start over.
        src.execute("BEGIN")
        src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst, pages=pages_per_step, progress=_sqlite_progress(progress))
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode=DELETE")  # the copy inherits WAL mode otherwise
            problems = _sqlite_integrity(dst)
            if problems:
                raise BackupError(
                    "backup.integrity",
                    "The copy failed SQLite's integrity check, so it was not kept: "
                    + "; ".join(problems[:5]),
                )
            return snapshot_summary(dst.cursor(), tables=_sqlite_tables(dst))
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError("backup.sqlite_failed", f"SQLite could not copy {source}: {exc}") from exc
    finally:
        src.close()


def sqlite_check_backup(path: Path) -> dict[str, Any]:
    """Open a SQLite backup read-only, check its integrity and return its summary."""
    try:
        conn = sqlite3.connect(_sqlite_uri(path, "ro"), uri=True)
    except sqlite3.Error as exc:
        raise BackupError(
            "restore.unreadable", f"{path} cannot be opened ({exc}); nothing was restored."
        ) from exc
    try:
        problems = _sqlite_integrity(conn)
        if problems:
            raise BackupError(
                "restore.damaged",
                f"{path} fails SQLite's integrity check and was not restored: "
                + "; ".join(problems[:5]),
            )
        tables = _sqlite_tables(conn)
        if "django_migrations" not in tables:
            raise BackupError(
                "restore.not_sanan",
                f"{path} is a SQLite database but not a Sanan one (it has no migrations table).",
            )
        return snapshot_summary(conn.cursor(), tables=tables)
    except sqlite3.Error as exc:
        raise BackupError(
            "restore.unreadable",
            f"{path} cannot be read ({exc}): the file is damaged or cut short; "
            "nothing was restored.",
        ) from exc
    finally:
        conn.close()


def sqlite_restore(
    *,
    source: Path,
    target: Path,
    progress: ProgressFn | None = None,
    pages_per_step: int = PAGES_PER_STEP,
    busy_timeout_s: float = 20.0,
) -> None:
    """Replace the live SQLite database ``target`` with backup ``source``, in one transaction.

    Other processes may keep their connections: they wait for the write lock like for any
    other write, then see the restored database.
    """
    src = sqlite3.connect(_sqlite_uri(source, "ro"), uri=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(
            _sqlite_uri(target, "rwc"), uri=True, timeout=busy_timeout_s, isolation_level=None
        )
        try:
            dst.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            dst.execute("PRAGMA journal_mode=WAL")  # what Sanan's settings use
            src.backup(dst, pages=pages_per_step, progress=_sqlite_progress(progress))
            problems = _sqlite_integrity(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(
            "restore.sqlite_failed",
            f"SQLite could not restore {source} into {target}: {exc}. "
            "The live database is unchanged unless the message says otherwise.",
        ) from exc
    finally:
        src.close()
    if problems:
        raise BackupError(
            "restore.integrity",
            f"The restored database at {target} fails SQLite's integrity check: "
            + "; ".join(problems[:5]),
        )


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            "backup.no_pg_tools",
            f"{name} was not found. Install the PostgreSQL client tools of the server's major "
            "version (Debian: apt-get install postgresql-client).",
        )
    return found


def pg_environment(db: dict[str, Any]) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: the connection settings as libpq variables."""
    env = dict(os.environ)
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        value = str(db.get(key) or "")
        if value:
            env[var] = value
    for option, option_value in (db.get("OPTIONS") or {}).items():
        option_var = _LIBPQ_ENV.get(option)
        if option_var is not None and option_value not in (None, ""):
            env[option_var] = str(option_value)
    return env


def _run_pg_tool(
    args: Sequence[str],
    *,
    env: dict[str, str],
    progress: ProgressFn | None,
    marker: str,
    total: int,
) -> list[str]:
    """Run a pg tool with --verbose, report a table per ``marker`` line, and return the lines
    worth showing when it fails."""
    done = 0
    notable: list[str] = []
    tail: list[str] = []
    with subprocess.Popen(  # noqa: S603 - fixed executable, arguments built here, no shell
        list(args),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail = [*tail[-9:], line]
            if marker in line:
                done += 1
                if progress is not None:
                    progress(Progress(done=min(done, total), total=max(total, done), unit="tables"))
            elif re.search(r"error|fatal|warning|detail|hint", line, re.IGNORECASE):
                notable.append(line)
        code = proc.wait()
    if code != 0:
        raise BackupError(
            "backup.pg_tool_failed",
            f"{Path(args[0]).name} failed (exit {code}):\n  " + "\n  ".join(notable[-10:] or tail),
        )
    return notable


def _pg_archive_tables(path: Path, *, env: dict[str, str]) -> int:
    """Check that ``path`` is a readable pg_dump archive; the number of tables with data."""
    listing = subprocess.run(  # noqa: S603
        [_pg_tool("pg_restore"), "--list", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if listing.returncode != 0:
        raise BackupError(
            "restore.unreadable",
            f"{path} is not a readable pg_dump archive; nothing was restored: "
            f"{listing.stderr.strip()}",
        )
    return sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line)


def _pg_tables(cursor: Any) -> set[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = ANY(current_schemas(false))")
    return {row[0] for row in cursor.fetchall()}


def pg_snapshot(
    *, target: Path, using: str = "default", progress: ProgressFn | None = None
) -> dict[str, Any]:
    """pg_dump the database of connection ``using`` into ``target``; return its summary."""
    conn = connections[using]
    db = conn.settings_dict
    env = pg_environment(db)
    pg_dump = _pg_tool("pg_dump")
    with transaction.atomic(using=using), conn.cursor() as cursor:
        # Counts and dump from one exported snapshot: they describe the same rows.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        summary = snapshot_summary(cursor, tables=_pg_tables(cursor))
        cursor.execute(
            "SELECT COUNT(*) FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        total = int(cursor.fetchone()[0])
        _run_pg_tool(
            [
                pg_dump,
                "--format=custom",
                "--verbose",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={db['NAME']}",
            ],
            env=env,
            progress=progress,
            marker="dumping contents of table",
            total=total,
        )
    summary["tables_with_data"] = _pg_archive_tables(target, env=env)
    return summary


def pg_restore(*, source: Path, using: str = "default", progress: ProgressFn | None = None) -> None:
    """Restore pg_dump archive ``source`` over the database of connection ``using``.

    ``--single-transaction``: if anything fails, the database is left as it was.
    """
    db = connections[using].settings_dict
    env = pg_environment(db)
    total = _pg_archive_tables(source, env=env)
    connections[using].close()
    try:
        _run_pg_tool(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--verbose",
                f"--dbname={db['NAME']}",
                str(source),
            ],
            env=env,
            progress=progress,
            marker="processing data for table",
            total=total,
        )
    except BackupError as exc:
        raise BackupError(
            "restore.pg_restore_failed",
            f"{exc.message}\nThe restore ran as one transaction, so the database was left as it "
            "was.",
        ) from exc


# --- The services used by the commands -------------------------------------------------------


def database_backup(
    *,
    output: Path | None = None,
    using: str = "default",
    progress: ProgressFn | None = None,
    prefix: str = "sanan",
) -> BackupResult:
    """Write a consistent backup of the live database and its manifest; see the module doc."""
    engine = database_engine(using=using)
    path = backup_path(engine=engine, output=output, prefix=prefix)
    partial = path.with_name(path.name + ".partial")
    started, taken_at = time.monotonic(), clock.now()  # the snapshot is taken as it starts
    db = connections[using].settings_dict
    _remove(partial)
    _private_file(partial)
    try:
        if engine == "sqlite":
            summary = sqlite_snapshot(source=Path(db["NAME"]), target=partial, progress=progress)
            database = Path(db["NAME"]).name
        else:
            summary = pg_snapshot(target=partial, using=using, progress=progress)
            database = str(db["NAME"])
        partial.rename(path)  # a file under the final name is always a complete, checked one
    except BaseException:
        _remove(partial)
        raise
    manifest = _manifest(
        engine=engine,
        path=path,
        started=started,
        taken_at=taken_at,
        summary=summary,
        database=database,
    )
    manifest_path = _write_manifest(path, manifest)
    return BackupResult(
        path=path, manifest_path=manifest_path, size=path.stat().st_size, manifest=manifest
    )


def backup_check(*, source: Path, using: str = "default", thorough: bool = True) -> dict[str, Any]:
    """Refuse a file this database cannot be restored from.

    Always checks that it is a backup of this engine; ``thorough`` also reads it all (SQLite
    integrity check; pg_restore --list) and returns its summary (SQLite: read from the file;
    PostgreSQL: its manifest, if any).
    """
    if not source.is_file():
        raise BackupError("restore.missing", f"There is no file at {source}.")
    engine = database_engine(using=using)
    found = file_engine(source)
    if found is None:
        raise BackupError(
            "restore.unknown_format",
            f"{source} is neither a SQLite database nor a pg_dump custom-format archive "
            "(make PostgreSQL backups with `sanan backup`, which uses --format=custom).",
        )
    if found != engine:
        raise BackupError(
            "restore.wrong_engine",
            f"{source} is a {ENGINE_LABELS[found]} backup, but this Sanan uses "
            f"{ENGINE_LABELS[engine]}. Restore it on a server configured for "
            f"{ENGINE_LABELS[found]}"
            + (
                " (DATABASE_URL=postgres://…)."
                if found == "postgresql"
                else " (DATABASE_URL unset or sqlite://…)."
            ),
        )
    if not thorough:
        return {}
    _check_against_manifest(source)
    if engine == "sqlite":
        return sqlite_check_backup(source)
    manifest = read_manifest(source) or {}
    _pg_archive_tables(source, env=pg_environment(connections[using].settings_dict))
    return manifest


def _check_against_manifest(source: Path) -> None:
    manifest = read_manifest(source)
    if manifest is None or not manifest.get("sha256"):
        return
    if manifest.get("size_bytes") != source.stat().st_size or manifest["sha256"] != _sha256(source):
        raise BackupError(
            "restore.checksum",
            f"{source} is not the file its manifest describes (size or SHA-256 differ): it was "
            "damaged or changed after the backup, so nothing was restored. If you trust it "
            f"anyway, move {manifest_path_for(source).name} away and try again.",
        )


def _migration_drift(using: str) -> tuple[list[str], list[str]]:
    """(migrations this code has that the database lacks, applied ones this code lacks)."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    applied = set(loader.applied_migrations)
    on_disk = set(loader.graph.nodes)
    pending = sorted(f"{app}.{name}" for app, name in on_disk - applied)
    unknown = sorted(
        f"{app}.{name}" for app, name in applied - on_disk if app in loader.migrated_apps
    )
    return pending, unknown


def database_restore(
    *,
    source: Path,
    actor: Any = "sanan restore",
    using: str = "default",
    safety_backup: bool = True,
    progress: ProgressFn | None = None,
) -> RestoreResult:
    """Replace the live database with backup ``source``, then check the audit chain.

    Unless ``safety_backup`` is off, the current database is first backed up (prefix
    ``pre-restore``), so a restore of the wrong file can itself be undone.
    """
    from sanan.audit.services import audit_record, audit_verify

    source = source.resolve()
    engine = database_engine(using=using)
    summary = backup_check(source=source, using=using)
    result = RestoreResult(engine=engine, source=source)
    db = connections[using].settings_dict
    if safety_backup and (engine == "postgresql" or Path(db["NAME"]).is_file()):
        result.safety_backup = database_backup(using=using, prefix="pre-restore")
    connections.close_all()
    if engine == "sqlite":
        sqlite_restore(source=source, target=Path(db["NAME"]), progress=progress)
    else:
        pg_restore(source=source, using=using, progress=progress)

    result.pending_migrations, result.unknown_migrations = _migration_drift(using)
    result.key_warnings = pii_key_warnings(read_manifest(source))
    try:
        verified = audit_verify()
    except DatabaseError as exc:  # e.g. a backup older than the audit tables' current shape
        result.audit_error = f"the audit log could not be read ({exc}); run `sanan migrate`"
    else:
        result.audit_checked = verified.checked
        result.audit_problems = verified.problems
    if not result.pending_migrations and not result.audit_error:
        with transaction.atomic(using=using):
            audit_record(
                actor=actor,
                action="database.restored",
                reason=f"restored from {source.name}",
                data={
                    "file": source.name,
                    "backup_created_at": (read_manifest(source) or {}).get("created_at", ""),
                    "audit_last_seq_in_backup": summary.get("audit_last_seq"),
                    "safety_backup": result.safety_backup.path.name if result.safety_backup else "",
                },
            )
    return result


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value, unit = size / 1024, "KB"
    for bigger in ("MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"
