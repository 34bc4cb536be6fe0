"""Run the claim race of ``race.py`` against a real SQLite file (not the shared in-memory test
database): ``DATABASE_URL=sqlite:////tmp/x.db python -m tests.dualreport.race_probe 4``.
Prints one JSON line."""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
    import django

    django.setup()
    import time_machine
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["tests.personas.FastArgon2PasswordHasher"]
    call_command("migrate", verbosity=0)

    from sanan.dualreport.models import Claim, Task
    from tests.dualreport.conftest import setup_dual
    from tests.dualreport.race import race_claim, racers
    from tests.personas import World, ensure_personas
    from tests.workorders.world import WEDNESDAY_10

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    with time_machine.travel(WEDNESDAY_10, tick=False):
        ensure_personas()
        dual = setup_dual(World.load())
        pairs = racers(dual, n)
        task = dual.task(slots=1, hours_per_slot=1)
        results = race_claim(task.pk, pairs)
    print(  # noqa: T201 - the probe answers on stdout
        json.dumps(
            {
                "results": results,
                "claims": Claim.objects.filter(task=task).count(),
                "claimed_slots": Task.objects.get(pk=task.pk).claimed_slots,
            }
        )
    )


if __name__ == "__main__":
    main()
