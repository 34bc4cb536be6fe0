"""Orders with known answers for the figures, driven through the work-order services.

All in the persona community's courtyard A (house A) unless said otherwise; registered in
November 2026 except ``october``::

    october     2026-10-14, dispatched, signed, contacted, finished, rated solved/satisfied
    on_time     everything on time, rated solved / satisfied, archived
    late        signed, contacted and finished after their deadlines; rated partly / fairly
    returned    returned by housing, re-dispatched to the urban department, signed (open)
    rehandled   rated not solved / dissatisfied, re-handled, finished and rated solved /
                satisfied on the second pass
    transferred transferred to the housing unit, finished, rated solved / dissatisfied
                (re-handled at once, open again)
    merged      a duplicate merged into ``on_time``: counted nowhere
    discovery   found on patrol by commissioner A, finished, rated by the desk: counted in
                every figure but resolution, satisfaction and first-time resolution
    waiting     registered, never dispatched
    unrated     finished, closed as not rated
    courtyard_b in courtyard B, handled by the dual-reporting unit on time, rated solved /
                satisfied
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import time_machine

from sanan.accounts.models import User
from sanan.organisation.models import Organisation
from sanan.workorders import services
from sanan.workorders.models import WorkOrder
from sanan.workorders.state import State
from tests.workorders.world import WEDNESDAY_10, OrderWorld, at


@dataclass
class Scenario:
    october: WorkOrder
    on_time: WorkOrder
    late: WorkOrder
    returned: WorkOrder
    rehandled: WorkOrder
    transferred: WorkOrder
    merged: WorkOrder
    discovery: WorkOrder
    waiting: WorkOrder
    unrated: WorkOrder
    courtyard_b: WorkOrder


def build_scenario(wo: OrderWorld, clock: time_machine.Coordinates) -> Scenario:
    f = wo.fresh
    step = dt.timedelta(minutes=30)

    def tick() -> None:
        clock.shift(step)

    def handle_to_finished(order: WorkOrder, handler=None) -> WorkOrder:  # type: ignore[no-untyped-def]
        h = handler or wo.handler
        order = wo.reload(order)
        if order.state == State.DISPATCHED:
            services.work_order_sign(actor=f(h), order=order)
            tick()
            order = wo.reload(order)
        services.work_order_contact(actor=f(h), order=order, public_note="已联系")
        tick()
        services.work_order_start(actor=f(h), order=wo.reload(order))
        tick()
        services.work_order_finish(actor=f(h), order=wo.reload(order), public_note="已处理")
        tick()
        return wo.reload(order)

    def rate(order: WorkOrder, resolution: str, satisfaction: str, actor=None) -> WorkOrder:  # type: ignore[no-untyped-def]
        services.work_order_callback(
            actor=f(actor or wo.resident), order=wo.reload(order),
            resolution=resolution, satisfaction=satisfaction,
        )  # fmt: skip
        tick()
        return wo.reload(order)

    def dispatch(order: WorkOrder, org=None) -> WorkOrder:  # type: ignore[no-untyped-def]
        services.work_order_dispatch(
            actor=f(wo.dispatcher), order=wo.reload(order), lead_organisation=org or wo.housing
        )
        tick()
        return wo.reload(order)

    clock.move_to(at(2026, 10, 14, 10))
    october = dispatch(wo.submit(description="十月的路灯"))
    october = rate(handle_to_finished(october), "solved", "satisfied")

    clock.move_to(WEDNESDAY_10)
    on_time = wo.submit(description="路灯不亮")
    late = wo.submit(description="楼道灯坏了")
    returned = wo.submit(description="井盖松动")
    rehandled = wo.submit(description="路灯闪烁")
    transferred = wo.submit(description="物业问题")
    merged = wo.submit(description="路灯不亮（重复）")
    discovery = wo.submit(
        actor=f(wo.commissioner_a), channel="discovery", description="巡查发现路灯损坏"
    )
    waiting = wo.submit(description="还没派单")
    unrated = wo.submit(description="没人评价")
    courtyard_b = wo.submit(place=wo.world.house_b, description="B院路灯")
    tick()

    on_time = dispatch(on_time)
    services.work_order_merge(actor=f(wo.dispatcher), parent=wo.reload(on_time),
                              children=[wo.reload(merged)])  # fmt: skip
    tick()
    on_time = rate(handle_to_finished(on_time), "solved", "satisfied")
    services.work_order_archive(actor=f(wo.dispatcher), order=wo.reload(on_time))

    returned = dispatch(returned)
    services.work_order_return(
        actor=f(wo.handler), order=wo.reload(returned), reason_code="wrong_place"
    )
    tick()
    services.work_order_rule(
        actor=f(wo.dispatcher), order=wo.reload(returned), decision="redispatch",
        reason="城管负责", lead_organisation=wo.urban,
    )  # fmt: skip
    tick()
    services.work_order_sign(actor=f(wo.urban_handler), order=wo.reload(returned))
    tick()

    rehandled = handle_to_finished(dispatch(rehandled))
    rehandled = rate(rehandled, "not_solved", "dissatisfied")  # re-handled by Sanan
    rehandled = rate(handle_to_finished(rehandled), "solved", "satisfied")

    transferred = dispatch(transferred)
    services.work_order_transfer(
        actor=f(wo.dispatcher), order=wo.reload(transferred),
        lead_organisation=wo.housing_unit, reason="物业科负责",
    )  # fmt: skip
    tick()
    transferred = handle_to_finished(transferred, wo.unit_handler)
    transferred = rate(transferred, "solved", "dissatisfied")  # re-opened at once

    discovery = handle_to_finished(dispatch(discovery))
    discovery = rate(discovery, "solved", "satisfied", actor=wo.dispatcher)

    unrated = handle_to_finished(dispatch(unrated))
    unit = Organisation.objects.get(code="t-unit")  # a dual-reporting unit
    member = User.objects.get(username="p-unitmember")
    courtyard_b = handle_to_finished(dispatch(courtyard_b, unit), member)
    courtyard_b = rate(courtyard_b, "solved", "satisfied")

    # Twenty days later: the late order is handled after every deadline.
    late = dispatch(late)
    clock.shift(dt.timedelta(days=20))
    late = rate(handle_to_finished(late), "partly", "fairly")
    services.work_order_close_unrated(actor=f(wo.dispatcher), order=wo.reload(unrated))
    tick()
    return Scenario(
        october=wo.reload(october), on_time=wo.reload(on_time), late=wo.reload(late),
        returned=wo.reload(returned), rehandled=wo.reload(rehandled),
        transferred=wo.reload(transferred), merged=wo.reload(merged),
        discovery=wo.reload(discovery), waiting=wo.reload(waiting),
        unrated=wo.reload(unrated), courtyard_b=wo.reload(courtyard_b),
    )  # fmt: skip
