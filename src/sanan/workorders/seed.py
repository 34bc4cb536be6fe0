"""Reference data for work orders, created when missing (idempotent).

- SLA policies (domain.md): emergencies 2 h and water/power/gas 24 h around the clock; general
  7 working days and complex 15 working days on the working calendar.
- The 15 level-1 categories (stable codes) with plausible level-2 children, only while the
  category table is empty: an administrator's later edits are never undone.
- Working hours 09:00–12:00 and 13:30–18:00 when none are set.
- Holidays and make-up workdays from the ``chinese-calendar`` package for every year it knows
  that the calendar table does not know yet.
- A few reply templates and extra questions.

``seed_all`` runs after every ``migrate`` through ``apps.py`` (not after ``flush``: call it
after building data on an emptied database, as the tests' work-order world does).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from sanan.workorders.models import (
    CalendarSource,
    Category,
    CategoryQuestion,
    DayKind,
    QuestionType,
    ResponseTemplate,
    SlaClock,
    SlaPolicy,
    TemplateStage,
    WorkCalendarDay,
    WorkCalendarYear,
    WorkingPeriod,
)

WORKING_DAY = 450  # minutes in 09:00–12:00 + 13:30–18:00


@dataclass(frozen=True)
class PolicySpec:
    code: str
    name_zh: str
    name_en: str
    sign: int
    contact: int
    finish: int
    emergency: bool
    clock: str
    supervise_after_days: int


POLICIES = [
    PolicySpec("emergency", "紧急", "Emergency (2 hours)", 15, 30, 120, True,
               SlaClock.ROUND_THE_CLOCK, 1),
    PolicySpec("utilities", "水电气", "Water, power, gas (24 hours)", 60, 240, 24 * 60, False,
               SlaClock.ROUND_THE_CLOCK, 1),
    PolicySpec("general", "一般", "General (7 working days)", 120, WORKING_DAY, 7 * WORKING_DAY,
               False, SlaClock.WORKING, 2),
    PolicySpec("complex", "复杂", "Complex (15 working days)", 120, 2 * WORKING_DAY,
               15 * WORKING_DAY, False, SlaClock.WORKING, 3),
]  # fmt: skip


@dataclass(frozen=True)
class CategorySpec:
    code: str
    name_zh: str
    name_en: str
    icon: str = ""
    policy: str | None = None  # None: inherited
    children: list[CategorySpec] = field(default_factory=list)


def _c(code: str, zh: str, en: str, policy: str | None = None) -> CategorySpec:
    return CategorySpec(code, zh, en, policy=policy)


CATEGORIES: list[CategorySpec] = [
    CategorySpec("infrastructure", "基础设施", "Infrastructure", "road", "general", [
        _c("road_damage", "道路破损", "Damaged road or lane"),
        _c("street_light", "路灯故障", "Street light out"),
        _c("manhole_cover", "井盖缺失破损", "Missing or broken manhole cover", "emergency"),
        _c("drain_blocked", "下水道堵塞", "Blocked drain", "utilities"),
        _c("public_facility", "公共设施损坏", "Broken public facility"),
        _c("building_hazard", "房屋安全隐患", "Unsafe building", "complex"),
    ]),
    CategorySpec("sanitation", "环境卫生", "Sanitation", "trash", "general", [
        _c("garbage_collection", "垃圾清运", "Rubbish not collected"),
        _c("dumping", "乱堆乱放", "Dumped rubbish or clutter"),
        _c("public_toilet", "公厕问题", "Public toilet"),
        _c("pests", "病媒消杀", "Rats, mosquitoes, cockroaches"),
    ]),
    CategorySpec("utilities", "水电气", "Water, power and gas", "bolt", "utilities", [
        _c("water_outage", "停水", "No water"),
        _c("water_pressure", "水压不足", "Low water pressure"),
        _c("pipe_burst", "水管爆裂", "Burst water pipe", "emergency"),
        _c("power_outage", "停电", "No electricity"),
        _c("gas_leak", "燃气泄漏", "Gas leak", "emergency"),
    ]),
    CategorySpec("public_security", "社会治安", "Public security", "shield", "general", [
        _c("theft", "盗窃线索", "Theft"),
        _c("noise_nuisance", "噪音扰民", "Noise nuisance"),
        _c("suspicious_activity", "可疑情况", "Suspicious activity"),
    ]),
    CategorySpec("fire_safety", "消防安全", "Fire safety", "fire-extinguisher", "utilities", [
        _c("blocked_exit", "消防通道堵塞", "Blocked fire lane or exit"),
        _c("ebike_charging", "电动车违规充电", "E-bike charged indoors or by a flying lead"),
        _c("extinguisher_missing", "消防器材缺失", "Missing fire extinguisher"),
    ]),
    CategorySpec("illegal_construction", "违法建设", "Illegal construction", "hammer", "complex", [
        _c("illegal_extension", "违规搭建", "Illegal extension"),
        _c("rooftop_building", "屋顶加建", "Building on a roof"),
        _c("occupied_public_space", "侵占公共空间", "Public space taken over"),
    ]),
    CategorySpec("rental_housing", "出租房屋", "Rental housing", "key", "general", [
        _c("unregistered_rental", "出租未登记", "Rental not registered"),
        _c("overcrowding", "群租", "Overcrowded rental"),
        _c("rental_hazard", "出租房安全隐患", "Unsafe rental"),
    ]),
    CategorySpec("neighbour_dispute", "邻里纠纷", "Neighbour disputes", "handshake", "general", [
        _c("leak_dispute", "漏水纠纷", "Water leaking from a neighbour"),
        _c("shared_space_dispute", "公共区域纠纷", "Dispute over shared space"),
        _c("pet_dispute", "宠物纠纷", "Pets"),
    ]),
    CategorySpec("social_assistance", "社会救助", "Social assistance", "hand-heart", "general", [
        _c("subsistence_allowance", "低保咨询申请", "Subsistence allowance (低保)"),
        _c("temporary_hardship", "临时救助", "Temporary hardship"),
        _c("disability_support", "残疾人帮扶", "Support for people with disabilities"),
    ]),
    CategorySpec("elderly_children", "一老一小", "Elderly and children", "people", "general", [
        _c("elderly_alone", "独居老人关怀", "Elderly person living alone"),
        _c("left_behind_child", "留守儿童关爱", "Left-behind or migrant child"),
        _c("elderly_care_service", "养老服务", "Elderly care services"),
    ]),
    CategorySpec("greening_parking", "绿化停车", "Greenery and parking", "tree", "general", [
        _c("tree_pruning", "树木修剪", "Tree needs pruning"),
        _c("green_damage", "绿地损毁", "Damaged green space"),
        _c("parking_disorder", "乱停乱放", "Badly parked vehicles"),
        _c("charging_point", "充电设施", "Charging points"),
    ]),
    CategorySpec("health_epidemic", "卫生防疫", "Health and epidemics", "medical", "general", [
        _c("epidemic_report", "疫情线索", "Suspected infectious disease", "emergency"),
        _c("food_safety", "食品安全", "Food safety"),
        _c("vaccination", "疫苗接种", "Vaccination"),
    ]),
    CategorySpec("flood_disaster", "防汛减灾", "Floods and disasters", "water", "utilities", [
        _c("waterlogging", "积水内涝", "Flooding or standing water", "emergency"),
        _c("geological_hazard", "地质灾害隐患", "Landslide or subsidence risk", "emergency"),
        _c("dangerous_tree", "危树", "Tree about to fall"),
    ]),
    CategorySpec("consultation", "政策咨询", "Questions", "question", "general", [
        _c("policy_question", "政策咨询", "A question about a policy"),
        _c("service_guide", "办事指引", "How to get something done"),
    ]),
    CategorySpec("suggestion", "意见建议", "Suggestions", "lightbulb", "general", [
        _c("community_building", "社区建设", "Improving the community"),
        _c("service_improvement", "服务改进", "Improving a service"),
    ]),
]  # fmt: skip

LEVEL_1_CODES = [spec.code for spec in CATEGORIES]

_SCOPE = [
    {"key": "home", "name_zh": "仅我家", "name_en": "Only my home"},
    {"key": "building", "name_zh": "整栋楼", "name_en": "The whole building"},
    {"key": "courtyard", "name_zh": "整个院落", "name_en": "The whole courtyard"},
]
QUESTIONS: dict[str, list[dict]] = {
    "street_light": [
        {"code": "pole_number", "datatype": QuestionType.STRING, "label_zh": "灯杆编号",
         "label_en": "Pole number (written on the pole)"},
    ],
    "water_outage": [
        {"code": "since", "datatype": QuestionType.DATETIME, "required": True,
         "label_zh": "从什么时候开始？", "label_en": "Since when?"},
        {"code": "scope", "datatype": QuestionType.SINGLE, "required": True,
         "label_zh": "影响范围", "label_en": "Who is affected?", "values": _SCOPE},
    ],
    "power_outage": [
        {"code": "since", "datatype": QuestionType.DATETIME, "required": True,
         "label_zh": "从什么时候开始？", "label_en": "Since when?"},
        {"code": "scope", "datatype": QuestionType.SINGLE, "required": True,
         "label_zh": "影响范围", "label_en": "Who is affected?", "values": _SCOPE},
    ],
    "noise_nuisance": [
        {"code": "when", "datatype": QuestionType.MULTI, "label_zh": "通常在什么时候？",
         "label_en": "When does it happen?", "values": [
             {"key": "morning", "name_zh": "早上", "name_en": "Morning"},
             {"key": "daytime", "name_zh": "白天", "name_en": "Daytime"},
             {"key": "evening", "name_zh": "晚上", "name_en": "Evening"},
             {"key": "night", "name_zh": "深夜", "name_en": "Late at night"},
         ]},
    ],
    "parking_disorder": [
        {"code": "plate", "datatype": QuestionType.STRING, "label_zh": "车牌号（如知道）",
         "label_en": "Number plate (if known)"},
    ],
    "waterlogging": [
        {"code": "depth_cm", "datatype": QuestionType.NUMBER, "required": True,
         "label_zh": "积水大约多深（厘米）？", "label_en": "About how deep (cm)?"},
    ],
    "building_hazard": [
        {"code": "details", "datatype": QuestionType.TEXT, "label_zh": "哪里有裂缝或倾斜？",
         "label_en": "Where are the cracks or the lean?"},
    ],
}  # fmt: skip

TEMPLATES = [
    (TemplateStage.CONTACT, "zh-hans", "已联系",
     "您好，我们已收到您反映的问题，工作人员将于{时间}前到现场查看。"),
    (TemplateStage.CONTACT, "en", "Contacted",
     "Hello, we have your report; someone will come to look before {time}."),
    (TemplateStage.FINISH, "zh-hans", "已处理完毕",
     "您反映的问题已处理完毕：{处理情况}。感谢您对社区工作的支持！"),
    (TemplateStage.FINISH, "en", "Done",
     "What you reported has been dealt with: {what was done}. Thank you."),
    (TemplateStage.REPLY, "zh-hans", "正在处理", "您反映的问题正在处理中，预计{时间}完成。"),
    (TemplateStage.RETURN, "zh-hans", "非本单位职责",
     "经核实，该问题不属于本单位职责范围，建议转交{单位}。"),
]  # fmt: skip


def seed_policies() -> dict[str, SlaPolicy]:
    policies: dict[str, SlaPolicy] = {}
    for spec in POLICIES:
        policies[spec.code], _ = SlaPolicy.objects.get_or_create(
            code=spec.code,
            defaults={
                "name_zh": spec.name_zh,
                "name_en": spec.name_en,
                "sign_minutes": spec.sign,
                "contact_minutes": spec.contact,
                "finish_minutes": spec.finish,
                "emergency": spec.emergency,
                "clock": spec.clock,
                "supervise_after_days": spec.supervise_after_days,
            },
        )
    return policies


def seed_categories(policies: dict[str, SlaPolicy]) -> int:
    """The category tree, only into an empty table; returns how many were created."""
    if Category.objects.exists():
        return 0
    created = 0
    for spec in CATEGORIES:
        root = Category.objects.add_root(
            create_kwargs={
                "code": spec.code,
                "name_zh": spec.name_zh,
                "name_en": spec.name_en,
                "icon": spec.icon,
                "sla_policy": policies.get(spec.policy) if spec.policy else None,
            }
        )
        created += 1
        for child in spec.children:
            node = Category.objects.add_child(
                root,
                create_kwargs={
                    "code": child.code,
                    "name_zh": child.name_zh,
                    "name_en": child.name_en,
                    "icon": child.icon or spec.icon,
                    "sla_policy": policies.get(child.policy) if child.policy else None,
                },
            )
            root = Category.objects.get(pk=root.pk)  # treebeard: refresh numchild
            created += 1
            for question in QUESTIONS.get(child.code, []):
                CategoryQuestion.objects.create(category=node, **question)
    return created


def seed_templates() -> None:
    if ResponseTemplate.objects.exists():
        return
    ResponseTemplate.objects.bulk_create(
        ResponseTemplate(stage=stage, language=lang, title=title, body=body, order=i)
        for i, (stage, lang, title, body) in enumerate(TEMPLATES)
    )


def seed_working_hours() -> None:
    if WorkingPeriod.objects.exists():
        return
    WorkingPeriod.objects.bulk_create(
        [
            WorkingPeriod(starts=dt.time(9, 0), ends=dt.time(12, 0)),
            WorkingPeriod(starts=dt.time(13, 30), ends=dt.time(18, 0)),
        ]
    )


def seed_calendar() -> list[int]:
    """Holidays and make-up workdays of the years the package knows and the table does not.
    Days already in the table (entered by hand) are kept. Returns the years added."""
    try:
        import chinese_calendar
        from chinese_calendar import constants
    except ImportError:  # the package is optional: without it the calendar is entered by hand
        return []
    chinese = {h.value: h.chinese for h in chinese_calendar.Holiday}
    known = set(WorkCalendarYear.objects.values_list("year", flat=True))
    days: list[WorkCalendarDay] = []
    years: set[int] = set()
    for kind, table in (
        (DayKind.HOLIDAY, constants.holidays),
        (DayKind.WORKDAY, constants.workdays),
    ):
        for day, name in table.items():
            if day.year in known:
                continue
            years.add(day.year)
            days.append(
                WorkCalendarDay(
                    date=day,
                    kind=kind,
                    name=chinese.get(name, str(name))[:60],
                    source=CalendarSource.PACKAGE,
                )
            )
    if not years:
        return []
    WorkCalendarDay.objects.bulk_create(days, ignore_conflicts=True, batch_size=500)
    version = getattr(chinese_calendar, "__version__", "")
    WorkCalendarYear.objects.bulk_create(
        [
            WorkCalendarYear(
                year=y, source=CalendarSource.PACKAGE, note=f"chinese-calendar {version}".strip()
            )
            for y in sorted(years)
        ],
        ignore_conflicts=True,
    )
    return sorted(years)


def seed_all() -> None:
    with transaction.atomic():
        policies = seed_policies()
        seed_categories(policies)
        seed_templates()
        seed_working_hours()
        seed_calendar()
    from sanan.workorders.sla import calendar_cache

    calendar_cache.invalidate()
