"""The campaign page lists every linked order: a campaign with more linked orders than fit on
the page says how many there are and pages through them (it used to stop at 200 silently,
under a figure saying 206)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from sanan.campaigns import services, views
from sanan.campaigns.models import Campaign, CampaignOrder
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


def test_campaign_page__orders_counted_and_paged(
    wo: OrderWorld, running: Campaign, web_as: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "ORDERS_PER_PAGE", 2)
    desk = wo.fresh(wo.dispatcher)
    orders = [wo.submit(description=f"第{n}个问题") for n in range(5)]
    services.campaign_links_sync(campaign=running)  # those in the scope
    for order in orders:
        if not CampaignOrder.objects.filter(campaign=running, order=order).exists():
            services.campaign_order_link(
                actor=desk, campaign=running, order=order, reason="手动纳入"
            )
    linked = CampaignOrder.objects.filter(campaign=running, active=True).count()
    assert linked >= 5
    client = web_as(desk)
    seen: list[str] = []
    page, pages = 1, None
    while True:
        html = client.get(f"/campaigns/{running.pk}/?page={page}").content.decode()
        count = re.search(r'data-testid="order-count"[^>]*>\s*(\d+)', html)
        assert count is not None
        assert int(count.group(1)) == linked
        table = re.search(r'data-testid="orders".*?</table>', html, re.S)
        assert table is not None
        seen += re.findall(r"/orders/(\d+)/", table.group(0))
        if 'data-testid="next-page"' not in html:
            break
        page += 1
        pages = page
    assert pages == (linked + 1) // 2
    assert len(seen) == len(set(seen)) == linked
