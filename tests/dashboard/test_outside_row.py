"""The map's table has a row for the orders registered above the courtyards (a residential area
as a whole); its numbers open those orders, like every other row's (they were plain numbers):
open and overdue the dashboard's list, registered and solved the figures' list of the orders
counted."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from sanan.accounts.models import User
from sanan.insights.services import insights_refresh
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


def test_dashboard__outside_the_courtyards_row_opens_its_orders(
    wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    area = wo.world.area  # the residential area as a whole, above its courtyards
    above = [wo.submit(place=area, description=f"小区整体问题{n}") for n in range(2)]
    wo.submit(description="A院路灯")  # in a courtyard: not in that row
    insights_refresh()
    client = web_as(wo.fresh(wo.leader))
    html = client.get("/dashboard/").content.decode()
    row = re.search(r'<tr data-testid="row-outside".*?</tr>', html, re.S)
    assert row is not None
    links = re.findall(r'<a href="([^"]*)">(?:⚠ )?(\d+)</a>', row.group(0))
    assert len(links) == 4
    registered = None
    for href, number in links:
        assert href.startswith(("/dashboard/orders/?", "/insights/orders/?")), href
        listed = client.get(href.replace("&amp;", "&"))
        assert listed.context["page"].paginator.count == int(number), href
        if "kpi=orders_per_1000_residents" in href:
            registered = {o.pk for o in listed.context["page"].object_list}
    assert registered == {o.pk for o in above}
