"""Writes for organisations and their members."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from sanan.audit.services import audit_record
from sanan.core import clock
from sanan.organisation.models import Membership, Organisation
from sanan.places.models import Place


def organisation_ensure(
    *, actor: Any, kind: str, code: str, name: str, place: Place
) -> Organisation:
    """The organisation with ``code``, created (and audited) if it does not exist yet."""
    with transaction.atomic():
        org, created = Organisation.objects.get_or_create(
            code=code, defaults={"kind": kind, "name": name, "place": place}
        )
        if created:
            audit_record(actor=actor, action="organisation.created", target=org)
    return org


def membership_add(
    *,
    actor: Any,
    organisation: Organisation,
    user: Any,
    title: str = "",
    started_on: date | None = None,
) -> Membership:
    """Make ``user`` a current member of ``organisation`` (idempotent)."""
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            organisation=organisation,
            user=user,
            ended_on=None,
            defaults={"title": title, "started_on": started_on or clock.today()},
        )
        if created:
            audit_record(
                actor=actor,
                action="membership.added",
                target=organisation,
                data={"user": user.pk, "title": title},
            )
    return membership
