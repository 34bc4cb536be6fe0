"""A year of hotline calls in the demo community, derived from the simulated work orders:
``build_hotline_demo(seed=..., progress=...)``, called by ``core.demo.build_demo`` after the
work orders.

Nothing is typed as a figure. The calls come from the orders' records:

* every hotline order was a call: a call record at the order's registration, turned into that
  order (outcome "work order"), with the order's caller and category;
* a courtyard's residents keep calling about its problems until they are solved: each month,
  every order of the courtyard that is not yet finished as solved (the year's problems, the
  ones still unreported included) brings calls at a fixed rate — asking, complaining, asking
  for help; consultations are answered from the knowledge base, the rest noted or called
  back. As the simulated year solves the courtyards' problems the volume falls, courtyard by
  courtyard, at the pace of their own orders;
* some solved orders bring a call of praise a few days after they were finished.

Deterministic (a seeded generator, orders taken in the order of their idempotency keys) and
idempotent: calls carry codes starting with ``demo-call-``; when they exist nothing is added.
Written in bulk through ``hotline.services.call_bulk_record``.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sanan.accounts.models import User
from sanan.core import clock, crypto
from sanan.hotline import services
from sanan.hotline.models import CallRecord, CallType, KnowledgeEntry, Outcome
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import PHONE_PURPOSE, Resident
from sanan.workorders.models import CONTACT_PHONE_PURPOSE, Category, Channel, WorkOrder
from sanan.workorders.state import Resolution

ACTOR = "demo"
CODE_PREFIX = "demo-call-"
ORDER_PREFIX = "demo-wo-"  # workorders.demo's idempotency keys
COMMUNITY_CODE = "511102-tj-nyq"
DESK = "dispatcher"
CALLS_PER_UNSOLVED_PROBLEM_A_MONTH = 0.12
PRAISE_SHARE = 0.08
RESIDENTS_PER_COURTYARD = 40

# Questions the desk answers most, by level-1 category code (the demo's knowledge base).
KNOWLEDGE = [
    ("environment", "垃圾几点收运？大件垃圾怎么处理？",
     "每天早上7点、晚上7点各收运一次。大件垃圾请放到院坝指定点位，并告诉院坝委员，每周六统一清运。",
     "垃圾 收运 大件 清运"),
    ("utilities", "停水停电的通知在哪里看？",
     "计划停水停电会提前一天贴在各院公告栏，并在社区微信群发布；突发停水请先问院坝委员是否整片停水。",
     "停水 停电 通知 公告"),
    ("utilities", "冬天水管冻住了怎么办？",
     "先关闭总阀，用温水慢慢淋，不要用开水或明火烤；水管冻裂请报修，社区会派单给供水公司。",
     "水管 冻 结冰 爆管"),
    ("flood_disaster", "下大雨院子积水了找谁？",
     "积水超过脚背或者进屋，请马上报修（社区派单给城管排水）；有老人独居的，院坝委员会上门查看。",
     "积水 下雨 内涝 排水"),
    ("public_facilities", "路灯、楼道灯坏了多久能修好？",
     "报修后由物业或城管在3个工作日内修复，可以在“我的报修”里看进度。",
     "路灯 楼道灯 灯 不亮"),
    ("neighbourhood", "楼上装修太吵了怎么办？",
     "装修时间为工作日8:00–12:00、14:00–18:00，周末不得施工。超时施工可以先找院坝委员劝导，劝导不了再报修。",
     "装修 噪音 吵"),
    ("social_services", "高龄津贴怎么申请？",
     "80岁以上老人带身份证、户口本到社区服务站办理，审核通过后次月发放。行动不便的可以预约上门办理。",
     "高龄 津贴 老人 补贴"),
    ("", "社区服务站几点上班？",
     "周一至周五 9:00–12:00、14:00–17:30，周六上午值班；紧急情况请打连心热线。",
     "上班 时间 服务站 办公"),
]  # fmt: skip

GENERAL_TYPES: dict[str, int] = {
    CallType.CONSULTATION: 45,
    CallType.COMPLAINT: 22,
    CallType.HELP: 15,
    CallType.REPORT: 8,
    CallType.SUGGESTION: 10,
}
SUMMARIES: dict[str, str] = {
    CallType.CONSULTATION: "询问{topic}的问题什么时候能解决，有没有办法",
    CallType.COMPLAINT: "反映{topic}的问题还没解决，情绪有些着急",
    CallType.HELP: "家里老人需要帮忙，说到{topic}的问题",
    CallType.REPORT: "又说起院里{topic}的情况",
    CallType.SUGGESTION: "建议社区把{topic}的问题统一处理",
    CallType.PRAISE: "感谢社区把{topic}的问题解决了",
}


def _knowledge(community: Place) -> dict[str, list[KnowledgeEntry]]:
    roots = {c.code: c for c in Category.objects.filter(depth=1)}
    by_root: dict[str, list[KnowledgeEntry]] = defaultdict(list)
    for n, (root, question, answer, keywords) in enumerate(KNOWLEDGE, start=1):
        entry = services.knowledge_save(
            actor=ACTOR,
            place=community,
            question=question,
            answer=answer,
            keywords=keywords,
            category=roots.get(root),
            code=f"demo-kb-{n:02d}",
        )
        by_root[root if root in roots else ""].append(entry)
    return by_root


def _month_starts(begin: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    local = timezone.get_current_timezone()
    day = begin.astimezone(local).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    months = []
    while day < end:
        months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def _solved_at(order: dict[str, Any]) -> dt.datetime | None:
    if order["finished_at"] is None:
        return None
    if order["resolution"] in (Resolution.PARTLY, Resolution.NOT_SOLVED):
        return None
    return order["finished_at"]


def build_hotline_demo(
    *, seed: int, progress: Callable[[str], object], end: dt.datetime | None = None
) -> dict[str, int]:
    """The demo community's knowledge base and a year of calls up to ``end`` (now by
    default; idempotent)."""
    community = Place.objects.filter(code=COMMUNITY_CODE, kind=PlaceKind.COMMUNITY).first()
    desk = User.objects.filter(username=DESK).first()
    if community is None or desk is None:
        progress("  hotline: no demo community (run the place part first)")
        return {}
    started = time.perf_counter()
    with transaction.atomic():
        kb = _knowledge(community)
    stored = CallRecord.objects.filter(code__startswith=CODE_PREFIX)
    if stored.exists():
        progress(f"  hotline: the demo year is there already ({stored.count()} calls)")
        return {"hotline calls": stored.count()}
    orders: list[dict[str, Any]] = [
        dict(row)
        for row in WorkOrder.objects.filter(idempotency_key__startswith=ORDER_PREFIX)
        .order_by("idempotency_key")
        .values(
            "pk", "idempotency_key", "created_at", "finished_at", "resolution", "channel",
            "courtyard_id", "category_id", "description", "contact_phone_encrypted",
            "created_by_id", "reporter_id",
        )
    ]  # fmt: skip
    if not orders:
        progress("  hotline: no demo work orders to derive calls from")
        return {"hotline knowledge": sum(len(v) for v in kb.values())}
    rng = random.Random(f"hotline-{seed}")  # noqa: S311 (demo data, not secrets)
    categories = {c.pk: c for c in Category.objects.all()}
    roots = {c.path: c.code for c in categories.values() if c.depth == 1}
    root_code = {pk: roots.get(c.path[: Category.steplen], "") for pk, c in categories.items()}
    courtyards = {p.pk: p for p in Place.objects.filter(pk__in={o["courtyard_id"] for o in orders})}
    people = _residents(courtyards)
    takers = {u.pk: u for u in User.objects.filter(pk__in={o["created_by_id"] for o in orders})}
    end = end or clock.now()
    begin = min(o["created_at"] for o in orders)
    months = _month_starts(begin, end)
    calls: list[services.CallInput] = []

    def add(**kw: Any) -> None:
        calls.append(services.CallInput(code=f"{CODE_PREFIX}{len(calls) + 1:06d}", **kw))

    # 1. every hotline order was a call turned into that order
    for o in orders:
        if o["channel"] != Channel.HOTLINE or o["courtyard_id"] not in courtyards:
            continue
        phone = ""
        if o["contact_phone_encrypted"]:
            phone = crypto.decrypt(o["contact_phone_encrypted"], purpose=CONTACT_PHONE_PURPOSE)
        yard = courtyards[o["courtyard_id"]]
        add(
            place=yard, courtyard=yard, started_at=o["created_at"] - dt.timedelta(minutes=3),
            duration_seconds=rng.randint(90, 420),
            call_type=CallType.COMPLAINT if rng.random() < 0.2 else CallType.REPORT,
            summary=o["description"], taker=takers.get(o["created_by_id"], desk),
            outcome=Outcome.WORK_ORDER, category=categories.get(o["category_id"]),
            phone=phone, work_order=o["pk"],
        )  # fmt: skip

    # 2. calls about the courtyards' problems until they are solved
    by_yard: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in orders:
        if o["courtyard_id"] in courtyards:
            by_yard[o["courtyard_id"]].append(o)
    for month in months:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        for yard_id in sorted(by_yard):
            yard = courtyards[yard_id]
            unsolved = [
                o for o in by_yard[yard_id]
                if (s := _solved_at(o)) is None or s >= month
            ]  # fmt: skip
            expected = len(unsolved) * CALLS_PER_UNSOLVED_PROBLEM_A_MONTH
            n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            for _ in range(n):
                problem = rng.choice(unsolved)
                at = month + dt.timedelta(
                    seconds=rng.randrange(int((following - month).total_seconds()))
                )
                if at >= end:
                    continue
                at = at.replace(hour=rng.randint(8, 20))
                if at >= end:
                    continue
                call_type = rng.choices(list(GENERAL_TYPES), weights=list(GENERAL_TYPES.values()))[
                    0
                ]
                _general_call(add, rng, kb, root_code, categories, people, desk, yard, problem,
                              call_type, at, end)  # fmt: skip

    # 3. praise after a problem was solved
    for o in orders:
        solved = _solved_at(o)
        if solved is None or o["courtyard_id"] not in courtyards or rng.random() >= PRAISE_SHARE:
            continue
        at = solved + dt.timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
        if at < end:
            yard = courtyards[o["courtyard_id"]]
            _general_call(add, rng, kb, root_code, categories, people, desk, yard, o,
                          CallType.PRAISE, at, end)  # fmt: skip

    written = services.call_bulk_record(actor=ACTOR, calls=[_with_order(c) for c in calls])
    progress(
        f"  hotline: {written} calls over the year from {len(orders)} orders "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return {"hotline calls": CallRecord.objects.filter(code__startswith=CODE_PREFIX).count()}


def _with_order(call: services.CallInput) -> services.CallInput:
    """The order given by id becomes the instance the bulk insert links (no query)."""
    if isinstance(call.work_order, int):
        object.__setattr__(call, "work_order", WorkOrder(pk=call.work_order))
    return call


def _residents(courtyards: dict[int, Place]) -> dict[int, list[tuple[Resident, str]]]:
    """A few residents of each courtyard with their phone, to be the callers."""
    found: dict[int, list[tuple[Resident, str]]] = defaultdict(list)
    if not courtyards:
        return found
    by_path = {p.path: pk for pk, p in courtyards.items()}
    size = len(next(iter(by_path)))
    cond = Q()
    for path in by_path:
        cond |= Q(place__path__startswith=path)
    for r in Resident.objects.filter(cond).exclude(phone_encrypted="").select_related("place"):
        yard = by_path.get(r.place.path[:size])
        if yard is not None and len(found[yard]) < RESIDENTS_PER_COURTYARD:
            found[yard].append((r, crypto.decrypt(r.phone_encrypted, purpose=PHONE_PURPOSE)))
    return found


def _general_call(
    add: Callable[..., None],
    rng: random.Random,
    kb: dict[str, list[KnowledgeEntry]],
    root_code: dict[int, str],
    categories: dict[int, Category],
    people: dict[int, list[tuple[Resident, str]]],
    desk: User,
    yard: Place,
    problem: dict[str, Any],
    call_type: str,
    at: dt.datetime,
    end: dt.datetime,
) -> None:
    category = categories.get(problem["category_id"])
    topic = category.name_zh if category is not None else "院里"
    resident, phone = rng.choice(people[yard.pk]) if people.get(yard.pk) else (None, "")
    outcome, knowledge, due, done = Outcome.NOTED, None, None, None
    answers = kb.get(root_code.get(problem["category_id"] or 0, ""), []) or kb.get("", [])
    if call_type == CallType.CONSULTATION and answers and rng.random() < 0.8:
        outcome, knowledge = Outcome.ANSWERED, rng.choice(answers)
    elif call_type in (CallType.COMPLAINT, CallType.HELP) and rng.random() < 0.6:
        outcome = Outcome.CALLBACK
        due = at + dt.timedelta(days=1)
        back = at + dt.timedelta(hours=rng.randint(2, 40))
        done = back if back < end else None
    add(
        place=yard, courtyard=yard, started_at=at, duration_seconds=rng.randint(40, 600),
        call_type=call_type, summary=SUMMARIES[call_type].format(topic=topic), taker=desk,
        outcome=outcome, category=category, resident=resident, phone=phone,
        knowledge=knowledge, callback_due_at=due, callback_done_at=done,
    )  # fmt: skip
