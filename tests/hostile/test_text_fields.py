"""Hostile text in every free-text field of the API: markup, script, SQL and template
fragments, direction overrides and look-alike letters are stored exactly as sent and shown
escaped on the page that displays them; NUL bytes and 10,000-character strings are refused
with a clear message and a stable code, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.hostile.conftest import Hostile
from tests.hostile.support import assert_refused, assert_shown_escaped, nothing_written

pytestmark = pytest.mark.django_db

# Stored as sent, shown escaped.
STORED: dict[str, str] = {
    "script-tag": '<script>alert("pwned")</script>',
    "img-onerror": "<img src=x onerror=alert(1)>",
    "attribute-breakout": '"><svg onload=alert(document.cookie)>',
    "sql-drop-table": "'); DROP TABLE registry_resident; --",
    "sql-tautology": "1' OR '1'='1' --",
    "template-syntax": "{{ request.user.password }}{% debug %}",
    "rtl-override": "王\u202egpj.exe\u202c秀英",
    "homoglyph-cyrillic": "Аdmin Ѕanan",  # Cyrillic А and Ѕ
}
NUL = "路灯\x00坏了"
LONG = "长" * 10_000


@dataclass(frozen=True)
class Target:
    """One free-text field: who writes it, where, and the page that shows it."""

    actor: str
    method: str
    url: Callable[[Hostile], str]
    body: Callable[[Hostile, str], dict[str, Any]]
    field: str  # the field an error names
    page: Callable[[Hostile, dict[str, Any]], str]
    read_back: Callable[[dict[str, Any]], Any] = field(default=lambda b: None)
    long_code: str = "validation.invalid"
    long_names_field: bool = True  # the refusal of a too-long text names the field


def _plate(h: Hostile) -> str:
    return "川L9Q8W7"


def _commitment(h: Hostile) -> int:
    """A commitment of courtyard A's commissioner, on their public card; its id."""
    import datetime as dt

    from sanan.accounts.models import User
    from sanan.core import clock
    from sanan.organisation import services

    member = h.user("commissioner_a")
    services.member_profile_ensure(
        actor="tests", user=member, place=h.world.courtyard_a, motto="有事找我"
    )
    promise = services.commitment_publish(
        actor=User.objects.get(username="p-committee"),
        member=member,
        place=h.world.courtyard_a,
        title="每月走访",
        due_on=clock.today() + dt.timedelta(days=10),
    )
    return promise.pk


def _card(h: Hostile) -> str:
    from sanan.organisation.models import MemberProfile

    return f"/org/card/{MemberProfile.objects.get(user=h.user('commissioner_a')).card_token}/"


TARGETS: dict[str, Target] = {
    "resident-name": Target(
        "commissioner_b",
        "post",
        lambda h: "/api/v1/registry/residents/",
        lambda h, v: {"place": h.world.unit_b.pk, "name": v},
        "name",
        lambda h, b: f"/registry/residents/{b['id']}/",
        lambda b: b["name"],
    ),
    "resident-work-or-school": Target(
        "commissioner_b",
        "post",
        lambda h: "/api/v1/registry/residents/",
        lambda h, v: {"place": h.world.unit_b.pk, "name": "周八", "work_or_school": v},
        "work_or_school",
        lambda h, b: f"/registry/residents/{b['id']}/",
        lambda b: b["work_or_school"],
    ),
    "household-code": Target(
        "commissioner_b",
        "post",
        lambda h: "/api/v1/registry/households/",
        lambda h, v: {"place": h.world.unit_b.pk, "code": v},
        "code",
        lambda h, b: f"/registry/households/{b['id']}/",
        lambda b: b["code"],
    ),
    "vehicle-description": Target(
        "commissioner_a",
        "post",
        lambda h: "/api/v1/registry/vehicles/",
        lambda h, v: {"plate": _plate(h), "place": h.world.courtyard_a.pk, "description": v},
        "description",
        lambda h, b: f"/registry/vehicles/{b['id']}/edit/",
        lambda b: b["description"],
    ),
    "rental-note": Target(
        "commissioner_a",
        "post",
        lambda h: "/api/v1/registry/rentals/",
        lambda h, v: {"place": h.world.unit_a.pk, "landlord_name": "房东", "note": v},
        "note",
        lambda h, b: f"/registry/rentals/{b['id']}/edit/",
        lambda b: b["note"],
    ),
    "house-note": Target(
        "commissioner_a",
        "patch",
        lambda h: f"/api/v1/registry/houses/{h.world.house_a.pk}/",
        lambda h, v: {"note": v},
        "note",
        lambda h, b: f"/registry/houses/{h.world.house_a.pk}/edit/",
        lambda b: b["note"],
    ),
    "order-description": Target(
        "resident",
        "post",
        lambda h: "/api/v1/orders/",
        lambda h, v: {
            "category": h.wo.street_light.pk,
            "place": h.world.house_a.pk,
            "description": v,
        },
        "description",
        lambda h, b: f"/orders/{b['id']}/",
        lambda b: b["description"],
    ),
    "order-title": Target(
        "resident",
        "post",
        lambda h: "/api/v1/orders/",
        lambda h, v: {
            "category": h.wo.street_light.pk,
            "place": h.world.house_a.pk,
            "description": "路灯不亮",
            "title": v,
        },
        "title",
        lambda h, b: f"/orders/{b['id']}/",
        lambda b: b["title"],
    ),
    "order-return-reason": Target(
        "handler",
        "post",
        lambda h: f"/api/v1/orders/{h.order.pk}/return/",
        lambda h, v: {"reason_code": "unclear_ownership", "reason": v},
        "reason",
        lambda h, b: f"/orders/{h.order.pk}/",
        long_code="work_order.text_too_long",
        long_names_field=False,
    ),
    "order-note": Target(
        "dispatcher",
        "post",
        lambda h: f"/api/v1/orders/{h.order.pk}/note/",
        lambda h, v: {"public_note": v},
        "public_note",
        lambda h, b: f"/orders/{h.order.pk}/",
        long_code="work_order.text_too_long",
        long_names_field=False,
    ),
    "call-summary": Target(
        "dispatcher",
        "post",
        lambda h: "/api/v1/hotline/calls/",
        lambda h, v: {
            "call_type": "consultation",
            "summary": v,
            "outcome": "noted",
            "place": h.world.courtyard_a.pk,
        },
        "summary",
        lambda h, b: f"/hotline/calls/{b['id']}/",
        lambda b: b["summary"],
    ),
    "knowledge-question": Target(
        "dispatcher",
        "post",
        lambda h: "/api/v1/hotline/knowledge/",
        lambda h, v: {"question": v, "answer": "每周二上午。", "place": h.world.community.pk},
        "question",
        lambda h, b: f"/hotline/knowledge/{b['id']}/",
        lambda b: b["question"],
    ),
    "knowledge-answer": Target(
        "dispatcher",
        "post",
        lambda h: "/api/v1/hotline/knowledge/",
        lambda h, v: {"question": "几点收垃圾？", "answer": v, "place": h.world.community.pk},
        "answer",
        lambda h, b: f"/hotline/knowledge/{b['id']}/",
        lambda b: b["answer"],
    ),
    "commitment-comment": Target(
        "resident",
        "post",
        lambda h: f"/api/v1/org/commitments/{_commitment(h)}/comments/",
        lambda h, v: {"body": v},
        "body",
        lambda h, b: _card(h),
        lambda b: b["body"],
    ),
    "visit-topics": Target(
        "commissioner_a",
        "post",
        lambda h: "/api/v1/org/visits/",
        lambda h, v: {"household": h.reg.household_a.pk, "topics": v},
        "topics",
        lambda h, b: f"/org/ledger/visits/{b['id']}/",
        lambda b: b["topics"],
    ),
    "visit-problem": Target(
        "commissioner_a",
        "post",
        lambda h: "/api/v1/org/visits/",
        lambda h, v: {
            "household": h.reg.household_a.pk,
            "topics": "走访",
            "problems": [{"description": v, "solved_on_spot": True}],
        },
        "problems.0.description",
        lambda h, b: f"/org/ledger/visits/{b['id']}/",
        lambda b: b["problems"][0]["description"],
    ),
}


def _prepared(h: Hostile, target: Target, value: str) -> Callable[[], Any]:
    """The request, ready to send: what it needs (a commitment to comment on…) exists first."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(target.actor))
    url, body = target.url(h), target.body(h, value)
    return lambda: getattr(client, target.method)(url, body, format="json")


def _send(h: Hostile, target: Target, value: str) -> Any:
    return _prepared(h, target, value)()


def _page(h: Hostile, target: Target, body: dict[str, Any]) -> str:
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(target.actor))
    response = client.get(target.page(h, body))
    assert response.status_code == 200, target.page(h, body)
    return response.content.decode()


@pytest.mark.parametrize("value", list(STORED.values()), ids=list(STORED))
@pytest.mark.parametrize("name", list(TARGETS))
def test_text__hostile__stored_as_sent_and_shown_escaped(
    hostile: Hostile, name: str, value: str
) -> None:
    target = TARGETS[name]
    response = _send(hostile, target, value)
    assert response.status_code in (200, 201), response.content[:500]
    body = response.json()
    stored = target.read_back(body)
    if stored is not None:
        assert stored == value
    assert_shown_escaped(_page(hostile, target, body), value)
    with connection.cursor() as cursor:  # the table a fragment names is still there
        cursor.execute("SELECT COUNT(*) FROM registry_resident")
        assert cursor.fetchone()[0] >= 4


@pytest.mark.parametrize("name", list(TARGETS))
def test_text__nul_byte__refused_nothing_written(hostile: Hostile, name: str) -> None:
    send = _prepared(hostile, TARGETS[name], NUL)
    target = TARGETS[name]
    with nothing_written():
        response = send()
    assert_refused(response, 400, "validation.invalid", field=target.field, says="Null characters")


@pytest.mark.parametrize("name", list(TARGETS))
def test_text__ten_thousand_characters__refused_nothing_written(
    hostile: Hostile, name: str
) -> None:
    send = _prepared(hostile, TARGETS[name], LONG)
    target = TARGETS[name]
    with nothing_written():
        response = send()
    assert_refused(
        response,
        400,
        target.long_code,
        field=target.field if target.long_names_field else None,
        says="characters",
    )
