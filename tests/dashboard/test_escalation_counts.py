"""What escalated this week: each number opens the list of exactly that many orders. An order
chased twice this week is one order chased (the figure used to count the chases, 2, and open
a list of 1)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client

from sanan.accounts.models import User
from sanan.workorders import services
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


def test_dashboard__an_order_chased_twice_counts_once(
    wo: OrderWorld, clock: time_machine.Coordinates, web_as: Callable[[User], Client]
) -> None:
    twice = wo.drive(wo.submit(description="路灯不亮"), to="signed")
    once = wo.drive(wo.submit(description="井盖松动"), to="signed")
    for order in (twice, twice, once):
        services.work_order_chase(actor=wo.fresh(wo.dispatcher), order=wo.reload(order))
    client = web_as(wo.fresh(wo.leader))
    html = client.get("/dashboard/").content.decode()
    shown = re.search(r'<a href="([^"]+)" data-testid="esc-chase"><strong>(\d+)</strong>', html)
    assert shown is not None
    listed = client.get(shown.group(1).replace("&amp;", "&"))
    assert sorted(o.pk for o in listed.context["orders"]) == sorted([twice.pk, once.pk])
    assert int(shown.group(2)) == 2
