"""A year of work orders in the demo community, run through the real services on a simulated
clock: ``build_workorders_demo(seed=..., progress=...)``.

What it adds to the demo community (``core.demo`` builds the places and the desk):

* eleven government departments serving 牛咡桥社区 (housing exists already), one or two
  handlers each, and the routing directory: a rule for most categories (so most orders are
  dispatched at intake), a backstop owner, and a few categories left to the dispatcher;
* a few resident accounts who report through the phone form, and the commissioners' patrols;
* a year of orders ending today (about 3,000 by default): the hotline, the residents' form and
  the commissioners' discoveries; summer floods (June–August) and winter water/power/gas
  trouble; departments of different speed; returns with the community's ruling, extensions,
  overdue orders chased and supervised by the real SLA sweep running at simulated times;
  call-backs (mostly satisfied, some dissatisfied → re-handling) and unrated orders that the
  sweep closes as "not rated". The last weeks' orders are still open.

Nothing is typed as an outcome: the figures (solved, satisfied, overdue…) come out of the
simulation and are computed from the records. The simulation decides everything from the seed
(never from database ids), so the same seed gives the same year.

Idempotent: people, departments and rules are looked up by stable codes and usernames; the
year is written in one transaction, and its orders carry an idempotency key starting with
``demo-wo-``. When such orders exist the year is not simulated again.

The clock: services read the time through ``sanan.core.clock``; the builder moves it with
time-machine when installed (every timestamp, ``updated_at`` included, is then simulated),
otherwise by patching ``clock.now``/``clock.today`` (all domain timestamps still are).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.db import transaction

from sanan.accounts.demo import demo_user
from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.organisation.services import membership_add, organisation_ensure
from sanan.places.models import Place, PlaceKind
from sanan.workorders import services
from sanan.workorders.models import (
    Category,
    Channel,
    ExtensionRequest,
    ExtensionStatus,
    RoutingKind,
    RoutingRule,
    SlaClock,
    WorkOrder,
)
from sanan.workorders.routing import route_for, routing_rule_create
from sanan.workorders.sla import clock_add, local_zone
from sanan.workorders.state import ReturnReason, Ruling, Satisfaction, State
from sanan.workorders.sweep import sweep

ACTOR = "demo"
KEY_PREFIX = "demo-wo-"
COMMUNITY_CODE = "511102-tj-nyq"
AREA_CODE = "511102-tj-nyq-hq"
DEFAULT_ORDERS = 3000
DAYS = 365
SWEEP_HOURS = (9, 14, 20)  # the worker sweeps every minute; the year is sampled 3× a day


# --- who ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    speed: float  # multiplies every delay: < 1 quick, > 1 slow
    handlers: tuple[tuple[str, str], ...]  # (username, display name)


DEPARTMENTS: list[DepartmentSpec] = [
    DepartmentSpec("dept-housing", "市中区住房和城乡建设局", 1.0, (("handler", "杨波"),
                   ("wo-housing-2", "吴志强"))),
    DepartmentSpec("dept-urban", "市中区综合行政执法局（城管）", 0.8, (("wo-urban-1", "郭勇"),
                   ("wo-urban-2", "何丽娟"))),
    DepartmentSpec("dept-police", "通江派出所", 0.6, (("wo-police-1", "罗军"),)),
    DepartmentSpec("dept-civil", "市中区民政局", 1.2, (("wo-civil-1", "高秀兰"),)),
    DepartmentSpec("dept-water", "乐山市自来水公司市中营业所", 0.7, (("wo-water-1", "林海"),)),
    DepartmentSpec("dept-power", "国网乐山市中供电中心", 0.5, (("wo-power-1", "马超"),)),
    DepartmentSpec("dept-gas", "乐山燃气公司市中站", 0.5, (("wo-gas-1", "朱建华"),)),
    DepartmentSpec("dept-sanitation", "市中区环境卫生管理所", 0.9, (("wo-sanitation-1", "胡明"),
                   ("wo-sanitation-2", "孙丽"))),
    DepartmentSpec("dept-market", "市中区市场监督管理局", 1.4, (("wo-market-1", "徐静"),)),
    DepartmentSpec("dept-fire", "市中区消防救援大队", 0.6, (("wo-fire-1", "黄磊"),)),
    DepartmentSpec("dept-health", "市中区卫生健康局", 1.1, (("wo-health-1", "陈芳"),)),
    DepartmentSpec("dept-emergency", "市中区应急管理局（防汛办）", 0.7,
                   (("wo-emergency-1", "赵刚"),)),
]  # fmt: skip

# Routing directory: category code → (lead department, co-handlers). Categories absent here
# (neighbour disputes, questions, suggestions) wait on the dispatcher's board.
ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "infrastructure": ("dept-housing", ()),
    "street_light": ("dept-power", ()),
    "drain_blocked": ("dept-sanitation", ("dept-housing",)),
    "sanitation": ("dept-sanitation", ()),
    "utilities": ("dept-water", ()),
    "power_outage": ("dept-power", ()),
    "gas_leak": ("dept-gas", ("dept-fire",)),
    "public_security": ("dept-police", ()),
    "fire_safety": ("dept-fire", ()),
    "illegal_construction": ("dept-urban", ("dept-housing",)),
    "rental_housing": ("dept-police", ()),
    "social_assistance": ("dept-civil", ()),
    "elderly_children": ("dept-civil", ()),
    "greening_parking": ("dept-urban", ()),
    "health_epidemic": ("dept-health", ()),
    "food_safety": ("dept-market", ()),
    "flood_disaster": ("dept-emergency", ("dept-housing",)),
}
# Where the dispatcher sends what the directory does not route.
MANUAL = {
    "neighbour_dispute": "dept-civil",
    "consultation": "dept-civil",
    "suggestion": "dept-housing",
}
BACKSTOP = "dept-civil"

RESIDENTS: list[tuple[str, str]] = [
    (f"wo-resident-{i:02d}", name)
    for i, name in enumerate(
        ["王建华", "李淑芬", "张志明", "刘桂兰", "陈国强", "杨秀珍", "黄永红", "赵德胜",
         ],
        start=1,
    )
]  # fmt: skip
COMMISSIONERS = ["commissioner", "commissioner2", "butler"]  # core.demo's field staff
DESK = "dispatcher"


# --- what and when ------------------------------------------------------------------------

# Level-1 weights by month (1..12): a base share, floods in summer, utilities in winter.
BASE_WEIGHT = {
    "infrastructure": 14, "sanitation": 12, "utilities": 7, "public_security": 6,
    "fire_safety": 5, "illegal_construction": 4, "rental_housing": 4, "neighbour_dispute": 8,
    "social_assistance": 4, "elderly_children": 5, "greening_parking": 9, "health_epidemic": 3,
    "flood_disaster": 1, "consultation": 6, "suggestion": 3,
}  # fmt: skip
SUMMER = {6: 18.0, 7: 26.0, 8: 16.0, 5: 3.0, 9: 4.0}  # flood_disaster extra weight
WINTER = {12: 10.0, 1: 13.0, 2: 8.0, 11: 3.0}  # utilities extra weight (frozen pipes, heaters)
MONTH_VOLUME = {1: 0.9, 2: 0.75, 3: 0.95, 4: 1.0, 5: 1.05, 6: 1.25, 7: 1.4, 8: 1.25, 9: 1.0,
                10: 0.85, 11: 0.95, 12: 1.0}  # fmt: skip

# What residents write, by leaf category, so an order's text always fits its category.
DESCRIPTIONS = {
    "road_damage": ["巷道路面破损，雨天积水", "院坝地面塌了一块，老人容易摔跤"],
    "street_light": ["路灯不亮，晚上走路不安全", "巷子口的路灯一闪一闪的"],
    "manhole_cover": ["井盖松动有响声", "路边井盖缺了一块"],
    "drain_blocked": ["院坝下水道堵了，有异味", "下水道反水，院子里全是污水"],
    "public_facility": ["公共座椅坏了", "院子里的健身器材松了"],
    "building_hazard": ["老房子墙面开裂", "屋檐瓦片松动，怕掉下来砸人"],
    "garbage_collection": ["垃圾桶满了两天没人清运", "垃圾站周边脏乱"],
    "dumping": ["楼道堆放杂物", "有人在巷子口乱倒建筑垃圾"],
    "public_toilet": ["公厕没水冲", "公厕灯坏了"],
    "pests": ["院子里老鼠多", "蚊子多，想请人来消杀"],
    "water_outage": ["整栋楼停水了", "停水一天了还没来水"],
    "water_pressure": ["水压太小，楼上没水"],
    "pipe_burst": ["水管冻裂漏水", "巷子里水管爆了，水一直冒"],
    "power_outage": ["突然停电", "这几家停电好几个小时了"],
    "gas_leak": ["闻到燃气味", "燃气表附近有气味"],
    "theft": ["电瓶车被偷", "晾在院子里的衣服被偷了"],
    "noise_nuisance": ["晚上有人大声喧哗", "半夜装修声音很大"],
    "suspicious_activity": ["有陌生人挨家敲门", "有人在院子里转来转去看门锁"],
    "blocked_exit": ["消防通道被车堵住", "楼道出口堆满了东西"],
    "ebike_charging": ["有人在楼道给电瓶车充电", "有人从窗户拉线给电瓶车充电"],
    "extinguisher_missing": ["灭火器过期了", "楼道的灭火器不见了"],
    "illegal_extension": ["邻居在院子里私搭棚子"],
    "rooftop_building": ["楼顶加建了一层"],
    "occupied_public_space": ["公共通道被占用", "有人把巷子当成自家仓库"],
    "unregistered_rental": ["出租屋没有登记", "隔壁新来了租户，好像没登记"],
    "overcrowding": ["出租房住了很多人"],
    "rental_hazard": ["出租房电线乱拉"],
    "leak_dispute": ["楼上漏水到我家"],
    "shared_space_dispute": ["邻居占用公共过道", "为院坝晾衣服的地方吵起来了"],
    "pet_dispute": ["狗晚上一直叫", "邻居的狗不拴绳"],
    "subsistence_allowance": ["想咨询低保怎么申请"],
    "temporary_hardship": ["家里遇到困难，申请临时救助"],
    "disability_support": ["残疾人补贴问题"],
    "elderly_alone": ["独居老人几天没见出门"],
    "left_behind_child": ["留守孩子放学没人管"],
    "elderly_care_service": ["想了解助餐服务", "老人想申请上门照护"],
    "tree_pruning": ["树枝挡住窗户"],
    "green_damage": ["绿地被踩坏了"],
    "parking_disorder": ["车乱停堵住巷子"],
    "charging_point": ["想装充电桩"],
    "epidemic_report": ["有人发烧咳嗽"],
    "food_safety": ["小餐馆卫生差"],
    "vaccination": ["疫苗接种时间咨询"],
    "waterlogging": ["暴雨后院子积水很深"],
    "geological_hazard": ["挡墙有裂缝怕垮塌"],
    "dangerous_tree": ["大树歪了快倒了"],
    "policy_question": ["医保政策咨询"],
    "service_guide": ["办居住证需要什么材料"],
    "community_building": ["建议增设休息座椅"],
    "service_improvement": ["建议社区办事延长时间"],
}  # fmt: skip
FINISH_REPLIES = ["已安排人员到现场处理完毕", "问题已整改到位，感谢您的反映",
                  "已联系相关单位处理，现已恢复", "已上门核实并处理"]  # fmt: skip


@dataclass
class DemoWorld:
    community: Place
    houses: list[Place]
    courtyard_of: dict[str, Place]  # path → courtyard
    desk: User
    residents: list[User]
    field: list[User]
    departments: dict[str, Organisation]
    handlers: dict[str, list[User]]
    speed: dict[str, float]
    leaves: dict[str, list[Category]]  # level-1 code → its leaf categories
    root_codes: dict[str, str]  # level-1 path → code


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # steps the order outgrew


# --- the people, the departments and the directory ------------------------------------------


def _user(username: str, name: str, phone: str) -> User:
    return demo_user(actor=ACTOR, username=username, display_name=name, phone=phone)


def _phone(n: int) -> str:
    return f"1398833{n:04d}"  # 0833 is Leshan's area code: never a real block of this form


def ensure_departments(community: Place) -> tuple[dict[str, Organisation], dict[str, list[User]]]:
    """The departments serving the community, with their handlers (idempotent)."""
    orgs: dict[str, Organisation] = {}
    handlers: dict[str, list[User]] = {}
    n = 0
    for spec in DEPARTMENTS:
        org = organisation_ensure(
            actor=ACTOR,
            kind=OrganisationKind.DEPARTMENT,
            code=spec.code,
            name=spec.name,
            place=community,
        )
        orgs[spec.code] = org
        handlers[spec.code] = []
        for username, name in spec.handlers:
            n += 1
            user = _user(username, name, _phone(100 + n))
            role_grant(
                actor=ACTOR,
                user=user,
                role=Role.HANDLER,
                place=community,
                organisation=org,
                reason="demo community",
            )
            membership_add(actor=ACTOR, organisation=org, user=user, title=str(Role.HANDLER.label))
            handlers[spec.code].append(User.objects.get(pk=user.pk))
    return orgs, handlers


def ensure_routing(desk: User, community: Place, orgs: dict[str, Organisation]) -> int:
    """The routing directory of the community (rules only added where none is active)."""
    existing = set(
        RoutingRule.objects.filter(place=community, active=True, kind=RoutingKind.RULE).values_list(
            "category__code", flat=True
        )
    )
    added = 0
    for code, (lead, co) in ROUTES.items():
        if code in existing:
            continue
        routing_rule_create(
            actor=desk,
            place=community,
            category=Category.objects.get(code=code),
            lead_organisation=orgs[lead],
            co_handlers=[orgs[c] for c in co],
            note="demo",
        )
        added += 1
    if not RoutingRule.objects.filter(
        place=community, active=True, kind=RoutingKind.BACKSTOP
    ).exists():
        routing_rule_create(
            actor=desk, place=community, lead_organisation=orgs[BACKSTOP], backstop=True,
            note="demo: the owner of last resort",
        )  # fmt: skip
        added += 1
    return added


def ensure_residents(houses: list[Place]) -> list[User]:
    """A few residents with accounts (the rest of the year's callers use the hotline)."""
    users = []
    for i, (username, name) in enumerate(RESIDENTS):
        user = _user(username, name, _phone(i + 1))
        house = houses[(i * 13) % len(houses)]
        unit = Place.objects.filter(path__startswith=house.path, kind=PlaceKind.UNIT).first()
        role_grant(
            actor=ACTOR, user=user, role=Role.RESIDENT, place=unit or house,
            reason="demo community",
        )  # fmt: skip
        users.append(User.objects.get(pk=user.pk))
    return users


def _world() -> DemoWorld | None:
    community = Place.objects.filter(code=COMMUNITY_CODE).first()
    area = Place.objects.filter(code=AREA_CODE).first()
    desk = User.objects.filter(username=DESK).first()
    if community is None or area is None or desk is None:
        return None
    with transaction.atomic():
        orgs, handlers = ensure_departments(community)
        ensure_routing(desk, community, orgs)
        houses = list(
            Place.objects.filter(path__startswith=area.path, kind=PlaceKind.HOUSE).order_by("code")
        )
        residents = ensure_residents(houses)
    leaves: dict[str, list[Category]] = {}
    roots = _root_codes()
    for cat in Category.objects.filter(active=True).order_by("path"):
        if cat.depth == 1:
            leaves.setdefault(cat.code, [])
        else:
            root = cat.path[: Category.steplen]
            leaves.setdefault(roots[root], []).append(cat)
    return DemoWorld(
        community=community,
        houses=houses,
        courtyard_of={
            c.path: c
            for c in Place.objects.filter(path__startswith=area.path, kind=PlaceKind.COURTYARD)
        },
        desk=User.objects.get(pk=desk.pk),
        residents=residents,
        field=list(User.objects.filter(username__in=COMMISSIONERS).order_by("username")),
        departments=orgs,
        handlers=handlers,
        speed={d.code: d.speed for d in DEPARTMENTS},
        leaves={k: v for k, v in leaves.items() if v},
        root_codes=roots,
    )


def _root_codes() -> dict[str, str]:
    """Level-1 category path → its stable code."""
    return dict(Category.objects.filter(depth=1).values_list("path", "code"))


# --- the simulated clock ----------------------------------------------------------------------


class SimulatedClock:
    """Moves Sanan's clock: time-machine when installed, else a patch of ``core.clock``."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> SimulatedClock:
        try:
            import time_machine
        except ImportError:  # a production install without the dev tools
            self._traveller = None
            self._stack.enter_context(mock.patch.object(clock, "now", side_effect=lambda: self.now))
            self._stack.enter_context(
                mock.patch.object(
                    clock, "today", side_effect=lambda: self.now.astimezone(local_zone()).date()
                )
            )
        else:
            self._traveller = self._stack.enter_context(time_machine.travel(self.now, tick=False))
        return self

    def move_to(self, moment: dt.datetime) -> None:
        self.now = moment
        if self._traveller is not None:
            self._traveller.move_to(moment)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


# --- the simulation -----------------------------------------------------------------------------


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _arrival(rng: random.Random, day: dt.date, channel: str) -> dt.datetime:
    zone = local_zone()
    if channel == Channel.DISCOVERY:  # patrols: daytime
        minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
    elif rng.random() < 0.8:
        minute = rng.randint(7 * 60 + 30, 21 * 60)
    else:
        minute = rng.randint(0, 24 * 60 - 1)
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone)


def _answers(rng: random.Random, cat: Category, at: dt.datetime) -> dict[str, Any]:
    if cat.code in ("water_outage", "power_outage"):
        since = at - dt.timedelta(minutes=rng.randint(20, 300))
        return {"since": since.isoformat(), "scope": rng.choice(["home", "building", "courtyard"])}
    if cat.code == "waterlogging":
        return {"depth_cm": rng.choice([10, 20, 30, 40, 60])}
    return {}


class Simulation:
    """The year as a queue of (moment, step) events, handled in time order."""

    def __init__(self, world: DemoWorld, rng: random.Random, orders: int, end: dt.datetime):
        self.w = world
        self.rng = rng
        self.n = orders
        self.end = end
        self.begin = end - dt.timedelta(days=DAYS)
        self.queue: list[tuple[dt.datetime, int, int, str]] = []
        self.seq = 0
        self.ids: dict[int, int] = {}  # plan index → order id
        self.plans: dict[int, dict[str, Any]] = {}
        self.tally = Tally()

    # scheduling -------------------------------------------------------------------------

    def at(self, moment: dt.datetime, index: int, step: str) -> None:
        if moment < self.end:
            self.seq += 1
            heapq.heappush(self.queue, (moment, self.seq, index, step))

    def later(self, order: WorkOrder, index: int, step: str, minutes: float) -> None:
        """``minutes`` of the order's clock (working time, or around the clock), scaled by
        the department's speed, after now."""
        speed = self.w.speed.get(self._dept(order), 1.0)
        kind = order.sla_clock or SlaClock.WORKING
        now = clock.now()
        self.at(clock_add(kind, now, max(1, int(minutes * speed))), index, step)

    def _dept(self, order: WorkOrder) -> str:
        return order.lead_organisation.code if order.lead_organisation else ""

    def _handler(self, order: WorkOrder) -> User:
        return self.rng.choice(self.w.handlers[self._dept(order)])

    def _load(self, index: int) -> WorkOrder:
        return WorkOrder.objects.select_related(
            "place", "category", "lead_organisation", "sla_policy", "reporter"
        ).get(pk=self.ids[index])

    # the plan -------------------------------------------------------------------------------

    def plan(self) -> None:
        rng = self.rng
        days = [self.begin.astimezone(local_zone()).date() + dt.timedelta(days=d + 1)
                for d in range(DAYS)]  # fmt: skip
        volume = [MONTH_VOLUME[d.month] * (0.75 if d.weekday() >= 5 else 1.0) for d in days]
        chosen = sorted(rng.choices(range(len(days)), weights=volume, k=self.n))
        for index, day_index in enumerate(chosen):
            day = days[day_index]
            weights: dict[str, float] = dict(BASE_WEIGHT)
            weights["flood_disaster"] += SUMMER.get(day.month, 0.0)
            weights["utilities"] += WINTER.get(day.month, 0.0)
            root = _weighted(rng, {k: v for k, v in weights.items() if k in self.w.leaves})
            channel = _weighted(
                rng, {Channel.RESIDENT_FORM: 40, Channel.HOTLINE: 42, Channel.DISCOVERY: 18}
            )
            moment = _arrival(rng, day, channel)
            if moment >= self.end:
                moment = self.end - dt.timedelta(minutes=rng.randint(5, 600))
            leaf = rng.choice(self.w.leaves[root])
            self.plans[index] = {
                "category": leaf,
                "channel": channel,
                "house": rng.choice(self.w.houses),
                "text": rng.choice(DESCRIPTIONS.get(leaf.code) or [f"{leaf.name}问题反映"]),
                "resident": rng.randrange(len(self.w.residents)),
                "field": rng.randrange(len(self.w.field)),
                "caller": rng.randint(1, 9999),
                "anonymous": rng.random() < 0.05,
                # the fate of the order, drawn once: the same seed, the same year
                "returns": rng.random() < 0.055,
                "rate": rng.random(),
                "mood": rng.random(),
                "late": rng.random(),
                "extension": rng.random(),
            }
            self.at(moment, index, "submit")

    # the steps ----------------------------------------------------------------------------

    def submit(self, index: int) -> None:
        p, rng = self.plans[index], self.rng
        cat: Category = p["category"]
        channel = p["channel"]
        kwargs: dict[str, Any] = {
            "channel": channel,
            "category": cat,
            "description": p["text"],
            "place": p["house"],
            "answers": _answers(rng, cat, clock.now()),
            "idempotency_key": f"{KEY_PREFIX}{index:05d}",
        }
        if channel == Channel.RESIDENT_FORM:
            actor = self.w.residents[p["resident"]]
            kwargs["anonymous"] = p["anonymous"]
        elif channel == Channel.HOTLINE:
            actor = self.w.desk
            resident = self.w.residents[p["resident"]] if p["caller"] % 4 == 0 else None
            kwargs["contact_name"] = rng.choice("王李张刘陈杨黄赵吴周") + rng.choice(
                ["女士", "先生"]
            )
            kwargs["contact_phone"] = (
                _phone(RESIDENTS.index((resident.username, resident.display_name)) + 1)
                if resident is not None
                else f"1378833{p['caller']:04d}"
            )
        else:
            actor = self.w.field[p["field"]]
            kwargs["place"] = self.w.courtyard_of[p["house"].path[: -Place.steplen]]
        order = services.work_order_submit(actor=actor, **kwargs).order
        self.ids[index] = order.pk
        self.tally.counts[f"channel:{channel}"] += 1
        if order.state == State.DISPATCHED:
            self.tally.counts["dispatched automatically"] += 1
            self.later(order, index, "sign", self._sign_minutes(order))
        else:  # the dispatcher's board: someone at the desk within working hours
            self.at(clock_add(SlaClock.WORKING, clock.now(), rng.randint(10, 180)), index,
                    "dispatch")  # fmt: skip

    def _sign_minutes(self, order: WorkOrder) -> float:
        policy = order.sla_policy
        limit = policy.sign_minutes if policy else 120
        return limit * self.rng.uniform(0.1, 0.9 if self.rng.random() < 0.9 else 1.6)

    def dispatch(self, index: int) -> None:
        order = self._load(index)
        route = route_for(category=order.category, place=order.place)
        root = self.w.root_codes[order.category.path[: Category.steplen]]
        code = MANUAL.get(root, BACKSTOP)
        lead = self.w.departments[code]
        overridden = route.lead is not None and route.lead.pk != lead.pk
        services.work_order_dispatch(
            actor=self.w.desk,
            order=order,
            lead_organisation=lead,
            reason="按职能派至对口部门" if overridden else "",
        )
        self.tally.counts["dispatched by the desk"] += 1
        self.later(order, index, "sign", self._sign_minutes(order))

    def sign(self, index: int) -> None:
        order, p = self._load(index), self.plans[index]
        if p["returns"] and not order.return_locked and "returned" not in p:
            p["returned"] = True
            services.work_order_return(
                actor=self._handler(order),
                order=order,
                reason_code=self.rng.choice(list(ReturnReason.values)),
                reason="经核实不属于本单位职责",
            )
            self.tally.counts["returned"] += 1
            self.at(clock_add(SlaClock.WORKING, clock.now(), self.rng.randint(30, 600)), index,
                    "rule")  # fmt: skip
            return
        services.work_order_sign(actor=self._handler(order), order=order)
        policy = order.sla_policy
        limit = (policy.contact_minutes - policy.sign_minutes) if policy else 450
        self.later(order, index, "contact", max(limit, 30) * self.rng.uniform(0.1, 0.9))

    def rule(self, index: int) -> None:
        order = self._load(index)
        previous = self._dept(order)
        others = [c for c in self.w.departments if c != previous]
        if self.rng.random() < 0.6:
            services.work_order_rule(
                actor=self.w.desk,
                order=order,
                decision=Ruling.REDISPATCH,
                reason="经审定，改派至职责单位",
                lead_organisation=self.w.departments[self.rng.choice(others)],
            )
            self.tally.counts["ruled: re-dispatched"] += 1
        else:
            services.work_order_rule(
                actor=self.w.desk, order=order, decision=Ruling.FORCE,
                reason="经审定，属于本单位职责，请继续办理",
            )  # fmt: skip
            self.tally.counts["ruled: sent back"] += 1
        order = self._load(index)
        self.later(order, index, "sign", self._sign_minutes(order))

    def contact(self, index: int) -> None:
        order = self._load(index)
        services.work_order_contact(
            actor=self._handler(order), order=order, public_note="已电话联系，将尽快处理",
            method=self.rng.choice(["phone", "phone", "visit"]),
        )  # fmt: skip
        self._plan_finish(order, index, started=False)

    def _plan_finish(self, order: WorkOrder, index: int, *, started: bool) -> None:
        p, rng = self.plans[index], self.rng
        policy = order.sla_policy
        total = policy.finish_minutes - policy.contact_minutes if policy else 3000
        # Most finish well in time; the slower the department, the likelier a late one.
        late_share = 0.06 * self.w.speed.get(self._dept(order), 1.0) ** 2
        fraction = rng.uniform(0.05, 0.8) if p["late"] > late_share else rng.uniform(1.1, 4.0)
        if fraction > 1 and p["extension"] < 0.45 and "extended" not in p:
            p["extended"] = True  # a careful department asks for more time first
            self.later(order, index, "request_extension", total * 0.5)
            p["after_extension"] = fraction
            return
        if not started and rng.random() < 0.7:
            self.later(order, index, "start", total * fraction * 0.3)
            p["remaining"] = fraction * 0.7
        else:
            self.later(order, index, "finish", total * fraction)

    def request_extension(self, index: int) -> None:
        order = self._load(index)
        if order.finish_due_at is not None and clock.now() >= order.finish_due_at:
            self.tally.skipped["extension too late"] += 1
            self.later(order, index, "finish", 60)
            return
        services.work_order_request_extension(
            actor=self._handler(order), order=order, days=self.rng.choice([3, 5, 7]),
            reason="需协调施工队及材料，申请延期",
        )  # fmt: skip
        self.tally.counts["extension requested"] += 1
        self.at(clock_add(SlaClock.WORKING, clock.now(), self.rng.randint(30, 400)), index,
                "decide_extension")  # fmt: skip

    def decide_extension(self, index: int) -> None:
        order, p = self._load(index), self.plans[index]
        pending = ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING)
        if pending.exists():
            approve = self.rng.random() < 0.85
            services.work_order_decide_extension(
                actor=self.w.desk, order=order, approve=approve,
                note="同意延期" if approve else "请按期办结",
            )  # fmt: skip
            self.tally.counts["extension approved" if approve else "extension refused"] += 1
        order = self._load(index)
        policy = order.sla_policy
        total = policy.finish_minutes - policy.contact_minutes if policy else 3000
        self.later(order, index, "finish", total * min(p.get("after_extension", 1.0), 1.5) * 0.6)

    def start(self, index: int) -> None:
        order, p = self._load(index), self.plans[index]
        services.work_order_start(actor=self._handler(order), order=order)
        policy = order.sla_policy
        total = policy.finish_minutes - policy.contact_minutes if policy else 3000
        self.later(order, index, "finish", total * p.get("remaining", 0.3))

    def finish(self, index: int) -> None:
        order = self._load(index)
        if order.state == State.CONTACTED and self.rng.random() < 0.3:
            pass  # a simple job finished during the first contact
        elif order.state == State.CONTACTED:
            services.work_order_start(actor=self._handler(order), order=order)
            order = self._load(index)
        services.work_order_finish(
            actor=self._handler(order), order=order, public_note=self.rng.choice(FINISH_REPLIES)
        )
        self.tally.counts["finished"] += 1
        if order.finish_due_at is not None and clock.now() > order.finish_due_at:
            self.tally.counts["finished late"] += 1
        p = self.plans[index]
        if p["rate"] < 0.78:  # most people rate within a few days; the others never do
            delay = dt.timedelta(hours=self.rng.uniform(2, 24 * min(services.rating_days(), 6)))
            self.at(clock.now() + delay, index, "callback")
        else:
            self.tally.counts["left unrated"] += 1

    def callback(self, index: int) -> None:
        order, p = self._load(index), self.plans[index]
        speed = self.w.speed.get(self._dept(order), 1.0)
        mood = p["mood"] if order.rehandle_count == 0 else self.rng.random() * 0.5
        dissatisfied = 0.07 * speed
        if mood < dissatisfied:
            resolution, satisfaction = self.rng.choice(
                [("not_solved", Satisfaction.DISSATISFIED), ("partly", Satisfaction.DISSATISFIED)]
            )
        elif mood < dissatisfied + 0.14:
            resolution, satisfaction = "partly", Satisfaction.FAIRLY
        else:
            resolution, satisfaction = "solved", Satisfaction.SATISFIED
        by_reporter = (
            order.reporter is not None
            and order.channel == Channel.RESIDENT_FORM
            and self.rng.random() < 0.7
        )
        services.work_order_callback(
            actor=order.reporter if by_reporter else self.w.desk,
            order=order,
            resolution=resolution,
            satisfaction=satisfaction,
            comment="" if satisfaction == Satisfaction.SATISFIED else "还是没有彻底解决",
        )
        self.tally.counts[f"rated {satisfaction}"] += 1
        order = self._load(index)
        if order.state == State.DISPATCHED:  # re-opened for re-handling
            self.tally.counts["re-handled"] += 1
            p["late"] = 1.0  # the second time is done properly, and in time
            self.later(order, index, "sign", self._sign_minutes(order))

    # running -----------------------------------------------------------------------------------

    STEPS = ("submit", "dispatch", "sign", "rule", "contact", "start", "request_extension",
             "decide_extension", "finish", "callback")  # fmt: skip

    def run(self, sim: SimulatedClock, progress: Callable[[str], object]) -> None:
        zone = local_zone()
        day = self.begin.astimezone(zone).date()
        sweeps = [
            dt.datetime.combine(day + dt.timedelta(days=d), dt.time(h), tzinfo=zone)
            for d in range(DAYS + 2)
            for h in SWEEP_HOURS
        ]
        sweeps = [s for s in sweeps if self.begin < s < self.end]
        s = 0
        month = None
        started = time.perf_counter()
        while self.queue:
            moment, _seq, index, step = heapq.heappop(self.queue)
            while s < len(sweeps) and sweeps[s] <= moment:
                sim.move_to(sweeps[s])
                self._sweep()
                s += 1
            sim.move_to(moment)
            local = moment.astimezone(zone)
            if local.month != month:
                month = local.month
                progress(
                    f"  work orders: {local:%Y-%m} "
                    f"({len(self.ids)}/{self.n} registered, {time.perf_counter() - started:.0f} s)"
                )
            try:
                getattr(self, step)(index)
            except DomainError as exc:  # the sweep or another step overtook this one
                self.tally.skipped[f"{step}: {exc.code}"] += 1
        while s < len(sweeps):
            sim.move_to(sweeps[s])
            self._sweep()
            s += 1
        sim.move_to(self.end)

    def _sweep(self) -> None:
        result = sweep()
        for name in ("warned", "chased", "supervised", "closed_unrated", "archived"):
            self.tally.counts[f"sweep {name}"] += getattr(result, name)


def build_workorders_demo(
    *,
    seed: int,
    progress: Callable[[str], object],
    orders: int = DEFAULT_ORDERS,
    end: dt.datetime | None = None,
) -> dict[str, int]:
    """Departments, routing and a simulated year of orders in the demo community (idempotent).

    Returns counts of what the demo's year holds (computed from the records). ``orders`` and
    ``end`` (the end of the simulated year; now by default) exist for tests."""
    world = _world()
    if world is None:
        progress("  work orders: no demo community (run the place part first)")
        return {}
    demo_orders = WorkOrder.objects.filter(idempotency_key__startswith=KEY_PREFIX)
    if demo_orders.exists():
        progress(f"  work orders: the demo year is there already ({demo_orders.count()} orders)")
        return summarise()
    end = end or clock.now()
    rng = random.Random(f"workorders-{seed}")  # noqa: S311 (demo data, not secrets)
    sim = Simulation(world, rng, orders, end)
    sim.plan()
    started = time.perf_counter()
    with SimulatedClock(sim.begin) as simulated, transaction.atomic():
        sim.run(simulated, progress)
    elapsed = time.perf_counter() - started
    totals = summarise()
    progress(
        f"  work orders: {totals.get('orders', 0)} orders over a year in {elapsed:.0f} s — "
        + ", ".join(f"{k} {v}" for k, v in sorted(sim.tally.counts.items()))
    )
    if sim.tally.skipped:
        progress(
            "  steps overtaken: " + ", ".join(f"{k} {v}" for k, v in sim.tally.skipped.items())
        )
    return totals


def summarise() -> dict[str, int]:
    """What the demo's orders are now, computed from the records."""
    qs = WorkOrder.objects.filter(idempotency_key__startswith=KEY_PREFIX)
    totals: dict[str, int] = {"orders": qs.count()}
    for state, n in Counter(qs.values_list("state", flat=True)).items():
        totals[f"state {state}"] = n
    for sat, n in Counter(
        qs.exclude(satisfaction="").values_list("satisfaction", flat=True)
    ).items():
        totals[f"satisfaction {sat}"] = n
    totals["re-handled"] = qs.filter(rehandle_count__gt=0).count()
    totals["chased"] = qs.filter(chase_count__gt=0).count()
    totals["supervised"] = qs.filter(supervision_level__gt=0).count()
    return totals


__all__ = ["KEY_PREFIX", "build_workorders_demo", "summarise"]
