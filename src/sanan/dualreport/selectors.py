"""Reads of dual-reporting for the acting user (scoping in ``access``): registrations, tasks,
claims, what a resident may rate, and the yearly evaluation sheet of the units.

The evaluation's score (0–100), as written in ``docs/dualreport.md``::

    score = 40 × completion + 40 × rating + 20 × hours
    completion = finished claims ÷ claims made in the year (0 with no claims)
    rating     = (average stars − 1) ÷ 4 over the residents' ratings of those claims (0 unrated)
    hours      = min(1, hours given ÷ hours pledged), hours pledged = the monthly volunteer
                 hours × the months of the year the registration was active (up to today)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from sanan.core import clock
from sanan.dualreport import access
from sanan.dualreport.models import (
    Claim,
    ClaimState,
    Rating,
    Registration,
    RegistrationState,
    Task,
    TaskState,
)
from sanan.workorders.sla import local_zone


def registration_list(*, user: Any, active_only: bool = False) -> QuerySet[Registration]:
    qs = Registration.objects.visible_to(user).select_related("place", "organisation", "member")
    if active_only:
        qs = qs.filter(state=RegistrationState.ACTIVE)
    return qs.order_by("kind", "contact_name", "pk")


def registration_get_for(*, user: Any, pk: int | str) -> Registration:
    try:
        return registration_list(user=user).get(pk=int(pk))
    except (Registration.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def claimable_registrations(*, user: Any) -> list[Registration]:
    """The active registrations the user may claim for (their unit's, or their own)."""
    return [
        r for r in registration_list(user=user, active_only=True) if access.can_claim_for(user, r)
    ]


def task_list(*, user: Any, state: str = "") -> QuerySet[Task]:
    qs = Task.objects.visible_to(user).select_related("place", "community", "campaign")
    if state in TaskState.values:
        qs = qs.filter(state=state)
    return qs.order_by("-published_at", "-pk")


def task_get_for(*, user: Any, pk: int | str) -> Task:
    try:
        return task_list(user=user).get(pk=int(pk))
    except (Task.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def claim_list(*, user: Any) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(access.claims_q(user))
        .select_related(
            "task", "task__place", "task__community", "registration", "registration__organisation",
            "registration__member",
        )
        .order_by("-claimed_at", "-pk")
    )  # fmt: skip


def claim_get_for(*, user: Any, pk: int | str) -> Claim:
    try:
        return claim_list(user=user).get(pk=int(pk))
    except (Claim.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def task_claims(*, user: Any, task: Task) -> QuerySet[Claim]:
    return claim_list(user=user).filter(task=task).exclude(state=ClaimState.WITHDRAWN)


def my_ratings(*, user: Any, claims: list[Claim]) -> dict[int, int]:
    """Claim id → the stars ``user`` gave, for the claims shown."""
    return dict(
        Rating.objects.filter(resident_id=user.pk, claim__in=claims).values_list(
            "claim_id", "stars"
        )
    )


# --- the yearly evaluation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    registration: Registration
    claimed: int
    finished: int
    minutes: int
    ratings: int
    average_rating: float | None
    pledged_minutes: int
    score: float

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    @property
    def pledged_hours(self) -> float:
        return round(self.pledged_minutes / 60, 1)

    @property
    def completion_percent(self) -> float | None:
        return round(100 * self.finished / self.claimed, 1) if self.claimed else None


def active_months(registration: Registration, year: int, today: dt.date) -> int:
    """Calendar months of ``year`` (up to ``today``) the registration was active in."""
    first = max(dt.date(year, 1, 1), registration.registered_on)
    last = min(dt.date(year, 12, 31), registration.ended_on or today, today)
    if last < first:
        return 0
    return (last.year - first.year) * 12 + last.month - first.month + 1


def score_of(
    *, claimed: int, finished: int, average: float | None, minutes: int, pledged: int
) -> float:
    completion = finished / claimed if claimed else 0.0
    rating = (average - 1) / 4 if average is not None else 0.0
    hours = min(1.0, minutes / pledged) if pledged else 0.0
    return round(40 * completion + 40 * rating + 20 * hours, 1)


def evaluation_sheet(*, user: Any, year: int) -> list[Evaluation]:
    """One row per registration the user may see, for claims made in ``year`` (local time),
    best score first. Two queries whatever the number of units."""
    zone = local_zone()
    start = dt.datetime(year, 1, 1, tzinfo=zone)
    end = dt.datetime(year + 1, 1, 1, tzinfo=zone)
    registrations = list(registration_list(user=user).filter(registered_on__lt=end.date()))
    rows: dict[int, dict[str, int]] = {
        row["registration_id"]: dict(row)  # type: ignore[arg-type]
        for row in Claim.objects.filter(
            registration__in=[r.pk for r in registrations],
            claimed_at__gte=start,
            claimed_at__lt=end,
        )
        .exclude(state=ClaimState.WITHDRAWN)
        .values("registration_id")
        .annotate(
            claimed=Count("pk"),
            finished=Count("pk", filter=Q(state=ClaimState.DONE)),
            minutes=Sum("minutes", filter=Q(state=ClaimState.DONE)),
            stars=Sum("rating_sum"),
            rated=Sum("rating_count"),
        )
        .order_by()
    }
    today = clock.today()
    sheet = []
    for r in registrations:
        row = rows.get(r.pk, {})
        claimed = row.get("claimed") or 0
        finished = row.get("finished") or 0
        minutes = row.get("minutes") or 0
        ratings = row.get("rated") or 0
        average = round((row.get("stars") or 0) / ratings, 2) if ratings else None
        pledged = r.capacity_minutes_month * active_months(r, year, today)
        sheet.append(
            Evaluation(
                registration=r,
                claimed=claimed,
                finished=finished,
                minutes=minutes,
                ratings=ratings,
                average_rating=average,
                pledged_minutes=pledged,
                score=score_of(
                    claimed=claimed,
                    finished=finished,
                    average=average,
                    minutes=minutes,
                    pledged=pledged,
                ),
            )
        )
    sheet.sort(key=lambda e: (-e.score, e.registration.name))
    return sheet
