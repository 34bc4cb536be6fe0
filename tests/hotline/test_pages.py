"""The desk as a call-taker uses it: recognise the caller, note the call, answer it from the
knowledge base or turn it into an order; call-backs, knowledge pages, statistics; scope."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from django.test import Client

from sanan.accounts.models import User
from sanan.hotline import services
from sanan.hotline.models import CallRecord, KnowledgeEntry, Outcome
from sanan.workorders.models import WorkOrder
from tests.hotline.conftest import PHONE, Desk

Web = Callable[[User], Client]


def _post_call(client: Client, desk: Desk, **data: object) -> object:
    page = client.get("/hotline/")
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode())
    body: dict[str, object] = {
        "phone": PHONE,
        "call_type": "consultation",
        "summary": "问垃圾几点收",
        "place": desk.wo.world.courtyard_a.pk,
        "idempotency_key": key.group(1) if key else "",
    }
    body |= data
    return client.post("/hotline/", body)


def test_desk__shows_the_shortcuts_and_the_end_buttons(desk: Desk, web_as: Web) -> None:
    page = web_as(desk.wo.dispatcher).get("/hotline/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="shortcuts"' in html
    assert "hl-shortcuts" in html
    for outcome in ("answered", "work_order", "callback", "noted"):
        assert f'id="end-{outcome}"' in html
    assert 'id="hl-suggestion"' in html  # where the category suggestion goes


def test_desk__caller_recognised_from_the_number_in_any_spelling(desk: Desk, web_as: Web) -> None:
    client = web_as(desk.wo.dispatcher)
    order = desk.wo.submit(
        actor=desk.wo.dispatcher, channel="hotline", description="楼道灯坏了", contact_phone=PHONE
    )
    part = client.post("/hotline/caller/", {"phone": "+86 137 1234 5678"}).content.decode()
    assert 'data-testid="caller-recognised"' in part
    assert "李大爷" in part
    assert "A院" in part
    assert order.reference in part
    assert f'value="{desk.caller.pk}"' in part
    assert PHONE not in part
    assert "137****5678" in part


def test_desk__answered_from_knowledge_base__recorded_and_resolved(desk: Desk, web_as: Web) -> None:
    client = web_as(desk.wo.dispatcher)
    hits = client.get("/hotline/answers/", {"kb_q": "倒垃圾"}).content.decode()
    assert desk.garbage.question in hits
    assert desk.water.question not in hits
    response = _post_call(
        client, desk, outcome="answered", knowledge=desk.garbage.pk, resident=desk.caller.pk
    )
    assert response.status_code == 302, response.content.decode()[:2000]  # type: ignore[attr-defined]
    call = CallRecord.objects.get()
    assert call.outcome == Outcome.ANSWERED
    assert call.resolved_first_contact
    assert call.resident_id == desk.caller.pk
    assert call.knowledge_id == desk.garbage.pk
    assert call.taker_id == desk.wo.dispatcher.pk


def test_desk__turned_into_a_work_order(desk: Desk, web_as: Web) -> None:
    client = web_as(desk.wo.dispatcher)
    before = WorkOrder.objects.count()
    response = _post_call(
        client,
        desk,
        call_type="report",
        summary="楼道灯坏了好几天",
        outcome="work_order",
        category=desk.wo.street_light.pk,
        resident=desk.caller.pk,
    )
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert WorkOrder.objects.count() == before + 1
    call = CallRecord.objects.get()
    assert call.work_order is not None
    assert call.work_order.channel == "hotline"
    follow = client.get("/hotline/")
    assert call.work_order.reference in follow.content.decode()


def test_desk__order_without_category__form_says_so_and_keeps_the_text(
    desk: Desk, web_as: Web
) -> None:
    response = _post_call(
        web_as(desk.wo.dispatcher), desk, summary="楼道灯坏了好几天", outcome="work_order"
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    html = response.content.decode()  # type: ignore[attr-defined]
    assert 'data-testid="form-error"' in html
    assert "楼道灯坏了好几天" in html
    assert CallRecord.objects.count() == 0


def test_callbacks_page__due_then_called_back(desk: Desk, web_as: Web) -> None:
    client = web_as(desk.wo.dispatcher)
    response = _post_call(
        client, desk, outcome="callback", summary="问低保政策，需要查一下再回电",
        callback_due_at="2026-11-26T09:00",
    )  # fmt: skip
    assert response.status_code == 302  # type: ignore[attr-defined]
    call = CallRecord.objects.get()
    assert 'data-testid="called-back"' in client.get(f"/hotline/calls/{call.pk}/").content.decode()
    assert '<strong class="hl-count">1</strong>' in client.get("/hotline/").content.decode()
    page = client.get("/hotline/callbacks/").content.decode()
    assert page.count('data-testid="callback-row"') == 1
    assert "137****5678" in page
    client.post(f"/hotline/calls/{call.pk}/called-back/", {"note": "已告知"})
    page = client.get("/hotline/callbacks/").content.decode()
    assert 'data-testid="callbacks-empty"' in page


def test_knowledge_pages__create_edit_retire(desk: Desk, web_as: Web) -> None:
    client = web_as(desk.wo.dispatcher)
    response = client.post(
        "/hotline/knowledge/new/",
        {"question": "老年证怎么办？", "answer": "带身份证和照片到社区服务站办理。",
         "keywords": "老年证", "place": desk.wo.community.pk},
    )  # fmt: skip
    assert response.status_code == 302
    entry = KnowledgeEntry.objects.get(question="老年证怎么办？")
    client.post(
        f"/hotline/knowledge/{entry.pk}/",
        {"question": "老年优待证怎么办？", "answer": entry.answer, "place": desk.wo.community.pk},
    )
    assert "老年优待证怎么办？" in client.get("/hotline/knowledge/", {"q": "优待"}).content.decode()
    client.post(f"/hotline/knowledge/{entry.pk}/retire/")
    assert "老年优待证" not in client.get("/hotline/answers/", {"kb_q": "老年"}).content.decode()
    assert KnowledgeEntry.objects.get(pk=entry.pk).active is False


def test_scope__pages_not_found_outside(desk: Desk, web_as: Web) -> None:
    outside = services.call_record(
        actor=desk.wo.admin,
        call_type="consultation",
        summary="别的社区的来电",
        outcome="noted",
        place=desk.wo.world.city,
    )
    dispatcher = web_as(desk.wo.dispatcher)
    assert dispatcher.get(f"/hotline/calls/{outside.pk}/").status_code == 404
    assert "别的社区的来电" not in dispatcher.get("/hotline/calls/").content.decode()
    commissioner = web_as(desk.wo.commissioner_a)
    for url in ("/hotline/", "/hotline/callbacks/", "/hotline/knowledge/", "/hotline/statistics/"):
        assert commissioner.get(url).status_code == 404, url
    assert commissioner.get(f"/hotline/knowledge/{desk.garbage.pk}/").status_code == 404
    leader = web_as(desk.wo.leader)
    assert leader.get("/hotline/statistics/").status_code == 200
    assert leader.get("/hotline/").status_code == 404  # reads the figures, takes no calls


def test_statistics__trend_computed_from_the_records(desk: Desk, web_as: Web) -> None:
    wo = desk.wo

    def calls(n: int, year: int, month: int, courtyard: object) -> None:
        for i in range(n):
            services.call_record(
                actor=wo.dispatcher, call_type="report", summary="来电", outcome="noted",
                place=courtyard, category=wo.street_light,  # type: ignore[arg-type]
                started_at=dt.datetime(year, month, 3 + i, 10, tzinfo=dt.UTC),
            )  # fmt: skip

    calls(4, 2025, 11, wo.world.courtyard_a)
    calls(3, 2026, 10, wo.world.courtyard_a)
    calls(1, 2026, 11, wo.world.courtyard_a)
    calls(1, 2026, 11, wo.world.courtyard_b)
    from sanan.hotline.selectors import hotline_trend

    trend = hotline_trend(user=wo.dispatcher, months=12)
    nov = trend.figures[-1]
    assert nov.month == dt.date(2026, 11, 1)
    assert nov.so_far
    assert not trend.figures[-2].so_far
    assert (nov.calls, nov.previous_month, nov.previous_year) == (2, 3, 4)
    assert nov.mom == round((2 - 3) * 100 / 3, 1)
    assert nov.yoy == -50.0
    assert trend.figures[0].month == dt.date(2025, 12, 1)  # November 2025 only for the YoY
    [row] = trend.by_category
    assert row.total == 5
    yards = {r.label: r.total for r in trend.by_courtyard}
    assert yards == {"A院": 4, "B院": 1}
    page = web_as(wo.leader).get("/hotline/statistics/").content.decode()
    assert 'data-month="2026-11" data-calls="2"' in page
    assert 'data-month="2026-10" data-calls="3"' in page


def test_home__desk_link_for_the_dispatcher_trend_for_the_leader(desk: Desk, web_as: Web) -> None:
    assert 'data-testid="hotline-desk-link"' in web_as(desk.wo.dispatcher).get("/").content.decode()
    home = web_as(desk.wo.leader).get("/").content.decode()
    assert 'data-testid="hotline-statistics-link"' in home


def test_desk__enter_without_an_outcome__looks_up_and_saves_nothing(
    desk: Desk, web_as: Web
) -> None:
    response = _post_call(web_as(desk.wo.dispatcher), desk, outcome="", kb_q="停水")
    assert response.status_code == 200  # type: ignore[attr-defined]
    html = response.content.decode()  # type: ignore[attr-defined]
    assert 'data-testid="caller-recognised"' in html
    assert desk.water.question in html
    assert desk.garbage.question not in html
    assert "问垃圾几点收" in html  # what was typed stays
    assert CallRecord.objects.count() == 0


def test_desk__duration_from_the_first_key_to_the_end_of_the_call(desk: Desk, web_as: Web) -> None:
    # desk.js puts the browser's time of the first key typed (ISO, UTC) into started_at
    response = _post_call(
        web_as(desk.wo.dispatcher), desk, outcome="noted", started_at="2026-11-25T01:58:00.000Z"
    )
    assert response.status_code == 302  # type: ignore[attr-defined]
    call = CallRecord.objects.get()
    assert call.duration_seconds == 120
    assert call.started_at == dt.datetime(2026, 11, 25, 1, 58, tzinfo=dt.UTC)


def test_desk__an_unknown_number_shows_its_earlier_calls(desk: Desk, web_as: Web) -> None:
    services.call_record(
        actor=desk.wo.dispatcher, call_type="consultation", summary="问社保卡怎么补办",
        outcome="noted", place=desk.wo.community, phone="0833-2123456",
    )  # fmt: skip
    part = (
        web_as(desk.wo.dispatcher)
        .post("/hotline/caller/", {"phone": "0833 2123456"})
        .content.decode()
    )
    assert 'data-testid="caller-unknown"' in part
    assert 'data-testid="caller-earlier-call"' in part
    assert "问社保卡怎么补办" in part
    assert "2123456" not in part
