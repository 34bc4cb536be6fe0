"""Intake from every channel: place or map point (with its coordinate system), answers to the
category's questions, anonymity, a caller recognised by phone, idempotent retries, routing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sanan.audit.models import AuditEvent
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.places.coords import LatLng, distance_m, from_wgs84
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_create
from sanan.workorders import access, routing, services
from sanan.workorders.models import Category, OutboxMessage, RoutingKind, WorkOrderEvent
from sanan.workorders.state import State
from tests.workorders.world import OrderWorld, at

CENTRE_A = LatLng(30.6605, 104.0605)  # WGS-84, the middle of courtyard A


def test_work_order__submit__registers_and_waits_on_the_board_without_a_rule(
    wo: OrderWorld,
) -> None:
    order = wo.submit()
    assert order.state == State.REGISTERED
    assert order.place == wo.world.house_a
    assert order.courtyard == wo.world.courtyard_a
    assert order.reporter == wo.resident
    assert order.created_by == wo.resident
    assert order.lead_organisation is None
    assert order.due_at is None
    event = WorkOrderEvent.objects.get(order=order)
    assert (event.action, event.from_state, event.to_state) == ("submit", "", "registered")
    assert AuditEvent.objects.filter(action="work_order.submit", object_id=str(order.pk)).exists()
    outbox = set(OutboxMessage.objects.filter(order=order).values_list("template", "channel"))
    assert outbox == {("work_order.registered", "inbox"), ("work_order.awaiting_dispatch", "inbox")}
    assert order.title == "A1号门口的路灯不亮了"
    assert order.reference == f"20261125-{order.pk:06d}"


def test_work_order__submit__gcj02_point_lands_in_the_right_courtyard(wo: OrderWorld) -> None:
    gcj = from_wgs84(CENTRE_A, "gcj02")
    assert distance_m(gcj, CENTRE_A) > 300  # what a map app sends is far off the real spot
    order = wo.submit(point=gcj, point_system="gcj02")
    assert order.place == wo.world.courtyard_a
    stored = LatLng(float(order.latitude or 0), float(order.longitude or 0))
    assert distance_m(stored, CENTRE_A) < 1
    assert order.point_system == "gcj02"


def test_work_order__submit__gcj02_numbers_sent_as_wgs84_are_refused_not_misplaced(
    wo: OrderWorld,
) -> None:
    gcj = from_wgs84(CENTRE_A, "gcj02")
    with pytest.raises(DomainError) as caught:
        wo.submit(point=gcj, point_system="wgs84")
    assert caught.value.code == "work_order.outside_courtyards"
    assert caught.value.status_code == 400


def test_work_order__submit__unknown_coordinate_system_is_refused(wo: OrderWorld) -> None:
    with pytest.raises(DomainError) as caught:
        wo.submit(point=CENTRE_A, point_system="mercator")
    assert caught.value.code == "coordinates.unknown_system"
    assert caught.value.status_code == 400


def test_work_order__submit__needs_a_place_and_a_description(wo: OrderWorld) -> None:
    with pytest.raises(DomainError) as caught:
        services.work_order_submit(
            actor=wo.resident,
            channel="resident_form",
            category=wo.street_light,
            description="灯坏了",
        )
    assert caught.value.code == "work_order.place_required"
    with pytest.raises(DomainError) as caught:
        wo.submit(description="   ")
    assert caught.value.code == "work_order.description_required"
    with pytest.raises(DomainError) as caught:
        wo.submit(place=wo.community)
    assert caught.value.code == "work_order.place_too_large"


def test_work_order__submit__outside_the_reporters_community_is_not_found(wo: OrderWorld) -> None:
    sub = Place.objects.get(code="t-sub")
    other = place_create(
        actor="tests", parent=sub, kind=PlaceKind.COMMUNITY, code="t-other", name="别的社区"
    )
    area = place_create(
        actor="tests", parent=other, kind=PlaceKind.AREA, code="t-other-area", name="别的小区"
    )
    with pytest.raises(NotFound) as caught:
        wo.submit(place=area)
    assert caught.value.code == "work_order.place_out_of_scope"
    # the resident may report anywhere in their own community, not only at home
    assert wo.submit(place=wo.world.courtyard_b).courtyard == wo.world.courtyard_b


def test_work_order__submit__idempotency_key_returns_the_first_order(wo: OrderWorld) -> None:
    first = services.work_order_submit(
        actor=wo.resident, channel="resident_form", category=wo.street_light,
        description="路灯不亮", place=wo.world.house_a, idempotency_key="k-1",
    )  # fmt: skip
    again = services.work_order_submit(
        actor=wo.resident, channel="resident_form", category=wo.street_light,
        description="路灯不亮", place=wo.world.house_a, idempotency_key="k-1",
    )  # fmt: skip
    assert first.created
    assert not again.created
    assert again.order.pk == first.order.pk
    assert WorkOrderEvent.objects.filter(order=first.order).count() == 1
    with pytest.raises(DomainError) as caught:
        services.work_order_submit(
            actor=wo.resident, channel="resident_form", category=wo.street_light,
            description="另一件事", place=wo.world.house_a, idempotency_key="k-1",
        )  # fmt: skip
    assert caught.value.code == "work_order.idempotency_key_reused"
    assert caught.value.status_code == 422
    # keys belong to whoever submits: the same key from someone else is a new order
    other = services.work_order_submit(
        actor=wo.commissioner_a, channel="resident_form", category=wo.street_light,
        description="路灯不亮", place=wo.world.house_a, idempotency_key="k-1",
    )  # fmt: skip
    assert other.created
    assert other.order.pk != first.order.pk


def test_work_order__submit__answers_are_checked_against_the_categorys_questions(
    wo: OrderWorld,
) -> None:
    with pytest.raises(DomainError) as caught:
        wo.submit(category=wo.water_outage, answers={"scope": "galaxy", "colour": "red"})
    assert caught.value.code == "work_order.invalid_answers"
    assert set(caught.value.fields) == {"answers.since", "answers.scope", "answers.colour"}
    order = wo.submit(
        category=wo.water_outage, answers={"since": "2026-11-25T07:30", "scope": "building"}
    )
    assert order.answers == {"since": "2026-11-24T23:30:00+00:00", "scope": "building"}


def test_work_order__submit__number_and_multiple_choice_answers(wo: OrderWorld) -> None:
    with pytest.raises(DomainError) as caught:
        wo.submit(category=wo.waterlogging, answers={"depth_cm": "deep"})
    assert list(caught.value.fields) == ["answers.depth_cm"]
    assert wo.submit(category=wo.waterlogging, answers={"depth_cm": "35"}).answers == {
        "depth_cm": 35
    }
    noise = Category.objects.get(code="noise_nuisance")
    order = wo.submit(category=noise, answers={"when": ["night", "evening", "night"]})
    assert order.answers == {"when": ["evening", "night"]}
    with pytest.raises(DomainError):
        wo.submit(category=noise, answers={"when": ["noon"]})


def test_work_order__submit__anonymous_hides_the_reporter_from_others_not_from_handlers(
    wo: OrderWorld,
) -> None:
    order = wo.drive(wo.submit(anonymous=True), State.DISPATCHED)
    assert access.may_see_reporter(wo.fresh(wo.resident), order)
    assert access.may_see_reporter(wo.fresh(wo.handler), order)
    assert access.may_see_reporter(wo.fresh(wo.dispatcher), order)
    assert access.can_see(wo.fresh(wo.commissioner_a), order)
    assert not access.may_see_reporter(wo.fresh(wo.commissioner_a), order)


def test_work_order__submit__hotline_recognises_the_caller_by_phone(wo: OrderWorld) -> None:
    order = wo.submit(
        actor=wo.dispatcher, channel="hotline", contact_name="王阿姨", contact_phone="139 0000 0001"
    )
    assert order.reporter == wo.resident  # now in the resident's own list
    assert order.created_by == wo.dispatcher
    assert order.contact_phone_masked == "139****0001"
    assert "13900000001" not in order.contact_phone_encrypted
    assert order.reporter_contact_phone == "13900000001"


def test_work_order__submit__unknown_caller_is_told_by_text_message(wo: OrderWorld) -> None:
    order = wo.submit(actor=wo.dispatcher, channel="hotline", contact_phone="13812345678")
    assert order.reporter is None
    sms = OutboxMessage.objects.get(order=order, template="work_order.registered")
    assert sms.channel == "sms"
    assert sms.recipient_user is None
    assert "138" not in str(sms.payload)  # the deliverer looks the number up


def test_work_order__submit__only_the_desk_reports_for_someone_else(wo: OrderWorld) -> None:
    with pytest.raises(PermissionDenied):
        wo.submit(channel="hotline")
    with pytest.raises(PermissionDenied):
        wo.submit(reporter=wo.commissioner_a)


def test_work_order__submit__discovery_is_kept_apart_from_complaints(wo: OrderWorld) -> None:
    order = wo.submit(actor=wo.commissioner_a, channel="discovery")
    assert order.is_discovery
    assert order.channel == "discovery"
    assert not wo.submit().is_discovery
    with pytest.raises(PermissionDenied):
        wo.submit(channel="discovery")  # residents do not patrol


# --- routing ------------------------------------------------------------------------------------


def _rule(wo: OrderWorld, code: str | None, place: Place, lead, co=(), **kw):  # type: ignore[no-untyped-def]
    return routing.routing_rule_create(
        actor=wo.fresh(wo.dispatcher),
        category=Category.objects.get(code=code) if code else None,
        place=place,
        lead_organisation=lead,
        co_handlers=list(co),
        **kw,
    )


def test_work_order__routing__a_matching_rule_dispatches_at_intake(wo: OrderWorld) -> None:
    rule = _rule(wo, "infrastructure", wo.community, wo.housing, co=[wo.urban])
    order = wo.submit()
    assert order.state == State.DISPATCHED
    assert order.lead_organisation == wo.housing
    assert list(order.co_handlers.all()) == [wo.urban]
    assert order.routing_rule == rule
    dispatch = WorkOrderEvent.objects.get(order=order, action="dispatch")
    assert dispatch.actor is None
    assert dispatch.actor_label == "sanan"
    assert dispatch.data["automatic"] is True
    assert dispatch.data["rule"] == rule.pk
    # general policy, Wednesday 10:00: sign for within 2 working hours
    assert order.sign_due_at == at(2026, 11, 25, 12, 0)
    assert order.finish_due_at == at(2026, 12, 4, 10, 0)


def test_work_order__routing__the_most_specific_rule_wins(wo: OrderWorld) -> None:
    _rule(wo, "infrastructure", wo.community, wo.housing)
    _rule(wo, "street_light", wo.community, wo.urban)
    _rule(wo, "infrastructure", wo.world.courtyard_a, wo.housing_unit)
    road = Category.objects.get(code="road_damage")
    # the deeper category beats the deeper place; then the deeper place wins
    assert wo.submit(place=wo.world.house_a).lead_organisation == wo.urban
    assert wo.submit(place=wo.world.house_a, category=road).lead_organisation == wo.housing_unit
    assert wo.submit(place=wo.world.house_b, category=road).lead_organisation == wo.housing


def test_work_order__routing__a_backstop_is_suggested_never_automatic(wo: OrderWorld) -> None:
    _rule(wo, None, wo.community, wo.housing, backstop=True)
    order = wo.submit()
    assert order.state == State.REGISTERED
    assert order.suggested_organisation == wo.housing
    assert WorkOrderEvent.objects.get(order=order).data["route"] == "backstop"


def test_work_order__dispatch__overriding_the_suggestion_needs_a_reason(wo: OrderWorld) -> None:
    _rule(wo, None, wo.community, wo.housing, backstop=True)
    order = wo.submit()
    with pytest.raises(DomainError) as caught:
        services.work_order_dispatch(
            actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.urban
        )
    assert caught.value.code == "work_order.override_needs_reason"
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.urban,
        reason="路灯归城管维护",
    )  # fmt: skip
    event = WorkOrderEvent.objects.get(order=order, action="dispatch")
    assert event.data["overridden"] is True
    assert event.reason == "路灯归城管维护"
    assert event.actor == wo.dispatcher


def test_routing__one_active_rule_per_category_and_place(wo: OrderWorld) -> None:
    _rule(wo, "street_light", wo.community, wo.housing)
    with pytest.raises(DomainError) as caught:
        _rule(wo, "street_light", wo.community, wo.urban)
    assert caught.value.code == "routing.duplicate"
    with pytest.raises(DomainError) as caught:
        _rule(wo, None, wo.community, wo.urban)  # a rule without category is a backstop
    assert caught.value.code == "routing.category"


def test_routing__only_the_desk_manages_rules(wo: OrderWorld) -> None:
    with pytest.raises(PermissionDenied):
        routing.routing_rule_create(
            actor=wo.fresh(wo.leader),
            category=wo.street_light,
            place=wo.community,
            lead_organisation=wo.housing,
        )
    rule = _rule(wo, "street_light", wo.community, wo.housing)
    routing.routing_rule_retire(actor=wo.fresh(wo.dispatcher), rule=rule, reason="改由城管")
    assert wo.submit().state == State.REGISTERED
    assert rule.kind == RoutingKind.RULE


def test_work_order__submit__coordinates_are_stored_in_wgs84(wo: OrderWorld) -> None:
    bd = from_wgs84(CENTRE_A, "bd09")
    order = wo.submit(point=bd, point_system="BD-09")
    assert order.place == wo.world.courtyard_a
    assert abs(order.latitude - Decimal("30.6605")) < Decimal("0.00001")
