"""Real concurrency for dual-reporting: several units, each in its own thread with its own
database connection, claim the last place on a task at the same instant. Used in-process on
PostgreSQL and, through ``race_probe``, on a SQLite file database."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection

from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.core.errors import DomainError
from sanan.dualreport import services
from sanan.dualreport.models import Registration, RegistrationKind, Task
from sanan.organisation.models import OrganisationKind
from sanan.organisation.services import membership_add, organisation_ensure
from tests.dualreport.conftest import Dual
from tests.factories import UserFactory


def racers(dual: Dual, n: int) -> list[tuple[int, int]]:
    """(member, registration) pairs of ``n`` units: the two of ``dual`` and more as needed."""
    pairs = [(dual.member_a.pk, dual.reg_a.pk), (dual.member_b.pk, dual.reg_b.pk)]
    for i in range(len(pairs), n):
        unit = organisation_ensure(
            actor="tests", kind=OrganisationKind.UNIT, code=f"t-unit-race-{i}",
            name=f"赛跑单位{i}", place=dual.community,
        )  # fmt: skip
        member = UserFactory(roles=[(Role.UNIT_MEMBER, dual.community, unit)])
        membership_add(actor="tests", organisation=unit, user=member)
        reg = services.registration_create(
            actor="tests", place=dual.community, kind=RegistrationKind.UNIT, organisation=unit,
            contact_name=f"联系人{i}", resources="志愿服务", capacity_hours_month=20,
        )  # fmt: skip
        pairs.append((member.pk, reg.pk))
    return pairs[:n]


def race_claim(task_pk: int, pairs: list[tuple[int, int]]) -> list[str]:
    """Every unit presses "claim" on the same task at once; returns "ok" or the error code."""
    barrier = threading.Barrier(len(pairs), timeout=30)
    results: list[Any] = [None] * len(pairs)

    def target(i: int) -> None:
        user_pk, reg_pk = pairs[i]
        try:
            user = User.objects.get(pk=user_pk)
            registration = Registration.objects.select_related("place").get(pk=reg_pk)
            task = Task.objects.get(pk=task_pk)
            barrier.wait()  # everyone has the task open, now all click
            try:
                services.task_claim(actor=user, task=task, registration=registration)
                results[i] = "ok"
            except DomainError as exc:
                results[i] = exc.code
        except Exception as exc:  # report whatever happened, do not hide it
            results[i] = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(len(pairs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results
