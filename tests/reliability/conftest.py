"""The work-order fixtures (``wo``, the stopped clock, a fresh calendar) for the races, and
the demo installation per engine that the crash and backup tests copy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.reliability.site import DemoSite, Engine, demo_site
from tests.workorders.conftest import _fresh_calendar, clock, wo

__all__ = ["_fresh_calendar", "clock", "demo_postgresql", "demo_site_of", "demo_sqlite", "wo"]


@pytest.fixture(scope="session")
def demo_site_of(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[Engine], DemoSite]]:
    """``demo_site_of("sqlite")``: the demo installation on that engine, built on first use
    (``sanan demo``: about ten seconds on an idle machine) and kept for the session."""
    built: dict[Engine, DemoSite] = {}
    with ExitStack() as stack:

        def get(engine: Engine) -> DemoSite:
            if engine not in built:
                var_dir = tmp_path_factory.mktemp(f"demo-{engine}")
                built[engine] = stack.enter_context(demo_site(var_dir / "var", engine))
            return built[engine]

        yield get


@pytest.fixture(scope="session")
def demo_sqlite(demo_site_of: Callable[[Engine], DemoSite]) -> DemoSite:
    return demo_site_of("sqlite")


@pytest.fixture(scope="session")
def demo_postgresql(demo_site_of: Callable[[Engine], DemoSite]) -> DemoSite:
    return demo_site_of("postgresql")
