"""Browser tests: Debian's Chromium driven by pytest-playwright against pytest-django's live_server.

The demo community (``sanan.core.demo.build_demo``, ~4 s) is built once per test session and
then restored before every test that asks for ``live_demo``. ``live_server`` makes each test
transactional, and Django flushes every table after a transactional test, so the data has to come
back each time: the first test builds it and copies every row into memory; later tests put those
rows back with one ``bulk_create`` per table (a fraction of a second, on SQLite and PostgreSQL
alike, with the original primary keys).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .support import DEMO_USERNAMES, DESK, Demo, DemoUser, Lang

if TYPE_CHECKING:
    from django.db.models import Model

# pytest-playwright's sync API runs an asyncio loop in the test thread, and Django then refuses
# database calls from that thread (SynchronousOnlyOperation, seen without this line). The tests
# are plain synchronous code, so the guard does not apply: this is Django's documented opt-out.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SANAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


# --- Playwright ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (or set SANAN_CHROMIUM)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], live_server: Any) -> dict[str, Any]:
    """Every page talks to the live server; relative URLs (``page.goto("/")``) resolve there."""
    return {**browser_context_args, "base_url": live_server.url}


@pytest.fixture
def open_page(new_context: Callable[..., Any]) -> Callable[..., Any]:
    """A fresh browser tab in a language (and viewport): ``open_page(ZH)``, ``open_page(EN,
    viewport=PHONE)``. Contexts come from pytest-playwright, so failures leave a screenshot."""

    def _open(lang: Lang, viewport: tuple[int, int] = DESK, **kwargs: Any) -> Any:
        context = new_context(
            locale=lang.locale,
            extra_http_headers={"Accept-Language": lang.accept},
            viewport={"width": viewport[0], "height": viewport[1]},
            **kwargs,
        )
        context.set_default_timeout(10_000)
        return context.new_page()

    return _open


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig: pytest.Config) -> Path:
    """test-results/screenshots/ (next to pytest-playwright's failure screenshots)."""
    path = Path(pytestconfig.getoption("--output")).absolute() / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- The demo community ----------------------------------------------------------------------
class _Snapshot:
    """Every row of every table, in memory, but content types and permissions: Django's flush
    recreates those itself (post_migrate), and no demo row points to them."""

    SKIP = frozenset({"contenttypes.contenttype", "auth.permission"})

    def __init__(self) -> None:
        from django.apps import apps

        self.rows: list[tuple[type[Model], list[Model]]] = []
        for model in apps.get_models(include_auto_created=True):
            opts = model._meta
            if opts.label_lower in self.SKIP or opts.proxy or not opts.managed:
                continue
            objs = list(model._base_manager.order_by("pk"))
            if objs:
                self.rows.append((model, objs))

    def restore(self) -> None:
        from django.db import connection, transaction

        with transaction.atomic():
            # Foreign keys are checked at commit (Django creates them deferrable), so the
            # tables can be filled in any order.
            for model, objs in self.rows:
                model._base_manager.bulk_create(objs, batch_size=500)
            connection.check_constraints(
                table_names=[model._meta.db_table for model, _ in self.rows]
            )


@pytest.fixture(scope="session")
def _demo_cache() -> dict[str, Any]:
    return {}


@pytest.fixture
def live_demo(live_server: Any, transactional_db: None, _demo_cache: dict[str, Any]) -> Demo:
    """The demo community in the live server's database, built once per session (the
    ``demo`` fixture of tests/conftest.py is for non-browser tests: it depends on ``db``)."""
    from django.conf import settings

    from sanan.accounts.models import User
    from sanan.accounts.roles import ROLE_PRIORITY

    snapshot: _Snapshot | None = _demo_cache.get("snapshot")
    if snapshot is None:
        # tests/conftest.py may already have committed the demo for the other tests.
        if User.objects.filter(username__in=DEMO_USERNAMES).count() != len(DEMO_USERNAMES):
            from sanan.core.demo import build_demo

            build_demo(progress=lambda _line: None, registry=False, work_orders=0)
        _demo_cache["snapshot"] = _Snapshot()
    else:
        snapshot.restore()

    users = {}
    for user in User.objects.filter(username__in=DEMO_USERNAMES).prefetch_related(
        "role_assignments"
    ):
        held = {a.role for a in user.role_assignments.all()}
        role = next((r for r in ROLE_PRIORITY if r in held), "")
        users[user.username] = DemoUser(user.username, role, user.phone_reveal(), str(user))
    return Demo(password=settings.DEMO_PASSWORD, users=users)
