"""The big screen, the monthly report (page and workbook) and the public figures: what they
show, what they must never show (personal data), and who may open them."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from sanan.accounts.models import User
from sanan.dashboard.public import anonymise
from sanan.dashboard.reports import order_columns
from sanan.workorders.models import WorkOrder
from tests.dashboard.scenario import STORY_TEXT, Season, build_season
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


# The 12345 hotline's columns (工单编号, 受理时间, 来源渠道, 诉求类型, 诉求内容, 所属网格,
# 承办单位, 办理状态, 办结时间, 是否超期, 回访结果, 满意度), as the Chinese catalogue writes them.
def _columns(language: str) -> list[str]:
    with translation.override(language):
        return order_columns()


@pytest.fixture
def season(wo: OrderWorld, clock: time_machine.Coordinates) -> Season:
    return build_season(wo, clock)


def test_screen__refresh__only_the_live_part_and_no_personal_data(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    page = client.get("/dashboard/screen/").content.decode()
    assert 'hx-trigger="every 60s"' in page
    assert 'hx-preserve="true"' in page  # the charts stay, only their data is swapped
    fragment = client.get("/dashboard/screen/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment
    assert 'data-testid="screen-open"' in fragment
    for order in WorkOrder.objects.all():
        assert order.reference not in fragment
        assert order.description not in fragment
    for person in (wo.resident, wo.handler, wo.dispatcher):
        assert str(person) not in fragment
    assert "13812345678" not in fragment


def test_report__xlsx__12345_columns_masked_and_counted(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    client = web_as(wo.fresh(wo.leader))
    response = client.get("/dashboard/report/2026-09.xlsx", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    summary, orders = book.worksheets
    rows = list(orders.iter_rows(values_only=True))
    assert list(rows[0]) == _columns("zh-hans")
    september = {season.solved.reference, season.partly.reference}
    assert {r[0] for r in rows[1:]} == september  # the orders registered in September
    solved = next(r for r in rows[1:] if r[0] == season.solved.reference)
    assert "13812345678" not in solved[4]
    assert "138****5678" in solved[4]
    assert solved[5] == wo.world.courtyard_a.name
    with translation.override("zh-hans"):
        assert solved[9] == str(_("No"))
    summary_text = " ".join(
        str(v) for row in summary.iter_rows(values_only=True) for v in row if v is not None
    )
    assert wo.world.courtyard_a.name in summary_text
    assert wo.housing.name in summary_text


def test_report__page__prints_the_month(
    season: Season, wo: OrderWorld, web_as: Callable[[User], Client]
) -> None:
    response = web_as(wo.fresh(wo.leader)).get("/dashboard/report/2026-09/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "@page" not in html  # the print rules live in report.css
    assert "report.css" in html
    assert 'data-renderer="svg"' in html  # charts drawn as vectors for paper
    assert response.context["figures"].registered == 2
    assert "/dashboard/report/2026-09.xlsx" in html


def test_public__figures__without_signing_in_and_without_personal_data(
    season: Season, wo: OrderWorld, client: Client
) -> None:
    response = client.get(f"/public/figures/{wo.community.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    figures = response.context["figures"]
    assert figures.solved == 1  # the complaint whose call-back said solved (docs/kpis.md)
    stories = response.context["stories"]
    assert len(stories) == 1  # the one rated "satisfied"; the patrol's order is no story
    story = stories[0]
    assert story.courtyard == wo.world.courtyard_a.name
    for secret in ("13812345678", "A1号", "101室", "王阿姨", str(wo.resident)):
        assert secret not in html, secret
    assert "*阿姨" in story.problem
    assert "138****5678" in story.problem


def test_public__index__one_community_shows_its_figures(
    season: Season, wo: OrderWorld, client: Client
) -> None:
    from sanan.dashboard import public

    response = client.get("/public/figures/")
    assert response.status_code == 200
    communities = public.communities()
    if len(communities) == 1:  # the world's community alone: its figures at once
        assert response.context["community"] == wo.community
    else:  # the session's demo community is there too: a list to choose from
        assert wo.community in communities
        assert f"/public/figures/{wo.community.code}/" in response.content.decode()
    own = client.get(f"/public/figures/{wo.community.code}/")
    assert own.context["community"] == wo.community
    assert client.get("/public/figures/no-such-place/").status_code == 404


def test_public__anonymise__addresses_numbers_and_surnames() -> None:
    text = anonymise(STORY_TEXT)
    assert "A1号" not in text
    assert "101室" not in text
    assert "王阿姨" not in text
    assert "13812345678" not in text
    plate_and_door = anonymise("川L12345的车挡住5栋2单元门口，李师傅说")
    assert plate_and_door == "川L***45的车挡住****门口，*师傅说"
