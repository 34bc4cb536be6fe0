"""The nine characteristic posts (特色岗位) as reference data. Migration 0003 writes them on
``migrate``; :func:`post_types_ensure_standard` writes any that are missing (after a database
flush, for instance), so the demo can rely on them. Existing rows are never changed: a
community may have renamed or retired a post."""

from __future__ import annotations

from django.db import transaction

from sanan.audit.services import audit_record
from sanan.organisation.models import PostType

STANDARD: list[tuple[str, str, str, str, str, bool]] = [
    # code, Chinese, English, duties, role granted, covers courtyards
    ("policy_explainer", "政策宣讲岗", "Policy explainer", "向居民讲解政策、宣传法规", "", False),
    ("dispute_mediator", "矛盾调解岗", "Dispute mediator", "化解邻里矛盾纠纷", "", False),
    ("safety_watcher", "平安巡防岗", "Safety watcher", "巡查安全隐患、守护平安", "", False),
    ("environment_keeper", "环境卫生岗", "Environment keeper", "带头整治院落环境卫生", "", False),
    ("elderly_carer", "关爱帮扶岗", "Elderly carer", "探访独居老人、帮扶困难群众", "", False),
    ("youth_mentor", "青少年关爱岗", "Youth mentor", "关心留守、随迁儿童成长", "", False),
    ("volunteer_leader", "志愿服务岗", "Volunteer leader", "组织志愿服务活动", "", False),
    (
        "rental_inspector",
        "出租房屋管理岗",
        "Rental inspector",
        "走访出租房屋、登记流动人口",
        "",
        False,
    ),
    (
        "courtyard_commissioner",
        "院落专员",
        "Courtyard commissioner",
        "包片联系院落居民、收集问题、走访入户",
        "commissioner",
        True,
    ),
]


def post_types_ensure_standard(*, actor: object = "sanan") -> int:
    """Create the standard post types that are missing; returns how many were created."""
    created = 0
    with transaction.atomic():
        for order, (code, name, name_en, duties, role, covers) in enumerate(STANDARD, start=1):
            post_type, new = PostType.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "name_en": name_en,
                    "description": duties,
                    "grants_role": role,
                    "covers_courtyards": covers,
                    "order": order,
                },
            )
            if new:
                created += 1
                audit_record(actor=actor, action="post_type.created", target=post_type)
    return created
