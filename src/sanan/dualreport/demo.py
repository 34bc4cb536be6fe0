"""The demo's dual-reporting year: eight units registered with the community (the hospital the
demo already has and seven more through ``organisation_ensure``), each with a member who
claims for it; the community publishes about two tasks a month (some for the 100-day
tackling); units claim them through the services (places and monthly hours checked), report
most of them done with evidence, and the demo's residents rate them. Idempotent (stable
codes); the simulated clock walks the year so every date reads as it happened.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction

from sanan.accounts.demo import demo_user
from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant
from sanan.campaigns.models import Campaign
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.dualreport import services
from sanan.dualreport.models import Claim, ClaimState, Rating, Registration, RegistrationKind, Task
from sanan.organisation.models import OrganisationKind
from sanan.organisation.services import membership_add, organisation_ensure
from sanan.places.models import Place, PlaceKind
from sanan.workorders.demo import SimulatedClock
from sanan.workorders.sla import local_zone

ACTOR = "demo"
CODE_PREFIX = "demo-dual-"
COMMUNITY_CODE = "511102-tj-nyq"
AREA_CODE = "511102-tj-nyq-hq"

# (organisation code, name, member username, member name, contact, offer, skills, hours/month)
UNITS: list[tuple[str, str, str, str, str, str, str, int]] = [
    ("unit-hospital", "乐山市人民医院党总支", "unitmember", "黄丽", "黄丽",
     "义诊、健康讲座、慢病随访", "医疗,健康", 16),
    ("unit-tax", "乐山市税务局第一党支部", "dual-tax", "唐敏", "唐敏",
     "税费政策宣讲、志愿者", "政策宣讲", 10),
    ("unit-school", "乐山师范学院党委", "dual-school", "邓晓", "邓晓",
     "大学生志愿者、儿童课业辅导", "教育,志愿", 24),
    ("unit-power", "国网乐山供电公司党委", "dual-power", "彭涛", "彭涛",
     "用电安全检查、线路整治", "电力,安全", 12),
    ("unit-court", "市中区人民法院党支部", "dual-court", "曾静", "曾静",
     "法律咨询、纠纷调解", "法律", 8),
    ("unit-fire", "乐山市消防救援支队党委", "dual-fire", "熊伟", "熊伟",
     "消防演练、隐患排查", "消防,安全", 12),
    ("unit-bank", "中国银行乐山分行党支部", "dual-bank", "谢芳", "谢芳",
     "防诈骗宣传、助老服务", "金融,助老", 10),
    ("unit-youth", "共青团市中区委", "dual-youth", "韩雪", "韩雪",
     "青年志愿者、环境清洁", "志愿,环境", 20),
]  # fmt: skip

# (title, skills, slots, hours each, for the tackling campaign)
TASKS: list[tuple[str, str, int, float, bool]] = [
    ("独居老人上门健康体检", "医疗", 2, 3, False),
    ("院落消防通道清理与演练", "消防", 2, 3, False),
    ("老旧线路安全检查", "电力", 1, 4, True),
    ("防范电信诈骗进院落宣讲", "金融", 2, 2, False),
    ("留守儿童暑期课业辅导", "教育", 3, 6, False),
    ("楼道杂物清运志愿服务", "环境", 3, 3, True),
    ("邻里纠纷法律咨询日", "法律", 1, 3, False),
    ("违章搭建政策宣讲", "政策宣讲", 1, 2, True),
    ("防汛物资清点与转移演练", "安全", 2, 4, False),
    ("背街小巷环境整治", "环境", 3, 3, True),
    ("慢病老人用药指导", "医疗", 1, 2, False),
    ("助老金融服务进社区", "助老", 1, 2, False),
]  # fmt: skip
EVIDENCE = [
    "到场服务{people}人，{minutes}分钟，现场照片已存档。",
    "完成全部内容，覆盖居民约{reach}户，院落长签字确认。",
    "按计划完成，居民反映良好，问题清单已交社区。",
]
COMMENTS = ["很及时", "服务很耐心", "希望常来", "", "还可以", "解决了大问题"]


def _user(username: str, name: str, n: int) -> User:
    return demo_user(actor=ACTOR, username=username, display_name=name, phone=f"1398834{n:04d}")


def _units(community: Place, since: dt.date) -> list[tuple[Registration, User]]:
    out = []
    for n, (code, name, username, person, contact, offer, skills, hours) in enumerate(UNITS, 1):
        org = organisation_ensure(
            actor=ACTOR, kind=OrganisationKind.UNIT, code=code, name=name, place=community
        )
        member = _user(username, person, n)
        if not member.role_assignments.filter(role=Role.UNIT_MEMBER, organisation=org).exists():
            role_grant(
                actor=ACTOR, user=member, role=Role.UNIT_MEMBER, place=community,
                organisation=org, reason="demo community",
            )  # fmt: skip
            membership_add(actor=ACTOR, organisation=org, user=member)
        registration = Registration.objects.filter(code=f"{CODE_PREFIX}{code}").first()
        if registration is None:
            registration = services.registration_create(
                actor=ACTOR, place=community, kind=RegistrationKind.UNIT, organisation=org,
                contact_name=contact, contact_phone=f"1398834{n:04d}", resources=offer,
                skills=skills, capacity_hours_month=hours,
                registered_on=since + dt.timedelta(days=3 * n), code=f"{CODE_PREFIX}{code}",
            )  # fmt: skip
        out.append((registration, User.objects.get(pk=member.pk)))
    return out


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=local_zone())


def build_dualreport_demo(
    *, seed: int, progress: Callable[[str], object], end: dt.datetime | None = None
) -> dict[str, int]:
    """Units, tasks, claims, reports and ratings over the demo's year (idempotent)."""
    community = Place.objects.filter(code=COMMUNITY_CODE).first()
    area = Place.objects.filter(code=AREA_CODE).first()
    desk = User.objects.filter(username="dispatcher").first()
    if community is None or area is None or desk is None:
        progress("  dual-reporting: no demo community (run the place part first)")
        return {}
    if Task.objects.filter(code__startswith=CODE_PREFIX).exists():
        progress("  dual-reporting: there already")
        return summarise()
    started = time.perf_counter()
    rng = random.Random(f"dualreport-{seed}")  # noqa: S311 (demo data, not secrets)
    end = end or clock.now()
    today = end.astimezone(local_zone()).date()
    first = today - dt.timedelta(days=360)
    courtyards = list(
        Place.objects.filter(path__startswith=area.path, kind=PlaceKind.COURTYARD).order_by("code")
    )
    residents = list(
        User.objects.filter(
            role_assignments__role=Role.RESIDENT,
            role_assignments__place__path__startswith=area.path,
        ).distinct().order_by("pk")
    )  # fmt: skip
    tackling = Campaign.objects.filter(code="demo-campaign-tackling").first()
    counts = {"claims refused": 0}
    with SimulatedClock(_at(first, 9)) as sim, transaction.atomic():
        units = _units(community, first)
        day = first + dt.timedelta(days=30)
        n = 0
        while day < today - dt.timedelta(days=3):
            title, skills, slots, hours, for_campaign = TASKS[n % len(TASKS)]
            n += 1
            sim.move_to(_at(day, 10))
            campaign = None
            if (
                for_campaign
                and tackling is not None
                and tackling.starts_on <= day <= tackling.ends_on
            ):
                campaign = tackling
            task = services.task_publish(
                actor=desk, place=rng.choice(courtyards), title=title,
                description=f"{title}，请认领单位按时到场。", skills=skills, slots=slots,
                hours_per_slot=hours, starts_on=day + dt.timedelta(days=2),
                due_on=day + dt.timedelta(days=12), campaign=campaign,
                code=f"{CODE_PREFIX}task-{n:03d}",
            )  # fmt: skip
            # units whose skills match claim first, then others, until the places are gone
            wanting = sorted(
                units,
                key=lambda u: (not any(s in u[0].skills for s in skills.split(",")), rng.random()),
            )
            claims: list[Claim] = []
            for registration, member in wanting[: slots + 1]:
                sim.move_to(_at(day, 11 + len(claims)))
                try:
                    claims.append(
                        services.task_claim(actor=member, task=task, registration=registration)
                    )
                except DomainError:
                    counts["claims refused"] += 1
            for claim in claims:
                member = next(m for r, m in units if r.pk == claim.registration_id)
                done_day = task.due_on - dt.timedelta(days=rng.randint(0, 8))
                if done_day >= today or rng.random() < 0.08:
                    continue  # still to do, or never reported
                sim.move_to(_at(done_day, 17))
                people = rng.randint(2, 8)
                minutes = int(task.minutes_per_slot * rng.choice([0.75, 1, 1, 1.25]))
                services.claim_complete(
                    actor=member, claim=claim, hours=minutes / 60, people=people,
                    evidence=rng.choice(EVIDENCE).format(
                        people=people, minutes=minutes, reach=rng.randint(10, 60)
                    ),
                )  # fmt: skip
                for resident in rng.sample(residents, k=min(len(residents), rng.randint(0, 3))):
                    rated = done_day + dt.timedelta(days=rng.randint(1, 5))
                    if rated >= today:
                        continue
                    sim.move_to(_at(rated, 19, rng.randint(0, 59)))
                    stars = rng.choices([5, 4, 3, 2], weights=[6, 3, 1, 0.3])[0]
                    services.claim_rate(
                        actor=resident, claim=claim, stars=stars, comment=rng.choice(COMMENTS)
                    )
            day += dt.timedelta(days=rng.randint(12, 18))
        sim.move_to(end)
    totals = summarise()
    progress(
        f"  dual-reporting: {len(units)} units, {totals.get('dual tasks', 0)} tasks in "
        f"{time.perf_counter() - started:.1f} s — "
        + ", ".join(f"{k} {v}" for k, v in sorted({**totals, **counts}.items()))
    )
    return totals


def summarise() -> dict[str, int]:
    """What the demo's dual-reporting holds, computed from the records."""
    claims = Claim.objects.filter(task__code__startswith=CODE_PREFIX)
    return {
        "dual units": Registration.objects.filter(code__startswith=CODE_PREFIX).count(),
        "dual tasks": Task.objects.filter(code__startswith=CODE_PREFIX).count(),
        "dual claims": claims.exclude(state=ClaimState.WITHDRAWN).count(),
        "dual claims done": claims.filter(state=ClaimState.DONE).count(),
        "dual ratings": Rating.objects.filter(claim__in=claims).count(),
    }


__all__: list[Any] = ["build_dualreport_demo", "summarise"]
