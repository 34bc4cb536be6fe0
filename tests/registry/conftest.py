"""Registry fixtures: ``reg`` builds the small registry of ``tests/registry/world.py`` inside
each test's transaction (a few dozen rows, rolled back afterwards)."""

from __future__ import annotations

import pytest

from tests.personas import World
from tests.registry.world import RegistryWorld, build_registry_world


@pytest.fixture
def reg(world: World) -> RegistryWorld:
    return build_registry_world(world)
