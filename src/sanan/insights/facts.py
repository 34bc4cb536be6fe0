"""An order's counters, computed from the order row and its immutable events alone.

The rules here are the definitions of ``docs/kpis.md``; the tests recompute them a second
way from what the orders API returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from sanan.insights.kpis import BUCKET_FIELDS, COUNTERS, bucket_of
from sanan.workorders.state import Action, Resolution, Satisfaction, State

SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.FAIRLY})
RATED = frozenset({Satisfaction.SATISFIED, Satisfaction.FAIRLY, Satisfaction.DISSATISFIED})


def month_of(moment: dt.datetime) -> dt.date:
    """The first day of the local (Asia/Shanghai) month of ``moment``."""
    return timezone.localtime(moment).date().replace(day=1)


def _on_time(event: Mapping[str, Any]) -> bool:
    return bool((event.get("data") or {}).get("on_time", True))


def counters(
    *, created_at: dt.datetime, discovery: bool, events: Iterable[Mapping[str, Any]]
) -> dict[str, int]:
    """The counters of one counted order from its events (dicts with ``action``, ``at``,
    ``to_state`` and ``data``), in the order they happened."""
    c = dict.fromkeys(COUNTERS, 0)
    c["orders"] = 1
    first_contact: Mapping[str, Any] | None = None
    signs: list[Mapping[str, Any]] = []
    finishes: list[Mapping[str, Any]] = []
    callbacks: list[Mapping[str, Any]] = []
    transferred = False
    for e in events:
        action = e["action"]
        if e["to_state"] == State.DISPATCHED and action != Action.NOTE:
            c["dispatched"] = 1
        if action == Action.CONTACT and first_contact is None:
            first_contact = e
        elif action == Action.SIGN:
            signs.append(e)
        elif action == Action.FINISH:
            finishes.append(e)
        elif action == Action.CALLBACK:
            callbacks.append(e)
        elif action == Action.RETURN:
            c["returned"] = 1
        elif action == Action.REHANDLE:
            c["rehandled"] = 1
        elif action == Action.TRANSFER:
            transferred = True
    c["responded"] = int(first_contact is not None and _on_time(first_contact))
    c["signed"] = int(bool(signs))
    c["signed_on_time"] = int(bool(signs) and all(_on_time(e) for e in signs))
    c["finished"] = int(bool(finishes))
    c["finished_on_time"] = int(bool(finishes) and all(_on_time(e) for e in finishes))
    if finishes:
        minutes = max(int((finishes[-1]["at"] - created_at).total_seconds() // 60), 0)
        c["handling_minutes"] = minutes
        c[BUCKET_FIELDS[bucket_of(minutes)]] = 1
    if callbacks and not discovery:
        last = callbacks[-1].get("data") or {}
        resolution = last.get("resolution", "")
        satisfaction = last.get("satisfaction", "")
        if resolution in Resolution.values:
            c["rated_resolution"] = 1
            c["solved"] = int(resolution == Resolution.SOLVED)
            c["fcr"] = int(
                c["solved"] == 1
                and len(callbacks) == 1
                and not (c["returned"] or c["rehandled"] or transferred)
            )
        if satisfaction in RATED:
            c["rated_satisfaction"] = 1
            c["satisfied"] = int(satisfaction in SATISFIED)
    return c
