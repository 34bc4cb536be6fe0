"""The dashboard reads maintained data: the period's counts follow the figures' refresh (a
rating weeks later moves them, exactly), and now's counts are read through the partial index
of open orders rather than the work-order table."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test import Client

from sanan.accounts.models import User
from sanan.dashboard import periods
from sanan.dashboard import selectors as sel
from sanan.insights.services import insights_refresh
from sanan.workorders import services
from tests.dashboard.scenario import Season, build_season
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def season(wo: OrderWorld, clock: time_machine.Coordinates) -> Season:
    return build_season(wo, clock)


def _shown(client: Client, name: str) -> tuple[int, str]:
    html = client.get("/dashboard/").content.decode()
    match = re.search(rf'<a href="([^"]+)" data-testid="fig-{name}"><strong>(\d+)<', html)
    assert match, name
    return int(match.group(2)), match.group(1).replace("&amp;", "&")


def test_dashboard__late_rating__counts_as_solved_after_the_refresh(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    assert _shown(client, "solved")[0] == 1
    services.work_order_callback(
        actor=wo.fresh(wo.resident), order=wo.reload(season.unrated), resolution="solved",
        satisfaction="satisfied",
    )  # fmt: skip
    # The figures lag the orders until the worker's next refresh (a minute at most) …
    assert _shown(client, "solved")[0] == 1
    insights_refresh()
    # … which counts the rating in the order's own month, and lists it behind the number.
    solved, url = _shown(client, "solved")
    assert solved == 2
    listed = client.get(url)
    assert {o.pk for o in listed.context["page"].object_list} == {
        season.solved.pk, season.unrated.pk,
    }  # fmt: skip
    assert _shown(client, "registered")[0] == 6  # a rating registers nothing
    insights_refresh()  # applying the same events again changes nothing
    assert _shown(client, "solved")[0] == 2


def _uses_board_index(sql: str, params: tuple[object, ...]) -> bool:
    """Whether the database can answer the query from the partial index of open orders:
    SQLite is told to use it (``INDEXED BY`` fails when the WHERE does not imply the index's
    condition); PostgreSQL, kept from the table, is asked which it chose."""
    table = '"workorders_workorder"'
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            forced = sql.replace(f"FROM {table}", f"FROM {table} INDEXED BY work_order_board", 1)
            try:
                cursor.execute("EXPLAIN QUERY PLAN " + forced, params)
            except OperationalError:  # "no query solution"
                return False
            return True
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "work_order_board" in "\n".join(str(row[0]) for row in cursor.fetchall())


def test_dashboard__now__counted_through_the_open_orders_index(
    season: Season, wo: OrderWorld
) -> None:
    scope = sel.dashboard_scope(user=wo.fresh(wo.leader))
    counts = sel._now_counts(season.fresh.created_at)
    headline = sel.open_orders(scope.roots).values("pk")
    per_courtyard = sel.open_orders(scope.roots).values("courtyard_id").annotate(**counts)
    for qs in (headline, per_courtyard):
        sql, params = qs.query.sql_with_params()
        assert _uses_board_index(sql, params), sql
    figures = sel.headline(scope=scope, period=periods.rolling())
    assert (figures.open, figures.overdue, figures.supervised) == (3, 1, 1)


def test_dashboard__courtyard_in_focus__its_neighbours_numbers_open_their_orders(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    a, b = wo.world.courtyard_a, wo.world.courtyard_b
    html = client.get(f"/dashboard/?place={a.pk}").content.decode()
    row = re.search(rf'<tr data-testid="row-{b.code}".*?</tr>', html, re.S)
    assert row is not None
    links = re.findall(r'<a href="([^"]*)">(?:⚠ )?(\d+)</a>', row.group(0))
    assert len(links) == 4
    assert int(links[2][1]) == 2  # B: the overdue order of October, the unrated of November
    for href, number in links:
        listed = client.get(href.replace("&amp;", "&"))
        assert listed.context["page"].paginator.count == int(number), href
