"""Calls and the knowledge base through the services: outcomes, first-contact resolution, work
orders through the work-order loop, call-backs, and personal numbers never stored readable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from sanan.core.errors import DomainError, PermissionDenied
from sanan.hotline import selectors, services
from sanan.hotline.models import CallRecord, KnowledgeEntry
from sanan.workorders.models import Channel, WorkOrder
from tests.hotline.conftest import ID_NUMBER, PHONE, Desk


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def test_call__answered_from_knowledge__resolved_at_first_contact(desk: Desk) -> None:
    wo = desk.wo
    call = services.call_record(
        actor=wo.fresh(wo.dispatcher),
        call_type="consultation",
        summary="问垃圾几点收",
        outcome="answered",
        place=wo.world.courtyard_a,
        phone=PHONE,
        resident=desk.caller,
        knowledge=desk.garbage,
        duration_seconds=75,
    )
    call = CallRecord.objects.get(pk=call.pk)
    assert call.resolved_first_contact is True
    assert call.knowledge == desk.garbage
    assert call.courtyard == wo.world.courtyard_a
    assert call.caller_phone_masked == "137****5678"
    assert PHONE not in _raw("hotline_callrecord", "caller_phone_encrypted", call.pk)
    found = CallRecord.objects.filter(caller_phone_index=services.caller_phone_index(PHONE))
    assert list(found) == [call]
    assert (
        selectors.knowledge_search(user=wo.dispatcher, text="垃圾").get(pk=desk.garbage.pk).uses
        == 1
    )


def test_call__summary_with_phone_and_id_number__masked_in_the_database(desk: Desk) -> None:
    wo = desk.wo
    call = services.call_record(
        actor=wo.dispatcher,
        call_type="help",
        summary=f"老人身份证{ID_NUMBER}，儿子电话 138-0000-1234，请回电",
        outcome="callback",
        place=wo.world.courtyard_a,
        callback_due_at=dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC),
    )
    raw = _raw("hotline_callrecord", "summary", call.pk)
    assert ID_NUMBER not in raw
    assert "13800001234" not in raw
    assert "138-0000-1234" not in raw
    assert "511***********002X" in raw
    assert "138****1234" in raw


def test_knowledge__answer_with_phone__masked_in_the_database(desk: Desk) -> None:
    entry = services.knowledge_save(
        actor=desk.wo.dispatcher,
        place=desk.wo.community,
        question="物业电话？",
        answer="请打物业王经理手机13912345678",
    )
    raw = _raw("hotline_knowledgeentry", "answer", entry.pk)
    assert "13912345678" not in raw
    assert "139****5678" in raw


def test_call__work_order__registered_through_the_loop_with_caller_as_contact(desk: Desk) -> None:
    wo = desk.wo
    before = WorkOrder.objects.count()
    call = services.call_record(
        actor=wo.dispatcher,
        call_type="report",
        summary="A院1号楼道灯坏了，电话13712345678",
        outcome="work_order",
        place=wo.world.courtyard_a,
        phone=PHONE,
        resident=desk.caller,
        category=wo.street_light,
    )
    assert WorkOrder.objects.count() == before + 1
    order = WorkOrder.objects.get(pk=call.work_order_id)
    assert order.channel == Channel.HOTLINE
    assert order.category == wo.street_light
    assert order.contact_phone_masked == "137****5678"
    assert order.contact_name == "李大爷"
    assert PHONE not in order.description
    assert "137****5678" in order.description
    assert call.resolved_first_contact is False


def test_call__work_order_refused__nothing_written(desk: Desk) -> None:
    wo = desk.wo
    with pytest.raises(DomainError) as caught:
        services.call_record(
            actor=wo.dispatcher,
            call_type="report",
            summary="路灯坏了",
            outcome="work_order",
            place=wo.world.courtyard_a,
        )
    assert caught.value.code == "call.category_required"
    assert CallRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("outcome", "code"),
    [("answered", "call.knowledge_required"), ("callback", "call.callback_due_required")],
)
def test_call__outcome_needs_its_detail(desk: Desk, outcome: str, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        services.call_record(
            actor=desk.wo.dispatcher,
            call_type="consultation",
            summary="问事情",
            outcome=outcome,
            place=desk.wo.world.courtyard_a,
        )
    assert caught.value.code == code


def test_call__retired_answer__refused(desk: Desk) -> None:
    services.knowledge_retire(actor=desk.wo.dispatcher, entry=desk.water)
    with pytest.raises(DomainError) as caught:
        services.call_record(
            actor=desk.wo.dispatcher,
            call_type="consultation",
            summary="问停水",
            outcome="answered",
            place=desk.wo.world.courtyard_a,
            knowledge=KnowledgeEntry.objects.get(pk=desk.water.pk),
        )
    assert caught.value.code == "call.knowledge_retired"
    assert not selectors.knowledge_search(user=desk.wo.dispatcher, text="停水").exists()


def test_call__commissioner__cannot_take_calls(desk: Desk) -> None:
    with pytest.raises((PermissionDenied, Exception)) as caught:
        services.call_record(
            actor=desk.wo.commissioner_a,
            call_type="consultation",
            summary="问事情",
            outcome="noted",
            place=desk.wo.world.courtyard_a,
        )
    assert getattr(caught.value, "status_code", 404) in (403, 404)
    assert CallRecord.objects.count() == 0


def test_callbacks_due__listed_until_called_back(desk: Desk) -> None:
    wo = desk.wo
    later = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)
    sooner = dt.datetime(2026, 11, 25, 1, tzinfo=dt.UTC)  # before now: overdue
    a = services.call_record(
        actor=wo.dispatcher, call_type="help", summary="要回电A", outcome="callback",
        place=wo.world.courtyard_a, callback_due_at=later,
    )  # fmt: skip
    b = services.call_record(
        actor=wo.dispatcher, call_type="help", summary="要回电B", outcome="callback",
        place=wo.world.courtyard_b, callback_due_at=sooner,
    )  # fmt: skip
    due = selectors.callbacks_due(user=wo.dispatcher)
    assert [c.pk for c in due] == [b.pk, a.pk]
    assert [c.overdue for c in due] == [True, False]  # type: ignore[attr-defined]
    services.call_callback_done(actor=wo.dispatcher, call=b, note="已回电，电话13712345678")
    assert [c.pk for c in selectors.callbacks_due(user=wo.dispatcher)] == [a.pk]
    assert PHONE not in _raw("hotline_callrecord", "callback_note", b.pk)
    with pytest.raises(DomainError) as caught:
        services.call_callback_done(actor=wo.dispatcher, call=CallRecord.objects.get(pk=b.pk))
    assert caught.value.code == "call.no_callback_due"


def test_knowledge_search__substring_over_question_answer_and_keywords(desk: Desk) -> None:
    user = desk.wo.dispatcher
    assert [e.pk for e in selectors.knowledge_search(user=user, text="倒垃圾")] == [desk.garbage.pk]
    assert [e.pk for e in selectors.knowledge_search(user=user, text="公告栏")] == [desk.water.pk]
    assert [e.pk for e in selectors.knowledge_search(user=user, text="垃圾 大件")] == [
        desk.garbage.pk
    ]
    assert not selectors.knowledge_search(user=user, text="垃圾 停水").exists()
    assert selectors.knowledge_search(user=desk.wo.commissioner_a, text="").count() == 0
