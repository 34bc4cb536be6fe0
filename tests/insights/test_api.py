"""The figures' API and pages: who sees what, bad filters, the number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sanan.insights import selectors
from sanan.insights.services import insights_refresh
from sanan.organisation.models import Organisation, PostType
from sanan.organisation.services import post_assign
from sanan.places.models import Place
from sanan.places.services import place_create
from sanan.workorders.models import Category
from tests.factories import UserFactory
from tests.insights.scenario import build_scenario

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)
ENDPOINTS = ["kpis", "breakdown", "trend", "red-black"]


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def get(user: Any, endpoint: str, **params: str) -> Any:
    if endpoint == "breakdown":
        params.setdefault("by", "courtyard")
    if endpoint == "red-black":
        params.setdefault("month", "2026-11")
    return api(user).get(f"/api/v1/insights/{endpoint}/", params)


@pytest.fixture
def scenario(wo, clock):  # type: ignore[no-untyped-def]
    commissioner = PostType.objects.filter(covers_courtyards=True, active=True).first()
    assert commissioner is not None
    for who, courtyard in ((wo.commissioner_a, wo.world.courtyard_a),
                           (wo.commissioner_b, wo.world.courtyard_b)):  # fmt: skip
        post_assign(actor=wo.fresh(wo.admin), holder=who, post_type=commissioner, place=courtyard)
    s = build_scenario(wo, clock)
    insights_refresh()
    return s


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "username", ["p-resident", "p-commissioner-a", "p-handler", "p-butler", "p-unitmember"]
)
def test_insights_api__people_without_figures_get_404(wo, scenario, persona, endpoint, username):  # type: ignore[no-untyped-def]
    response = get(persona(username), endpoint)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_insights_api__outsider_gets_404_and_anonymous_401_or_403(wo, scenario, endpoint):  # type: ignore[no-untyped-def]
    assert get(UserFactory(), endpoint).status_code == 404
    response = APIClient().get(f"/api/v1/insights/{endpoint}/")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize("username", ["p-leader", "p-dispatcher", "p-committee", "p-admin"])
def test_insights_api__desk_and_leaders_see_their_scope(wo, scenario, persona, username):  # type: ignore[no-untyped-def]
    user = persona(username)
    figures = get(user, "kpis", **{"from": "2026-11", "to": "2026-11"}).json()["figures"]
    orders = next(f for f in figures if f["code"] == "orders_per_1000_residents")
    assert orders["numerator"] == 9
    rows = get(user, "breakdown", by="courtyard", **{"from": "2026-11", "to": "2026-11"}).json()
    by_label = {r["label"]: r for r in rows["rows"]}
    assert set(by_label) == {wo.world.courtyard_a.name, wo.world.courtyard_b.name}
    trend = get(user, "trend", months="3", to="2026-11").json()["months"]
    assert [m["month"] for m in trend] == ["2026-09", "2026-10", "2026-11"]
    counts = [next(f for f in m["figures"] if f["code"] == "orders_per_1000_residents")
              for m in trend]  # fmt: skip
    assert [c["numerator"] for c in counts] == [0, 1, 9]
    lists = get(user, "red-black", month="2026-11", by="courtyard").json()
    assert lists["min_orders"] == selectors.MIN_ORDERS_FOR_LISTS
    assert [r["label"] for r in lists["red"]] == [wo.world.courtyard_a.name]  # B has 1 order


def test_insights_api__a_place_outside_the_scope_is_404(wo, scenario):  # type: ignore[no-untyped-def]
    elsewhere = place_create(
        actor="tests", parent=None, kind="city", code="t-elsewhere", name="别处市"
    )
    response = get(wo.fresh(wo.leader), "kpis", place=str(elsewhere.pk))
    assert response.status_code == 404
    assert response.json()["code"] == "place.not_found"


def test_insights_api__a_courtyard_narrows_the_figures(wo, scenario):  # type: ignore[no-untyped-def]
    response = get(
        wo.fresh(wo.leader), "kpis", place=str(wo.world.courtyard_b.pk),
        **{"from": "2026-11", "to": "2026-11"},
    )  # fmt: skip
    figures = {f["code"]: f for f in response.json()["figures"]}
    assert figures["orders_per_1000_residents"]["numerator"] == 1
    assert figures["satisfaction_rate"]["value"] == 1.0


@pytest.mark.parametrize(
    ("endpoint", "params", "code"),
    [
        ("kpis", {"from": "2026-13"}, "insights.bad_month"),
        ("kpis", {"from": "yesterday"}, "insights.bad_month"),
        ("kpis", {"from": "2026-11", "to": "2026-01"}, "insights.bad_period"),
        ("kpis", {"place": "abc"}, "insights.bad_place"),
        ("breakdown", {"by": "colour"}, "insights.bad_dimension"),
        ("trend", {"months": "0"}, "insights.bad_months"),
        ("trend", {"months": "many"}, "insights.bad_months"),
        ("red-black", {"by": "category"}, "insights.bad_dimension"),
        ("red-black", {"kpi": "happiness"}, "insights.bad_kpi"),
    ],
)
def test_insights_api__bad_filters_are_400_with_a_code(wo, scenario, endpoint, params, code):  # type: ignore[no-untyped-def]
    response = get(wo.fresh(wo.leader), endpoint, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["message"]


@pytest.mark.parametrize(
    "by", ["place", "courtyard", "commissioner", "department", "unit", "category", "channel",
           "month"],
)  # fmt: skip
def test_insights_breakdown__every_dimension_adds_up(wo, scenario, by):  # type: ignore[no-untyped-def]
    leader = wo.fresh(wo.leader)
    rows = selectors.kpi_breakdown(user=leader, by=by, start=NOV, end=NOV)
    total = selectors.kpi_summary(user=leader, start=NOV, end=NOV)
    assert rows
    if by in ("place", "courtyard", "category", "channel", "month", "commissioner"):
        assert sum(r.totals["orders"] for r in rows) == total["orders_per_1000_residents"].numerator
        assert sum(r.totals["dispatched"] for r in rows) == total["response_rate"].denominator


def test_insights_breakdown__departments_and_units(wo, scenario):  # type: ignore[no-untyped-def]
    leader = wo.fresh(wo.leader)
    departments = {r.label: r for r in selectors.kpi_breakdown(user=leader, by="department",
                                                               start=NOV, end=NOV)}  # fmt: skip
    assert departments[wo.urban.name].totals["orders"] == 1  # the returned order, re-dispatched
    assert departments[wo.housing.name].totals["returned"] == 0  # counted under its lead now
    units = selectors.kpi_breakdown(user=leader, by="unit", start=NOV, end=NOV)
    unit = Organisation.objects.get(code="t-unit")
    assert [(r.label, r.totals["orders"]) for r in units] == [(unit.name, 1)]


def test_insights_breakdown__places_one_level_below_the_scope(wo, scenario):  # type: ignore[no-untyped-def]
    leader = wo.fresh(wo.leader)
    rows = selectors.kpi_breakdown(user=leader, by="place", start=NOV, end=NOV)
    assert [r.label for r in rows] == [wo.world.area.name]  # the community's residential area
    admin = wo.fresh(wo.admin)
    sub = Place.objects.get(path=wo.world.community.path[:-4])
    district = Place.objects.get(path=sub.path[:-4])
    rows = selectors.kpi_breakdown(user=admin, by="place", place=district, start=NOV, end=NOV)
    assert [r.label for r in rows] == [sub.name]
    assert rows[0].totals["orders"] == 9


def test_insights_summary__query_count(wo, scenario, django_assert_num_queries):  # type: ignore[no-untyped-def]
    leader = wo.fresh(wo.leader)
    with django_assert_num_queries(3):  # roles, the sums, the residents
        selectors.kpi_summary(user=leader, start=NOV, end=NOV)
    with django_assert_num_queries(2):  # the sums by month, the residents
        selectors.kpi_trend(user=leader, months=12, end=NOV)


@pytest.mark.parametrize("by", ["courtyard", "category", "department", "channel"])
def test_insights_breakdown__query_count_does_not_grow_with_rows(
    wo, clock, by, django_assert_num_queries
):  # type: ignore[no-untyped-def]
    counts = []
    other = (
        Category.objects.filter(depth=2)
        .exclude(questions__required=True)
        .exclude(path__startswith=wo.street_light.path[:4])
        .first()
    )
    for extra in (1, 6):
        for _ in range(extra):
            wo.order_in("finished", place=wo.world.house_b, category=other)
        insights_refresh()
        leader = wo.fresh(wo.leader)
        selectors.kpi_summary(user=leader, start=NOV, end=NOV)  # roles loaded
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            selectors.kpi_breakdown(user=leader, by=by, start=NOV, end=NOV)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 3


def test_insights_page__renders_figures_with_links(wo, scenario):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(wo.fresh(wo.leader))
    response = client.get("/insights/", {"from": "2026-11", "to": "2026-11", "by": "courtyard"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kpi="satisfaction_rate" data-numerator="4" data-denominator="5"' in html
    assert "/insights/orders/?kpi=satisfaction_rate&amp;part=numerator" in html
    assert wo.world.courtyard_a.name in html
    htmx = client.get("/insights/", {"by": "category"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200
    assert "<html" not in htmx.content.decode()


def test_insights_page__residents_get_404_and_bad_filters_a_message(wo, scenario, persona):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(persona("p-resident"))
    assert client.get("/insights/").status_code == 404
    assert client.get("/insights/orders/?kpi=return_rate&part=numerator").status_code == 404
    client.force_login(wo.fresh(wo.leader))
    bad = client.get("/insights/", {"from": "2026-99"})
    assert bad.status_code == 400
    assert "YYYY-MM" in bad.content.decode()
    bad = client.get("/insights/orders/", {"kpi": "orders_per_1000_residents",
                                           "part": "denominator"})  # fmt: skip
    assert bad.status_code == 400


def test_insights_breakdown__by_campaign_counts_its_linked_orders(wo, scenario):  # type: ignore[no-untyped-def]
    from sanan.campaigns.services import campaign_create, campaign_start

    leader = wo.fresh(wo.leader)
    campaign = campaign_create(
        actor=leader, place=wo.community, kind="tackling", title="百日攻坚：路灯",
        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 12, 31), target_solved=5,
        owner_organisation=wo.housing, owner=leader,
    )  # fmt: skip
    campaign_start(actor=wo.fresh(wo.leader), campaign=campaign)
    rows = selectors.kpi_breakdown(user=wo.fresh(wo.leader), by="campaign", start=NOV, end=NOV)
    assert [(r.label, r.totals["orders"]) for r in rows] == [("百日攻坚：路灯", 9)]
    figure = rows[0].figures["satisfaction_rate"]
    assert (figure.numerator, figure.denominator) == (4, 5)
    client = Client()
    client.force_login(wo.fresh(wo.leader))
    listed = client.get(figure.numerator_url)
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 4
    october = selectors.kpi_breakdown(
        user=wo.fresh(wo.leader), by="campaign", start=dt.date(2026, 10, 1),
        end=dt.date(2026, 10, 1),
    )  # fmt: skip
    assert october == []  # the October order is outside the campaign's dates


def test_insights_page__cuts_a_community_by_courtyard_and_a_city_by_place(wo, scenario):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(wo.fresh(wo.leader))
    assert client.get("/insights/").context["by"] == "courtyard"
    client.force_login(wo.fresh(wo.admin))
    response = client.get("/insights/", {"from": "2026-11", "to": "2026-11"})
    assert response.context["by"] == "place"
    assert [r.label for r in response.context["rows"]] == [
        Place.objects.get(path=wo.community.path[:4]).name  # everything: by city
    ]


def test_insights_orders_page__queries_do_not_grow_with_rows(wo, clock):  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = []
    for extra in (1, 5):
        for _ in range(extra):
            wo.order_in("finished", place=wo.world.house_b)
        insights_refresh()
        client.force_login(wo.fresh(wo.leader))
        url = "/insights/orders/?kpi=on_time_finishing&part=denominator&from=2026-11&to=2026-11"
        client.get(url)  # the session's first request writes it
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.context["page"].paginator.count == sum((1, 5)[: len(counts) + 1])
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
