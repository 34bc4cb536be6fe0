"""Shared fixtures: personas, the persona world and the demo community.

``demo`` and ``world`` (see ``tests/personas.py``) commit their data through the services the
first time a test asks for them (session-scoped, before that test's transaction opens); every
test then rolls back its own changes on top. Transactional tests (``transaction=True``,
``live_server``: the browser tests) get the empty database Django promises them: the committed
data is flushed before the first of them, and pytest-django runs them after all the others.
The fixtures rebuild whatever is missing, so the order of tests never matters.

Personas (username, role, scope): ``resident`` p-resident (unit A1-101), ``commissioner_a``
p-commissioner-a (courtyard A), ``commissioner_b`` p-commissioner-b (courtyard B),
``dispatcher`` p-dispatcher, ``handler`` p-handler (the community, for the housing
department), ``leader`` p-leader (the community), ``admin`` p-admin (the city, superuser);
``persona("p-butler")`` etc. for the other roles (``PERSONA_FOR_ROLE``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.places.locate import courtyard_index
from sanan.places.models import Place
from tests.personas import World, ensure_demo, ensure_personas
from tests.seeds import ensure_migration_seeds


def _remove_sqlite_test_files() -> None:
    """This worker's SQLite test database with its WAL and shared-memory files. Django deletes
    the database file before creating it but not the two beside it, and SQLite would replay a
    stale WAL into the new database (a thread's connection can leave them at exit)."""
    db = settings.DATABASES["default"]
    if connection.vendor != "sqlite" or not db["TEST"].get("NAME"):
        return
    name = db["TEST"]["NAME"]
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # pytest-django suffixes the name per worker
    if worker:
        name = f"{name}_{worker}"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(name + suffix).unlink(missing_ok=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    _remove_sqlite_test_files()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``own_sqlite_file`` run Sanan in subprocesses on a SQLite file of their own:
    the configured database plays no part in them, so they run once, in the SQLite run."""
    if connection.vendor == "sqlite":
        return
    skip = pytest.mark.skip(
        reason="runs on a SQLite file of its own whatever the configured database: "
        "the SQLite run covers it"
    )
    for item in items:
        if item.get_closest_marker("own_sqlite_file"):
            item.add_marker(skip)


# Whether this session committed the demo or the personas to the test database.
_COMMITTED: dict[str, bool] = {"world": False}


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 at test-sized cost for every password the tests write or check."""
    hashers = ["tests.personas.FastArgon2PasswordHasher", *settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


def _is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and (
        marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
    ):
        return True
    names = getattr(item, "fixturenames", ())
    return "transactional_db" in names or "live_server" in names


@pytest.fixture(scope="session")
def _session_demo(django_db_setup: None, django_db_blocker: Any) -> None:
    """Commit the demo community once; tests roll back their own changes on top of it."""
    with django_db_blocker.unblock():
        ensure_demo()
        courtyard_index.invalidate()
    _COMMITTED["world"] = True


@pytest.fixture(scope="session")
def _session_personas(django_db_setup: None, django_db_blocker: Any) -> None:
    """Commit the persona world once: ten people, their places and organisations."""
    with django_db_blocker.unblock():
        ensure_personas()
        courtyard_index.invalidate()
    _COMMITTED["world"] = True


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Rate limits count per address in the cache, and every test client has the same
    address: each test starts with fresh counts."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_courtyard_index() -> Iterator[None]:
    """The point → courtyard index lives in process memory; boundaries a test changed (and
    rolled back) must not leak into the next test."""
    yield
    courtyard_index.invalidate()


@pytest.fixture(autouse=True)
def _empty_database_for_transactional_tests(request: pytest.FixtureRequest) -> None:
    """Transactional tests (the browser tests among them) expect the empty database Django
    gives them; remove the committed session data before the first one. pytest-django runs
    every transactional test after all the others, so this happens once."""
    if _COMMITTED["world"] and _is_transactional(request.node):
        call_command("flush", interactive=False, verbosity=0)
        courtyard_index.invalidate()
        _COMMITTED["world"] = False


@pytest.fixture(autouse=True)
def _migration_seeds(request: pytest.FixtureRequest) -> None:
    """Reference data comes from migrations (``tests.seeds``). A transactional test's flush
    removes it for the tests after it on the same worker; a database test that finds it gone
    writes it again (inside its own transaction)."""
    uses_db = "db" in request.fixturenames or request.node.get_closest_marker("django_db")
    if not uses_db or _is_transactional(request.node):
        return
    request.getfixturevalue("db")
    ensure_migration_seeds()


@pytest.fixture
def world(_session_personas: None, db: None) -> World:
    ensure_personas()
    return World.load()


@pytest.fixture
def demo(_session_demo: None, db: None) -> Place:
    """The demo community's residential area (红旗小区), with its 55 courtyards."""
    ensure_demo()
    return Place.objects.get(code="511102-tj-nyq-hq")


@pytest.fixture
def persona(world: World) -> Callable[[str], User]:
    """``persona("p-leader")``: a fresh copy of a persona (no cached permissions)."""

    def get(username: str) -> User:
        return User.objects.get(username=username)

    return get


@pytest.fixture
def resident(persona: Callable[[str], User]) -> User:
    return persona("p-resident")


@pytest.fixture
def commissioner_a(persona: Callable[[str], User]) -> User:
    return persona("p-commissioner-a")


@pytest.fixture
def commissioner_b(persona: Callable[[str], User]) -> User:
    return persona("p-commissioner-b")


@pytest.fixture
def dispatcher(persona: Callable[[str], User]) -> User:
    return persona("p-dispatcher")


@pytest.fixture
def handler(persona: Callable[[str], User]) -> User:
    return persona("p-handler")


@pytest.fixture
def leader(persona: Callable[[str], User]) -> User:
    return persona("p-leader")


@pytest.fixture
def admin(persona: Callable[[str], User]) -> User:
    return persona("p-admin")


@pytest.fixture
def web_as() -> Callable[[User], Client]:
    """A browser-like client already signed in as ``user``."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_as() -> Callable[[User], APIClient]:
    """An API client authenticated as ``user``."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_login(user)  # a real session, as the web pages use
        return client

    return make
