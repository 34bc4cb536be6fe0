"""The periods the dashboard is filtered by: the last twelve months (the default), a calendar
year, or one month. Written in URLs as ``12m``, ``2026`` or ``2026-11``; every bound is a
moment in local time (Asia/Shanghai), a period is half-open ``[start, end)``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from sanan.core import clock
from sanan.core.errors import DomainError

ROLLING = "12m"
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(day: dt.date, back: int = 0) -> dt.date:
    """The first day of ``day``'s month, ``back`` months earlier (negative: later)."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


@dataclass(frozen=True)
class Period:
    code: str  # as written in the URL
    first_day: dt.date
    end_day: dt.date  # the day after the last day

    @property
    def start(self) -> dt.datetime:
        return local_midnight(self.first_day)

    @property
    def end(self) -> dt.datetime:
        return local_midnight(self.end_day)

    @property
    def is_month(self) -> bool:
        return bool(_MONTH.match(self.code))

    @property
    def months(self) -> list[dt.date]:
        """The months of the period; for one month, the twelve months ending with it (its
        trend)."""
        last = month_start(self.end_day - dt.timedelta(days=1))
        count = 12 if self.is_month else _months_between(self.first_day, self.end_day)
        return [month_start(last, count - 1 - i) for i in range(count)]

    @property
    def label(self) -> str:
        if self.code == ROLLING:
            return _("The last 12 months")
        if self.is_month:
            return date_format(self.first_day, "YEAR_MONTH_FORMAT")
        return str(self.first_day.year)

    def contains_today(self) -> bool:
        return self.first_day <= clock.today() < self.end_day


def _months_between(first: dt.date, end: dt.date) -> int:
    return (end.year * 12 + end.month) - (first.year * 12 + first.month)


def rolling(today: dt.date | None = None) -> Period:
    """The twelve months up to and including this one."""
    today = today or clock.today()
    return Period(ROLLING, month_start(today, 11), month_start(today, -1))


def month(year: int, number: int) -> Period:
    if not 1 <= number <= 12 or not 2000 <= year <= 2100:
        raise DomainError("dashboard.bad_period", _("There is no such month."))
    first = dt.date(year, number, 1)
    return Period(f"{year:04d}-{number:02d}", first, month_start(first, -1))


def parse(value: str | None, today: dt.date | None = None) -> Period:
    """A period from its URL form; empty means the last 12 months. Anything else is a
    ``DomainError`` (``dashboard.bad_period``)."""
    value = (value or "").strip()
    if not value or value == ROLLING:
        return rolling(today)
    if m := _MONTH.match(value):
        return month(int(m.group(1)), int(m.group(2)))
    if m := _YEAR.match(value):
        year = int(m.group(1))
        if not 2000 <= year <= 2100:
            raise DomainError("dashboard.bad_period", _("There is no such year."))
        return Period(value, dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
    raise DomainError(
        "dashboard.bad_period",
        _("Choose a period as 12m (the last 12 months), a year (2026) or a month (2026-11)."),
    )


def choices(today: dt.date | None = None) -> list[tuple[str, str]]:
    """What the period filter offers: the last 12 months, this year and last year, and each
    of the last twelve months."""
    today = today or clock.today()
    options = [(ROLLING, _("The last 12 months"))]
    options += [(str(y), str(y)) for y in (today.year, today.year - 1)]
    for back in range(12):
        first = month_start(today, back)
        options.append((f"{first:%Y-%m}", date_format(first, "YEAR_MONTH_FORMAT")))
    return options
