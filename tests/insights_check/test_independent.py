"""The check of the figures asked for in the issue: every key figure computed independently
(``independent.py``, from the public API's orders and timelines alone) matches what the
figures API and the dashboard show — over a simulated season of the demo community, with its
campaigns, whole and cut by month, courtyard, channel, category, lead organisation and
campaign."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.places.models import Place

from . import independent as ind

pytestmark = pytest.mark.django_db

END = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
FIRST, LAST = dt.date(2025, 12, 1), dt.date(2026, 11, 1)
ORDERS = 150


def _client(username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(username=username))
    return client


def _getter(client: Any) -> ind.Get:
    def get(url: str) -> Any:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.json()

    return get


@pytest.fixture
def season(demo: Place) -> ind.Data:
    """The demo's simulated season and its campaigns, counted by the figures' refresh; read
    back through the API by the dispatcher (who sees every step's details)."""
    from sanan.campaigns import demo as campaigns_demo
    from sanan.campaigns.models import Campaign
    from sanan.insights.services import insights_refresh
    from sanan.workorders import demo as wo_demo

    with time_machine.travel(END, tick=False):
        wo_demo.build_workorders_demo(
            seed=2018, progress=lambda _line: None, orders=ORDERS, end=END
        )
        campaigns_demo.build_campaigns_demo(seed=2018, progress=lambda _line: None, end=END)
        insights_refresh()
    campaigns = Campaign.objects.values_list("pk", flat=True)
    return ind.fetch(_getter(_client("dispatcher")), campaigns=campaigns)


def _api(path: str, **params: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"from": "2025-12", "to": "2026-11", **params}.items())
    return _getter(_client("leader"))(f"/api/v1/insights/{path}/?{query}")


@pytest.fixture(autouse=True)
def _stopped() -> Any:
    with time_machine.travel(END, tick=False):
        yield


def test_every_figure_recomputed_from_the_api_matches(season: ind.Data, client: Any) -> None:
    """One season (it takes a while to build), every check on it: the summary, every row of
    every breakdown, the dashboard's rates panel and headline, and each campaign's progress."""
    rows = [f for _o, f in ind.counted(season, FIRST, LAST)]
    assert len(rows) > 100
    summary = _api("kpis")
    residents = next(
        f["denominator"] for f in summary["figures"] if f["code"] == "orders_per_1000_residents"
    )
    mine = ind.figures(rows, residents=residents)
    problems = ind.compare(mine, summary["figures"], where="summary: ")
    # The simulated season exercises every figure (none is empty but the residents).
    empty = [c for c, f in mine.items() if not f.denominator and c != "orders_per_1000_residents"]
    assert empty == []

    for by in ("month", "channel", "category", "courtyard", "campaign", "department", "unit"):
        groups = ind.group(season, FIRST, LAST, by)
        seen = set()
        for row in _api("breakdown", by=by)["rows"]:
            key = _courtyard_id(row["key"]) if by == "courtyard" else str(row["key"])
            seen.add(key)
            problems += ind.compare(
                ind.figures(groups.get(key, [])), row["figures"], where=f"{by}={row['label']}: "
            )
        if by not in ("department", "unit"):  # a lead organisation of another kind has no row
            # No orders left out of the rows (a row the API lacks would hold them).
            problems += [
                f"{by}: {len(v)} orders of {k!r} in no row"
                for k, v in groups.items()
                if k not in seen and v
            ]

    # The dashboard's rates panel (its default period: the last 12 months) says the same.
    client.force_login(User.objects.get(username="leader"))
    html = client.get("/dashboard/").content.decode()
    for code in ("response_rate", "resolution_rate", "satisfaction_rate"):
        block = re.search(rf'data-testid="rate-{code}".*?</a>', html, re.S)
        assert block is not None, code
        text = re.sub(r"<[^>]+>", " ", block.group(0).split(">", 1)[1])
        figure = mine[code]
        assert figure.value is not None
        expected = [
            f"{round(figure.value * 100, 1)}",
            str(figure.numerator),
            str(figure.denominator),
        ]
        if re.findall(r"\d+(?:\.\d+)?", text)[-3:] != expected:
            problems.append(f"dashboard {code}: shows {text.split()}, recomputed {expected}")

    # Its headline counts the same orders: registered, finished, solved (docs/kpis.md).
    judged = (ind.SOLVED, ind.PARTLY, ind.NOT_SOLVED)
    for name, count in (
        ("registered", len(rows)),
        ("finished", sum(f.finished for f in rows)),
        ("solved", sum(f.resolution == ind.SOLVED for f in rows)),
    ):
        shown = re.search(rf'data-testid="fig-{name}"><strong>([\d,]+)</strong>', html)
        assert shown is not None, name
        if int(shown.group(1).replace(",", "")) != count:
            problems.append(f"dashboard {name}: shows {shown.group(1)}, recomputed {count}")

    # Each campaign's progress (the API) counts its linked orders with the same words.
    linked = ind.group(season, dt.date(2000, 1, 1), dt.date(2100, 1, 1), "campaign")
    assert linked
    for pk, orders in linked.items():
        progress = _getter(_client("leader"))(f"/api/v1/campaigns/{pk}/")["progress"]
        rated = [f for f in orders if f.resolution in judged]
        solved = sum(f.resolution == ind.SOLVED for f in rated)
        expected_progress = {
            "finished": sum(f.finished for f in orders),
            "solved": solved,
            "rated": len(rated),
            "resolution_percent": round(100 * solved / len(rated), 1) if rated else None,
        }
        got = {k: progress[k] for k in expected_progress}
        if got != expected_progress:
            problems.append(f"campaign {pk}: progress {got}, recomputed {expected_progress}")
    assert problems == []


def _courtyard_id(path: str) -> str:
    place = Place.objects.filter(path=path).first()
    return str(place.pk) if place is not None and place.kind == "courtyard" else ""
