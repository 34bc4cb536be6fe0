"""The permission matrix's world: one object of every kind that has its own URL, all of them
inside courtyard A (or the persona community), and the people who must not see them.

Built once per test module inside a transaction that is rolled back at its end; each test then
runs in a savepoint on top (``tests/security/conftest.py``).

Insiders are the personas (``tests/personas.py``), one per role. Outsiders:

- ``commissioner_b``: the commissioner of courtyard B, next door;
- ``resident_b``: a resident of household B (courtyard B);
- ``dispatcher_x``, ``leader_x``, ``commissioner_x``: staff of another community (测试二社区)
  in the same sub-district.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.audit.models import AuditEvent
from sanan.campaigns import services as campaigns
from sanan.campaigns.models import CampaignKind
from sanan.core import clock
from sanan.dualreport import services as dual
from sanan.dualreport.models import RegistrationKind
from sanan.hotline import services as hotline
from sanan.notifications.models import InboxItem
from sanan.notifications.services import outbox_deliver_due, webhook_endpoint_create
from sanan.organisation import services as org
from sanan.organisation.models import PostType
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_create
from sanan.registry import imports
from sanan.registry.services import care_tags_ensure_standard, rental_create
from sanan.workorders import services as wo_services
from sanan.workorders.models import Category, RoutingRule
from tests.factories import UserFactory
from tests.personas import PERSONA_FOR_ROLE, World
from tests.registry.world import build_registry_world
from tests.workorders.world import build_order_world

OUTSIDERS = ("commissioner_b", "resident_b", "dispatcher_x", "leader_x", "commissioner_x")
# Outsiders of the whole community: nothing of the persona community is theirs.
COMMUNITY_OUTSIDERS = ("dispatcher_x", "leader_x", "commissioner_x")


def _png() -> Any:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), (200, 30, 30)).save(out, "PNG")
    return SimpleUploadedFile("photo.png", out.getvalue(), content_type="image/png")


@dataclass
class SecurityWorld:
    world: World
    users: dict[str, User]  # by role value, plus the outsiders by name
    ids: dict[str, Any] = field(default_factory=dict)  # what URL parameters point at
    sessions: dict[str, str] = field(default_factory=dict)  # a signed-in session per person


def build_security_world(world: World) -> SecurityWorld:
    care_tags_ensure_standard()
    wo = build_order_world(world)
    reg = build_registry_world(world)
    get = User.objects.get
    users: dict[str, User] = {role: get(username=name) for role, name in PERSONA_FOR_ROLE.items()}
    users["commissioner_b"] = get(username="p-commissioner-b")
    users["resident_b"] = UserFactory(roles=[(Role.RESIDENT, world.unit_b)])

    sub = Place.objects.get(code="t-sub")
    community_x = place_create(
        actor="tests", parent=sub, kind=PlaceKind.COMMUNITY, code="t-community-x", name="测试二社区"
    )
    area_x = place_create(
        actor="tests", parent=community_x, kind=PlaceKind.AREA, code="t-area-x", name="二小区"
    )
    court_x = place_create(
        actor="tests", parent=area_x, kind=PlaceKind.COURTYARD, code="t-court-x", name="X院"
    )
    users["dispatcher_x"] = UserFactory(roles=[(Role.DISPATCHER, community_x)])
    users["leader_x"] = UserFactory(roles=[(Role.LEADER, community_x)])
    users["commissioner_x"] = UserFactory(roles=[(Role.COMMISSIONER, court_x)])

    dispatcher = get(pk=users[Role.DISPATCHER].pk)
    ids: dict[str, Any] = {}

    # places, registry
    ids["place"] = world.house_a.pk
    ids["courtyard"] = world.courtyard_a.pk
    ids["resident"] = reg.wang.pk
    ids["household"] = reg.household_a.pk
    ids["house"] = world.house_a.pk
    ids["rental"] = rental_create(
        actor="tests", place=world.unit_a, landlord_name="张房东", tenants=[reg.jianguo]
    ).pk
    ids["vehicle"] = reg.car_a.pk
    ids["tag"] = "elderly_alone"
    job, _parsed = imports.import_job_create(
        actor=dispatcher,
        file="姓名,身份证号,手机号\n王五,,\n".encode(),
        filename="residents.csv",
    )
    ids["import_job"] = job.pk

    # work orders: an order in courtyard A dispatched to the housing department
    order = wo.order_in("dispatched")
    ids["order"] = order.pk
    attachment = wo_services.work_order_attach(
        actor=get(pk=users[Role.RESIDENT].pk), order=order, upload=_png()
    )
    ids["attachment"] = attachment.pk
    ids["category"] = Category.objects.filter(active=True).order_by("pk").first().pk  # type: ignore[union-attr]
    rule = RoutingRule.objects.order_by("pk").first()
    ids["routing_rule"] = rule.pk if rule else 0
    outbox_deliver_due()
    item = InboxItem.objects.filter(user=users[Role.RESIDENT]).order_by("pk").first()
    assert item is not None, "the resident's order left nothing in their inbox"
    ids["inbox_item"] = item.pk
    endpoint, _secret = webhook_endpoint_create(
        actor=get(pk=users[Role.ADMIN].pk), organisation=wo.housing, url="https://example.org/h"
    )
    ids["webhook"] = endpoint.pk
    ids["audit_event"] = AuditEvent.objects.order_by("-seq").values_list("pk", flat=True)[0]

    # organisation: a post, a visit with a problem, a commitment, a card, a butler, an event
    commissioner = get(pk=users[Role.COMMISSIONER].pk)
    committee = get(pk=users[Role.COMMITTEE].pk)
    post = org.post_assign(
        actor=committee,
        holder=commissioner,
        post_type=PostType.objects.get(code="courtyard_commissioner"),
        place=world.courtyard_a,
    )
    ids["post"] = post.pk
    visit = org.visit_record(
        actor=get(pk=commissioner.pk),
        household=reg.household_a,
        topics="聊了聊老人的身体",
        problems=[org.ProblemInput("门口杂物已帮忙清理", solved_on_spot=False)],
    )
    ids["visit"] = visit.pk
    ids["visit_problem"] = visit.problems.get().pk
    party_member = get(pk=users[Role.PARTY_MEMBER].pk)
    profile = org.member_profile_ensure(actor=committee, user=party_member, place=world.area)
    ids["card"] = profile.card_token
    commitment = org.commitment_publish(
        actor=committee,
        member=party_member,
        place=world.courtyard_a,
        title="每周为A院独居老人买菜",
        due_on=clock.today() + dt.timedelta(days=30),
    )
    ids["commitment"] = commitment.pk
    butler = org.butler_appoint(
        actor=committee,
        user=get(pk=users[Role.RED_BUTLER].pk),
        origin="retiree",
        place=world.courtyard_a,
    )
    ids["butler"] = butler.pk
    start = clock.now() + dt.timedelta(hours=2)
    event = org.event_create(
        actor=committee,
        title="十二月升国旗仪式",
        kind="flag_raising",
        place=world.courtyard_a,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    ids["event"] = event.pk
    ids["event_token"] = event.signin_token

    # hotline
    call = hotline.call_record(
        actor=dispatcher,
        call_type="consultation",
        summary="问垃圾收运时间",
        outcome="callback",
        place=world.house_a,
        callback_due_at=clock.now() + dt.timedelta(hours=4),
    )
    ids["call"] = call.pk
    knowledge = hotline.knowledge_save(
        actor=dispatcher,
        place=world.community,
        question="垃圾几点收运？",
        answer="每天早上7点和晚上7点各收运一次。",
    )
    ids["knowledge"] = knowledge.pk

    # campaigns
    campaign = campaigns.campaign_create(
        actor=dispatcher,
        place=world.community,
        kind=CampaignKind.TACKLING,
        title="百日攻坚：基础设施",
        starts_on=clock.today() - dt.timedelta(days=2),
        ends_on=clock.today() + dt.timedelta(days=97),
        target_solved=4,
        target_resolution_percent=90,
        owner_organisation=wo.housing,
        owner=dispatcher,
        categories=[Category.objects.get(code="infrastructure")],
    )
    ids["campaign"] = campaign.pk
    task = campaigns.campaign_task_add(
        actor=dispatcher,
        campaign=campaign,
        title="排查路灯",
        due_on=clock.today(),
        owner=dispatcher,
    )
    ids["campaign_task"] = task.pk

    # dual-reporting: the unit of p-unitmember registered, a task in courtyard A, its claim
    unit = users[Role.UNIT_MEMBER].role_assignments.get().organisation
    registration = dual.registration_create(
        actor=dispatcher,
        place=world.community,
        kind=RegistrationKind.UNIT,
        organisation=unit,
        contact_name="张医生",
        resources="义诊",
        capacity_hours_month=10,
        registered_on=clock.today() - dt.timedelta(days=60),
    )
    ids["registration"] = registration.pk
    dual_task = dual.task_publish(
        actor=dispatcher,
        place=world.courtyard_a,
        title="为A院独居老人清理楼道杂物",
        slots=2,
        hours_per_slot=3,
        starts_on=clock.today(),
        due_on=clock.today() + dt.timedelta(days=10),
    )
    ids["dual_task"] = dual_task.pk
    claim = dual.task_claim(
        actor=get(pk=users[Role.UNIT_MEMBER].pk), task=dual_task, registration=registration
    )
    ids["claim"] = claim.pk

    ids["organisation"] = wo.housing.pk
    ids["user"] = users[Role.RESIDENT].pk
    ids["community_code"] = world.community.code
    ids["order_request"] = str(order.pk)
    ids["year"], ids["month"] = clock.today().year, f"{clock.today().month:02d}"
    ids["act"] = "sign"
    ids["reset_uid"], ids["reset_token"] = "MQ", "set-password"
    ids["service_code"] = "street_light"
    ids["open311_token"] = "no-such-token"
    users = {key: get(pk=user.pk) for key, user in users.items()}
    return SecurityWorld(world=world, users=users, ids=ids)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


__all__ = ["COMMUNITY_OUTSIDERS", "OUTSIDERS", "Place", "SecurityWorld", "build_security_world"]
