"""Every key figure of ``docs/kpis.md`` computed again from what the public JSON API gives: the
orders (``/api/v1/orders/``), each order's timeline (``/api/v1/orders/<id>/events/``), the
category tree (``/api/v1/order-categories/``) and the campaigns' linked orders
(``/api/v1/campaigns/<id>/orders/``). Nothing is imported from ``sanan``: the definitions are
written out again from the document, so a figure that matches was counted the same way twice.

``fetch(get)`` takes any ``get(url) -> (status, json)``: Django's test client in the tests, a
plain HTTP client with a token against a running server (``live.py``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
EDGES = (2, 4, 8, 24, 48, 72, 120, 168, 240, 360, 504, 720, 1080, 1440, 2160, 4320)
SOLVED, PARTLY, NOT_SOLVED = "solved", "partly", "not_solved"
RATINGS = {"satisfied", "fairly", "dissatisfied"}
GOOD = {"satisfied", "fairly"}

Get = Callable[[str], Any]  # url -> parsed JSON (raises on an error status)


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def month_of(value: str) -> dt.date:
    return _when(value).astimezone(SHANGHAI).date().replace(day=1)


@dataclass
class Data:
    orders: list[dict[str, Any]]
    level1: dict[int, str]  # category id -> the code of its level-1 category
    campaigns: dict[int, set[int]] = field(default_factory=dict)  # campaign -> active orders


def _pages(get: Get, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while url:
        page = get(url)
        if isinstance(page, list):
            return out + page
        out += page["results"]
        url = page.get("next") or ""
    return out


def fetch(get: Get, *, campaigns: Iterable[int] = ()) -> Data:
    orders = _pages(get, "/api/v1/orders/?page_size=200")
    for order in orders:
        order["events"] = get(f"/api/v1/orders/{order['id']}/events/")
    categories = get("/api/v1/order-categories/")
    parent = {c["id"]: c["parent_id"] for c in categories}
    code = {c["id"]: c["code"] for c in categories}

    def root(cid: int) -> str:
        while parent.get(cid):
            cid = parent[cid]
        return str(code[cid])

    linked = {}
    for pk in campaigns:
        rows = _pages(get, f"/api/v1/campaigns/{pk}/orders/?page_size=200")
        linked[pk] = {r["order"] for r in rows if r["active"]}
    return Data(orders, {cid: root(cid) for cid in parent}, linked)


# --- one order's facts, from its timeline -------------------------------------------------------


@dataclass
class Facts:
    id: int
    month: dt.date
    complaint: bool  # not a discovery: the reporter's opinion counts
    given: bool  # given to an organisation at least once
    responded: bool  # first contact before its deadline
    signed: bool
    signed_on_time: bool
    finished: bool
    finished_on_time: bool
    returned: bool
    rehandled: bool
    resolution: str  # of the latest call-back ("" if none)
    satisfaction: str  # of the latest call-back
    fcr: bool
    minutes: int  # registration to the latest finish


def _on_time(event: dict[str, Any]) -> bool:
    return (event.get("details") or {}).get("on_time", True) is not False


def facts(order: dict[str, Any]) -> Facts | None:
    """The order's facts, or None for a merged duplicate (not counted)."""
    events = sorted(order["events"], key=lambda e: (_when(e["at"]), e["id"]))
    actions = [e["action"] for e in events]
    if "merge" in actions:
        return None

    def of(name: str) -> list[dict[str, Any]]:
        return [e for e in events if e["action"] == name]

    # Given to an organisation: dispatched at intake (routing) or by the desk, re-dispatched
    # after a ruling, transferred, re-opened for re-handling: every step into "dispatched".
    given = any(e["to_state"] == "dispatched" for e in events if e["action"] != "note")
    contacts, signs, finishes, callbacks = of("contact"), of("sign"), of("finish"), of("callback")
    complaint = not order["is_discovery"]
    last = (callbacks[-1].get("details") or {}) if callbacks else {}
    resolution = str(last.get("resolution") or "") if complaint else ""
    satisfaction = str(last.get("satisfaction") or "") if complaint else ""
    returned, rehandled = bool(of("return")), bool(of("rehandle"))
    minutes = 0
    if finishes:
        delta = _when(finishes[-1]["at"]) - _when(order["created_at"])
        minutes = max(int(delta.total_seconds() // 60), 0)
    return Facts(
        id=order["id"],
        month=month_of(order["created_at"]),
        complaint=complaint,
        given=given,
        responded=bool(contacts) and _on_time(contacts[0]),
        signed=bool(signs),
        signed_on_time=bool(signs) and all(_on_time(e) for e in signs),
        finished=bool(finishes),
        finished_on_time=bool(finishes) and all(_on_time(e) for e in finishes),
        returned=returned,
        rehandled=rehandled,
        resolution=resolution,
        satisfaction=satisfaction,
        fcr=(
            resolution == SOLVED
            and len(callbacks) == 1
            and not (returned or rehandled or of("transfer"))
        ),
        minutes=minutes,
    )


# --- the figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    numerator: float
    denominator: int
    value: float | None


def _ratio(num: float, den: int) -> Figure:
    return Figure(num, den, num / den if den else None)


def figures(rows: list[Facts], *, residents: int | None = None) -> dict[str, Figure]:
    given = [f for f in rows if f.given]
    signed = [f for f in rows if f.signed]
    finished = [f for f in rows if f.finished]
    judged = [f for f in rows if f.resolution in (SOLVED, PARTLY, NOT_SOLVED)]
    rated = [f for f in rows if f.satisfaction in RATINGS]
    out = {
        "response_rate": _ratio(sum(f.responded for f in given), len(given)),
        "resolution_rate": _ratio(sum(f.resolution == SOLVED for f in judged), len(judged)),
        "satisfaction_rate": _ratio(sum(f.satisfaction in GOOD for f in rated), len(rated)),
        "on_time_signing": _ratio(sum(f.signed_on_time for f in signed), len(signed)),
        "on_time_finishing": _ratio(sum(f.finished_on_time for f in finished), len(finished)),
        "return_rate": _ratio(sum(f.returned for f in given), len(given)),
        "rehandling_rate": _ratio(sum(f.rehandled for f in finished), len(finished)),
        "first_contact_resolution": _ratio(sum(f.fcr for f in judged), len(judged)),
    }
    total = sum(f.minutes for f in finished)
    out["handling_hours_avg"] = Figure(
        total, len(finished), total / len(finished) / 60 if finished else None
    )
    hours = sorted(f.minutes / 60 for f in finished)
    if hours:
        p90 = hours[math.ceil(0.9 * len(hours)) - 1]
        edge = next((e for e in EDGES if p90 <= e), EDGES[-1])
        out["handling_hours_p90"] = Figure(sum(h <= edge for h in hours), len(hours), float(edge))
    else:
        out["handling_hours_p90"] = Figure(0, 0, None)
    if residents is not None:
        out["orders_per_1000_residents"] = Figure(
            len(rows), residents, len(rows) * 1000 / residents if residents else None
        )
    return out


def counted(data: Data, first: dt.date, last: dt.date) -> list[tuple[dict[str, Any], Facts]]:
    out = []
    for order in data.orders:
        f = facts(order)
        if f is not None and first <= f.month <= last:
            out.append((order, f))
    return out


def group(data: Data, first: dt.date, last: dt.date, by: str) -> dict[str, list[Facts]]:
    """The counted orders of the period in the rows of a breakdown, keyed as the API keys
    them (month, channel code, level-1 category code, organisation and campaign id), but
    courtyards by id (the API keys them by place path, which the orders API does not show)."""
    rows: dict[str, list[Facts]] = defaultdict(list)
    for order, f in counted(data, first, last):
        if by == "month":
            rows[f"{f.month:%Y-%m}"].append(f)
        elif by == "channel":
            rows[order["channel"]].append(f)
        elif by == "category":
            rows[data.level1[order["category"]["id"]]].append(f)
        elif by in ("department", "unit"):
            lead = order["lead_organisation"]
            rows[str(lead["id"]) if lead else ""].append(f)
        elif by == "courtyard":
            yard = order["courtyard"]
            rows[str(yard["id"]) if yard else ""].append(f)
        elif by == "campaign":
            for pk, ids in data.campaigns.items():
                if order["id"] in ids:
                    rows[str(pk)].append(f)
        else:
            raise ValueError(by)
    return rows


def compare(mine: dict[str, Figure], theirs: list[dict[str, Any]], *, where: str = "") -> list[str]:
    """The differences between my figures and the API's ``figures`` list, in words."""
    out = []
    by_code = {f["code"]: f for f in theirs}
    for code, figure in mine.items():
        api = by_code.get(code)
        if api is None:
            out.append(f"{where}{code}: missing from the API")
            continue
        same_den = api["denominator"] == figure.denominator
        if code == "handling_hours_avg":
            value_ok = (api["value"] is None) == (figure.value is None) and (
                figure.value is None or abs(api["value"] - figure.value) < 0.01
            )
            same_num = True
        else:
            same_num = abs(float(api["numerator"]) - float(figure.numerator)) < 1e-6
            value_ok = (api["value"] is None) == (figure.value is None) and (
                figure.value is None or abs(api["value"] - figure.value) < 1e-5
            )
        if not (same_den and same_num and value_ok):
            out.append(
                f"{where}{code}: API {api['numerator']}/{api['denominator']} = {api['value']}, "
                f"recomputed {figure.numerator}/{figure.denominator} = {figure.value}"
            )
    return out


THREE = ("response_rate", "resolution_rate", "satisfaction_rate")


def red_black(
    groups: dict[str, list[Facts]], *, min_orders: int = 5, size: int = 5
) -> tuple[list[str], list[str]]:
    """The month's red and black lists (keys, best first / worst first) by the mean of the
    three rates that have a denominator; rows with fewer than ``min_orders`` orders do not
    qualify; with fewer than ``2 × size`` rows the better half is red, the worse half black.
    Ties: more orders first (the ranking is read from its other end for the black list)."""
    scored = []
    for key, rows in groups.items():
        if len(rows) < min_orders:
            continue
        f = figures(rows)
        values = [f[c].value for c in THREE if f[c].value is not None]
        if values:
            scored.append((sum(values) / len(values), len(rows), key))
    ranked = [k for _s, _n, k in sorted(scored, key=lambda r: (-r[0], -r[1]))]
    if len(ranked) < 2 * size:
        half = (len(ranked) + 1) // 2
        return ranked[:half], ranked[half:][::-1]
    return ranked[:size], ranked[::-1][:size]
