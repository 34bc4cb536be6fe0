"""Reads of campaigns, each for the acting user: the list, one campaign, its progress, its
burndown, its orders and its closing report. Every figure is computed from the records (the
campaign's active order links, the orders' states and the work-order events), as defined in
``docs/campaigns.md``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from sanan.accounts.permissions import permissions_for
from sanan.campaigns.models import (
    MANAGE,
    VIEW,
    Campaign,
    CampaignOrder,
    CampaignState,
    CampaignTask,
)
from sanan.core import clock
from sanan.insights.selectors import counting_q, fact_sums
from sanan.workorders.models import Category, WorkOrder, WorkOrderEvent
from sanan.workorders.sla import local_zone
from sanan.workorders.state import Action, State

# "Finished", "solved" and the resolution rate are the figures' (``docs/kpis.md``), read from
# the order facts of ``insights`` (brought up to date by the worker every minute): finished =
# finished at least once; solved = a complaint whose latest call-back says solved; the
# resolution rate = solved ÷ complaints with a call-back saying whether they were solved.
# "Open" is about now: a linked order not in a finished state.
FINISHED_STATES: tuple[str, ...] = (State.FINISHED, State.CALLBACK, State.ARCHIVED)
SOLVED_Q = counting_q("solved", via="order__")


def campaign_list(*, user: Any, state: str = "") -> QuerySet[Campaign]:
    qs = (
        Campaign.objects.visible_to(user)
        .select_related("place", "owner", "owner_organisation")
        .order_by("-starts_on", "-id")
    )
    if state in CampaignState.values:
        qs = qs.filter(state=state)
    return qs


def campaign_get_for(*, user: Any, pk: int | str) -> Campaign:
    """One campaign the user may see; anything else is a 404."""
    try:
        return campaign_list(user=user).prefetch_related("categories", "places").get(pk=int(pk))
    except (Campaign.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def can_manage(user: Any, campaign: Campaign) -> bool:
    return permissions_for(user).can(MANAGE, campaign)


def linked_links(campaign: Campaign) -> QuerySet[CampaignOrder]:
    """The campaign's counted links (merged duplicates left out)."""
    return CampaignOrder.objects.filter(campaign=campaign, active=True, order__parent__isnull=True)


@dataclass(frozen=True)
class Progress:
    campaign_id: int
    state: str
    linked: int
    finished: int
    solved: int
    open: int
    rated: int  # complaints with a call-back saying whether they were solved
    target_solved: int
    target_resolution_percent: int | None
    resolution_percent: float | None  # solved ÷ rated, None before any call-back said
    percent_of_target: float  # solved ÷ target, capped at 100
    days_total: int
    days_elapsed: int
    expected_solved: int  # where the straight line from 0 to the target stands today
    tasks_total: int
    tasks_done: int
    tasks_overdue: int

    @property
    def target_met(self) -> bool:
        rate_ok = self.target_resolution_percent is None or (
            self.resolution_percent is not None
            and self.resolution_percent >= self.target_resolution_percent
        )
        return self.solved >= self.target_solved and rate_ok

    @property
    def on_track(self) -> bool:
        return self.solved >= self.expected_solved

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign_id,
            "state": self.state,
            "linked": self.linked,
            "finished": self.finished,
            "solved": self.solved,
            "open": self.open,
            "rated": self.rated,
            "target_solved": self.target_solved,
            "target_resolution_percent": self.target_resolution_percent,
            "resolution_percent": self.resolution_percent,
            "percent_of_target": self.percent_of_target,
            "days_total": self.days_total,
            "days_elapsed": self.days_elapsed,
            "expected_solved": self.expected_solved,
            "on_track": self.on_track,
            "target_met": self.target_met,
            "tasks_total": self.tasks_total,
            "tasks_done": self.tasks_done,
            "tasks_overdue": self.tasks_overdue,
        }


def _days(campaign: Campaign, today: dt.date) -> tuple[int, int]:
    total = (campaign.ends_on - campaign.starts_on).days + 1
    if campaign.state == CampaignState.DRAFT or today < campaign.starts_on:
        return total, 0
    last = min(today, campaign.ends_on)
    if campaign.closed_at is not None:
        last = min(last, campaign.closed_at.astimezone(local_zone()).date())
    return total, max(0, min(total, (last - campaign.starts_on).days + 1))


_ORDER_FIGURES = {
    "linked": Count("pk"),
    "open": Count("pk", filter=~Q(order__state__in=FINISHED_STATES)),
    **fact_sums(via="order__", counters=("finished", "solved", "rated_resolution")),
}


def _task_figures(today: dt.date) -> dict[str, Count]:
    return {
        "total": Count("pk"),
        "done": Count("pk", filter=Q(done_at__isnull=False)),
        "overdue": Count("pk", filter=Q(done_at__isnull=True, due_on__lt=today)),
    }


def _progress(
    campaign: Campaign, figures: dict[str, int], tasks: dict[str, int], today: dt.date
) -> Progress:
    solved = figures.get("solved", 0)
    rated = figures.get("rated_resolution", 0)
    total, elapsed = _days(campaign, today)
    target = campaign.target_solved
    return Progress(
        campaign_id=campaign.pk,
        state=campaign.state,
        linked=figures.get("linked", 0),
        finished=figures.get("finished", 0),
        solved=solved,
        open=figures.get("open", 0),
        rated=rated,
        target_solved=target,
        target_resolution_percent=campaign.target_resolution_percent,
        resolution_percent=round(100 * solved / rated, 1) if rated else None,
        percent_of_target=round(min(100.0, 100 * solved / target), 1) if target else 0.0,
        days_total=total,
        days_elapsed=elapsed,
        expected_solved=(target * elapsed) // total if total else 0,
        tasks_total=tasks.get("total", 0),
        tasks_done=tasks.get("done", 0),
        tasks_overdue=tasks.get("overdue", 0),
    )


def progress_of(campaign: Campaign) -> Progress:
    """The campaign's figures (two queries: the orders and the tasks). No permission check:
    callers have fetched ``campaign`` through a selector."""
    today = clock.today()
    figures = linked_links(campaign).aggregate(**_ORDER_FIGURES)
    tasks = CampaignTask.objects.filter(campaign=campaign).aggregate(**_task_figures(today))
    return _progress(campaign, figures, tasks, today)


def progress_many(campaigns: list[Campaign]) -> dict[int, Progress]:
    """The figures of several campaigns in two grouped queries, whatever their number."""
    today = clock.today()
    ids = [c.pk for c in campaigns]
    figures: dict[int, dict[str, int]] = {
        row["campaign_id"]: dict(row)  # type: ignore[arg-type]
        for row in CampaignOrder.objects.filter(
            campaign_id__in=ids, active=True, order__parent__isnull=True
        )
        .values("campaign_id")
        .annotate(**_ORDER_FIGURES)
        .order_by()
    }
    tasks: dict[int, dict[str, int]] = {
        row["campaign_id"]: dict(row)  # type: ignore[arg-type]
        for row in CampaignTask.objects.filter(campaign_id__in=ids)
        .values("campaign_id")
        .annotate(**_task_figures(today))
        .order_by()
    }
    return {
        c.pk: _progress(c, figures.get(c.pk, {}), tasks.get(c.pk, {}), today) for c in campaigns
    }


def campaign_progress(*, user: Any, campaign: Campaign | int) -> Progress:
    """A campaign's progress for someone who may see it (404 otherwise): linked, finished,
    solved and open orders, the targets, the days elapsed and the task list's state."""
    if not isinstance(campaign, Campaign):
        campaign = campaign_get_for(user=user, pk=campaign)
    elif not permissions_for(user).can(VIEW, campaign):
        raise Http404
    return progress_of(campaign)


# --- burndown ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BurndownDay:
    day: dt.date
    open: int  # linked orders registered by the end of the day and not finished then
    finished: int  # linked orders finished by the end of the day (and not re-opened)
    remaining: int  # the target minus ``finished``, not below 0
    ideal_remaining: float  # the straight line from the target on day 1 to 0 on the last day


def burndown(campaign: Campaign) -> list[BurndownDay]:
    """One point per campaign day up to today (or the last day, or the close), replayed from
    the records: an order opens when it is registered, closes at its ``finish`` event and
    re-opens at a ``rehandle`` event. Two queries."""
    total, elapsed = _days(campaign, clock.today())
    if elapsed == 0:
        return []
    zone = local_zone()
    first = campaign.starts_on
    links = linked_links(campaign)
    created = dict(links.values_list("order_id", "order__created_at"))
    delta_open: Counter[int] = Counter()
    delta_finished: Counter[int] = Counter()

    def index(at: dt.datetime) -> int:
        return max(0, (at.astimezone(zone).date() - first).days)

    for at in created.values():
        delta_open[index(at)] += 1
    events = (
        WorkOrderEvent.objects.filter(
            order_id__in=links.values("order_id"),
            action__in=[Action.FINISH, Action.REHANDLE],
        )
        .order_by("at", "id")
        .values_list("order_id", "action", "at")
    )
    for order_id, action, at in events:
        if action == Action.FINISH:
            delta_open[index(at)] -= 1
            delta_finished[index(at)] += 1
        elif order_id in created:
            delta_open[index(at)] += 1
            delta_finished[index(at)] -= 1
    days: list[BurndownDay] = []
    open_now = finished_now = 0
    target = campaign.target_solved
    for i in range(elapsed):
        open_now += delta_open[i]
        finished_now += delta_finished[i]
        days.append(
            BurndownDay(
                day=first + dt.timedelta(days=i),
                open=open_now,
                finished=finished_now,
                remaining=max(0, target - finished_now),
                ideal_remaining=round(target * (1 - (i + 1) / total), 1),
            )
        )
    return days


@dataclass(frozen=True)
class Chart:
    """The burndown as an inline SVG: polylines in a 0..width × 0..height box."""

    width: int
    height: int
    top: int  # the value at the top of the box
    open_points: str
    remaining_points: str
    ideal_points: str
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, value)


def burndown_chart(campaign: Campaign, days: list[BurndownDay]) -> Chart | None:
    if not days:
        return None
    width, height = 600, 220
    total = (campaign.ends_on - campaign.starts_on).days + 1
    top = max([campaign.target_solved, *(d.open for d in days)]) or 1

    def x(i: int) -> float:
        return round(width * i / max(1, total - 1), 1)

    def y(v: float) -> float:
        return round(height - height * v / top, 1)

    def line(values: list[float]) -> str:
        return " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))

    ideal = [campaign.target_solved * (1 - (i + 1) / total) for i in range(total)]
    ticks = [(y(top * k / 4), round(top * k / 4)) for k in range(5)]
    return Chart(
        width=width,
        height=height,
        top=top,
        open_points=line([d.open for d in days]),
        remaining_points=line([d.remaining for d in days]),
        ideal_points=line(ideal),
        ticks=ticks,
    )


# --- orders and the closing report ------------------------------------------------------------


def campaign_orders(*, user: Any, campaign: Campaign) -> QuerySet[CampaignOrder]:
    """The campaign's links (counted first, then those unlinked by hand) whose orders the
    user may see."""
    visible = WorkOrder.objects.visible_to(user).values("pk")
    return (
        CampaignOrder.objects.filter(campaign=campaign, order__in=visible)
        .select_related("order", "order__category", "order__courtyard", "linked_by", "unlinked_by")
        .order_by("-active", "-order__created_at", "-order_id")
    )


def campaign_tasks(*, campaign: Campaign) -> QuerySet[CampaignTask]:
    return CampaignTask.objects.filter(campaign=campaign).select_related(
        "owner", "owner_organisation", "done_by"
    )


@dataclass(frozen=True)
class Breakdown:
    label: str
    linked: int
    solved: int


@dataclass
class ClosingReport:
    campaign: Campaign
    progress: Progress
    by_category: list[Breakdown]
    by_courtyard: list[Breakdown]
    solved_orders: list[WorkOrder]
    tasks: list[CampaignTask]
    burndown: list[BurndownDay]


def _root_labels() -> dict[str, str]:
    return {c.path: c.name for c in Category.objects.filter(depth=1)}


def closing_report(*, user: Any, campaign: Campaign) -> ClosingReport:
    """What the campaign solved: figures, by level-1 category and by courtyard, the solved
    orders the user may see, the tasks and the burndown."""
    progress = progress_of(campaign)
    rows = linked_links(campaign).values_list(
        "order__category__path", "order__courtyard__name", "order__insight_fact__solved"
    )
    roots = _root_labels()
    by_cat: dict[str, list[int]] = {}
    by_court: dict[str, list[int]] = {}
    for cat_path, courtyard, solved_flag in rows:
        solved = bool(solved_flag)
        for table, key in (
            (by_cat, roots.get(cat_path[: Category.steplen], "—")),
            (by_court, courtyard or "—"),
        ):
            slot = table.setdefault(key, [0, 0])
            slot[0] += 1
            slot[1] += int(solved)

    def breakdown(table: dict[str, list[int]]) -> list[Breakdown]:
        return sorted(
            (Breakdown(k, v[0], v[1]) for k, v in table.items()),
            key=lambda b: (-b.linked, b.label),
        )

    visible = WorkOrder.objects.visible_to(user).values("pk")
    solved_orders = list(
        WorkOrder.objects.filter(pk__in=linked_links(campaign).filter(SOLVED_Q).values("order_id"))
        .filter(pk__in=visible)
        .select_related("category", "courtyard", "lead_organisation")
        .order_by("finished_at", "pk")
    )
    return ClosingReport(
        campaign=campaign,
        progress=progress,
        by_category=breakdown(by_cat),
        by_courtyard=breakdown(by_court),
        solved_orders=solved_orders,
        tasks=list(campaign_tasks(campaign=campaign)),
        burndown=burndown(campaign),
    )


def campaigns_with_progress(*, user: Any, state: str = "") -> list[tuple[Campaign, Progress]]:
    """The list page: each campaign with its figures (three queries, whatever the number)."""
    campaigns = list(campaign_list(user=user, state=state))
    progress = progress_many(campaigns)
    return [(c, progress[c.pk]) for c in campaigns]


def campaigns_for_order(*, user: Any, order: WorkOrder) -> QuerySet[Campaign]:
    """The campaigns an order counts for, among those the user may see."""
    return campaign_list(user=user).filter(links__order=order, links__active=True)


__all__ = [
    "burndown",
    "campaign_get_for",
    "campaign_list",
    "campaign_progress",
    "closing_report",
]
