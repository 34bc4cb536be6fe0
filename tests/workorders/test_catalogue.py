"""Categories, their SLA policies and extra questions; the idempotent seed; the routing
directory's API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.core.errors import DomainError
from sanan.workorders.catalogue import clean_answers, effective_policy, questions_for
from sanan.workorders.models import (
    Category,
    CategoryQuestion,
    QuestionType,
    SlaClock,
    SlaPolicy,
    WorkCalendarDay,
)
from sanan.workorders.seed import LEVEL_1_CODES, seed_all
from tests.workorders.world import OrderWorld

DOMAIN_CODES = [
    "infrastructure", "sanitation", "utilities", "public_security", "fire_safety",
    "illegal_construction", "rental_housing", "neighbour_dispute", "social_assistance",
    "elderly_children", "greening_parking", "health_epidemic", "flood_disaster",
    "consultation", "suggestion",
]  # fmt: skip


@pytest.mark.django_db
def test_seed__the_15_level_1_codes_of_the_domain_with_names_icons_and_children() -> None:
    roots = list(Category.objects.filter(depth=1).order_by("path"))
    assert [c.code for c in roots] == DOMAIN_CODES == LEVEL_1_CODES
    for root in roots:
        assert all([root.name_zh, root.name_en, root.icon]), root.code
        assert Category.objects.filter(path__startswith=root.path, depth=2).count() >= 2
    assert Category.objects.filter(depth__gt=Category.MAX_DEPTH).count() == 0


@pytest.mark.django_db
def test_seed__sla_defaults_of_the_domain() -> None:
    policies = {p.code: p for p in SlaPolicy.objects.all()}
    assert (policies["emergency"].finish_minutes, policies["emergency"].clock) == (
        120, SlaClock.ROUND_THE_CLOCK
    )  # fmt: skip
    assert policies["emergency"].emergency
    assert policies["utilities"].finish_minutes == 24 * 60
    assert (policies["general"].finish_minutes, policies["general"].clock) == (
        7 * 450, SlaClock.WORKING
    )  # fmt: skip
    assert policies["complex"].finish_minutes == 15 * 450


@pytest.mark.django_db
def test_seed__is_idempotent_and_never_undoes_an_edit() -> None:
    counts = (Category.objects.count(), SlaPolicy.objects.count(), WorkCalendarDay.objects.count())
    light = Category.objects.get(code="street_light")
    Category.objects.filter(pk=light.pk).update(name_zh="路灯不亮")
    Category.objects.filter(code="public_toilet").delete()
    seed_all()
    seed_all()
    assert Category.objects.get(pk=light.pk).name_zh == "路灯不亮"
    assert not Category.objects.filter(code="public_toilet").exists()
    assert (Category.objects.count() + 1, SlaPolicy.objects.count()) == counts[:2]
    assert WorkCalendarDay.objects.count() == counts[2]


@pytest.mark.django_db
def test_category__policy_is_inherited_from_the_nearest_ancestor() -> None:
    light = Category.objects.get(code="street_light")
    assert light.sla_policy is None
    assert effective_policy(light).code == "general"
    assert effective_policy(Category.objects.get(code="gas_leak")).code == "emergency"
    pole = Category.objects.add_child(
        light, create_kwargs={"code": "pole_down", "name_zh": "灯杆倒伏", "name_en": "Pole down"}
    )
    assert pole.depth == 3
    assert effective_policy(pole).code == "general"
    infrastructure = Category.objects.get(code="infrastructure")
    infrastructure.sla_policy = SlaPolicy.objects.get(code="complex")
    infrastructure.save()
    assert effective_policy(pole).code == "complex"  # editing the parent's policy applies


@pytest.mark.django_db
def test_category__questions_of_the_parents_are_asked_too() -> None:
    utilities = Category.objects.get(code="utilities")
    CategoryQuestion.objects.create(
        category=utilities, code="meter", datatype=QuestionType.STRING,
        label_zh="户号", label_en="Account number",
    )  # fmt: skip
    water = Category.objects.get(code="water_outage")
    assert [q.code for q in questions_for(water)] == ["meter", "since", "scope"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("datatype", "value", "ok"),
    [
        (QuestionType.STRING, "x" * 200, True),
        (QuestionType.STRING, "x" * 201, False),
        (QuestionType.STRING, 12, False),
        (QuestionType.TEXT, "很长的说明\n" * 100, True),
        (QuestionType.NUMBER, "1.5", True),
        (QuestionType.NUMBER, "NaN", False),
        (QuestionType.NUMBER, True, False),
        (QuestionType.DATETIME, "2026-11-25T08:00:00+08:00", True),
        (QuestionType.DATETIME, "yesterday", False),
        (QuestionType.SINGLE, "a", True),
        (QuestionType.SINGLE, ["a"], False),
        (QuestionType.MULTI, ["a", "b"], True),
        (QuestionType.MULTI, "a", False),
    ],
)
def test_category__answers_typed_like_open311(datatype: str, value: object, ok: bool) -> None:
    category = Category.objects.get(code="service_guide")
    CategoryQuestion.objects.create(
        category=category, code="q", datatype=datatype, label_zh="问", label_en="Q",
        values=[{"key": "a", "name_zh": "甲", "name_en": "A"},
                {"key": "b", "name_zh": "乙", "name_en": "B"}],
    )  # fmt: skip
    if ok:
        assert "q" in clean_answers(category, {"q": value})
    else:
        with pytest.raises(DomainError) as caught:
            clean_answers(category, {"q": value})
        assert list(caught.value.fields) == ["answers.q"]


def test_routing_rules_api__the_desk_manages_the_directory(
    wo: OrderWorld, api_as: Callable[[User], APIClient]
) -> None:
    desk = api_as(wo.dispatcher)
    created = desk.post(
        "/api/v1/routing-rules/",
        {"category": wo.street_light.pk, "place": wo.community.pk,
         "lead_organisation": wo.urban.pk, "co_handlers": [wo.housing.pk]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert wo.submit().lead_organisation == wo.urban
    rows = desk.get("/api/v1/routing-rules/").json()
    assert [(r["kind"], r["co_handlers"]) for r in rows] == [("rule", [wo.housing.pk])]
    duplicate = desk.post(
        "/api/v1/routing-rules/",
        {"category": wo.street_light.pk, "place": wo.community.pk,
         "lead_organisation": wo.housing.pk},
        format="json",
    )  # fmt: skip
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == "routing.duplicate"
    assert api_as(wo.handler).get("/api/v1/routing-rules/").json() == []
    forbidden = api_as(wo.leader).post(
        "/api/v1/routing-rules/",
        {"place": wo.community.pk, "lead_organisation": wo.housing.pk, "backstop": True},
        format="json",
    )
    assert forbidden.status_code == 403
    assert desk.delete(f"/api/v1/routing-rules/{created.json()['id']}/").status_code == 204
    assert desk.get("/api/v1/routing-rules/").json() == []
