"""The top hotspots proposed as the topic of the month: one step from the hotspots page (or the
API) to a draft campaign scoped to the category and the courtyards, next month, owned by the
community's committee."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.campaigns.models import Campaign, CampaignKind, CampaignState
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.triage.services import next_month
from tests.workorders.world import OrderWorld

Web = Callable[[User], Client]
Api = Callable[[User], APIClient]


@pytest.fixture
def hotspot(wo: OrderWorld) -> Organisation:
    """Three street-light orders in courtyard A this week, one water outage in B; the
    community's Party committee to own a campaign."""
    for text in ["A1号门口的路灯不亮了", "路面有个大坑", "楼道灯坏了"]:
        wo.submit(description=text)
    wo.submit(description="停水了", category=wo.water_outage, place=wo.world.house_b,
              answers={"since": "2026-11-25T08:00:00+08:00", "scope": "home"})  # fmt: skip
    return Organisation.objects.create(
        kind=OrganisationKind.PARTY_COMMITTEE,
        code="party-topic-test",
        name="社区党委",
        place=wo.world.community,
    )


def test_next_month__december_and_the_turn_of_the_year() -> None:
    assert next_month(dt.date(2026, 11, 25)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert next_month(dt.date(2026, 12, 31)) == (dt.date(2027, 1, 1), dt.date(2027, 1, 31))
    assert next_month(dt.date(2027, 1, 31)) == (dt.date(2027, 2, 1), dt.date(2027, 2, 28))


def test_topic__propose_from_the_hotspots_page__draft_campaign_in_one_step(
    wo: OrderWorld, hotspot: Organisation, web_as: Web
) -> None:
    client = web_as(wo.dispatcher)
    page = client.get(reverse("triage:hotspots"))
    html = page.content.decode()
    assert 'data-testid="triage-propose"' in html
    assert f'name="courtyard" value="{wo.world.courtyard_a.pk}"' in html

    answer = client.post(
        reverse("triage:hotspots-propose"),
        {"category": "infrastructure", "courtyard": [wo.world.courtyard_a.pk], "weeks": 4},
    )
    campaign = Campaign.objects.get(kind=CampaignKind.MONTHLY_TOPIC)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("campaigns:detail", kwargs={"pk": campaign.pk})
    assert campaign.state == CampaignState.DRAFT
    assert campaign.place == wo.world.community
    assert (campaign.starts_on, campaign.ends_on) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert list(campaign.categories.values_list("code", flat=True)) == ["infrastructure"]
    assert list(campaign.places.all()) == [wo.world.courtyard_a]
    assert campaign.target_solved == 3  # the hotspot's orders, counted again by the server
    assert campaign.owner_organisation == hotspot
    assert campaign.owner == wo.dispatcher
    shown = client.get(answer["Location"])
    assert shown.status_code == 200
    assert campaign.title in shown.content.decode()

    again = client.post(
        reverse("triage:hotspots-propose"),
        {"category": "infrastructure", "courtyard": [wo.world.courtyard_a.pk], "weeks": 4},
        follow=True,
    )
    assert Campaign.objects.filter(kind=CampaignKind.MONTHLY_TOPIC).count() == 1
    assert "下月已提出这个题目" in again.content.decode()  # already proposed


def test_topic__propose_page__not_a_hotspot_and_who_may(
    wo: OrderWorld, hotspot: Organisation, web_as: Web
) -> None:
    url = reverse("triage:hotspots-propose")
    form = {"category": "utilities", "courtyard": [wo.world.courtyard_a.pk]}  # not a hotspot
    answer = web_as(wo.dispatcher).post(url, form, follow=True)
    assert "该项已不在热点之列" in answer.content.decode()  # no longer among the hotspots
    assert web_as(wo.resident).post(url, form).status_code == 404
    assert web_as(wo.commissioner_a).post(url, form).status_code == 404
    assert web_as(wo.dispatcher).get(url).status_code == 405
    assert not Campaign.objects.filter(kind=CampaignKind.MONTHLY_TOPIC).exists()


def test_topic__api__hotspots_then_propose_then_conflict(
    wo: OrderWorld, hotspot: Organisation, api_as: Api
) -> None:
    client = api_as(wo.dispatcher)
    listed = client.get("/api/v1/triage/hotspots/?weeks=4")
    assert listed.status_code == 200
    proposal = listed.json()["proposals"][0]
    assert proposal == {
        "category": "infrastructure",
        "category_name": proposal["category_name"],
        "courtyards": [wo.world.courtyard_a.pk],
        "count": 3,
        "previous": 0,
    }
    body = {"category": proposal["category"], "courtyards": proposal["courtyards"]}
    made = client.post("/api/v1/triage/hotspots/propose/", body, format="json")
    assert made.status_code == 201, made.content
    data = made.json()
    assert data["state"] == "draft"
    assert (data["starts_on"], data["ends_on"]) == ("2026-12-01", "2026-12-31")
    assert data["categories"] == ["infrastructure"]
    assert data["places"] == [wo.world.courtyard_a.pk]
    assert data["target_solved"] == 3
    assert Campaign.objects.get(pk=data["id"]).kind == CampaignKind.MONTHLY_TOPIC

    again = client.post("/api/v1/triage/hotspots/propose/", body, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "topic.already_proposed"


def test_topic__api__refusals(wo: OrderWorld, api_as: Api) -> None:
    for text in ["A1号门口的路灯不亮了", "路面有个大坑"]:
        wo.submit(description=text)
    body = {"category": "infrastructure", "courtyards": [wo.world.courtyard_a.pk]}
    url = "/api/v1/triage/hotspots/propose/"
    no_owner = api_as(wo.dispatcher).post(url, body, format="json")
    assert no_owner.status_code == 400
    assert no_owner.json()["code"] == "topic.no_owner"
    assert api_as(wo.resident).post(url, body, format="json").status_code == 404
    assert api_as(wo.commissioner_a).get("/api/v1/triage/hotspots/").status_code == 404
    bad = api_as(wo.dispatcher).post(url, {"category": "x", "courtyards": []}, format="json")
    assert bad.status_code == 400
    assert not Campaign.objects.exists()
