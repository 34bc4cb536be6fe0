"""Each key figure against known answers and against an independent computation from the
orders API's raw data (orders and their events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from sanan.insights import selectors
from sanan.insights.kpis import KPIS
from sanan.insights.services import insights_refresh
from sanan.registry.models import Resident
from sanan.registry.services import resident_register
from tests.insights.recompute import fetch, recompute
from tests.insights.scenario import build_scenario

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)
OCT = dt.date(2026, 10, 1)


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def scenario(wo, clock):  # type: ignore[no-untyped-def]
    for n, name in enumerate(["居民甲", "居民乙", "居民丙", "居民丁"]):
        resident_register(actor=wo.fresh(wo.admin), name=name, place=wo.world.unit_a)
        assert n < 4
    s = build_scenario(wo, clock)
    insights_refresh()
    return s


def _figures(client: APIClient, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/insights/kpis/", params)
    assert response.status_code == 200, response.content
    return {f["code"]: f for f in response.json()["figures"]}


# Hand-counted from ``scenario.py`` (November; see its table):
KNOWN_NOVEMBER = {
    "response_rate": (6, 8),  # late: contacted after its deadline; returned: never contacted
    "resolution_rate": (4, 5),  # late said "partly"; discovery and unrated are not rated
    "satisfaction_rate": (4, 5),  # transferred said "dissatisfied" (late: fairly counts)
    "on_time_signing": (7, 8),
    "on_time_finishing": (6, 7),
    "return_rate": (1, 8),
    "rehandling_rate": (2, 7),  # rehandled, transferred
    "first_contact_resolution": (2, 5),  # on_time, courtyard_b
    "orders_per_1000_residents": (9, 4),  # the merged duplicate is not counted
}


def test_kpis__known_answers(wo, scenario):  # type: ignore[no-untyped-def]
    figures = _figures(api(wo.fresh(wo.leader)), **{"from": "2026-11", "to": "2026-11"})
    for code, (num, den) in KNOWN_NOVEMBER.items():
        assert (figures[code]["numerator"], figures[code]["denominator"]) == (num, den), code
    assert figures["satisfaction_rate"]["value"] == pytest.approx(0.8)
    assert figures["orders_per_1000_residents"]["value"] == pytest.approx(2250.0)
    assert figures["handling_hours_avg"]["denominator"] == 7
    october = _figures(api(wo.fresh(wo.leader)), **{"from": "2026-10", "to": "2026-10"})
    assert october["response_rate"]["numerator"] == october["response_rate"]["denominator"] == 1


@pytest.mark.parametrize("period", [(NOV, NOV), (OCT, OCT), (OCT, NOV)])
def test_kpis__match_an_independent_computation_from_the_orders_api(wo, scenario, period):  # type: ignore[no-untyped-def]
    first, last = period
    raw = fetch(api(wo.fresh(wo.admin)))
    residents = Resident.objects.filter(
        status="active", place__path__startswith=wo.community.path
    ).count()
    expected = recompute(raw, first=first, last=last, residents=residents)
    figures = _figures(
        api(wo.fresh(wo.leader)),
        **{"from": first.strftime("%Y-%m"), "to": last.strftime("%Y-%m")},
    )
    assert set(figures) == set(KPIS)
    for code, (num, den, value) in expected.items():
        got = figures[code]
        assert (got["numerator"], got["denominator"]) == (num, den), code
        if value is None:
            assert got["value"] is None, code
        else:
            assert got["value"] == pytest.approx(value, abs=1e-6), code


def test_kpis__drill_down_lists_exactly_the_orders_counted(wo, scenario):  # type: ignore[no-untyped-def]
    leader = wo.fresh(wo.leader)
    figures = selectors.kpi_summary(user=leader, start=NOV, end=NOV)
    client = api(leader)
    from django.test import Client

    page = Client()
    page.force_login(leader)
    for code, figure in figures.items():
        for part, url, expected in (
            ("numerator", figure.numerator_url, figure.numerator),
            ("denominator", figure.denominator_url, figure.denominator),
        ):
            if not url:
                continue
            response = page.get(url)
            assert response.status_code == 200, (code, part)
            if KPIS[code].kind == "mean_hours" and part == "numerator":
                expected = figure.denominator  # the finished orders behind the hours
            assert response.context["page"].paginator.count == expected, (code, part)
    assert client  # the API client is the leader's too
    ids = {
        o.pk
        for o in selectors.kpi_orders(
            user=leader, kpi="return_rate", part="numerator", start=NOV, end=NOV
        )
    }
    assert ids == {scenario.returned.pk}
    merged = selectors.kpi_orders(
        user=leader, kpi="orders_per_1000_residents", part="numerator", start=NOV, end=NOV
    )
    assert scenario.merged.pk not in {o.pk for o in merged}


def test_kpis__residents_add_up_for_places_above_and_below_the_community(wo, scenario):  # type: ignore[no-untyped-def]
    from sanan.places.models import Place

    admin = wo.fresh(wo.admin)
    district = Place.objects.get(path=wo.community.path[:-8])
    rows = selectors.kpi_breakdown(user=admin, by="place", place=district, start=NOV, end=NOV)
    assert [r.figures["orders_per_1000_residents"].denominator for r in rows] == [4]
    leader = wo.fresh(wo.leader)
    courtyards = {
        r.label: r.figures["orders_per_1000_residents"]
        for r in selectors.kpi_breakdown(user=leader, by="courtyard", start=NOV, end=NOV)
    }
    assert (courtyards[wo.world.courtyard_a.name].numerator,
            courtyards[wo.world.courtyard_a.name].denominator) == (8, 4)  # fmt: skip
    assert courtyards[wo.world.courtyard_b.name].denominator == 0
    assert courtyards[wo.world.courtyard_b.name].value is None
