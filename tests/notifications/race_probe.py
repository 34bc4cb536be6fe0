"""Run ``race.race_deliver`` against a real SQLite file (``DATABASE_URL=sqlite:////tmp/x.db
python -m tests.notifications.race_probe 4``) and print one JSON line."""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.notifications.settings")
    import django

    django.setup()
    import time_machine
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["tests.personas.FastArgon2PasswordHasher"]
    call_command("migrate", verbosity=0)

    from tests.notifications.race import outcome, race_deliver
    from tests.personas import World, ensure_personas
    from tests.workorders.world import WEDNESDAY_10, build_order_world

    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    url = sys.argv[2] if len(sys.argv) > 2 else ""
    with time_machine.travel(WEDNESDAY_10, tick=False):
        ensure_personas()
        wo = build_order_world(World.load())
        if url:
            from sanan.notifications.services import webhook_endpoint_create

            webhook_endpoint_create(actor=wo.dispatcher, organisation=wo.housing, url=url)
        for _ in range(8):
            wo.order_in("dispatched")
    results = race_deliver(WEDNESDAY_10, threads)
    print(json.dumps(outcome(results)))  # noqa: T201 - the probe answers on stdout


if __name__ == "__main__":
    main()
