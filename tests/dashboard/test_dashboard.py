"""The leader's dashboard: who sees it, what it counts (checked against a count made here from
the records), the lists behind its numbers, and a query count that does not grow."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.dashboard import periods
from sanan.dashboard import selectors as sel
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_create
from sanan.workorders.models import WorkOrder
from sanan.workorders.state import OPEN_STATES, Action
from tests.dashboard.scenario import Season, build_season
from tests.personas import PERSONA_FOR_ROLE
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def season(wo: OrderWorld, clock: time_machine.Coordinates) -> Season:
    return build_season(wo, clock)


def _count(orders: list[WorkOrder], period: periods.Period) -> dict[str, int]:
    """The dashboard's figures, counted here order by order from the rows and their events
    (``docs/kpis.md``): of the orders registered in the period (merged duplicates left out),
    those finished at least once and the complaints whose latest call-back says solved; the
    open and overdue orders now."""
    now = timezone.now()
    inside = lambda t: t is not None and period.start <= t < period.end  # noqa: E731
    registered = [o for o in orders if inside(o.created_at) and o.parent_id is None]
    finished = [o for o in registered if o.events.filter(action=Action.FINISH).exists()]
    solved = 0
    for o in registered:
        callbacks = list(o.events.filter(action=Action.CALLBACK).order_by("at", "id"))
        if callbacks and not o.is_discovery:
            solved += (callbacks[-1].data or {}).get("resolution") == "solved"
    return {
        "registered": len(registered),
        "finished": len(finished),
        "solved": solved,
        "open": sum(1 for o in orders if o.state in OPEN_STATES),
        "overdue": sum(
            1 for o in orders if o.state in OPEN_STATES and o.due_at and o.due_at <= now
        ),
    }


def _number(html: str, testid: str) -> int:
    match = re.search(rf'data-testid="{testid}"><strong>(\d+)</strong>', html)
    assert match, testid
    return int(match.group(1))


# --- who may see it -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.LEADER, 200),
        (Role.COMMITTEE, 200),
        (Role.DISPATCHER, 200),
        (Role.ADMIN, 200),
        (Role.RESIDENT, 404),
        (Role.COMMISSIONER, 404),
        (Role.RED_BUTLER, 404),
        (Role.HANDLER, 404),
        (Role.UNIT_MEMBER, 404),
    ],
)
def test_dashboard__view__per_role(
    wo: OrderWorld, persona: Callable[[str], User], web_as: Callable[[User], Client],
    role: str, status: int,
) -> None:  # fmt: skip
    client = web_as(persona(PERSONA_FOR_ROLE[role]))
    for url in ("/dashboard/", "/dashboard/screen/", "/dashboard/orders/",
                "/dashboard/report/2026-11/", "/dashboard/report/2026-11.xlsx"):  # fmt: skip
        assert client.get(url).status_code == status, url


def test_dashboard__signed_out__goes_to_sign_in(client: Client) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_dashboard__place_outside_the_scope__404(
    wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    other = place_create(
        actor="tests", parent=Place.objects.get(code="t-district"), kind=PlaceKind.SUBDISTRICT,
        code="t-sub-2", name="另一街道",
    )  # fmt: skip
    client = web_as(wo.fresh(wo.leader))
    assert client.get(f"/dashboard/?place={other.pk}").status_code == 404
    assert client.get("/dashboard/?place=999999").status_code == 404
    assert client.get("/dashboard/?place=abc").status_code == 404
    assert client.get(f"/dashboard/?place={wo.world.courtyard_a.pk}").status_code == 200


def test_dashboard__bad_period__says_so_and_shows_the_last_12_months(
    wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    response = web_as(wo.fresh(wo.leader)).get("/dashboard/?period=last-week", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2026-11" in html  # the period filter offers the months, the message is shown
    assert 'class="msg msg-error"' in html
    assert response.context["period"].code == periods.ROLLING


def test_report__month_that_does_not_exist__404(
    wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    assert client.get("/dashboard/report/2026-13/").status_code == 404
    assert client.get("/dashboard/report/2026-00.xlsx").status_code == 404


# --- what it counts -------------------------------------------------------------------------------


@pytest.mark.parametrize("period_code", ["12m", "2026-11", "2026-09", "2025"])
def test_dashboard__figures__match_a_count_from_the_records(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client], period_code: str
) -> None:
    period = periods.parse(period_code)
    expected = _count(list(WorkOrder.objects.all()), period)
    html = web_as(wo.fresh(wo.leader)).get(f"/dashboard/?period={period_code}").content.decode()
    for name in ("registered", "finished", "solved", "open", "overdue"):
        assert _number(html, f"fig-{name}") == expected[name], name


def test_dashboard__season__the_figures_a_leader_expects(season: Season, wo: OrderWorld) -> None:
    scope = sel.dashboard_scope(user=wo.fresh(wo.leader))
    figures = sel.headline(scope=scope, period=periods.parse("12m"))
    # Six registered; three finished (September's two, November's unrated one); one solved:
    # the complaint rated partly solved is not, nor the one not rated yet.
    assert (figures.registered, figures.finished, figures.solved) == (6, 3, 1)
    assert (figures.open, figures.overdue, figures.supervised) == (3, 1, 1)
    september = sel.headline(scope=scope, period=periods.parse("2026-09"))
    assert (september.registered, september.finished, september.solved) == (2, 2, 1)


def test_dashboard__courtyards__every_courtyard_counted_and_linked(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    scope = sel.dashboard_scope(user=wo.fresh(wo.leader))
    rows = {r.label: r.figures for r in sel.place_breakdown(scope=scope, period=periods.rolling())}
    orders = list(WorkOrder.objects.all())
    for courtyard in (wo.world.courtyard_a, wo.world.courtyard_b):
        mine = [o for o in orders if o.courtyard_id == courtyard.pk]
        expected = _count(mine, periods.rolling())
        got = rows[courtyard.name]
        assert (got.open, got.overdue, got.registered, got.solved) == (
            expected["open"], expected["overdue"], expected["registered"], expected["solved"],
        )  # fmt: skip
    html = web_as(wo.fresh(wo.leader)).get("/dashboard/").content.decode()
    assert 'data-testid="dash-map"' in html
    b = wo.world.courtyard_b
    assert f'data-testid="cell-{b.code}" data-open="{rows[b.name].open}"' in html
    assert re.search(rf'data-testid="cell-{b.code}"[^>]*data-overdue="1"', html)
    assert f"courtyard={b.pk}" in html  # the courtyard's numbers link to its orders


def test_dashboard__every_number_links_to_its_orders(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    html = client.get("/dashboard/").content.decode()
    for name in ("registered", "finished", "solved", "open", "overdue", "supervised"):
        match = re.search(rf'<a href="([^"]+)" data-testid="fig-{name}"><strong>(\d+)<', html)
        assert match, name
        url = match.group(1).replace("&amp;", "&")
        listed = client.get(url)
        assert listed.status_code == 200, name
        assert listed.context["page"].paginator.count == int(match.group(2)), name
    link = re.search(r'<a href="([^"]+)" data-testid="fig-overdue"', html)
    assert link
    overdue = client.get(link.group(1).replace("&amp;", "&"))
    assert [o.pk for o in overdue.context["orders"]] == [season.overdue.pk]


def test_dashboard__escalations__this_week_from_the_events(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    html = client.get("/dashboard/").content.decode()
    # chased last week (Wednesday 18th), supervised this week (Tuesday 24th)
    assert _number(html, "esc-chase") == 0
    assert _number(html, "esc-supervise") == 1
    assert _number(html, "esc-rehandle") == 0
    assert season.overdue.reference in html
    link = re.search(r'<a href="([^"]+)" data-testid="esc-supervise"', html)
    assert link
    listed = client.get(link.group(1).replace("&amp;", "&"))
    assert [o.pk for o in listed.context["orders"]] == [season.overdue.pk]


def test_dashboard__committee__sees_its_area_only(
    season: Season, wo: OrderWorld, persona: Callable[[str], User]
) -> None:
    committee = persona("p-committee")
    scope = sel.dashboard_scope(user=committee)
    assert scope.roots == [wo.world.area.path]
    assert scope.map_place == wo.world.area
    assert [c.code for c in scope.courtyards] == ["t-court-a", "t-court-b"]


def test_dashboard__district_user__a_table_of_communities(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    from tests.factories import UserFactory

    district = Place.objects.get(code="t-district")
    second = place_create(
        actor="tests", parent=Place.objects.get(code="t-sub"), kind=PlaceKind.COMMUNITY,
        code="t-community-2", name="第二社区",
    )  # fmt: skip
    user = UserFactory(roles=[(Role.LEADER, district, None)])
    scope = sel.dashboard_scope(user=user)
    assert scope.wide
    rows = {r.label: r.figures for r in sel.place_breakdown(scope=scope, period=periods.rolling())}
    assert rows["测试社区"].registered == 6
    assert rows[second.name].registered == 0
    html = web_as(user).get("/dashboard/").content.decode()
    assert "第二社区" in html
    assert 'data-testid="dash-map"' not in html


# --- queries ------------------------------------------------------------------------------------


def _more_courtyards(wo: OrderWorld, n: int) -> None:
    area = wo.world.area
    for i in range(n):
        place_create(
            actor="tests", parent=area, kind=PlaceKind.COURTYARD, code=f"t-court-x{i}",
            name=f"X{i}院",
        )  # fmt: skip


def test_dashboard__queries__do_not_grow_with_courtyards(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:  # fmt: skip
    client = web_as(wo.fresh(wo.leader))
    client.get("/dashboard/")  # the session and the caches warm
    with django_assert_num_queries(QUERIES) as first:
        client.get("/dashboard/")
    _more_courtyards(wo, 6)
    with django_assert_num_queries(QUERIES):
        client.get("/dashboard/")
    assert first  # the block ran


QUERIES = 17


def test_orders_list__queries__do_not_grow_with_rows(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:  # fmt: skip
    client = web_as(wo.fresh(wo.leader))
    client.get("/dashboard/orders/")
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/dashboard/orders/")
    assert response.context["page"].paginator.count == 6
    for _ in range(4):
        wo.submit()
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/dashboard/orders/")
    assert response.context["page"].paginator.count == 10


LIST_QUERIES = 6


def test_dashboard__three_rates__from_the_records(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    """Two complaints of the season were rated: one solved and satisfied, one partly solved
    and fairly satisfied. Resolution 1 of 2, satisfaction 2 of 2 (fairly counts)."""
    from sanan.insights.services import insights_refresh

    insights_refresh()
    response = web_as(wo.fresh(wo.leader)).get("/dashboard/")
    rates = {r.code: r for r in response.context["rates"]}
    assert (rates["resolution_rate"].numerator, rates["resolution_rate"].denominator) == (1, 2)
    assert rates["resolution_rate"].value == 50.0
    assert (rates["satisfaction_rate"].numerator, rates["satisfaction_rate"].denominator) == (2, 2)
    assert rates["satisfaction_rate"].value == 100.0
    html = response.content.decode()
    assert 'data-testid="rate-resolution_rate"' in html
    assert "50.0%" in html
    chart = response.context["rates_chart"]
    september = chart["categories"].index("2026-09")
    assert chart["series"][1]["data"][september] == 50.0  # the resolution rate of September
