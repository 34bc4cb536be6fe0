"""Campaign pages and API, per role: the desk and leaders run campaigns, everyone else gets
404; figures, the burndown, the closing report (page and XLSX); pinned query counts."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest
from openpyxl import load_workbook

from sanan.accounts.models import User
from sanan.audit.models import AuditEvent
from sanan.campaigns import services
from sanan.campaigns.models import Campaign, CampaignOrder
from sanan.insights.services import insights_refresh
from sanan.workorders.state import State
from tests.campaigns.conftest import END, START, make_campaign
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("p-dispatcher", 200),
        ("p-leader", 200),
        ("p-admin", 200),
        ("p-committee", 200),  # sees the list (empty: their scope is the residential area)
        ("p-resident", 404),
        ("p-commissioner-a", 404),
        ("p-handler", 404),
        ("p-unitmember", 404),
        ("p-butler", 404),
    ],
)
def test_campaign_pages__per_role(
    wo: OrderWorld, running: Campaign, web_as: Callable, username: str, status: int
) -> None:
    user = User.objects.get(username=username)
    client = web_as(user)
    assert client.get("/campaigns/").status_code == status
    detail = client.get(f"/campaigns/{running.pk}/").status_code
    assert detail == (404 if username in {"p-committee"} else status)
    api = client.get(f"/api/v1/campaigns/{running.pk}/").status_code
    assert api == (404 if username in {"p-committee"} else status)


def test_campaign_page__shows_figures_and_burndown(
    wo: OrderWorld, running: Campaign, web_as
) -> None:  # type: ignore[no-untyped-def]
    wo.order_in(State.CALLBACK)
    services.campaign_links_sync(campaign=running)
    insights_refresh()  # the worker's minute: the figures read the order facts
    page = web_as(wo.fresh(wo.dispatcher)).get(f"/campaigns/{running.pk}/")
    html = page.content.decode()
    assert 'data-testid="burndown"' in html
    assert (
        "1 of 4 problems solved" in html or "已解决 1" in html or "1 / 4" in html or ">1<" in html
    )
    assert page.context["progress"].solved == 1


def test_campaign_list__queries_do_not_grow(
    wo: OrderWorld,
    running: Campaign,
    web_as,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    client.get("/campaigns/")  # warm the session
    with django_assert_max_num_queries(12) as one:
        client.get("/campaigns/")
    for i in range(3):
        make_campaign(wo, title=f"每月一题 {i}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/campaigns/")


def test_campaign_api__create_start_link_close(wo: OrderWorld, api_as) -> None:  # type: ignore[no-untyped-def]
    client = api_as(wo.fresh(wo.dispatcher))
    order = wo.submit()
    body = {
        "kind": "monthly_topic", "title": "十二月：路灯", "place": wo.community.pk,
        "categories": ["street_light"], "starts_on": START.isoformat(), "ends_on": END.isoformat(),
        "target_solved": 3, "owner_organisation": wo.housing.pk,
    }  # fmt: skip
    created = client.post("/api/v1/campaigns/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["state"] == "draft"
    bad = client.post("/api/v1/campaigns/", {**body, "ends_on": "2020-01-01"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "campaign.ends_before_start"
    started = client.post(f"/api/v1/campaigns/{pk}/start/")
    assert started.json()["progress"]["linked"] == 1
    again = client.post(f"/api/v1/campaigns/{pk}/start/")
    assert again.status_code == 409
    unlinked = client.post(
        f"/api/v1/campaigns/{pk}/orders/unlink/",
        {"order": order.pk, "reason": "重复"},
        format="json",
    )
    assert unlinked.status_code == 200
    assert unlinked.json()["active"] is False
    orders = client.get(f"/api/v1/campaigns/{pk}/orders/").json()
    assert [o["order"] for o in orders["results"]] == [order.pk]
    task = client.post(
        f"/api/v1/campaigns/{pk}/tasks/",
        {"title": "全面排查", "due_on": (START + dt.timedelta(days=5)).isoformat(),
         "owner_organisation": wo.housing.pk},
        format="json",
    )  # fmt: skip
    assert task.status_code == 201
    done = api_as(wo.fresh(wo.handler)).post(f"/api/v1/campaigns/tasks/{task.json()['id']}/done/")
    assert done.status_code == 200
    assert done.json()["done_at"]
    closed = client.post(f"/api/v1/campaigns/{pk}/close/", {"note": "完成"}, format="json")
    assert closed.json()["state"] == "closed"
    assert client.get(f"/api/v1/campaigns/{pk}/burndown/").status_code == 200
    outsider = api_as(wo.fresh(wo.commissioner_a))
    assert outsider.get(f"/api/v1/campaigns/{pk}/").status_code == 404
    assert outsider.post(f"/api/v1/campaigns/{pk}/close/").status_code == 404


def test_campaign_report__page_and_xlsx(wo: OrderWorld, running: Campaign, web_as) -> None:  # type: ignore[no-untyped-def]
    solved = wo.order_in(State.CALLBACK, description="路灯不亮，电话13912345678")
    services.campaign_links_sync(campaign=running)
    insights_refresh()
    client = web_as(wo.fresh(wo.leader))
    page = client.get(f"/campaigns/{running.pk}/report/")
    assert page.status_code == 200
    assert solved.reference in page.content.decode()
    response = client.get(f"/campaigns/{running.pk}/report.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    summary = {row[0]: row[1] for row in wb["汇总 Summary"].iter_rows(values_only=True)}
    assert summary["已解决 Solved"] == 1
    orders = list(wb["已解决工单 Solved orders"].iter_rows(values_only=True))
    assert orders[1][0] == solved.reference
    assert "13912345678" not in str(orders)
    assert AuditEvent.objects.filter(action="campaign.report_exported").exists()


def test_campaign_pages__desk_creates_starts_links_by_hand(wo: OrderWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(wo.fresh(wo.dispatcher))
    form = client.get("/campaigns/new/")
    assert form.status_code == 200
    posted = client.post("/campaigns/new/", {
        "kind": "tackling", "title": "百日攻坚", "place": wo.community.pk,
        "starts_on": START.isoformat(), "ends_on": END.isoformat(), "target_solved": 5,
        "owner_organisation": wo.housing.pk,
    })  # fmt: skip
    assert posted.status_code == 302
    campaign = Campaign.objects.get(title="百日攻坚")
    refused = client.post("/campaigns/new/", {
        "kind": "tackling", "title": "坏", "place": wo.community.pk,
        "starts_on": END.isoformat(), "ends_on": START.isoformat(), "target_solved": 5,
        "owner_organisation": wo.housing.pk,
    })  # fmt: skip
    assert refused.status_code == 400
    assert "cannot end before" in refused.content.decode() or "不能早于" in refused.content.decode()
    assert client.post(f"/campaigns/{campaign.pk}/start/").status_code == 302
    order = wo.submit(category=wo.waterlogging, answers={"depth_cm": 20}, description="积水")
    missing = client.post(f"/campaigns/{campaign.pk}/link/", {"order": order.pk, "reason": ""})
    assert missing.status_code == 400
    linked = client.post(f"/campaigns/{campaign.pk}/link/", {"order": order.pk, "reason": "顺带"})
    assert linked.status_code == 302
    assert CampaignOrder.objects.filter(campaign=campaign, order=order, active=True).exists()
    assert web_as(wo.fresh(wo.handler)).post(f"/campaigns/{campaign.pk}/start/").status_code == 404
