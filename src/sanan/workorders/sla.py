"""Deadlines on the Chinese working calendar.

A day is a working day when the calendar table says so (make-up workday 调休), is not a
holiday, and otherwise when it is Monday to Friday. Years the table does not know are counted
Monday–Friday; :func:`calendar_status` tells the dashboard which needed years are missing.
Working hours are data (``WorkingPeriod``, local time Asia/Shanghai).

The calendar is read once per process and kept in memory: a change in this process drops it
at once (signals), other processes notice within a few seconds (as ``places.locate`` does).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from sanan.core import clock
from sanan.workorders.models import (
    DayKind,
    SlaClock,
    WorkCalendarDay,
    WorkCalendarYear,
    WorkingPeriod,
)

if TYPE_CHECKING:
    from sanan.workorders.models import SlaPolicy, WorkOrder

REVALIDATE_SECONDS = 5.0
DEFAULT_PERIODS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(9, 0), dt.time(12, 0)),
    (dt.time(13, 30), dt.time(18, 0)),
)
_MAX_DAYS = 3 * 366  # no deadline is further than this; stops a loop over an empty calendar


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class WorkCalendar:
    """An immutable snapshot of the working calendar, with the working-time arithmetic."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    known_years: frozenset[int] = frozenset()
    periods: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_PERIODS
    zone: ZoneInfo = field(default_factory=local_zone)

    @property
    def day_minutes(self) -> int:
        """Working minutes in one working day (450 for 09:00–12:00 and 13:30–18:00)."""
        return sum(_seconds(b) - _seconds(a) for a, b in self.periods) // 60

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_minutes(self, start: dt.datetime, minutes: int) -> dt.datetime:
        """The moment ``minutes`` working minutes after ``start`` (aware, any time zone)."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if minutes == 0 or not self.periods:
            return start
        local = start.astimezone(self.zone)
        day, offset = local.date(), local.time()
        remaining: float = minutes * 60
        from_s: float = _seconds(offset) + offset.microsecond / 1e6
        for _step in range(_MAX_DAYS):
            if self.is_working_day(day):
                for begins, ends in self.periods:
                    seg_from = max(_seconds(begins), from_s)
                    available = _seconds(ends) - seg_from
                    if available <= 0:
                        continue
                    if remaining <= available:
                        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)
                        return midnight + dt.timedelta(seconds=seg_from + remaining)
                    remaining -= available
            day += dt.timedelta(days=1)
            from_s = 0
        raise ValueError("the working calendar has no working time ahead")

    def working_minutes_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Whole working minutes from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.working_minutes_between(end, start)
        a, b = start.astimezone(self.zone), end.astimezone(self.zone)
        total = 0.0
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                lo = _seconds(a.time()) + a.microsecond / 1e6 if day == a.date() else 0
                hi = _seconds(b.time()) + b.microsecond / 1e6 if day == b.date() else 86400
                for begins, ends in self.periods:
                    overlap = min(hi, _seconds(ends)) - max(lo, _seconds(begins))
                    if overlap > 0:
                        total += overlap
            day += dt.timedelta(days=1)
        return int(total // 60)

    def missing_years(self, years: Iterable[int]) -> list[int]:
        return sorted({y for y in years if y not in self.known_years})


# --- the per-process snapshot ----------------------------------------------------------------


class _CalendarCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calendar: WorkCalendar | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._checked_at = 0.0

    def invalidate(self, **_kwargs: Any) -> None:
        with self._lock:
            self._calendar = None
            self._stamp = None

    @staticmethod
    def _db_stamp() -> tuple[Any, ...]:
        days = WorkCalendarDay.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
        years = WorkCalendarYear.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
        periods = list(WorkingPeriod.objects.order_by("starts").values_list("starts", "ends"))
        return (days["n"], days["at"], years["n"], years["at"], tuple(periods))

    def get(self) -> WorkCalendar:
        with self._lock:
            now = time.monotonic()
            if self._calendar is not None and now - self._checked_at < REVALIDATE_SECONDS:
                return self._calendar
            stamp = self._db_stamp()
            self._checked_at = now
            if self._calendar is None or stamp != self._stamp:
                self._calendar = _load(stamp[-1])
                self._stamp = stamp
            return self._calendar


def _load(periods: tuple[tuple[dt.time, dt.time], ...]) -> WorkCalendar:
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for day, kind in WorkCalendarDay.objects.values_list("date", "kind"):
        (holidays if kind == DayKind.HOLIDAY else workdays).add(day)
    return WorkCalendar(
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        known_years=frozenset(WorkCalendarYear.objects.values_list("year", flat=True)),
        periods=periods or DEFAULT_PERIODS,
    )


calendar_cache = _CalendarCache()
for _model in (WorkCalendarDay, WorkCalendarYear, WorkingPeriod):
    post_save.connect(calendar_cache.invalidate, sender=_model, weak=False)
    post_delete.connect(calendar_cache.invalidate, sender=_model, weak=False)


def work_calendar() -> WorkCalendar:
    return calendar_cache.get()


# --- policy clocks ---------------------------------------------------------------------------


def add_working_minutes(start: dt.datetime, minutes: int) -> dt.datetime:
    return work_calendar().add_working_minutes(start, minutes)


def working_minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    return work_calendar().working_minutes_between(start, end)


def clock_add(clock_kind: str, start: dt.datetime, minutes: int) -> dt.datetime:
    """``minutes`` later on the given clock (working time, or around the clock)."""
    if clock_kind == SlaClock.ROUND_THE_CLOCK:
        return start + dt.timedelta(minutes=minutes)
    return add_working_minutes(start, minutes)


def clock_between(clock_kind: str, start: dt.datetime, end: dt.datetime) -> int:
    if clock_kind == SlaClock.ROUND_THE_CLOCK:
        return int((end - start).total_seconds() // 60)
    return working_minutes_between(start, end)


def clock_day_minutes(clock_kind: str) -> int:
    return 24 * 60 if clock_kind == SlaClock.ROUND_THE_CLOCK else work_calendar().day_minutes


@dataclass(frozen=True)
class Deadlines:
    sign: dt.datetime
    contact: dt.datetime
    finish: dt.datetime


def deadlines_for(policy: SlaPolicy, start: dt.datetime) -> Deadlines:
    return Deadlines(
        sign=clock_add(policy.clock, start, policy.sign_minutes),
        contact=clock_add(policy.clock, start, policy.contact_minutes),
        finish=clock_add(policy.clock, start, policy.finish_minutes),
    )


STAGE_DUE_FIELD = {"sign": "sign_due_at", "contact": "contact_due_at", "finish": "finish_due_at"}


STAGE_FIELDS = ["due_stage", "due_at", "escalation_level", "escalation_at"]


def apply_stage(order: WorkOrder, stage: str) -> list[str]:
    """Start the clock of ``stage`` ("" when none runs) on ``order``; the fields it set."""
    order.due_stage = stage
    order.due_at = getattr(order, STAGE_DUE_FIELD[stage]) if stage else None
    order.escalation_level = 0
    order.escalation_at = escalation_time(order, 0)
    return list(STAGE_FIELDS)


def escalation_time(order: Any, level: int) -> dt.datetime | None:
    """When an order at escalation ``level`` reaches the next one: the warning once
    ``warn_percent`` of the stage's time has passed, the chase at the deadline, supervision
    ``supervise_after_days`` working days later; nothing after that."""
    due, start, policy = order.due_at, order.clock_started_at, order.sla_policy
    if due is None or start is None or policy is None:
        return None
    kind = order.sla_clock or policy.clock
    if level == 0:
        allowed = max(clock_between(kind, start, due), 0)
        return min(clock_add(kind, start, allowed * policy.warn_percent // 100), due)
    if level == 1:
        return due
    if level == 2:
        return clock_add(kind, due, policy.supervise_after_days * clock_day_minutes(kind))
    return None


# --- what the dashboard shows -----------------------------------------------------------------


@dataclass(frozen=True)
class CalendarStatus:
    known_years: list[int]
    missing_years: list[int]
    periods: list[tuple[dt.time, dt.time]]
    default_hours: bool

    @property
    def ok(self) -> bool:
        return not self.missing_years and not self.default_hours

    @property
    def message(self) -> str:
        if self.missing_years:
            years = ", ".join(str(y) for y in self.missing_years)
            return _(
                "The holidays of %(years)s are not in the working calendar yet: deadlines in "
                "those years count Monday to Friday. Enter the official holiday notice."
            ) % {"years": years}
        if self.default_hours:
            return _("No working hours are set: deadlines use 09:00–12:00 and 13:30–18:00.")
        return _("The working calendar is complete.")


def calendar_status(*, today: dt.date | None = None) -> CalendarStatus:
    """Which years Sanan needs (this one, the next, those of open deadlines) but lacks."""
    from sanan.workorders.models import WorkOrder

    today = today or clock.today()
    needed = {today.year, today.year + 1}
    latest = WorkOrder.objects.filter(due_at__isnull=False).aggregate(m=Max("finish_due_at"))["m"]
    if latest is not None:
        needed.update(range(today.year, latest.astimezone(local_zone()).year + 1))
    cal = work_calendar()
    return CalendarStatus(
        known_years=sorted(cal.known_years),
        missing_years=cal.missing_years(needed),
        periods=list(cal.periods),
        default_hours=not WorkingPeriod.objects.exists(),
    )
