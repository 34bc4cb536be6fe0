"""The suggestion fragment and API (POST only, staff only, no 500 on any text), the routing
suggestion with its reason, and clusters of possible repeats across channels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.triage.selectors import (
    triage_duplicate_clusters,
    triage_hotspots,
    triage_monthly_volume,
    triage_route_suggestion,
)
from sanan.workorders import services
from sanan.workorders.models import Category
from sanan.workorders.routing import routing_rule_create
from tests.workorders.world import OrderWorld

Web = Callable[[User], Client]
Api = Callable[[User], APIClient]

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>{{ 7*7 }}\x00\u202e'


def test_triage__suggest_page__fragment_for_the_text(var_dir: Path, wo: OrderWorld,
                                                     web_as: Web) -> None:  # fmt: skip
    client = web_as(wo.dispatcher)
    url = reverse("triage:suggest")
    response = client.post(url, {"text": "楼道里的路灯坏了，黑黢黢的", "target": "id_category"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-code="infrastructure"' in html
    assert 'data-code="street_light"' in html
    street_light = Category.objects.get(code="street_light")
    assert f'data-category="{street_light.pk}"' in html
    assert str(street_light.name) in html
    no_form = client.post(url, {"text": "楼道里的路灯坏了"}).content.decode()
    assert "data-category=" not in no_form  # nothing to fill in: no "Use it" button


def test_triage__suggest_page__reads_an_intake_forms_fields(
    var_dir: Path, wo: OrderWorld, web_as: Web
) -> None:
    response = web_as(wo.dispatcher).post(
        reverse("triage:suggest"),
        {"title": "停水", "description": "从早上到现在一滴水都莫得", "target": "id_category"},
    )
    html = response.content.decode()
    assert 'data-code="utilities"' in html
    assert 'data-target="id_category"' in html
    assert "onclick" not in html  # the button works through triage.js, no inline script


def test_triage__suggest_page__post_only_for_those_who_register_requests(
    var_dir: Path, wo: OrderWorld, web_as: Web
) -> None:
    url = reverse("triage:suggest")
    assert web_as(wo.dispatcher).get(url, {"text": "路灯"}).status_code == 405
    assert web_as(wo.resident).post(url, {"text": "路灯坏了"}).status_code == 200
    assert web_as(wo.handler).post(url, {"text": "路灯坏了"}).status_code == 403
    assert web_as(wo.commissioner_a).post(url, {"text": "路灯坏了"}).status_code == 200
    anonymous = Client().post(url, {"text": "路灯坏了"})
    assert anonymous.status_code == 302


@pytest.mark.parametrize(
    "text", ["", "   ", "a", HOSTILE, "路灯" * 60_000, "\U0001f600" * 500, "13812345678"]
)
def test_triage__suggest_page__any_text_answers_without_error(
    var_dir: Path, wo: OrderWorld, web_as: Web, text: str
) -> None:
    response = web_as(wo.dispatcher).post(reverse("triage:suggest"), {"text": text})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "onerror=alert" not in html
    assert "13812345678" not in html
    if not text.strip():
        assert 'data-testid="triage-level1"' not in html


def test_triage__suggest_api__json_for_staff(var_dir: Path, wo: OrderWorld, api_as: Api) -> None:
    url = reverse("api:triage-suggest")
    response = api_as(wo.dispatcher).post(url, {"text": "家里停水了，从早上到现在都没得水"},
                                          format="json")  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["level1"]["code"] == "utilities"
    assert body["level1"]["id"] == Category.objects.get(code="utilities").pk
    assert body["level2"]["code"] == "water_outage"
    assert body["category_id"] == Category.objects.get(code="water_outage").pk
    assert next(a["code"] for a in body["alternatives"]) == "utilities"
    assert api_as(wo.dispatcher).get(url).status_code == 405


def test_triage__suggest_api__refusals_and_limits(var_dir: Path, wo: OrderWorld,
                                                  api_as: Api) -> None:  # fmt: skip
    url = reverse("api:triage-suggest")
    refused = api_as(wo.handler).post(url, {"text": "路灯坏了"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "triage.forbidden"
    assert APIClient().post(url, {"text": "路灯"}, format="json").status_code in (401, 403)
    huge = api_as(wo.dispatcher).post(url, {"text": "路" * 20_001}, format="json")
    assert huge.status_code == 400
    assert "text" in huge.json()["fields"]
    empty = api_as(wo.dispatcher).post(url, {"text": ""}, format="json")
    assert empty.status_code == 200
    assert empty.json()["level1"] is None
    missing = api_as(wo.dispatcher).post(url, {}, format="json")
    assert missing.status_code == 400
    hostile = api_as(wo.dispatcher).post(url, {"text": HOSTILE.replace("\x00", "")},
                                         format="json")  # fmt: skip
    assert hostile.status_code == 200
    assert "<script>" not in hostile.content.decode()
    nul = api_as(wo.dispatcher).post(url, {"text": HOSTILE}, format="json")
    assert nul.status_code == 400
    assert "text" in nul.json()["fields"]


# --- routing ------------------------------------------------------------------------------


def test_triage__route__rule_backstop_or_none_with_the_reason(wo: OrderWorld,
                                                              web_as: Web) -> None:  # fmt: skip
    infrastructure = Category.objects.get(code="infrastructure")
    road = Category.objects.get(code="road_damage")
    pests = Category.objects.get(code="pests")
    routing_rule_create(actor=wo.admin, place=wo.community, category=infrastructure,
                        lead_organisation=wo.urban, co_handlers=[wo.housing])  # fmt: skip
    yard = wo.world.courtyard_a
    ruled = triage_route_suggestion(user=wo.dispatcher, category=road, place=yard)
    assert ruled.automatic
    assert ruled.reason_code == "rule"
    assert ruled.lead == wo.urban
    assert ruled.co_handlers == [wo.housing]
    assert wo.urban.name in ruled.reason
    assert infrastructure.name in ruled.reason

    unruled = triage_route_suggestion(user=wo.dispatcher, category=pests, place=yard)
    if unruled.reason_code == "no_rule":
        assert unruled.lead is None
        assert pests.name in unruled.reason
        routing_rule_create(actor=wo.admin, place=wo.community, lead_organisation=wo.housing,
                            backstop=True)  # fmt: skip
        unruled = triage_route_suggestion(user=wo.dispatcher, category=pests, place=yard)
    assert unruled.reason_code == "backstop"
    assert not unruled.automatic
    assert unruled.lead is not None
    assert unruled.lead.name in unruled.reason

    page = web_as(wo.dispatcher).get(
        reverse("triage:route"), {"category": road.pk, "place": yard.pk}
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert wo.urban.name in html
    assert 'data-reason="rule"' in html
    empty = web_as(wo.dispatcher).get(reverse("triage:route"), {"category": "x"})
    assert empty.status_code == 200
    assert "data-reason" not in empty.content.decode()


def test_triage__route__desk_only_and_scoped(wo: OrderWorld, web_as: Web) -> None:
    road = Category.objects.get(code="road_damage")
    url = reverse("triage:route")
    params = {"category": road.pk, "place": wo.world.courtyard_a.pk}
    assert web_as(wo.dispatcher).get(url, params).status_code == 200
    assert web_as(wo.commissioner_a).get(url, params).status_code == 403  # seen, not the desk
    assert web_as(wo.commissioner_b).get(url, params).status_code == 404  # out of sight


# --- duplicate clusters -------------------------------------------------------------------


def test_triage__clusters__same_problem_across_channels(wo: OrderWorld, web_as: Web,
                                                        var_dir: Path) -> None:  # fmt: skip
    first = wo.submit(description="A1号门口的路灯不亮了")
    with time_machine.travel(dt.timedelta(hours=2)):
        call = services.work_order_submit(
            actor=wo.dispatcher, channel="hotline", category=wo.street_light,
            description="A1号楼门口路灯坏了，晚上很黑", place=wo.world.house_a,
            contact_name="王", contact_phone="13812345678",
        ).order  # fmt: skip
        wo.submit(description="家里停水了，水龙头没有水", category=wo.water_outage, answers={
            "since": "2026-11-25T08:00:00+08:00", "scope": "home"})  # fmt: skip
        wo.submit(description="A1号门口的路灯不亮了", place=wo.world.house_b)  # courtyard B
        wo.submit(description="B区东侧的灯一直闪烁")  # same kind, another problem

    clusters = triage_duplicate_clusters(user=wo.dispatcher)
    assert len(clusters) == 1
    cluster = clusters[0]
    assert [o.pk for o in cluster.orders] == [first.pk, call.pk]
    assert cluster.target.pk == first.pk
    assert [o.pk for o in cluster.to_merge] == [call.pk]
    assert cluster.across_channels
    assert cluster.channels == ["hotline", "resident_form"]
    assert cluster.score >= 0.3

    assert triage_duplicate_clusters(user=wo.dispatcher, days=14, threshold=0.99) == []
    assert triage_duplicate_clusters(user=wo.resident) == []  # no review right anywhere

    page = web_as(wo.dispatcher).get(reverse("triage:duplicates"))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="triage-cluster"') == 1
    assert f'data-target="{first.pk}"' in html
    assert "13812345678" not in html
    fragment = web_as(wo.dispatcher).get(reverse("triage:duplicates"), {"days": "1"},
                                         HTTP_HX_REQUEST="true")  # fmt: skip
    assert "<html" not in fragment.content.decode()
    assert 'id="triage-clusters"' in (fragment.content.decode())
    assert web_as(wo.resident).get(reverse("triage:duplicates")).status_code == 404
    desk = web_as(wo.dispatcher).get(reverse("triage:desk"))
    assert desk.status_code == 200
    assert 'data-testid="triage-cluster"' in desk.content.decode()


def test_triage__clusters__outside_the_window_are_not_joined(wo: OrderWorld) -> None:
    wo.submit(description="A1号门口的路灯不亮了")
    with time_machine.travel(dt.timedelta(days=20)):
        wo.submit(description="A1号门口的路灯不亮了")
        assert triage_duplicate_clusters(user=wo.dispatcher) == []
        assert len(triage_duplicate_clusters(user=wo.dispatcher, days=30)) == 1


# --- hotspots and trends ------------------------------------------------------------------


def test_triage__hotspots__courtyard_and_category_against_the_period_before(
    wo: OrderWorld, web_as: Web
) -> None:
    from tests.workorders.world import WEDNESDAY_10

    with time_machine.travel(WEDNESDAY_10 - dt.timedelta(weeks=5), tick=False):
        wo.submit(description="路灯坏了")  # the period before, and last month
    for text in ["A1号门口的路灯不亮了", "路面有个大坑", "楼道灯坏了"]:
        wo.submit(description=text)
    services.work_order_submit(
        actor=wo.dispatcher, channel="hotline", category=wo.water_outage,
        description="停水了", place=wo.world.house_b, contact_name="李",
        contact_phone="13912345678",
        answers={"since": "2026-11-25T08:00:00+08:00", "scope": "home"},
    )  # fmt: skip

    spots = triage_hotspots(user=wo.dispatcher, weeks=4)
    first = spots[0]
    assert (first.courtyard, first.category.code) == (wo.world.courtyard_a, "infrastructure")
    assert (first.count, first.previous, first.change) == (3, 1, 2)
    assert [(s.courtyard, s.category.code, s.count) for s in spots[1:]] == [
        (wo.world.courtyard_b, "utilities", 1)
    ]
    volume = triage_monthly_volume(user=wo.dispatcher)
    assert len(volume) == 12
    assert volume[-1].month == dt.date(2026, 11, 1)
    assert volume[-1].count == 4
    assert volume[-2].count == 1
    assert volume[-1].month_over_month == 300
    assert volume[-1].year_over_year is None
    hotline = triage_monthly_volume(user=wo.dispatcher, channel="hotline")
    assert hotline[-1].count == 1
    assert hotline[-2].count == 0

    page = web_as(wo.dispatcher).get(reverse("triage:hotspots"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-code="infrastructure"><strong>' in html
    assert f'<span data-courtyard="{wo.world.courtyard_a.pk}">' in html
    assert 'data-month="2026-11" data-count="4"' in html
    assert web_as(wo.resident).get(reverse("triage:hotspots")).status_code == 404
    assert web_as(wo.commissioner_a).get(reverse("triage:hotspots")).status_code == 404


def test_triage__clusters__page_queries_do_not_grow_with_clusters(
    wo: OrderWorld, web_as: Web
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = web_as(wo.dispatcher)
    url = reverse("triage:duplicates")
    wo.submit(description="A1号门口的路灯不亮了")
    wo.submit(description="A1号楼门口路灯坏了，晚上很黑")
    client.get(url)  # warm the session and the caches
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).content.decode().count('data-testid="triage-cluster"') == 1
    for yard in (wo.world.house_b,):
        wo.submit(description="B1号门口的路灯不亮了", place=yard)
        wo.submit(description="B1号楼门口路灯坏了，晚上很黑", place=yard)
    wo.submit(description="家里停水了，水龙头没有水", category=wo.water_outage,
              answers={"since": "2026-11-25T08:00:00+08:00", "scope": "home"})  # fmt: skip
    wo.submit(description="家里停水了，水龙头一滴水都没有", category=wo.water_outage,
              answers={"since": "2026-11-25T08:00:00+08:00", "scope": "home"})  # fmt: skip
    with CaptureQueriesContext(connection) as three:
        assert client.get(url).content.decode().count('data-testid="triage-cluster"') == 3
    assert len(three) == len(one)


def test_triage__intake_forms_and_hotline_desk__offer_the_suggestion(
    var_dir: Path, wo: OrderWorld, web_as: Web
) -> None:
    """The resident's phone form and the hotline desk (the call-taker's screen) ask for a
    suggestion as the problem is typed; "Use it" sets each form's own category control."""
    pages = [
        (wo.resident, reverse("workorders:new"), "#id_description", "category"),
        (wo.dispatcher, reverse("hotline:desk"), "#id_summary", "id_category"),
    ]
    for user, url, source, target in pages:
        response = web_as(user).get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'data-testid="triage-here"' in html, url
        assert f"from:{source}" in html, url
        assert f'"target": "{target}"' in html, url
        assert "triage/triage.js" in html, url
    # what the desk's box sends: the call's summary
    answer = web_as(wo.dispatcher).post(
        reverse("triage:suggest"),
        {"summary": "家里停水了，从早上到现在都没得水", "target": "id_category"},
    )
    assert 'data-code="utilities"' in answer.content.decode()
