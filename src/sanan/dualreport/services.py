"""Writes of dual-reporting: registrations, tasks, claims, completion reports and ratings.

Every write is one transaction with its audit record. A claim takes a place on its task with
a conditional UPDATE (``claimed_slots < slots``): on SQLite (IMMEDIATE transactions) and on
PostgreSQL (the row lock, then the condition read again) two units racing for the last place
end with exactly one claim; the other is told the places are gone
(``dual_task.full``). The unit's monthly capacity is checked in the same transaction, with the
registration row locked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.audit.services import audit_record
from sanan.core import clock, crypto
from sanan.core.errors import Conflict, DomainError, PermissionDenied
from sanan.core.privacy import mask_personal
from sanan.core.validators import mask_phone, validate_phone
from sanan.dualreport import access
from sanan.dualreport.models import (
    CLAIM,
    CONTACT_PHONE_PURPOSE,
    MANAGE,
    RATE,
    Claim,
    ClaimState,
    Rating,
    Registration,
    RegistrationKind,
    RegistrationState,
    Task,
    TaskState,
)
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.places.models import Place, PlaceKind

MAX_MINUTES_MONTH = 31 * 24 * 60
MAX_TASK_MINUTES = 7 * 24 * 60


def _is_person(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _require(actor: Any, action: str, obj: Any) -> None:
    if _is_person(actor):
        permissions_for(actor).require(action, obj)


def _text(value: str | None, limit: int) -> str:
    return mask_personal((value or "").strip()[:limit]).strip()


def community_of(place: Place) -> Place:
    """The community ``place`` lies in (itself when it is one)."""
    if place.kind == PlaceKind.COMMUNITY:
        return place
    found = Place.objects.filter(path=place.path[: access.COMMUNITY_LEN]).first()
    if found is None or len(place.path) < access.COMMUNITY_LEN:
        raise DomainError(
            "dual_task.place_above_community",
            _("Choose the community or a place inside it."),
            fields={"place": [_("Choose a place inside a community.")]},
        )
    return found


# --- registrations ------------------------------------------------------------------------------


def registration_create(
    *,
    actor: Any,
    place: Place,
    kind: str,
    contact_name: str,
    resources: str,
    capacity_hours_month: int,
    organisation: Organisation | None = None,
    member: Any = None,
    contact_phone: str = "",
    skills: str = "",
    registered_on: dt.date | None = None,
    code: str = "",
) -> Registration:
    """Register a unit (by the community's staff, or by a member of that unit) or an in-service
    Party member (by staff, or by the member in person) with the community ``place``."""
    if place.kind != PlaceKind.COMMUNITY:
        raise DomainError(
            "registration.not_a_community",
            _("Units and members register with a community."),
            fields={"place": [_("Choose a community.")]},
        )
    if kind not in RegistrationKind.values:
        raise DomainError(
            "registration.unknown_kind",
            _("Choose a unit or a Party member."),
            fields={"kind": [_("Choose a listed kind.")]},
        )
    if kind == RegistrationKind.UNIT:
        if organisation is None or organisation.kind != OrganisationKind.UNIT:
            raise DomainError(
                "registration.unit_required",
                _("Choose the dual-reporting unit."),
                fields={"organisation": [_("Choose a unit.")]},
            )
        member = None
    else:
        if member is None:
            raise DomainError(
                "registration.member_required",
                _("Choose the Party member who registers."),
                fields={"member": [_("Required.")]},
            )
        organisation = None
    if _is_person(actor):
        perms = permissions_for(actor)
        own = (organisation is not None and organisation.pk in access.unit_ids(actor)) or (
            member is not None and member.pk == actor.pk
        )
        if not own:
            perms.require(MANAGE, place)
        elif not perms.can_see(place) and member is None:
            raise Http404
    contact_name = (contact_name or "").strip()[:60]
    resources = _text(resources, 2000)
    if not contact_name:
        raise DomainError(
            "registration.contact_required",
            _("Name the contact person."),
            fields={"contact_name": [_("Required.")]},
        )
    if not resources:
        raise DomainError(
            "registration.resources_required",
            _("Say what the unit can offer the community."),
            fields={"resources": [_("Required.")]},
        )
    if not 1 <= capacity_hours_month <= MAX_MINUTES_MONTH // 60:
        raise DomainError(
            "registration.capacity_invalid",
            _("Give the volunteer hours a month, at least 1."),
            fields={"capacity_hours_month": [_("A whole number of hours, at least 1.")]},
        )
    encrypted = masked = index = ""
    if (contact_phone or "").strip():
        number, _kind = validate_phone(contact_phone, field="contact_phone")
        encrypted = crypto.encrypt(number, purpose=CONTACT_PHONE_PURPOSE)
        masked = mask_phone(number)
        index = crypto.blind_index(number, purpose=CONTACT_PHONE_PURPOSE)
    try:
        with transaction.atomic():
            registration = Registration.objects.create(
                place=place,
                kind=kind,
                organisation=organisation,
                member=member,
                contact_name=contact_name,
                contact_phone_encrypted=encrypted,
                contact_phone_masked=masked,
                contact_phone_index=index,
                resources=resources,
                skills=(skills or "").strip()[:200],
                capacity_minutes_month=capacity_hours_month * 60,
                registered_on=registered_on or clock.today(),
                code=code,
                created_by=actor if _is_person(actor) else None,
            )
            audit_record(
                actor=actor,
                action="registration.created",
                target=registration,
                data={"kind": kind, "capacity_hours_month": capacity_hours_month},
            )
    except IntegrityError:
        raise DomainError(
            "registration.already_registered",
            _("This unit or member is already registered with the community."),
        ) from None
    return registration


def registration_end(*, actor: Any, registration: Registration, reason: str = "") -> Registration:
    """End a registration (the unit leaves); its history stays for the evaluation."""
    if not (_is_person(actor) and access.can_claim_for(actor, registration)):
        _require(actor, MANAGE, registration)
    if registration.state != RegistrationState.ACTIVE:
        raise Conflict("registration.ended", _("This registration has already ended."))
    with transaction.atomic():
        registration.state = RegistrationState.ENDED
        registration.ended_on = clock.today()
        registration.save(update_fields=["state", "ended_on"])
        audit_record(
            actor=actor, action="registration.ended", target=registration, reason=reason[:200]
        )
    return registration


# --- tasks ----------------------------------------------------------------------------------


def task_publish(
    *,
    actor: Any,
    place: Place,
    title: str,
    slots: int,
    hours_per_slot: float,
    starts_on: dt.date,
    due_on: dt.date,
    description: str = "",
    skills: str = "",
    campaign: Any = None,
    code: str = "",
) -> Task:
    """Publish a need of the community (需求清单): ``slots`` units, each giving about
    ``hours_per_slot`` hours between ``starts_on`` and ``due_on``."""
    _require(actor, MANAGE, place)
    community = community_of(place)
    title = _text(title, 120)
    minutes = round(float(hours_per_slot) * 60)
    if not title:
        raise DomainError(
            "dual_task.title_required",
            _("Say what is needed."),
            fields={"title": [_("Required.")]},
        )
    if not 1 <= slots <= 100:
        raise DomainError(
            "dual_task.slots_invalid",
            _("A task asks for between 1 and 100 units."),
            fields={"slots": [_("Between 1 and 100.")]},
        )
    if not 1 <= minutes <= MAX_TASK_MINUTES:
        raise DomainError(
            "dual_task.hours_invalid",
            _("Give the time each unit gives, in hours (at most a week)."),
            fields={"hours_per_slot": [_("More than 0, at most 168.")]},
        )
    if due_on < starts_on:
        raise DomainError(
            "dual_task.due_before_start",
            _("A task cannot end before it starts."),
            fields={"due_on": [_("Choose a later date.")]},
        )
    if campaign is not None and not place.path.startswith(campaign.place.path):
        raise DomainError(
            "dual_task.campaign_elsewhere",
            _("The campaign runs somewhere else."),
            fields={"campaign": [_("Choose a campaign of this community.")]},
        )
    with transaction.atomic():
        task = Task.objects.create(
            place=place,
            community=community,
            campaign=campaign,
            title=title,
            description=_text(description, 2000),
            skills=(skills or "").strip()[:200],
            slots=slots,
            minutes_per_slot=minutes,
            starts_on=starts_on,
            due_on=due_on,
            published_by=actor if _is_person(actor) else None,
            published_at=clock.now(),
            code=code,
        )
        audit_record(
            actor=actor,
            action="dual_task.published",
            target=task,
            data={"slots": slots, "minutes_per_slot": minutes},
        )
    return task


def task_close(*, actor: Any, task: Task, cancel: bool = False) -> Task:
    """Stop taking claims (closed), or withdraw the task altogether (cancelled)."""
    _require(actor, MANAGE, task)
    target = TaskState.CANCELLED if cancel else TaskState.CLOSED
    with transaction.atomic():
        won = Task.objects.filter(pk=task.pk, state=TaskState.OPEN).update(state=target)
        if not won:
            raise Conflict("dual_task.not_open", _("This task no longer takes claims."))
        task.state = target
        audit_record(
            actor=actor,
            action="dual_task.cancelled" if cancel else "dual_task.closed",
            target=task,
        )
    return task


# --- claims ---------------------------------------------------------------------------------


def _month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following


def task_claim(*, actor: Any, task: Task, registration: Registration) -> Claim:
    """Take a place on ``task`` for ``registration``. Refused when the places are gone, when
    the unit already claimed it, or when the claim would take the unit past its volunteer
    hours for the task's month."""
    if _is_person(actor):
        if not permissions_for(actor).has(CLAIM) and registration.member_id != actor.pk:
            raise Http404
        if not access.can_claim_for(actor, registration):
            raise Http404
        if not Task.objects.filter(access.tasks_q(actor), pk=task.pk).exists():
            raise Http404
    if registration.state != RegistrationState.ACTIVE:
        raise DomainError(
            "dual_claim.registration_ended", _("This registration has ended; register again.")
        )
    if task.community_id != registration.place_id:
        raise DomainError(
            "dual_claim.other_community",
            _("The unit is registered with another community."),
        )
    if task.state != TaskState.OPEN:
        raise Conflict("dual_task.not_open", _("This task no longer takes claims."))
    now = clock.now()
    first, following = _month_bounds(task.due_on)
    with transaction.atomic():
        Registration.objects.select_for_update().filter(pk=registration.pk).first()
        booked = (
            Claim.objects.filter(
                registration=registration,
                task__due_on__gte=first,
                task__due_on__lt=following,
            )
            .exclude(state=ClaimState.WITHDRAWN)
            .aggregate(m=Sum("task__minutes_per_slot"))["m"]
            or 0
        )
        if booked + task.minutes_per_slot > registration.capacity_minutes_month:
            left = max(0, registration.capacity_minutes_month - booked)
            raise DomainError(
                "dual_claim.over_capacity",
                _(
                    "This would take the unit past its volunteer hours for the month: "
                    "%(left)s of %(total)s hours left, the task needs %(need)s."
                )
                % {
                    "left": _hours(left),
                    "total": _hours(registration.capacity_minutes_month),
                    "need": _hours(task.minutes_per_slot),
                },
            )
        if (
            Claim.objects.filter(task=task, registration=registration)
            .exclude(state=ClaimState.WITHDRAWN)
            .exists()
        ):
            raise DomainError(
                "dual_claim.already_claimed", _("Your unit has already claimed this task.")
            )
        won = Task.objects.filter(
            pk=task.pk, state=TaskState.OPEN, claimed_slots__lt=F("slots")
        ).update(claimed_slots=F("claimed_slots") + 1)
        if not won:
            raise Conflict(
                "dual_task.full",
                _("Another unit took the last place on this task a moment ago."),
            )
        try:
            with transaction.atomic():
                claim = Claim.objects.create(
                    task=task,
                    registration=registration,
                    claimed_by=actor if _is_person(actor) else None,
                    claimed_at=now,
                )
        except IntegrityError:
            raise DomainError(
                "dual_claim.already_claimed", _("Your unit has already claimed this task.")
            ) from None
        audit_record(
            actor=actor,
            action="dual_claim.claimed",
            target=claim,
            data={"task": task.pk, "registration": registration.pk},
        )
    task.refresh_from_db(fields=["claimed_slots"])
    return claim


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g}"


def _require_claimer(actor: Any, claim: Claim) -> None:
    if not _is_person(actor):
        return
    if access.can_claim_for(actor, claim.registration):
        return
    if not Claim.objects.filter(access.claims_q(actor), pk=claim.pk).exists():
        raise Http404
    if not permissions_for(actor).can(MANAGE, claim.task):
        raise PermissionDenied("auth.forbidden", _("You may not do this here."))


def claim_withdraw(*, actor: Any, claim: Claim) -> Claim:
    """Give the place back (before the work is reported done)."""
    _require_claimer(actor, claim)
    with transaction.atomic():
        won = Claim.objects.filter(pk=claim.pk, state=ClaimState.CLAIMED).update(
            state=ClaimState.WITHDRAWN, withdrawn_at=clock.now()
        )
        if not won:
            raise Conflict("dual_claim.not_open", _("This claim is no longer open."))
        Task.objects.filter(pk=claim.task_id, claimed_slots__gt=0).update(
            claimed_slots=F("claimed_slots") - 1
        )
        claim.refresh_from_db()
        audit_record(actor=actor, action="dual_claim.withdrawn", target=claim)
    return claim


def claim_complete(*, actor: Any, claim: Claim, hours: float, people: int, evidence: str) -> Claim:
    """Report the work done: the time given (hours, kept as minutes), how many came and what
    was done (the evidence residents and the community read)."""
    _require_claimer(actor, claim)
    evidence = _text(evidence, 2000)
    minutes = round(float(hours) * 60)
    if not evidence:
        raise DomainError(
            "dual_claim.evidence_required",
            _("Say what was done, so residents can see it."),
            fields={"evidence": [_("Required.")]},
        )
    if not 1 <= minutes <= MAX_TASK_MINUTES:
        raise DomainError(
            "dual_claim.hours_invalid",
            _("Give the time given in hours (more than 0, at most a week)."),
            fields={"hours": [_("More than 0, at most 168.")]},
        )
    if not 1 <= people <= 500:
        raise DomainError(
            "dual_claim.people_invalid",
            _("Say how many people came (at least 1)."),
            fields={"people": [_("At least 1.")]},
        )
    now = clock.now()
    with transaction.atomic():
        won = Claim.objects.filter(pk=claim.pk, state=ClaimState.CLAIMED).update(
            state=ClaimState.DONE,
            done_at=now,
            done_by=actor if _is_person(actor) else None,
            minutes=minutes,
            people=people,
            evidence=evidence,
        )
        if not won:
            raise Conflict("dual_claim.not_open", _("This claim is no longer open."))
        claim.refresh_from_db()
        audit_record(
            actor=actor,
            action="dual_claim.completed",
            target=claim,
            data={"minutes": minutes, "people": people},
        )
    return claim


def claim_rate(*, actor: Any, claim: Claim, stars: int, comment: str = "") -> Rating:
    """A resident of the task's community rates finished work, once (1–5 stars)."""
    if not _is_person(actor):
        raise PermissionDenied("auth.forbidden", _("Residents rate the work themselves."))
    if not Claim.objects.filter(access.claims_q(actor), pk=claim.pk).exists():
        raise Http404
    communities = access.resident_communities(actor)
    if claim.task.community.path not in communities or not permissions_for(actor).has(RATE):
        raise PermissionDenied(
            "auth.forbidden", _("Residents of the community rate the work done there.")
        )
    if claim.state != ClaimState.DONE:
        raise Conflict("dual_claim.not_done", _("The work has not been reported done yet."))
    if not 1 <= stars <= 5:
        raise DomainError(
            "dual_rating.stars_invalid",
            _("Give between 1 and 5 stars."),
            fields={"stars": [_("Between 1 and 5.")]},
        )
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                claim=claim,
                resident=actor,
                stars=stars,
                comment=_text(comment, 200),
                rated_at=clock.now(),
            )
            Claim.objects.filter(pk=claim.pk).update(
                rating_count=F("rating_count") + 1, rating_sum=F("rating_sum") + stars
            )
            audit_record(
                actor=actor, action="dual_claim.rated", target=claim, data={"stars": stars}
            )
    except IntegrityError:
        raise DomainError(
            "dual_rating.already_rated", _("You have already rated this work.")
        ) from None
    claim.refresh_from_db()
    return rating
