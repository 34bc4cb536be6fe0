"""An independent computation of every key figure from what the orders API gives: the list
of orders and each order's events (``/api/v1/orders/``, ``/api/v1/orders/<id>/events/``),
read as a desk user would, with the definitions of ``docs/kpis.md`` written out again here
(not imported from the app)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
EDGES = [2, 4, 8, 24, 48, 72, 120, 168, 240, 360, 504, 720, 1080, 1440, 2160, 4320]


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def fetch(client: Any) -> list[dict[str, Any]]:
    """Every order the client sees, each with its ``events``."""
    orders: list[dict[str, Any]] = []
    url = "/api/v1/orders/?page_size=200"
    while url:
        page = client.get(url).json()
        orders += page["results"]
        url = page.get("next")
    for order in orders:
        response = client.get(f"/api/v1/orders/{order['id']}/events/")
        assert response.status_code == 200
        order["events"] = response.json()
    return orders


def _in_month(order: dict[str, Any], first: dt.date, last: dt.date) -> bool:
    local = _when(order["created_at"]).astimezone(LOCAL).date().replace(day=1)
    return first <= local <= last


def recompute(
    orders: list[dict[str, Any]], *, first: dt.date, last: dt.date, residents: int
) -> dict[str, tuple[float, int, float | None]]:
    """(numerator, denominator, value) of each figure for the orders registered from the
    month ``first`` to the month ``last``."""
    counted = [
        o for o in orders
        if _in_month(o, first, last) and not any(e["action"] == "merge" for e in o["events"])
    ]  # fmt: skip

    def acts(o: dict[str, Any], name: str) -> list[dict[str, Any]]:
        return [e for e in o["events"] if e["action"] == name]

    def on_time(e: dict[str, Any]) -> bool:
        return e["details"].get("on_time", True) is not False

    dispatched = [o for o in counted if any(e["to_state"] == "dispatched" for e in o["events"])]
    signed = [o for o in counted if acts(o, "sign")]
    finished = [o for o in counted if acts(o, "finish")]
    rated = [o for o in counted if acts(o, "callback") and not o["is_discovery"]]
    last_rating = {o["id"]: acts(o, "callback")[-1]["details"] for o in rated}
    satisfaction_rated = [
        o for o in rated
        if last_rating[o["id"]]["satisfaction"] in ("satisfied", "fairly", "dissatisfied")
    ]  # fmt: skip
    hours = sorted(
        (_when(acts(o, "finish")[-1]["at"]) - _when(o["created_at"])).total_seconds() // 60 / 60
        for o in finished
    )

    def ratio(num: float, den: int) -> tuple[float, int, float | None]:
        return num, den, (num / den if den else None)

    out: dict[str, tuple[float, int, float | None]] = {
        "response_rate": ratio(
            sum(1 for o in dispatched if acts(o, "contact") and on_time(acts(o, "contact")[0])),
            len(dispatched),
        ),
        "resolution_rate": ratio(
            sum(1 for o in rated if last_rating[o["id"]]["resolution"] == "solved"), len(rated)
        ),
        "satisfaction_rate": ratio(
            sum(
                1
                for o in satisfaction_rated
                if last_rating[o["id"]]["satisfaction"] in ("satisfied", "fairly")
            ),
            len(satisfaction_rated),
        ),
        "on_time_signing": ratio(
            sum(1 for o in signed if all(on_time(e) for e in acts(o, "sign"))), len(signed)
        ),
        "on_time_finishing": ratio(
            sum(1 for o in finished if all(on_time(e) for e in acts(o, "finish"))), len(finished)
        ),
        "return_rate": ratio(sum(1 for o in dispatched if acts(o, "return")), len(dispatched)),
        "rehandling_rate": ratio(sum(1 for o in finished if acts(o, "rehandle")), len(finished)),
        "first_contact_resolution": ratio(
            sum(
                1
                for o in rated
                if last_rating[o["id"]]["resolution"] == "solved"
                and len(acts(o, "callback")) == 1
                and not (acts(o, "return") or acts(o, "transfer") or acts(o, "rehandle"))
            ),
            len(rated),
        ),
    }
    minutes = sum(
        int((_when(acts(o, "finish")[-1]["at"]) - _when(o["created_at"])).total_seconds() // 60)
        for o in finished
    )
    out["handling_hours_avg"] = (
        round(minutes / 60, 1),
        len(finished),
        (minutes / len(finished) / 60) if finished else None,
    )
    if hours:
        p90 = hours[math.ceil(0.9 * len(hours)) - 1]
        edge = next((e for e in EDGES if p90 <= e), EDGES[-1])
        out["handling_hours_p90"] = (sum(1 for h in hours if h <= edge), len(hours), float(edge))
    else:
        out["handling_hours_p90"] = (0, 0, None)
    out["orders_per_1000_residents"] = (
        len(counted),
        residents,
        (len(counted) * 1000 / residents) if residents else None,
    )
    return out
