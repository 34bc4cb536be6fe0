"""One security world per test module (``world.py``): built inside a transaction that the
module's end rolls back, so each test's own savepoint sits on top of it and nothing is left
for the tests that follow on the same worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.test import Client

from sanan.places.locate import courtyard_index
from sanan.workorders.sla import calendar_cache
from tests.personas import World, ensure_personas
from tests.security.world import SecurityWorld, build_security_world
from tests.seeds import ensure_migration_seeds
from tests.workorders.world import WEDNESDAY_10


@pytest.fixture(scope="module")
def sec(
    django_db_setup: None, django_db_blocker: Any, _session_personas: None
) -> Iterator[SecurityWorld]:
    with django_db_blocker.unblock():
        ensure_personas()
        with transaction.atomic():
            ensure_migration_seeds()
            calendar_cache.invalidate()
            with time_machine.travel(WEDNESDAY_10, tick=False):
                built = build_security_world(World.load())
            for name, user in built.users.items():
                client = Client()
                client.force_login(user)
                built.sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield built
            transaction.set_rollback(True)
        calendar_cache.invalidate()
        courtyard_index.invalidate()
