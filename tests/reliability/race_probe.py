"""Run the API races of ``races.py`` against a real SQLite file (not the shared in-memory test
database, where SQLite locks whole tables instead of waiting):
``DATABASE_URL=sqlite:////tmp/x.db python -m tests.reliability.race_probe``. Prints one JSON
line: the outcome of each scenario."""

from __future__ import annotations

import json
import os


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
    import django

    django.setup()
    import time_machine
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["tests.personas.FastArgon2PasswordHasher"]
    settings.ALLOWED_HOSTS = ["testserver"]  # the API client's host
    call_command("migrate", verbosity=0)  # also seeds categories and the calendar

    from tests.personas import World, ensure_personas
    from tests.reliability.races import run_all
    from tests.workorders.world import WEDNESDAY_10, build_order_world

    with time_machine.travel(WEDNESDAY_10, tick=False):
        ensure_personas()
        wo = build_order_world(World.load())
        outcomes = run_all(wo)
    print(json.dumps(outcomes))  # noqa: T201 - the probe answers on stdout


if __name__ == "__main__":
    main()
