"""Run the races of ``race.py`` against a real SQLite file (not the shared in-memory test
database, where SQLite locks whole tables instead of waiting): ``DATABASE_URL=sqlite:////tmp/x.db
python -m tests.workorders.race_probe``. Prints one JSON line."""

from __future__ import annotations

import datetime as dt
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
    call_command("migrate", verbosity=0)  # also seeds categories and the calendar

    from sanan.workorders.models import WorkOrder, WorkOrderEvent
    from sanan.workorders.state import State
    from tests.personas import World, ensure_personas
    from tests.workorders.race import race_sign, race_sweep
    from tests.workorders.world import WEDNESDAY_10, build_order_world

    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    with time_machine.travel(WEDNESDAY_10, tick=False):
        ensure_personas()
        wo = build_order_world(World.load())
        order = wo.order_in(State.DISPATCHED)
        overdue = [wo.order_in(State.DISPATCHED).pk for _ in range(12)]
    sign = race_sign(order.pk, wo.handler.pk, threads)
    after_deadline = WEDNESDAY_10 + dt.timedelta(hours=3)
    sweeps = race_sweep(after_deadline, threads)
    per_order = {
        pk: sorted(
            WorkOrderEvent.objects.filter(order_id=pk, action__in=["warn", "chase"]).values_list(
                "action", flat=True
            )
        )
        for pk in overdue
    }
    print(  # noqa: T201 - the probe answers on stdout
        json.dumps(
            {
                "sign": sign,
                "sign_events": WorkOrderEvent.objects.filter(order=order, action="sign").count(),
                "state": WorkOrder.objects.get(pk=order.pk).state,
                "sweeps": [
                    s if isinstance(s, str) else {"warned": s.warned, "chased": s.chased}
                    for s in sweeps
                ],
                "escalations": {str(k): v for k, v in per_order.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
