"""Campaigns: creating, starting and closing; orders linked by scope (not on intake), by
hand with a reason, unlinked and kept out; tasks; progress and burndown from the records."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.http import Http404

from sanan.audit.models import AuditEvent
from sanan.campaigns import selectors, services
from sanan.campaigns.models import CampaignOrder, CampaignState
from sanan.core.errors import Conflict, DomainError, PermissionDenied
from sanan.insights.services import insights_refresh
from sanan.workorders.models import Category
from sanan.workorders.state import State
from tests.campaigns.conftest import END, START, make_campaign
from tests.workorders.world import WEDNESDAY_10, OrderWorld

pytestmark = pytest.mark.django_db


def _linked(campaign) -> set[int]:  # type: ignore[no-untyped-def]
    return set(
        CampaignOrder.objects.filter(campaign=campaign, active=True).values_list(
            "order_id", flat=True
        )
    )


def _water(wo: OrderWorld):  # type: ignore[no-untyped-def]
    return wo.submit(
        category=wo.water_outage, description="停水三天",
        answers={"since": "2026-11-25T08:00:00+08:00", "scope": "home"},
    )  # fmt: skip


def test_campaign__create__draft_with_audit(wo: OrderWorld, draft) -> None:  # type: ignore[no-untyped-def]
    assert draft.state == CampaignState.DRAFT
    assert AuditEvent.objects.filter(action="campaign.created", object_id=str(draft.pk)).exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"title": "  "}, "campaign.title_required"),
        ({"ends_on": START - dt.timedelta(days=1)}, "campaign.ends_before_start"),
        ({"target_solved": 0}, "campaign.target_required"),
        ({"target_resolution_percent": 120}, "campaign.rate_invalid"),
        ({"kind": "party"}, "campaign.unknown_kind"),
        ({"ends_on": START + dt.timedelta(days=400)}, "campaign.too_long"),
    ],
)
def test_campaign__create__refuses_bad_input(wo: OrderWorld, kwargs, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        make_campaign(wo, **kwargs)
    assert err.value.code == code


def test_campaign__create__level3_category_refused(wo: OrderWorld) -> None:
    deep = Category.objects.add_child(
        wo.street_light, {"code": "t-lamp-post", "name_zh": "灯杆", "name_en": "Lamp post"}
    )
    with pytest.raises(DomainError) as err:
        make_campaign(wo, categories=[deep])
    assert err.value.code == "campaign.category_level"


def test_campaign__create__place_outside_refused(wo: OrderWorld, demo) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        make_campaign(wo, places=[demo])
    assert err.value.code == "campaign.place_outside"


def test_campaign__create__only_desk_and_leaders(wo: OrderWorld, persona, demo) -> None:  # type: ignore[no-untyped-def]
    for user in (wo.commissioner_a, persona("p-committee"), wo.handler, wo.resident):
        with pytest.raises(PermissionDenied):
            make_campaign(wo, actor=wo.fresh(user))
    with pytest.raises(Http404):  # someone of another community
        make_campaign(wo, actor=persona("leader"))
    assert make_campaign(wo, actor=wo.fresh(wo.leader)).pk


def test_campaign__intake__does_not_link_orders(wo: OrderWorld, running) -> None:  # type: ignore[no-untyped-def]
    order = wo.submit()
    assert order.pk not in _linked(running)  # intake never waits for campaigns
    assert services.campaign_links_sync(campaign=running) == 1
    assert _linked(running) == {order.pk}
    assert services.campaign_links_sync(campaign=running) == 0  # idempotent


def test_campaign__start__links_orders_in_scope_and_period(wo: OrderWorld, draft) -> None:  # type: ignore[no-untyped-def]
    in_scope = wo.submit()
    other_category = _water(wo)
    with time_machine.travel(WEDNESDAY_10 - dt.timedelta(days=10), tick=False):
        too_early = wo.submit(description="路灯坏了很久")
    services.campaign_start(actor=wo.fresh(wo.dispatcher), campaign=draft)
    assert _linked(draft) == {in_scope.pk}
    assert other_category.pk not in _linked(draft)
    assert too_early.pk not in _linked(draft)


def test_campaign__scope_by_place__only_that_courtyard(wo: OrderWorld) -> None:
    campaign = make_campaign(wo, places=[wo.world.courtyard_b], categories=[])
    in_a = wo.submit()
    in_b = wo.submit(place=wo.world.house_b, description="B院路灯不亮")
    services.campaign_start(actor=wo.fresh(wo.dispatcher), campaign=campaign)
    assert _linked(campaign) == {in_b.pk}
    assert in_a.pk not in _linked(campaign)


def test_campaign__unlink__kept_out_of_the_next_sync(wo: OrderWorld, running) -> None:  # type: ignore[no-untyped-def]
    order = wo.submit()
    services.campaign_links_sync(campaign=running)
    with pytest.raises(DomainError) as err:
        services.campaign_order_unlink(
            actor=wo.fresh(wo.dispatcher), campaign=running, order=order, reason=""
        )
    assert err.value.code == "campaign.reason_required"
    services.campaign_order_unlink(
        actor=wo.fresh(wo.dispatcher), campaign=running, order=order, reason="重复报告"
    )
    services.campaign_links_sync(campaign=running)
    assert _linked(running) == set()
    link = CampaignOrder.objects.get(campaign=running, order=order)
    assert link.unlink_reason == "重复报告"
    assert AuditEvent.objects.filter(action="campaign.order_unlinked", reason="重复报告").exists()


def test_campaign__link_by_hand__out_of_scope_order(wo: OrderWorld, running) -> None:  # type: ignore[no-untyped-def]
    water = _water(wo)
    services.campaign_order_link(
        actor=wo.fresh(wo.dispatcher), campaign=running, order=water, reason="水管属于设施改造"
    )
    assert water.pk in _linked(running)
    with pytest.raises(DomainError) as err:
        services.campaign_order_link(
            actor=wo.fresh(wo.dispatcher), campaign=running, order=water, reason="again"
        )
    assert err.value.code == "campaign.order_already_linked"


def test_campaign__start_twice__conflict(wo: OrderWorld, running) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict) as err:
        services.campaign_start(actor=wo.fresh(wo.dispatcher), campaign=running)
    assert err.value.code == "campaign.illegal_transition"


def test_campaign__close__freezes_links(wo: OrderWorld, running) -> None:  # type: ignore[no-untyped-def]
    order = wo.submit()
    services.campaign_close(actor=wo.fresh(wo.leader), campaign=running, note="圆满完成")
    assert running.state == CampaignState.CLOSED
    assert _linked(running) == {order.pk}  # the last orders are linked at the close
    wo.submit()
    assert services.campaign_links_sync(campaign=running) == 0
    with pytest.raises(Conflict) as err:
        services.campaign_order_unlink(
            actor=wo.fresh(wo.dispatcher), campaign=running, order=order, reason="x"
        )
    assert err.value.code == "campaign.closed"


def test_campaign__progress__counts_solved_and_rate(wo: OrderWorld, running) -> None:  # type: ignore[no-untyped-def]
    solved = wo.order_in(State.CALLBACK)
    waiting = wo.order_in(State.FINISHED)  # finished, not rated yet: not solved (docs/kpis.md)
    wo.order_in(State.SIGNED)
    not_solved = wo.order_in(State.FINISHED)
    from sanan.workorders import services as wos

    wos.work_order_callback(
        actor=wo.fresh(wo.resident), order=wo.reload(not_solved), resolution="partly",
        satisfaction="fairly",
    )  # fmt: skip
    services.campaign_links_sync(campaign=running)
    insights_refresh()  # the worker's minute: the figures read the order facts
    p = selectors.campaign_progress(user=wo.fresh(wo.leader), campaign=running)
    assert (p.linked, p.finished, p.solved, p.open) == (4, 3, 1, 1)
    assert p.rated == 2  # the two call-backs: solved, partly
    assert p.resolution_percent == 50.0
    assert p.percent_of_target == 25.0
    assert not p.target_met
    assert p.days_total == 100
    assert p.days_elapsed == 3
    assert {solved.pk, waiting.pk} <= _linked(running)


def test_campaign__progress__outsider_404(wo: OrderWorld, running) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Http404):
        selectors.campaign_progress(user=wo.fresh(wo.commissioner_a), campaign=running)
    with pytest.raises(Http404):
        selectors.campaign_progress(user=wo.fresh(wo.handler), campaign=running.pk)


def test_campaign__burndown__replays_finish_and_rehandle(
    wo: OrderWorld,
    running,
    clock: time_machine.Coordinates,  # type: ignore[no-untyped-def]
) -> None:
    a = wo.submit()
    b = wo.submit(description="路灯闪烁")
    services.campaign_links_sync(campaign=running)
    clock.move_to(WEDNESDAY_10 + dt.timedelta(days=1))
    wo.drive(a, State.FINISHED)
    clock.move_to(WEDNESDAY_10 + dt.timedelta(days=2))
    from sanan.workorders import services as wos

    wos.work_order_callback(
        actor=wo.fresh(wo.resident),
        order=wo.reload(a),
        resolution="not_solved",
        satisfaction="dissatisfied",
    )  # fmt: skip  -- a dissatisfied rating re-opens the order for re-handling
    days = selectors.burndown(running)
    by_day = {d.day: d for d in days}
    wed, thu, fri = (WEDNESDAY_10.date() + dt.timedelta(days=i) for i in range(3))
    assert days[0].day == START
    assert days[0].open == 0
    assert (by_day[wed].open, by_day[wed].finished) == (2, 0)
    assert (by_day[thu].open, by_day[thu].finished) == (1, 1)
    assert (by_day[fri].open, by_day[fri].finished) == (2, 0)
    assert by_day[fri].remaining == running.target_solved
    assert days[-1].day == fri
    assert days[0].ideal_remaining == pytest.approx(running.target_solved * 99 / 100, abs=0.1)
    assert b.pk in _linked(running)


def test_campaign__task__owner_ticks_off_others_refused(wo: OrderWorld, running, persona) -> None:  # type: ignore[no-untyped-def]
    task = services.campaign_task_add(
        actor=wo.fresh(wo.dispatcher), campaign=running, title="排查全部路灯",
        due_on=START + dt.timedelta(days=30), owner_organisation=wo.housing,
    )  # fmt: skip
    with pytest.raises(DomainError) as err:
        services.campaign_task_add(
            actor=wo.fresh(wo.dispatcher), campaign=running, title="x",
            due_on=END + dt.timedelta(days=1), owner=wo.dispatcher,
        )  # fmt: skip
    assert err.value.code == "campaign_task.due_outside"
    with pytest.raises(Http404):  # the committee of the residential area: not their campaign
        services.campaign_task_done(actor=persona("p-committee"), task=task)
    with pytest.raises(Http404):
        services.campaign_task_done(actor=wo.fresh(wo.commissioner_a), task=task)
    services.campaign_task_done(actor=wo.fresh(wo.handler), task=task, note="已排查")
    assert task.done_at is not None
    with pytest.raises(Conflict):
        services.campaign_task_done(actor=wo.fresh(wo.dispatcher), task=task)
    p = selectors.progress_of(running)
    assert (p.tasks_total, p.tasks_done, p.tasks_overdue) == (1, 1, 0)


def test_campaign__category_scope_includes_level2_children(wo: OrderWorld) -> None:
    campaign = make_campaign(wo, categories=[Category.objects.get(code="street_light")])
    light = wo.submit()
    wo.submit(category=Category.objects.get(code="road_damage"), description="路面坑洼")
    services.campaign_start(actor=wo.fresh(wo.dispatcher), campaign=campaign)
    assert _linked(campaign) == {light.pk}
