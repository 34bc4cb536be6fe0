"""Settings read from the environment: a bad value stops the server at start-up, naming the
variable; good values become the settings the server runs with."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import ConnectionHandler

from sanan.core.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    parse_pii_keys,
    sqlite_database,
)

KEY_32 = base64.urlsafe_b64encode(bytes(range(32))).decode()


# --- refused values ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["maybe", "2", "yep", "ja"])
def test_env_bool__read__refuses_a_word_it_does_not_know(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="SANAN_DEBUG"):
        env_bool("SANAN_DEBUG", False, environ={"SANAN_DEBUG": value})


@pytest.mark.parametrize("value", ["ten", "1.5", "10 minutes", "0x10"])
def test_env_int__read__refuses_what_is_not_a_whole_number(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="SANAN_IDLE_TIMEOUT_MINUTES must be a whole"):
        env_int("SANAN_IDLE_TIMEOUT_MINUTES", 30, environ={"SANAN_IDLE_TIMEOUT_MINUTES": value})


def test_env_int__read__refuses_a_number_below_the_minimum() -> None:
    with pytest.raises(ImproperlyConfigured, match="at least 8; got 4"):
        env_int(
            "SANAN_PASSWORD_MIN_LENGTH", 10, minimum=8, environ={"SANAN_PASSWORD_MIN_LENGTH": "4"}
        )


def test_env_int__read__refuses_a_number_above_the_maximum() -> None:
    with pytest.raises(ImproperlyConfigured, match="at most 100; got 101"):
        env_int("X", 1, maximum=100, environ={"X": "101"})


def test_env_choice__read__refuses_a_value_outside_the_choices() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"SANAN_PII_CIPHER must be one of .*'des'"):
        env_choice(
            "SANAN_PII_CIPHER",
            "aes-256-gcm",
            ("aes-256-gcm", "sm4-gcm"),
            environ={"SANAN_PII_CIPHER": "des"},
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("k1:a", "not valid base64"),  # one character: no byte can be decoded from it
        ("k1:" + base64.urlsafe_b64encode(bytes(16)).decode(), "must be 32 bytes"),
        ("k1:" + base64.urlsafe_b64encode(bytes(33)).decode(), "must be 32 bytes"),
        (KEY_32, "must look like 'k1:<base64>'"),  # no key id
        ("k-1:" + KEY_32, "must look like 'k1:<base64>'"),  # id not alphanumeric
        (" , ", "holds no key"),
    ],
    ids=["bad-base64", "16-bytes", "33-bytes", "no-id", "bad-id", "empty"],
)
def test_parse_pii_keys__read__refuses_unusable_keys(value: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as caught:
        parse_pii_keys("SANAN_PII_KEYS", value)
    assert "SANAN_PII_KEYS" in str(caught.value)
    assert KEY_32 not in str(caught.value)  # a key never shows up in an error message


@pytest.mark.parametrize(
    "url", ["mysql://u:p@db/sanan", "oracle://db/sanan", "redis://localhost:6379/0"]
)
def test_database_from_url__read__refuses_an_unknown_scheme(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="is not supported"):
        database_from_url(url)


@pytest.mark.parametrize("url", ["postgres://postgres@127.0.0.1:5432", "postgres://db/"])
def test_database_from_url__read__refuses_postgres_without_a_database_name(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="needs a database name"):
        database_from_url(url)


def test_database_from_url__read__refuses_a_sqlite_url_with_a_host() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"sqlite:////absolute/path\.db"):
        database_from_url("sqlite://somehost/sanan.db")


# --- accepted values ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("1", True), ("TRUE", True), (" yes ", True), ("on", True)],
        *[("0", False), ("false", False), ("No", False), ("off", False), ("", False)],
    ],
)
def test_env_bool__read__understands_the_usual_spellings(value: str, expected: bool) -> None:
    assert env_bool("SANAN_SECURE", not expected, environ={"SANAN_SECURE": value}) is expected


def test_env_readers__unset__fall_back_to_their_defaults() -> None:
    assert env_bool("SANAN_SECURE", True, environ={}) is True
    assert env_int("SANAN_IDLE_TIMEOUT_MINUTES", 30, minimum=1, environ={}) == 30
    assert env_str("SANAN_SECRET_KEY", "fallback", environ={"SANAN_SECRET_KEY": ""}) == "fallback"
    assert env_list("SANAN_ALLOWED_HOSTS", ["a"], environ={}) == ["a"]
    assert env_choice("SANAN_LOG_LEVEL", "INFO", ("INFO", "DEBUG"), environ={}) == "INFO"


def test_env_int__read__accepts_the_minimum_itself() -> None:
    assert env_int("N", 10, minimum=8, environ={"N": " 8 "}) == 8


def test_env_list__read__splits_on_commas_and_drops_blanks() -> None:
    hosts = env_list("H", [], environ={"H": "sanan.example.cn, 10.0.0.5,, "})
    assert hosts == ["sanan.example.cn", "10.0.0.5"]


def test_parse_pii_keys__read__keeps_every_key_and_the_first_one_encrypts() -> None:
    other = base64.urlsafe_b64encode(b"\xff" * 32).decode().rstrip("=")  # padding is optional
    keys = parse_pii_keys("SANAN_PII_KEYS", f"k2:{KEY_32}, k1:{other}")
    assert list(keys) == ["k2", "k1"]
    assert keys["k2"] == bytes(range(32))
    assert keys["k1"] == b"\xff" * 32


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_database_from_url__postgres__becomes_a_postgresql_entry(scheme: str) -> None:
    db = database_from_url(f"{scheme}://sanan:p%40ss@db.internal:6543/sanan_prod?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "sanan_prod"
    assert db["USER"] == "sanan"
    assert db["PASSWORD"] == "p@ss"  # percent-encoding is undone
    assert db["HOST"] == "db.internal"
    assert db["PORT"] == "6543"
    assert db["OPTIONS"] == {"sslmode": "require"}
    assert db["CONN_HEALTH_CHECKS"] is True


def test_database_from_url__postgres_conn_max_age__is_a_setting_not_a_driver_option() -> None:
    db = database_from_url("postgres://postgres@127.0.0.1/sanan?conn_max_age=0")
    assert db["CONN_MAX_AGE"] == 0
    assert "conn_max_age" not in db["OPTIONS"]
    assert db["PORT"] == ""  # the driver's default port


def test_database_from_url__pgbouncer__turns_server_side_cursors_off() -> None:
    pooled = database_from_url("postgres://sanan@pgbouncer:6432/sanan?pgbouncer=1&conn_max_age=0")
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "pgbouncer" not in pooled["OPTIONS"]
    direct = database_from_url("postgres://sanan@db:5432/sanan")
    assert direct["DISABLE_SERVER_SIDE_CURSORS"] is False


def test_database_from_url__sqlite__is_tuned_for_a_server(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sanan.sqlite3"
    db = database_from_url(f"sqlite:///{path}")
    assert db["ENGINE"] == "sanan.core.sqlite"  # Django's, with writers queued
    assert db["NAME"] == str(path)
    assert path.parent.is_dir()  # created, so the first connection does not fail
    assert db["CONN_MAX_AGE"] == 60  # kept across requests, as on PostgreSQL
    options = db["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    init = options["init_command"]
    assert "PRAGMA journal_mode=WAL" in init
    assert "PRAGMA synchronous=FULL" in init
    assert "PRAGMA foreign_keys=ON" in init
    assert f"PRAGMA busy_timeout={options['timeout'] * 1000}" in init


def test_sqlite_database__django_connection__runs_in_wal_with_full_sync(
    tmp_path: Path, django_db_blocker: object
) -> None:
    """A real file-backed connection opened by Django's own SQLite backend."""
    settings_dict = sqlite_database(tmp_path / "server.sqlite3")
    handler = ConnectionHandler({"default": settings_dict})
    connection = handler["default"]
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                journal_mode = cursor.fetchone()[0]
                cursor.execute("PRAGMA synchronous")
                synchronous = cursor.fetchone()[0]
                cursor.execute("PRAGMA foreign_keys")
                foreign_keys = cursor.fetchone()[0]
        finally:
            connection.close()
    assert journal_mode == "wal"
    assert synchronous == 2  # FULL
    assert foreign_keys == 1


def test_sqlite_database__wal__survives_reopening_the_file(tmp_path: Path) -> None:
    """WAL is a property of the file: a plain sqlite3 connection sees it after the init command
    ran once, so tools like the sqlite3 shell do not undo it."""
    settings_dict = sqlite_database(tmp_path / "server.sqlite3")
    first = sqlite3.connect(settings_dict["NAME"])
    for command in settings_dict["OPTIONS"]["init_command"].split(";"):
        if command.strip():
            first.execute(command)
    first.close()
    second = sqlite3.connect(settings_dict["NAME"])
    try:
        assert second.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        second.close()
