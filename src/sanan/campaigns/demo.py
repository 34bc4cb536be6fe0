"""The demo's campaigns over its simulated year of orders (after ``workorders.demo``): a
100-day tackling 百日攻坚 on infrastructure, sanitation and illegal construction in the
middle of the year, and a topic of the month 每月一题 for every month, each on the level-1
category residents reported most in the month before. Targets are what a planner would set
from the records (the volume of the period before); every figure the pages show is computed
from the linked orders. Idempotent (stable codes); the clock is moved to each start and
close, so the campaigns' own dates read as in a real year.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import transaction

from sanan.accounts.models import User
from sanan.campaigns import services
from sanan.campaigns.models import Campaign, CampaignKind, CampaignState
from sanan.campaigns.selectors import progress_of
from sanan.core import clock
from sanan.organisation.models import Organisation
from sanan.places.models import Place
from sanan.workorders.demo import KEY_PREFIX, SimulatedClock
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.sla import local_zone

ACTOR = "demo"
CODE_PREFIX = "demo-campaign-"
COMMUNITY_CODE = "511102-tj-nyq"
TACKLING_ROOTS = ("infrastructure", "sanitation", "illegal_construction")
MONTH_NAMES = "一二三四五六七八九十"


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=local_zone())


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _zh_month(month: int) -> str:
    if month <= 10:
        return MONTH_NAMES[month - 1]
    return "十" + MONTH_NAMES[month - 11]


class _Planner:
    def __init__(self, community: Place, desk: User, owner: Organisation) -> None:
        self.community = community
        self.desk = desk
        self.owner = owner
        zone = local_zone()
        rows = list(
            WorkOrder.objects.filter(idempotency_key__startswith=KEY_PREFIX).values_list(
                "created_at", "category__path"
            )
        )
        self.orders = [(at.astimezone(zone).date(), path) for at, path in rows]
        self.roots = {c.path: c for c in Category.objects.filter(depth=1)}

    def count(self, first: dt.date, last: dt.date, roots: set[str] | None = None) -> int:
        return sum(
            1
            for day, path in self.orders
            if first <= day <= last and (roots is None or path[: Category.steplen] in roots)
        )

    def top_root(self, first: dt.date, last: dt.date) -> Category | None:
        counted = Counter(
            path[: Category.steplen] for day, path in self.orders if first <= day <= last
        )
        for path, _n in counted.most_common():
            root = self.roots.get(path)
            if root is not None and root.code not in ("consultation", "suggestion"):
                return root
        return None


Event = tuple[dt.datetime, int, Callable[[], None]]


def _schedule(
    events: list[Event],
    create: Callable[[], Campaign],
    created_at: dt.datetime,
    starts_on: dt.date,
    ends_on: dt.date,
    today: dt.date,
    tasks: list[tuple[str, int, Organisation | None, bool]],
) -> None:
    """The campaign's steps on the simulated clock: created a few days before, started on its
    first morning with its tasks, tasks ticked off on their due afternoon, closed the morning
    after its last day when that has passed."""
    held: dict[str, Any] = {}

    def add(at: dt.datetime, step: Callable[[], None]) -> None:
        events.append((at, len(events), step))

    def do_create() -> None:
        held["campaign"] = create()

    def do_start() -> None:
        campaign = held["campaign"]
        services.campaign_start(actor=ACTOR, campaign=campaign)
        for title, due_day, org, done in tasks:
            due = min(ends_on, starts_on + dt.timedelta(days=due_day))
            task = services.campaign_task_add(
                actor=ACTOR, campaign=campaign, title=title, due_on=due, owner_organisation=org
            )
            if done and due < today:
                add(_at(due, 16), functools.partial(_tick, task))

    def do_close() -> None:
        campaign = held["campaign"]
        services.campaign_links_sync(campaign=campaign)
        p = progress_of(campaign)
        note = (
            f"纳入工单 {p.linked} 件，已解决 {p.solved} 件（目标 {p.target_solved} 件），"
            f"未办结 {p.open} 件。"
        )
        services.campaign_close(actor=ACTOR, campaign=campaign, note=note)

    add(created_at, do_create)
    add(_at(starts_on, 9), do_start)
    if ends_on + dt.timedelta(days=1) <= today:
        add(_at(ends_on + dt.timedelta(days=1), 10), do_close)


def _tick(task: Any) -> None:
    services.campaign_task_done(actor=ACTOR, task=task, note="按期完成")


def build_campaigns_demo(
    *, seed: int, progress: Callable[[str], object], end: dt.datetime | None = None
) -> dict[str, int]:
    """Campaigns over the demo's year of orders (idempotent). Returns what they hold."""
    del seed  # the campaigns follow the records, not chance
    community = Place.objects.filter(code=COMMUNITY_CODE).first()
    desk = User.objects.filter(username="dispatcher").first()
    owner = (
        Organisation.objects.filter(code="party-nyq").first()
        or Organisation.objects.filter(code="dept-housing").first()
    )
    if community is None or desk is None or owner is None:
        progress("  campaigns: no demo community (run the place part first)")
        return {}
    existing = Campaign.objects.filter(code__startswith=CODE_PREFIX)
    if existing.exists():
        progress(f"  campaigns: there already ({existing.count()})")
        return summarise()
    planner = _Planner(community, desk, owner)
    if not planner.orders:
        progress("  campaigns: no demo work orders to run campaigns on")
        return {}
    started = time.perf_counter()
    end = end or clock.now()
    today = end.astimezone(local_zone()).date()
    first_day = min(day for day, _path in planner.orders)
    housing = Organisation.objects.filter(code="dept-housing").first()
    urban = Organisation.objects.filter(code="dept-urban").first()
    sanitation = Organisation.objects.filter(code="dept-sanitation").first()
    branch = Organisation.objects.filter(code="branch-hq").first() or owner
    events: list[Event] = []
    # The 100-day tackling: from the 120th day of the year, on three kinds of problem.
    start = first_day + dt.timedelta(days=120)
    roots = {c.path for c in planner.roots.values() if c.code in TACKLING_ROOTS}
    baseline = planner.count(start - dt.timedelta(days=100), start - dt.timedelta(days=1), roots)
    tackling_categories = [c for c in planner.roots.values() if c.code in TACKLING_ROOTS]
    _schedule(
        events,
        lambda: services.campaign_create(
            actor=ACTOR, place=community, kind=CampaignKind.TACKLING,
            title="百日攻坚：老旧院落设施、环境与违建整治",
            description="聚焦群众反映集中的设施破损、环境卫生和违章搭建问题，百日内集中解决。",
            starts_on=start, ends_on=start + dt.timedelta(days=99),
            target_solved=max(10, baseline), target_resolution_percent=90,
            owner_organisation=owner, owner=desk, categories=tackling_categories,
            code=f"{CODE_PREFIX}tackling",
        ),
        _at(start - dt.timedelta(days=7), 10), start, start + dt.timedelta(days=99), today,
        [
            ("全面排查55个院落的设施隐患，建立问题清单", 14, branch, True),
            ("违章搭建逐户告知、限期自拆", 40, urban, True),
            ("楼道和公共区域杂物集中清运", 60, sanitation, True),
            ("破损路面和井盖集中修复", 80, housing, True),
            ("攻坚成效公示与居民回访", 99, branch, False),
        ],
    )  # fmt: skip
    # A topic of the month for every month after the first: the month before's top kind.
    month = _next_month(first_day)
    topics = 0
    while month <= today:
        last = _next_month(month) - dt.timedelta(days=1)
        prev_first = _month_start(month - dt.timedelta(days=1))
        root = planner.top_root(prev_first, month - dt.timedelta(days=1))
        if root is not None:
            target = max(3, planner.count(prev_first, month - dt.timedelta(days=1), {root.path}))
            _schedule(
                events,
                functools.partial(
                    services.campaign_create, actor=ACTOR, place=community,
                    kind=CampaignKind.MONTHLY_TOPIC,
                    title=f"{_zh_month(month.month)}月每月一题：{root.name_zh}",
                    description=f"上月居民反映最多的是{root.name_zh}问题，本月集中办理。",
                    starts_on=month, ends_on=last, target_solved=target,
                    owner_organisation=owner, owner=desk, categories=[root],
                    code=f"{CODE_PREFIX}topic-{month:%Y-%m}",
                ),
                _at(month - dt.timedelta(days=3), 10), month, last, today,
                [(f"{root.name_zh}问题院落走访", 10, branch, True)],
            )  # fmt: skip
            topics += 1
        month = _next_month(month)
    events.sort(key=lambda e: (e[0], e[1]))
    with SimulatedClock(events[0][0]) as sim, transaction.atomic():
        while events:
            at, _n, step = events.pop(0)
            sim.move_to(at)
            before = len(events)
            step()
            if len(events) != before:  # a start scheduled its tasks' ticks
                events.sort(key=lambda e: (e[0], e[1]))
        sim.move_to(end)
    totals = summarise()
    progress(
        f"  campaigns: a 100-day tackling and {topics} topics of the month in "
        f"{time.perf_counter() - started:.1f} s — "
        + ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
    )
    return totals


def summarise() -> dict[str, int]:
    """What the demo's campaigns hold now, computed from the records."""
    campaigns = list(Campaign.objects.filter(code__startswith=CODE_PREFIX))
    totals: dict[str, Any] = {"campaigns": len(campaigns)}
    for c in campaigns:
        if c.kind == CampaignKind.TACKLING:
            p = progress_of(c)
            totals["tackling orders"] = p.linked
            totals["tackling solved"] = p.solved
    totals["campaigns running"] = sum(1 for c in campaigns if c.state == CampaignState.RUNNING)
    return totals
