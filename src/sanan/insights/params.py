"""Reading the filters of the figures from a query string (the API and the pages alike):
every bad value is a 400 with a stable code, never a 500."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound
from sanan.places.models import Place
from sanan.workorders.models import Channel

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_month(value: str, name: str) -> dt.date:
    """``2026-11`` or ``2026-11-27`` → the first day of that month."""
    match = _MONTH.match(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        day = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    except ValueError:
        raise DomainError(
            "insights.bad_month",
            _("Give months as YYYY-MM, for example 2026-11."),
            fields={name: [_("Not a month.")]},
        ) from None
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_period(params: Mapping[str, Any]) -> tuple[dt.date, dt.date]:
    """``from`` and ``to`` (months, both included); by default the last 12 months."""
    end = parse_month(params["to"], "to") if params.get("to") else clock.today().replace(day=1)
    start = parse_month(params["from"], "from") if params.get("from") else add_months(end, -11)
    if end < start:
        raise DomainError(
            "insights.bad_period",
            _("The period ends before it starts."),
            fields={"to": [_("Choose a month after the first one.")]},
        )
    if (end.year - start.year) * 12 + end.month - start.month >= 120:
        raise DomainError(
            "insights.bad_period",
            _("Ask for at most 120 months at a time."),
            fields={"from": [_("Choose a later first month.")]},
        )
    return start, end


def parse_place(user: Any, params: Mapping[str, Any]) -> Place | None:
    raw = params.get("place")
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise DomainError(
            "insights.bad_place",
            _("A place is given by its number."),
            fields={"place": [_("Not a place number.")]},
        )
    place = Place.objects.filter(pk=int(raw)).first()
    if place is None or not permissions_for(user).can_see(place):
        raise NotFound(
            "place.not_found", _("No such place."), fields={"place": [_("Unknown place.")]}
        )
    return place


def _int(params: Mapping[str, Any], name: str) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return 0
    if not str(raw).isdigit():
        raise DomainError(
            "insights.bad_filter",
            _("This filter takes a number."),
            fields={name: [_("Not a number.")]},
        )
    return int(raw)


_PATH = re.compile(r"^[0-9A-Z]{1,255}$")


def parse_dims(params: Mapping[str, Any]) -> dict[str, Any]:
    """The dimension filters of a drill-down: ``area`` / ``area_exact`` (place paths),
    ``organisation``, ``category``, ``commissioner``, ``campaign`` (ids), ``channel`` (a code)."""
    dims: dict[str, Any] = {}
    for name in ("area", "area_exact"):
        value = str(params.get(name) or "")
        if value:
            if not _PATH.match(value):
                raise DomainError(
                    "insights.bad_filter",
                    _("Unknown place."),
                    fields={name: [_("Unknown place.")]},
                )
            dims[name] = value
    for name in ("organisation", "category", "commissioner", "campaign"):
        number = _int(params, name)
        if number:
            dims[name] = number
    channel = str(params.get("channel") or "")
    if channel:
        if channel not in Channel.values:
            raise DomainError(
                "insights.bad_filter",
                _("Unknown channel."),
                fields={"channel": [_("Unknown channel.")]},
            )
        dims["channel"] = channel
    return dims
