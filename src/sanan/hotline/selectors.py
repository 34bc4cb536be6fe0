"""Reads of the hotline desk, always for an acting user: calls, call-backs due, the knowledge
base, and the hotline trend (monthly volume by category and courtyard, month over month and
year over year)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from sanan.accounts.permissions import get_visible_or_404, permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.hotline.models import TAKE, VIEW, CallRecord, KnowledgeEntry, Outcome
from sanan.places.models import Place, PlaceKind

MAX_KNOWLEDGE_HITS = 20


def call_list(*, user: Any) -> QuerySet[CallRecord]:
    return CallRecord.objects.visible_to(user).select_related(
        "courtyard", "category", "taker", "knowledge", "work_order", "resident"
    )


def call_get_for(*, user: Any, pk: int) -> CallRecord:
    return get_visible_or_404(call_list(user=user), user, pk=pk)


def callbacks_due(*, user: Any) -> list[CallRecord]:
    """Calls waiting for a call-back, the most urgent first; each marked ``overdue``."""
    now = clock.now()
    calls = list(
        call_list(user=user)
        .filter(outcome=Outcome.CALLBACK, callback_done_at__isnull=True)
        .order_by("callback_due_at", "id")
    )
    for c in calls:
        c.overdue = c.callback_due_at is not None and c.callback_due_at < now  # type: ignore[attr-defined]
    return calls


def calls_from(*, user: Any, phone: str, limit: int = 5) -> list[CallRecord]:
    """The latest calls from this number (found by its blind index; "" for an invalid one)."""
    from sanan.core.validators import validate_phone
    from sanan.hotline.services import caller_phone_index

    try:
        number, _kind = validate_phone(phone, field="phone")
    except DomainError:
        return []
    return list(call_list(user=user).filter(caller_phone_index=caller_phone_index(number))[:limit])


def callbacks_due_count(*, user: Any) -> int:
    return (
        CallRecord.objects.visible_to(user)
        .filter(outcome=Outcome.CALLBACK, callback_done_at__isnull=True)
        .count()
    )


def desk_places(*, user: Any) -> tuple[list[Place], list[Place]]:
    """(the places a call can be about: the call-taker's communities first, then their
    courtyards)."""
    roots = permissions_for(user).scope_paths(TAKE)
    if not roots:
        return [], []
    cond = Q()
    for root in roots:
        cond |= Q(path__startswith=root)
    courtyards = list(Place.objects.filter(cond, kind=PlaceKind.COURTYARD).order_by("path"))
    if roots == [""]:
        tops = list(Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("path"))
    else:
        tops = list(Place.objects.filter(path__in=roots).order_by("path"))
    return tops, courtyards


def knowledge_list(*, user: Any, include_retired: bool = False) -> QuerySet[KnowledgeEntry]:
    qs = KnowledgeEntry.objects.visible_to(user).select_related("category")
    if not include_retired:
        qs = qs.filter(active=True)
    return qs.annotate(uses=Count("calls"))


def knowledge_search(
    *, user: Any, text: str, include_retired: bool = False
) -> QuerySet[KnowledgeEntry]:
    """Entries whose question, answer or keywords contain every word of ``text`` (a plain
    substring search: Chinese needs no word splitting)."""
    qs = knowledge_list(user=user, include_retired=include_retired)
    for word in (text or "").split()[:8]:
        qs = qs.filter(
            Q(question__icontains=word) | Q(answer__icontains=word) | Q(keywords__icontains=word)
        )
    return qs.order_by("-uses", "question", "id")  # type: ignore[misc]  # annotated above


def knowledge_get_for(*, user: Any, pk: int) -> KnowledgeEntry:
    return get_visible_or_404(KnowledgeEntry.objects.visible_to(user), user, pk=pk)


# --- the hotline trend ------------------------------------------------------------------------


@dataclass
class TrendRow:
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class MonthFigure:
    month: dt.date
    calls: int
    previous_month: int | None  # calls the month before (None before the series starts)
    previous_year: int | None  # calls in the same month a year earlier
    first_contact: int  # answered on the spot
    so_far: bool = False  # the month is not over yet

    @staticmethod
    def _change(now: int, then: int | None) -> float | None:
        if not then:
            return None
        return round((now - then) * 100 / then, 1)

    @property
    def mom(self) -> float | None:
        return self._change(self.calls, self.previous_month)

    @property
    def yoy(self) -> float | None:
        return self._change(self.calls, self.previous_year)


@dataclass
class Trend:
    months: list[dt.date]
    figures: list[MonthFigure] = field(default_factory=list)
    by_category: list[TrendRow] = field(default_factory=list)
    by_courtyard: list[TrendRow] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)  # month, category, courtyard, n


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def hotline_trend(*, user: Any, months: int = 12, end: dt.date | None = None) -> Trend:
    """Calls per month over the last ``months`` months up to ``end``'s month, by level-1
    category and by courtyard, with the month before and the same month a year before.
    Counted by the database (one grouped query); only calls the user may see."""
    from sanan.workorders.models import Category

    months = max(1, min(months, 36))
    end = end or timezone.localdate(clock.now())
    first = _month_start(end, months - 1)
    since = _month_start(end, months - 1 + 12)  # a year more, for year over year
    tz = timezone.get_current_timezone()
    start_at = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    end_at = dt.datetime.combine(_month_start(end, -1), dt.time.min, tzinfo=tz)
    rows = (
        CallRecord.objects.visible_to(user)
        .filter(started_at__gte=start_at, started_at__lt=end_at)
        .annotate(month=TruncMonth("started_at", tzinfo=tz))
        .values("month", "category_id", "courtyard_id", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    month_list = [_month_start(end, months - 1 - i) for i in range(months)]
    trend = Trend(months=month_list)
    categories = {c.pk: c for c in Category.objects.all()}
    roots = {c.path: c for c in categories.values() if c.depth == 1}
    courtyard_ids: set[int] = set()
    total: dict[dt.date, int] = defaultdict(int)
    answered: dict[dt.date, int] = defaultdict(int)
    by_cat: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    by_yard: dict[int | None, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    series: dict[tuple[dt.date, str, int | None], int] = defaultdict(int)
    for r in rows:
        month = r["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        total[month] += r["n"]
        if r["outcome"] == Outcome.ANSWERED:
            answered[month] += r["n"]
        if month < first:
            continue
        cat = categories.get(r["category_id"])
        root = roots.get(cat.path[: Category.steplen]) if cat is not None else None
        code = root.code if root is not None else ""
        by_cat[code][month] += r["n"]
        by_yard[r["courtyard_id"]][month] += r["n"]
        series[(month, code, r["courtyard_id"])] += r["n"]
        if r["courtyard_id"]:
            courtyard_ids.add(r["courtyard_id"])
    names = dict(Place.objects.filter(pk__in=courtyard_ids).values_list("pk", "name"))
    root_names = {c.code: c.name for c in roots.values()}
    for month in month_list:
        before = _month_start(month, 1)
        trend.figures.append(
            MonthFigure(
                month=month,
                calls=total.get(month, 0),
                previous_month=total.get(before, 0),
                previous_year=total.get(_month_start(month, 12), 0),
                first_contact=answered.get(month, 0),
                so_far=month == _month_start(timezone.localdate(clock.now())),
            )
        )
    trend.by_category = sorted(
        (
            TrendRow(
                root_names.get(code) or str(_("No category")),
                [counts.get(m, 0) for m in month_list],
            )
            for code, counts in by_cat.items()
        ),
        key=lambda row: (-row.total, row.label),
    )
    trend.by_courtyard = sorted(
        (
            TrendRow(
                names.get(pk, "") if pk else str(_("The community as a whole")),
                [counts.get(m, 0) for m in month_list],
            )
            for pk, counts in by_yard.items()
        ),
        key=lambda row: (-row.total, row.label),
    )
    trend.series = [
        {
            "month": month.isoformat()[:7],
            "category": code,
            "courtyard": names.get(pk, "") if pk else "",
            "calls": n,
        }
        for (month, code, pk), n in sorted(
            series.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)
        )
    ]
    return trend


def hotline_visible(user: Any) -> bool:
    return permissions_for(user).has(VIEW)


def hotline_desk(user: Any) -> bool:
    return permissions_for(user).has(TAKE)
