"""Duplicates: similar open orders of the same courtyard and category family are offered at
intake; the desk merges them into a parent; the children's reporters follow the parent and
get its public updates through the outbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.audit.models import AuditEvent
from sanan.core.errors import DomainError
from sanan.workorders import services
from sanan.workorders.duplicates import (
    SIMILARITY_THRESHOLD,
    similarity,
    work_order_duplicates,
)
from sanan.workorders.models import (
    OutboxMessage,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderFollower,
)
from sanan.workorders.services import FOLLOWED_UPDATE
from sanan.workorders.state import State
from tests.workorders.world import OrderWorld

Client = Callable[[User], APIClient]

LAMP = "A1号门口的路灯不亮了"
SAME_LAMP = "A1号楼门口路灯坏了，晚上很黑"
OTHER_LAMP = "B区东侧的灯一直闪烁"
WATER = "家里停水了，水龙头没有水"


def test_similarity__same_problem_above_the_threshold_different_below() -> None:
    assert similarity(LAMP, SAME_LAMP) >= SIMILARITY_THRESHOLD
    assert similarity(LAMP, "A1号门口路灯不亮") >= 0.6
    assert similarity(LAMP, OTHER_LAMP) < SIMILARITY_THRESHOLD
    assert similarity(LAMP, WATER) < SIMILARITY_THRESHOLD
    assert similarity("Ａ１号　门口的，路灯不亮了！", LAMP) == 1.0  # width and punctuation
    assert similarity("", LAMP) == 0.0


def test_work_order__submit__offers_similar_open_orders_of_the_courtyard(wo: OrderWorld) -> None:
    first = wo.submit(description=LAMP)
    elsewhere = wo.submit(description=LAMP, place=wo.world.house_b)  # courtyard B
    other_kind = wo.submit(description=LAMP, category=wo.water_outage, answers={
        "since": "2026-11-25T08:00:00+08:00", "scope": "home"})  # fmt: skip
    unlike = wo.submit(description=WATER)
    closed = wo.order_in(State.ARCHIVED, description=LAMP)
    submitted = services.work_order_submit(
        actor=wo.fresh(wo.resident),
        channel="resident_form",
        category=wo.street_light,
        description=SAME_LAMP,
        place=wo.world.unit_a,
    )
    offered = [h.order.pk for h in submitted.duplicates]
    assert offered == [first.pk]
    assert {elsewhere.pk, other_kind.pk, unlike.pk, closed.pk, submitted.order.pk}.isdisjoint(
        offered
    )
    hint = submitted.duplicates[0]
    assert hint.same_category
    assert "%" in hint.reason
    assert SIMILARITY_THRESHOLD <= hint.score <= 1


def test_work_order_duplicates__scoped__at_most_five_most_similar_first(wo: OrderWorld) -> None:
    texts = [LAMP, SAME_LAMP, "A1号门口路灯不亮", "门口路灯不亮了", "A1号门口的路灯坏了",
             "A1号的路灯不亮了", "A1号门口的灯不亮了"]  # fmt: skip
    orders = [wo.submit(description=t) for t in texts]
    hints = work_order_duplicates(
        user=wo.fresh(wo.dispatcher),
        courtyard=wo.world.courtyard_a,
        category=wo.street_light,
        text=LAMP,
    )
    assert len(hints) == 5
    assert hints[0].order.pk == orders[0].pk  # the very same text
    assert [h.score for h in hints] == sorted((h.score for h in hints), reverse=True)
    # The other courtyard's commissioner sees none of them; the reporter sees their own.
    assert not work_order_duplicates(
        user=wo.fresh(wo.commissioner_b), courtyard=wo.world.courtyard_a,
        category=wo.street_light, text=LAMP,
    )  # fmt: skip
    theirs = wo.submit(actor=wo.commissioner_a, channel="discovery", description=LAMP)
    mine = work_order_duplicates(
        user=wo.fresh(wo.commissioner_a), courtyard=wo.world.courtyard_a,
        category=wo.street_light, text=LAMP,
    )  # fmt: skip
    assert theirs.pk in [h.order.pk for h in mine]


def test_duplicates_api__by_courtyard_category_and_text(wo: OrderWorld, api_as: Client) -> None:
    first = wo.submit(description=LAMP)
    wo.submit(description=WATER)
    url = "/api/v1/orders/duplicates/"
    params = {"courtyard": wo.world.courtyard_a.pk, "category": wo.street_light.pk}
    found = api_as(wo.dispatcher).get(url, {**params, "text": SAME_LAMP})
    assert found.status_code == 200
    assert [r["order"]["id"] for r in found.json()] == [first.pk]
    assert found.json()[0]["reason"]
    # Without text: every open order of the courtyard and category family.
    assert len(api_as(wo.dispatcher).get(url, params).json()) == 2
    bad = api_as(wo.dispatcher).get(url, {"courtyard": "x", "category": wo.street_light.pk})
    assert bad.status_code == 400
    assert bad.json()["code"] == "work_order.duplicates_query"
    assert api_as(wo.commissioner_b).get(url, {**params, "text": LAMP}).json() == []


def test_work_order__merge__children_archived_reporters_follow_and_get_updates(
    wo: OrderWorld, api_as: Client
) -> None:
    parent = wo.submit(description=LAMP)
    child = wo.submit(actor=wo.commissioner_a, channel="discovery", description=SAME_LAMP)
    caller = wo.submit(
        actor=wo.dispatcher, channel="hotline", description="A1号门口路灯不亮",
        contact_phone="13812345678",
    )  # fmt: skip
    response = api_as(wo.dispatcher).post(
        f"/api/v1/orders/{parent.pk}/merge/",
        {"children": [child.pk, caller.pk], "reason": "同一盏路灯"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    for merged in (child, caller):
        merged = wo.reload(merged)
        assert (merged.state, merged.parent_id) == (State.ARCHIVED, parent.pk)
        event = merged.events.get(action="merge")
        assert (event.from_state, event.to_state) == (State.REGISTERED, State.ARCHIVED)
        assert event.data["parent"] == parent.pk
    assert AuditEvent.objects.filter(action="work_order.merge").count() == 2
    # The commissioner (an account) follows in the inbox; the caller by text message.
    followers = WorkOrderFollower.objects.filter(order=parent)
    assert {(f.user_id, f.via_order_id, f.reason) for f in followers} == {
        (wo.commissioner_a.pk, None, "merged"),
        (None, caller.pk, "merged"),
    }
    assert parent.events.filter(action="note", data__merged=[child.pk, caller.pk]).exists()

    # A public update of the parent reaches the followers; an internal note does not.
    services.work_order_note(actor=wo.fresh(wo.dispatcher), order=wo.reload(parent),
                             internal_note="内部：联系电工")  # fmt: skip
    assert not OutboxMessage.objects.filter(template=FOLLOWED_UPDATE).exists()
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=wo.reload(parent), lead_organisation=wo.housing
    )
    messages = OutboxMessage.objects.filter(template=FOLLOWED_UPDATE)
    assert {(m.channel, m.recipient_user_id, m.order_id) for m in messages} == {
        ("inbox", wo.commissioner_a.pk, parent.pk),
        ("sms", None, caller.pk),  # the deliverer reads the caller's phone from this order
    }
    assert all(m.payload["order"] == parent.pk for m in messages)
    assert all("13812345678" not in str(m.payload) for m in messages)
    # The parent's own reporter is told as reporter, not once more as a follower.
    assert not messages.filter(recipient_user_id=wo.resident.pk).exists()


def test_work_order__merge__desk_only(wo: OrderWorld, api_as: Client) -> None:
    parent, child = wo.submit(description=LAMP), wo.submit(description=SAME_LAMP)
    for user in (wo.handler, wo.commissioner_a, wo.leader):
        response = api_as(user).post(
            f"/api/v1/orders/{parent.pk}/merge/", {"children": [child.pk]}, format="json"
        )
        assert response.status_code in (403, 404), user
    refused = api_as(wo.commissioner_a).post(
        f"/api/v1/orders/{parent.pk}/merge/", {"children": [child.pk]}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "work_order.forbidden")
    hidden = api_as(wo.commissioner_b).post(
        f"/api/v1/orders/{parent.pk}/merge/", {"children": [child.pk]}, format="json"
    )
    assert hidden.status_code == 404
    assert wo.reload(child).state == State.REGISTERED


def test_work_order__merge__refusals_leave_nothing(wo: OrderWorld) -> None:
    parent = wo.submit(description=LAMP)
    finished = wo.order_in(State.FINISHED, description=SAME_LAMP)
    fresh = wo.submit(description=SAME_LAMP)
    desk = wo.fresh(wo.dispatcher)
    before = (WorkOrderEvent.objects.count(), AuditEvent.objects.count())

    with pytest.raises(DomainError) as caught:  # one child may not be merged: none is
        services.work_order_merge(actor=desk, parent=parent, children=[fresh, finished])
    assert (caught.value.status_code, caught.value.code) == (409, "work_order.illegal_transition")
    with pytest.raises(DomainError) as caught:
        services.work_order_merge(actor=desk, parent=parent, children=[parent])
    assert caught.value.code == "work_order.merge_into_itself"
    with pytest.raises(DomainError) as caught:
        services.work_order_merge(actor=desk, parent=parent, children=[])
    assert caught.value.code == "work_order.merge_needs_children"
    with pytest.raises(DomainError) as caught:
        services.work_order_merge(actor=desk, parent=finished, children=[fresh])
    assert (caught.value.status_code, caught.value.code) == (409, "work_order.merge_parent_closed")

    assert (WorkOrderEvent.objects.count(), AuditEvent.objects.count()) == before
    assert wo.reload(fresh).state == State.REGISTERED
    assert WorkOrder.objects.filter(parent__isnull=False).count() == 0


def test_work_order__merge__grandchildren_and_followers_move_to_the_new_parent(
    wo: OrderWorld,
) -> None:
    top, middle, leaf = (wo.submit(description=t) for t in (LAMP, SAME_LAMP, "A1号门口路灯不亮"))
    desk = wo.fresh(wo.dispatcher)
    services.work_order_follow(actor=wo.fresh(wo.commissioner_a), order=wo.reload(middle))
    services.work_order_merge(actor=desk, parent=wo.reload(middle), children=[wo.reload(leaf)])
    services.work_order_merge(actor=desk, parent=wo.reload(top), children=[wo.reload(middle)])
    assert wo.reload(leaf).parent_id == top.pk
    assert list(WorkOrderFollower.objects.filter(order=top).values_list("user_id", flat=True)) == [
        wo.commissioner_a.pk
    ]  # the resident reported all three: they are the reporter of the top, not a follower
    assert not WorkOrderFollower.objects.filter(order=middle).exists()


def test_work_order__follow_and_unfollow(wo: OrderWorld, api_as: Client) -> None:
    order = wo.submit(description=LAMP)
    url = f"/api/v1/orders/{order.pk}/"
    follow = api_as(wo.commissioner_a).post(f"{url}follow/")
    assert (follow.status_code, follow.json()) == (200, {"following": True})
    assert api_as(wo.commissioner_a).post(f"{url}follow/").status_code == 200  # idempotent
    assert WorkOrderFollower.objects.filter(order=order).count() == 1
    assert api_as(wo.commissioner_b).post(f"{url}follow/").status_code == 404
    services.work_order_note(actor=wo.fresh(wo.dispatcher), order=wo.reload(order),
                             public_note="已安排电工")  # fmt: skip
    assert (
        OutboxMessage.objects.filter(
            template=FOLLOWED_UPDATE, recipient_user=wo.commissioner_a
        ).count()
        == 1
    )
    unfollow = api_as(wo.commissioner_a).post(f"{url}unfollow/")
    assert (unfollow.status_code, unfollow.json()) == (200, {"following": False})
    assert not WorkOrderFollower.objects.filter(order=order).exists()
    assert AuditEvent.objects.filter(action__in=["work_order.followed",
                                                 "work_order.unfollowed"]).count() == 2  # fmt: skip
