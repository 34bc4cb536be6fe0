"""The organisation of the demo community, written through the services:
``build_organisation_demo(seed=..., progress=...)``.

What it adds (``core.demo`` made the places, the desk and the first two commissioners):

* the community Party committee (牛咡桥社区党委, secretary: the leader 周红) with its term, the
  Party branch of 红旗小区 (secretary: the committee member 赵明), the self-management
  committee, the seniors' association, the volunteer team and the returning college students;
* 60 Party members in the branch, each with one of the nine characteristic posts; 15 of them
  are courtyard commissioners whose patches (strips of neighbouring courtyards) together cover
  all 55 courtyards — assigning them grants their scoped commissioner role;
* a public card for every member, and a year of commitments (published, most fulfilled with
  evidence, some late, some still open or overdue) with residents' comments;
* when the registry has households (the year needs the people it happens to; without the
  registry there is no history): a year of the commissioners' visits to households, some
  diligent and some not (so some households go unvisited for months), with the problems found:
  solved on the spot, noted, or made a work order through ``work_order_submit`` (commissioner's
  discovery) that the desk and the housing department then handle through the work-order
  services, and the desk calls back. The last weeks' orders are still open.

Nothing is typed as an outcome: "households served", "problems solved", coverage and the
commitment figures are counted from what this writes. The year runs on a simulated clock
(time-machine), decided by the seed alone (never database ids): the same seed, the same year.
Idempotent: people by username, organisations by code, posts by (type, holder, place), and the
simulated year only when no demo commitment (``demo-k-``) or visit (``demo-v-``) exists yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import time_machine
from django.db import transaction
from django.utils import timezone

from sanan.accounts.demo import demo_user
from sanan.accounts.models import User
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.organisation import services
from sanan.organisation.models import (
    Commitment,
    CommitmentState,
    Event,
    Organisation,
    OrganisationKind,
    Position,
    Post,
    PostType,
    RedButler,
    Visit,
    VisitProblem,
)
from sanan.organisation.seed import post_types_ensure_standard
from sanan.places.models import Place, PlaceKind

ACTOR = "demo"
COMMUNITY_CODE = "511102-tj-nyq"
AREA_CODE = "511102-tj-nyq-hq"
DAYS = 365
PARTY_MEMBERS = 60
COMMISSIONERS = 15
# core.demo's commissioners keep their courtyards (1 and 2): they lead the first and third patch.
EXISTING_COMMISSIONERS = {0: "commissioner", 2: "commissioner2"}
# Patch sizes along a snake through the 11 x 5 grid, column by column: every patch is a strip of
# neighbouring courtyards (10 patches of 4, 5 of 3 = 55).
PATCH_SIZES = [4, 4, 3] * 5
GRID_COLS, GRID_ROWS = 11, 5

GIVEN = "建国秀英桂芳志强明华丽娟海燕玉兰德胜永红国庆春梅小平淑珍文军晓东红梅卫东金凤"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"

COMMITMENTS: dict[str, list[str]] = {
    "policy_explainer": ["每月在院坝宣讲一次惠民政策", "帮助老人办理医保年度认证"],
    "dispute_mediator": ["及时调解院内邻里纠纷", "每季度走访一次矛盾易发户"],
    "safety_watcher": ["每周夜间巡查院落一次", "检查院内消防通道畅通"],
    "environment_keeper": ["每周带头清理院内卫生死角", "组织院内垃圾分类宣传"],
    "elderly_carer": ["每周探望院内独居老人", "为高龄老人代办生活缴费"],
    "youth_mentor": ["周末为留守儿童辅导作业", "暑期组织一次青少年安全课"],
    "volunteer_leader": ["每月组织一次志愿服务活动", "招募五名新志愿者"],
    "rental_inspector": ["每月走访出租房屋、登记流动人口", "检查出租房用电安全"],
    "courtyard_commissioner": ["每月走访包片院落每一户", "收集院落问题并跟踪到办结"],
}
TOPICS = [
    "了解家庭近况，宣传垃圾分类",
    "询问老人身体情况和日常生活需要",
    "宣讲防汛知识，提醒注意用电安全",
    "听取对院落环境整治的意见",
    "介绍社区活动和连心热线",
    "了解租户登记情况",
    "宣传居民公约，征求路灯电费分摊意见",
    "走访慰问，了解孩子上学情况",
]
# Problems found on visits: (description, category code or "" when not an order).
ORDER_PROBLEMS = [
    ("楼道口路灯不亮", "street_light"),
    ("院坝地面破损，下雨积水", "road_damage"),
    ("院内健身器材损坏", "public_facility"),
    ("下水道堵塞，有异味", "drain_blocked"),
    ("老房子墙体开裂，担心安全", "building_hazard"),
]
SPOT_PROBLEMS = ["帮老人更换了坏掉的灯泡", "劝说住户移走楼道杂物", "调解了晾晒衣物的小摩擦"]
NOTED_PROBLEMS = ["希望院内增加休息座椅", "反映周边夜市噪音", "希望多组织老年人活动"]
COMMENTS = ["谢谢党员同志，辛苦了！", "说到做到，点赞", "希望继续坚持", "老人们都很感谢"]

HOUSING = "dept-housing"
DESK = "dispatcher"
HANDLER = "handler"
RESIDENT = "resident"


def _phone(n: int) -> str:
    return f"1360833{n:04d}"  # 0833 is Leshan's area code: never a real block of this form


def _names(rng: random.Random, n: int) -> list[str]:
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < n:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _user(username: str, name: str, phone: str) -> User:
    user = demo_user(actor=ACTOR, username=username, display_name=name, phone=phone)
    return User.objects.get(pk=user.pk)


def snake_patches(courtyards: list[Place]) -> list[list[Place]]:
    """The 55 courtyards (numbered row by row from the north-west) cut into 15 patches of
    neighbours: walk the grid column by column, down one column and up the next."""
    order: list[Place] = []
    for col in range(GRID_COLS):
        rows = range(GRID_ROWS) if col % 2 == 0 else reversed(range(GRID_ROWS))
        order.extend(courtyards[row * GRID_COLS + col] for row in rows)
    patches, start = [], 0
    for size in PATCH_SIZES:
        patches.append(order[start : start + size])
        start += size
    return patches


@dataclass
class Structure:
    community: Place
    area: Place
    courtyards: list[Place]
    branch: Organisation
    commissioners: list[User]
    patches: list[list[Place]]
    members: list[User]  # all 60 Party members, commissioners first
    post_place: dict[int, Place] = field(default_factory=dict)  # member → where they serve
    post_code: dict[int, str] = field(default_factory=dict)


def build_structure(rng: random.Random, community: Place, area: Place, since: dt.date) -> Structure:
    """Organisations, terms, members, posts (with their roles) and cards (idempotent)."""
    courtyards = list(
        Place.objects.filter(path__startswith=area.path, kind=PlaceKind.COURTYARD).order_by("code")
    )
    ensure = services.organisation_ensure
    party = ensure(
        actor=ACTOR,
        kind=OrganisationKind.PARTY_COMMITTEE,
        code="party-nyq",
        name="中共牛咡桥社区委员会",
        place=community,
    )
    branch = ensure(
        actor=ACTOR,
        kind=OrganisationKind.PARTY_BRANCH,
        code="branch-hq",
        name="中共红旗小区支部委员会",
        place=area,
        parent=party,
    )
    smc = ensure(
        actor=ACTOR,
        kind=OrganisationKind.SELF_MANAGEMENT,
        code="smc-hq",
        name="红旗小区居民自管委",
        place=area,
        parent=party,
    )
    groups = [
        ensure(
            actor=ACTOR, kind=OrganisationKind.GROUP, code=code, name=name, place=area, parent=party
        )
        for code, name in (
            ("grp-seniors", "红旗小区老年协会"),
            ("grp-volunteers", "红旗小区志愿服务队"),
            ("grp-students", "返乡大学生联谊会"),
        )
    ]
    term_start = dt.date(since.year - 2, 1, 1)
    term_end = dt.date(since.year + 3, 1, 1)
    party_term = services.term_ensure(
        actor=ACTOR, organisation=party, name="第三届", starts_on=term_start, ends_on=term_end
    )
    branch_term = services.term_ensure(
        actor=ACTOR, organisation=branch, name="第二届", starts_on=term_start, ends_on=term_end
    )
    leader = User.objects.filter(username="leader").first()
    committee = User.objects.filter(username="committee").first()
    for person, serves in ((leader, community), (committee, area)):
        if person is not None:  # their cards before their Party memberships (stable QR tokens)
            services.member_profile_ensure(
                actor=ACTOR,
                user=person,
                place=serves,
                card_token=hashlib.sha256(f"demo-card-{person.username}".encode()).hexdigest()[:16],
            )
    if leader is not None:
        services.membership_add(
            actor=ACTOR,
            organisation=party,
            user=leader,
            term=party_term,
            position=Position.SECRETARY,
            started_on=term_start,
        )
    if committee is not None:
        services.membership_add(
            actor=ACTOR,
            organisation=party,
            user=committee,
            term=party_term,
            position=Position.COMMITTEE_MEMBER,
            started_on=term_start,
        )
        services.membership_add(
            actor=ACTOR,
            organisation=branch,
            user=committee,
            term=branch_term,
            position=Position.SECRETARY,
            started_on=term_start,
        )

    names = _names(rng, PARTY_MEMBERS)
    commissioners: list[User] = []
    n_new = 0
    for i in range(COMMISSIONERS):
        existing = EXISTING_COMMISSIONERS.get(i)
        user = User.objects.filter(username=existing).first() if existing else None
        if user is None:
            n_new += 1
            user = _user(f"pm-{n_new:02d}", names[i], _phone(n_new))
        commissioners.append(user)
    others = []
    for i in range(COMMISSIONERS, PARTY_MEMBERS):
        n_new += 1
        others.append(_user(f"pm-{n_new:02d}", names[i], _phone(n_new)))
    members = commissioners + others

    patches = snake_patches(courtyards)
    types = {t.code: t for t in PostType.objects.filter(active=True)}
    commissioner_type = types["courtyard_commissioner"]
    other_types = [t for code, t in types.items() if code != "courtyard_commissioner"]
    structure = Structure(community, area, courtyards, branch, commissioners, patches, members)
    positions = [Position.DEPUTY_SECRETARY, Position.COMMITTEE_MEMBER, Position.COMMITTEE_MEMBER]
    for i, user in enumerate(members):
        joined = since - dt.timedelta(days=rng.randint(30, 3 * 365))
        if i < COMMISSIONERS:
            place, code = patches[i][0], commissioner_type.code
        else:
            post_type = other_types[(i - COMMISSIONERS) % len(other_types)]
            place, code = courtyards[(i * 7) % len(courtyards)], post_type.code
        # The card first (its QR token comes from the seed), then the membership, which
        # grants the Party member's role and would otherwise issue a card of its own.
        services.member_profile_ensure(
            actor=ACTOR,
            user=user,
            place=place,
            joined_party_on=joined - dt.timedelta(days=rng.randint(365, 30 * 365)),
            motto=rng.choice(
                ["有事找我，马上就办", "群众的小事就是我的大事", "一心为民，说到做到"]
            ),
            card_token=f"{rng.getrandbits(64):016x}",
        )
        services.membership_add(
            actor=ACTOR,
            organisation=branch,
            user=user,
            term=branch_term,
            position=positions[i] if i < len(positions) else Position.MEMBER,
            started_on=min(joined, since),
        )
        if i < COMMISSIONERS:
            for courtyard in patches[i]:
                services.post_assign(
                    actor=ACTOR,
                    holder=user,
                    post_type=commissioner_type,
                    place=courtyard,
                    organisation=branch,
                    started_on=joined,
                )
        else:
            services.post_assign(
                actor=ACTOR,
                holder=user,
                post_type=post_type,
                place=place,
                organisation=branch,
                started_on=joined,
            )
        structure.post_place[user.pk] = place
        structure.post_code[user.pk] = code
    # The residents' bodies: a few members in each (the self-management committee's chair
    # and deputy are members of the branch too: the three-party linkage).
    for org, chosen in (
        (smc, others[:5]),
        *((g, others[5 + 3 * k : 8 + 3 * k]) for k, g in enumerate(groups)),
    ):
        for j, user in enumerate(chosen):
            position = (Position.CHAIR, Position.DEPUTY_CHAIR)[j] if j < 2 else Position.MEMBER
            services.membership_add(
                actor=ACTOR, organisation=org, user=user, position=position, started_on=since
            )
    return structure


# --- Red Butlers ------------------------------------------------------------------------------

RED_BUTLERS = 30
EXISTING_BUTLER = "butler"  # core.demo's Red Butler is the first of the thirty
ORIGINS = ["retiree", "retiree", "resident", "retiree", "veteran", "resident"]


def build_butlers(rng: random.Random, s: Structure, since: dt.date) -> list[Any]:
    """Thirty Red Butlers spread over the courtyards (idempotent)."""
    names = _names(rng, RED_BUTLERS)
    butlers = []
    for i in range(RED_BUTLERS):
        user = User.objects.filter(username=EXISTING_BUTLER).first() if i == 0 else None
        if user is None:
            user = _user(f"rb-{i + 1:02d}", names[i], _phone(100 + i + 1))
        courtyard = s.courtyards[(i * len(s.courtyards)) // RED_BUTLERS]
        butlers.append(
            services.butler_appoint(
                actor=ACTOR,
                user=user,
                origin=ORIGINS[i % len(ORIGINS)],
                place=courtyard,
                started_on=since - dt.timedelta(days=rng.randint(30, 700)),
            )
        )
    return butlers


# --- the simulated year -------------------------------------------------------------------------

FLAG_VENUE = "连心邻里空间广场"
OTHER_EVENTS = [
    (2, "meeting", "院落议事会：路灯电费分摊", "红旗小区议事厅"),
    (5, "volunteer", "防汛志愿者集结", "连心邻里空间"),
    (8, "culture", "邻里坝坝宴", "红旗巷口"),
    (11, "meeting", "年度党员评议会", "红旗小区议事厅"),
]


class Year:
    """Commitments, visits (and the orders found on them), Red Butlers' activities and
    events, as one queue of (moment, step). Each part draws from its own random stream, so a
    part added later to an existing demo is the same as in a demo built at once."""

    def __init__(
        self, s: Structure, seed: int, end: dt.datetime, parts: set[str], butlers: list[Any]
    ) -> None:
        self.s = s
        self.rngs = {p: random.Random(f"organisation-{p}-{seed}") for p in ("k", "v", "b", "e")}  # noqa: S311
        self.end = end
        self.begin = end - dt.timedelta(days=DAYS)
        self.parts = parts
        self.butlers = butlers
        self.queue: list[tuple[dt.datetime, int, str, dict[str, Any]]] = []
        self.seq = 0
        self.codes = 0
        self.counts: dict[str, int] = {}
        self.desk = User.objects.filter(username=DESK).first()
        self.handler = User.objects.filter(username=HANDLER).first()
        self.resident = User.objects.filter(username=RESIDENT).first()
        self.housing = Organisation.objects.filter(code=HOUSING).first()
        from sanan.workorders.models import Category

        self.categories = {c.code: c for c in Category.objects.filter(active=True)}
        # people who sign in somewhere: they comment on commitments and come to events
        self.people = [u for u in [self.resident, *s.commissioners] if u is not None] + [
            b.user for b in butlers
        ]

    def at(self, moment: dt.datetime, step: str, **data: Any) -> None:
        if moment < self.end:
            self.seq += 1
            heapq.heappush(self.queue, (moment, self.seq, step, data))

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def _moment(
        self, rng: random.Random, day: dt.date, start: int = 9, end: int = 18
    ) -> dt.datetime:
        minute = rng.randint(start * 60, end * 60 - 1)
        zone = timezone.get_default_timezone()
        return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone)

    def later(self, rng: random.Random, days: int) -> dt.datetime:
        moment = timezone.localtime(clock.now()) + dt.timedelta(days=days)
        return moment.replace(hour=rng.randint(9, 19), minute=rng.randint(0, 59))

    # planning ---------------------------------------------------------------------------------

    def plan(self) -> None:
        first_day = timezone.localdate(self.begin) + dt.timedelta(days=1)
        last_day = timezone.localdate(self.end)
        if "k" in self.parts:
            rng = self.rngs["k"]
            for m in range(len(self.s.members)):
                for k in range(rng.randint(1, 3)):
                    published = first_day + dt.timedelta(days=rng.randint(0, DAYS - 10))
                    self.at(self._moment(rng, published), "publish", member=m, k=k)
        if "v" in self.parts:
            self._plan_visits(first_day, last_day)
        if "b" in self.parts:
            rng = self.rngs["b"]
            for i in range(len(self.butlers)):
                per_month = rng.choice([1, 2, 2, 3, 4])
                day = first_day
                while day < last_day:
                    if rng.random() < per_month / 30:
                        self.at(self._moment(rng, day, 8, 20), "activity", butler=i)
                    day += dt.timedelta(days=1)
        if "e" in self.parts:
            self._plan_events(first_day, last_day)

    def _plan_visits(self, first_day: dt.date, last_day: dt.date) -> None:
        from sanan.registry.models import Household

        rng, s = self.rngs["v"], self.s
        by_courtyard: dict[str, list[Any]] = {}
        for household in Household.objects.select_related("place").order_by("code"):
            path = household.place.path
            for c in s.courtyards:
                if path.startswith(c.path):
                    by_courtyard.setdefault(c.path, []).append(household.pk)
                    break
        for i in range(len(s.commissioners)):
            households = [h for c in s.patches[i] for h in by_courtyard.get(c.path, [])]
            if not households:
                continue
            rng.shuffle(households)
            # Diligence: visits per working week. Most see each household every few months; a
            # few fall behind, and their households show up as "not visited".
            per_week = rng.choice([3, 5, 6, 8, 10])
            day, turn = first_day, 0
            per_day = per_week / 5
            while day < last_day:
                if day.weekday() < 5:
                    today = int(per_day) + (rng.random() < per_day - int(per_day))
                    for _ in range(today):
                        household = households[turn % len(households)]
                        turn += 1
                        self.at(
                            self._moment(rng, day), "visit", commissioner=i, household=household
                        )
                day += dt.timedelta(days=1)

    def _plan_events(self, first_day: dt.date, last_day: dt.date) -> None:
        rng = self.rngs["e"]
        month = dt.date(first_day.year, first_day.month, 1)
        while month <= last_day:
            monday = month + dt.timedelta(days=(7 - month.weekday()) % 7)
            start = self._moment(rng, monday, 8, 8 + 1).replace(minute=0)
            code = f"demo-e-{month:%Y-%m}-flag"
            self.at(
                start - dt.timedelta(days=14),
                "publish_event",
                code=code,
                start=start,
                title=f"{month.month}月升国旗仪式",
                kind="flag_raising",
                venue=FLAG_VENUE,
                hours=1,
            )
            for m, kind, title, venue in OTHER_EVENTS:
                if month.month == m:
                    day = month + dt.timedelta(days=rng.randint(10, 20))
                    at = self._moment(rng, day, 14, 15).replace(minute=30)
                    self.at(
                        at - dt.timedelta(days=10),
                        "publish_event",
                        code=f"demo-e-{month:%Y-%m}-{kind}",
                        start=at,
                        title=title,
                        kind=kind,
                        venue=venue,
                        hours=2,
                    )
            month = (month + dt.timedelta(days=32)).replace(day=1)

    # steps: commitments --------------------------------------------------------------------

    def publish(self, member: int, k: int) -> None:
        rng, user = self.rngs["k"], self.s.members[member]
        today = clock.today()
        code = self.s.post_code[user.pk]
        title = COMMITMENTS[code][k % len(COMMITMENTS[code])]
        due = today + dt.timedelta(days=rng.randint(14, 90))
        commitment = services.commitment_publish(
            actor=ACTOR,
            member=user,
            place=self.s.post_place[user.pk],
            title=title,
            due_on=due,
            code=f"demo-k-{member:02d}-{k}",
        )
        self.count("commitments")
        fate = rng.random()
        if fate < 0.72:  # kept on time
            days = rng.randint(2, max(2, (due - today).days))
            self.at(self.later(rng, days), "fulfil", pk=commitment.pk)
        elif fate < 0.87:  # kept late
            days = (due - today).days + rng.randint(1, 20)
            self.at(self.later(rng, days), "fulfil", pk=commitment.pk)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            who = rng.randrange(len(self.people))
            self.at(self.later(rng, rng.randint(1, 30)), "comment", pk=commitment.pk, who=who)

    def fulfil(self, pk: int) -> None:
        commitment = Commitment.objects.get(pk=pk)
        evidence = self.rngs["k"].choice(
            ["已完成，附走访记录", "已按承诺完成，居民签字确认", "已完成，照片已在院落公示栏公示"]
        )
        services.commitment_fulfil(actor=ACTOR, commitment=commitment, evidence=evidence)
        self.count("fulfilled")

    def comment(self, pk: int, who: int) -> None:
        commitment = Commitment.objects.select_related("place").get(pk=pk)
        person = self.people[who]
        if not services.place_related(person, commitment.place):
            return  # people comment on what is around their home or their courtyards
        services.commitment_comment(
            actor=person, commitment=commitment, body=self.rngs["k"].choice(COMMENTS)
        )
        self.count("comments")

    # steps: the contact ledger and its orders ------------------------------------------------

    def visit(self, commissioner: int, household: int) -> None:
        from sanan.registry.models import Household

        rng = self.rngs["v"]
        actor = self.s.commissioners[commissioner]
        problems: list[services.ProblemInput] = []
        if rng.random() < 0.07:
            kind = rng.random()
            if kind < 0.5 and self.desk and self.handler and self.housing:
                text, code = rng.choice(ORDER_PROBLEMS)
                problems.append(services.ProblemInput(text, category=self.categories[code]))
            elif kind < 0.8:
                problems.append(
                    services.ProblemInput(rng.choice(SPOT_PROBLEMS), solved_on_spot=True)
                )
            else:
                problems.append(services.ProblemInput(rng.choice(NOTED_PROBLEMS)))
        self.codes += 1
        visit = services.visit_record(
            actor=actor,
            household=Household.objects.select_related("place").get(pk=household),
            topics=rng.choice(TOPICS),
            problems=problems,
            code=f"demo-v-{self.codes:06d}",
        )
        self.count("visits")
        for problem in VisitProblem.objects.filter(visit=visit, work_order__isnull=False):
            self.count("work orders")
            self.at(
                clock.now() + dt.timedelta(hours=rng.randint(1, 6)),
                "dispatch",
                pk=problem.work_order_id,
            )

    def _order(self, pk: int) -> Any:
        from sanan.workorders.models import WorkOrder

        return WorkOrder.objects.select_related("place", "category", "lead_organisation").get(pk=pk)

    def dispatch(self, pk: int) -> None:
        from sanan.workorders import services as wo

        assert self.desk is not None
        assert self.housing is not None
        order = self._order(pk)
        wo.work_order_dispatch(actor=self.desk, order=order, lead_organisation=self.housing)
        self.at(clock.now() + dt.timedelta(hours=self.rngs["v"].randint(1, 20)), "handle", pk=pk)

    def handle(self, pk: int) -> None:
        from sanan.workorders import services as wo

        assert self.handler is not None
        wo.work_order_sign(actor=self.handler, order=self._order(pk))
        wo.work_order_contact(
            actor=self.handler, order=self._order(pk), public_note="已联系院落专员，约好上门查看"
        )
        wo.work_order_start(actor=self.handler, order=self._order(pk))
        days = self.rngs["v"].choice([1, 2, 3, 5, 8, 12])
        self.at(clock.now() + dt.timedelta(days=days), "finish", pk=pk)

    def finish(self, pk: int) -> None:
        from sanan.workorders import services as wo

        assert self.handler is not None
        wo.work_order_finish(
            actor=self.handler,
            order=self._order(pk),
            public_note="已安排维修并完成，请院落专员确认",
        )
        self.at(clock.now() + dt.timedelta(days=self.rngs["v"].randint(1, 3)), "callback", pk=pk)

    def callback(self, pk: int) -> None:
        from sanan.workorders import services as wo

        assert self.desk is not None
        r = self.rngs["v"].random()
        resolution = "solved" if r < 0.85 else "partly"
        satisfaction = "satisfied" if r < 0.8 else "fairly"
        wo.work_order_callback(
            actor=self.desk, order=self._order(pk), resolution=resolution, satisfaction=satisfaction
        )

    # steps: Red Butlers and events -------------------------------------------------------------

    def activity(self, butler: int) -> None:
        rng = self.rngs["b"]
        kind = rng.choices(["assist", "dispute", "care", "patrol"], weights=[5, 2, 2, 1])[0]
        b = self.butlers[butler]
        services.butler_activity_record(
            actor=b.user,
            butler=b,
            kind=kind,
            note=rng.choice(["", "", "协助社区入户登记", "调解邻里噪音纠纷", "陪同老人就医"]),
        )
        self.count(f"butler {kind}")

    def publish_event(
        self, code: str, start: dt.datetime, title: str, kind: str, venue: str, hours: int
    ) -> None:
        rng = self.rngs["e"]
        event = services.event_create(
            actor=ACTOR,
            title=title,
            kind=kind,
            place=self.s.area,
            venue=venue,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=hours),
            code=code,
            signin_token=f"{rng.getrandbits(64):016x}",
        )
        self.count("events")
        keen = 0.6 if kind == "flag_raising" else 0.3
        for who in range(len(self.people)):
            r = rng.random()
            if r < keen:
                days = rng.randint(1, 12)
                self.at(
                    start - dt.timedelta(days=days, hours=rng.randint(0, 8)),
                    "sign_up",
                    pk=event.pk,
                    who=who,
                )
            if r < keen * 0.9 or rng.random() < 0.05:  # most come; a few walk in unannounced
                self.at(
                    start + dt.timedelta(minutes=rng.randint(-20, 15)),
                    "check_in",
                    pk=event.pk,
                    who=who,
                )

    def sign_up(self, pk: int, who: int) -> None:
        from sanan.organisation.models import Event

        services.event_sign_up(actor=self.people[who], event=Event.objects.get(pk=pk))
        self.count("sign-ups")

    def check_in(self, pk: int, who: int) -> None:
        from sanan.organisation.models import Event

        event = Event.objects.get(pk=pk)
        services.event_check_in(actor=self.people[who], event=event, token=event.signin_token)
        self.count("sign-ins")

    def run(self, traveller: Any, progress: Callable[[str], object]) -> None:
        month = None
        started = time.perf_counter()
        while self.queue:
            moment, _seq, step, data = heapq.heappop(self.queue)
            traveller.move_to(moment)
            local = timezone.localtime(moment)
            if local.month != month:
                month = local.month
                progress(
                    f"  organisation: {local:%Y-%m} ({self.counts.get('visits', 0)} visits, "
                    f"{time.perf_counter() - started:.0f} s)"
                )
            try:
                getattr(self, step)(**data)
            except DomainError as exc:  # e.g. the work-order sweep overtook a step
                self.count(f"skipped {step}: {exc.code}")
        traveller.move_to(self.end)


def build_organisation_demo(
    *,
    seed: int,
    progress: Callable[[str], object],
    logins: list[Any] | None = None,
    end: dt.datetime | None = None,
) -> dict[str, int]:
    """The demo community's organisation (idempotent); returns what it holds, counted. The
    commissioners and Red Butlers it adds are appended to ``logins`` (``core.demo.DemoLogin``
    rows)."""
    community = Place.objects.filter(code=COMMUNITY_CODE).first()
    area = Place.objects.filter(code=AREA_CODE).first()
    if community is None or area is None:
        progress("  organisation: no demo community (run the place part first)")
        return {}
    progress("  organisation: Party committee and branch, posts, commissioners, Red Butlers")
    end = end or clock.now()
    rng = random.Random(f"organisation-{seed}")  # noqa: S311 (demo data, not secrets)
    since = timezone.localdate(end - dt.timedelta(days=DAYS))
    post_types_ensure_standard(actor=ACTOR)  # a no-op after `migrate`
    with transaction.atomic():
        structure = build_structure(rng, community, area, since)
        butlers = build_butlers(rng, structure, since)
    if logins is not None:
        _add_logins(structure, butlers, logins)
    from sanan.registry.models import Household

    # The year needs the people it happens to: without the registry (``--no-registry``, the
    # test fixtures) the demo has its organisation, posts and cards, and no history.
    parts = set()
    if Household.objects.filter(place__path__startswith=area.path).exists():
        if not Commitment.objects.filter(code__startswith="demo-k-").exists():
            parts.add("k")
        if not Visit.objects.filter(code__startswith="demo-v-").exists():
            parts.add("v")
        if not Event.objects.filter(code__startswith="demo-e-").exists():
            parts |= {"b", "e"}
    if parts:
        year = Year(structure, seed, end, parts, butlers)
        year.plan()
        with time_machine.travel(year.begin, tick=False) as traveller, transaction.atomic():
            year.run(traveller, progress)
        progress(
            "  organisation: a year of "
            + ", ".join(f"{k} {v}" for k, v in sorted(year.counts.items()))
        )
    return summarise(area)


def _add_logins(structure: Structure, butlers: list[Any], logins: list[Any]) -> None:
    from sanan.accounts.roles import Role
    from sanan.core.demo import DemoLogin  # core.demo calls this module: import at run time

    listed = {login.username for login in logins}
    for user, patch in zip(structure.commissioners, structure.patches, strict=True):
        if user.username not in listed:
            n = int(user.username.removeprefix("pm-"))
            scope = "、".join(c.name for c in patch)
            logins.append(DemoLogin(str(Role.COMMISSIONER.label), user.username, _phone(n), scope))
    member = structure.members[COMMISSIONERS]  # a Party member whose post grants no role
    if member.username not in listed:
        n = int(member.username.removeprefix("pm-"))
        place = structure.post_place[member.pk]
        logins.append(
            DemoLogin(str(Role.PARTY_MEMBER.label), member.username, _phone(n), place.name)
        )
    for b in butlers:
        if b.user.username not in listed:
            n = 100 + int(b.user.username.removeprefix("rb-"))
            logins.append(
                DemoLogin(str(Role.RED_BUTLER.label), b.user.username, _phone(n), b.place.name)
            )


def summarise(area: Place) -> dict[str, int]:
    """What the demo's organisation holds now, counted from the records."""
    posts = Post.objects.current().filter(place__path__startswith=area.path)
    commissioner_posts = posts.filter(post_type__covers_courtyards=True)
    return {
        "party members": Organisation.objects.get(code="branch-hq")
        .memberships.filter(ended_on__isnull=True)
        .count(),
        "commissioners": commissioner_posts.values("holder").distinct().count(),
        "courtyards covered": commissioner_posts.values("place").distinct().count(),
        "visits": Visit.objects.filter(place__path__startswith=area.path).count(),
        "commitments": Commitment.objects.filter(place__path__startswith=area.path).count(),
        "commitments fulfilled": Commitment.objects.filter(
            place__path__startswith=area.path, state=CommitmentState.FULFILLED
        ).count(),
        "Red Butlers": RedButler.objects.filter(
            place__path__startswith=area.path, ended_on__isnull=True
        ).count(),
        "events": Event.objects.filter(place__path__startswith=area.path).count(),
    }
