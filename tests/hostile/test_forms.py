"""Hostile text typed into the pages' forms: the resident's report, the call-taker's and the
commissioner's forms, a transition with its reason, the hotline desk and knowledge base, the
registry's resident form and the contact ledger. Markup comes back escaped on the page that
follows; NUL bytes and 10,000 characters come back as a message beside the form, with nothing
written."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
from django.test import Client

from tests.hostile.conftest import Hostile
from tests.hostile.support import assert_shown_escaped, nothing_written

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("pwned")</script>'
IMG = "<img src=x onerror=alert(1)>"
TEMPLATE = "{{ request.user.password }}{% csrf_token %}"
NUL = "路灯\x00坏了"
LONG = "长" * 10_000


@dataclass(frozen=True)
class Form:
    actor: str
    url: Callable[[Hostile], str]
    data: Callable[[Hostile, str], dict[str, Any]]
    shown: Callable[[Hostile, Client], str]  # the page that shows the stored text


def _latest_order_page(h: Hostile, client: Client) -> str:
    from sanan.workorders.models import WorkOrder

    return f"/orders/{WorkOrder.objects.latest('pk').pk}/"


def _report(h: Hostile, v: str, **extra: Any) -> dict[str, Any]:
    return {"category": h.wo.street_light.pk, "description": v,
            "courtyard": h.world.courtyard_a.pk, "point_system": "wgs84",
            "idempotency_key": f"k-{len(v)}-{hash(v)}", **extra}  # fmt: skip


def _latest_call_page(h: Hostile, client: Client) -> str:
    from sanan.hotline.models import CallRecord

    return f"/hotline/calls/{CallRecord.objects.latest('pk').pk}/"


def _latest_knowledge_page(h: Hostile, client: Client) -> str:
    from sanan.hotline.models import KnowledgeEntry

    return f"/hotline/knowledge/{KnowledgeEntry.objects.latest('pk').pk}/"


def _latest_resident_page(h: Hostile, client: Client) -> str:
    from sanan.registry.models import Resident

    return f"/registry/residents/{Resident.objects.latest('pk').pk}/"


def _latest_visit_page(h: Hostile, client: Client) -> str:
    from sanan.organisation.models import Visit

    return f"/org/ledger/visits/{Visit.objects.latest('pk').pk}/"


FORMS: dict[str, Form] = {
    "resident-report-description": Form(
        "resident", lambda h: "/orders/new/", lambda h, v: _report(h, v), _latest_order_page
    ),
    "call-taker-description": Form(
        "dispatcher",
        lambda h: "/orders/hotline/",
        lambda h, v: _report(h, v, contact_name="张先生", contact_phone="13712345000"),
        _latest_order_page,
    ),
    "call-taker-caller-name": Form(
        "dispatcher",
        lambda h: "/orders/hotline/",
        lambda h, v: _report(h, "路灯不亮", contact_name=v[:60] if len(v) < 100 else v,
                             contact_phone="13712345000"),
        _latest_order_page,
    ),
    "discovery-description": Form(
        "commissioner_a", lambda h: "/orders/discover/", lambda h, v: _report(h, v),
        _latest_order_page,
    ),
    "return-reason": Form(
        "handler",
        lambda h: f"/orders/{h.order.pk}/act/return/",
        lambda h, v: {"reason_code": "unclear_ownership", "reason": v,
                      "version": h.wo.reload(h.order).version},
        lambda h, c: f"/orders/{h.order.pk}/",
    ),
    "hotline-call-summary": Form(
        "dispatcher",
        lambda h: "/hotline/",
        lambda h, v: {"phone": "13712345000", "call_type": "consultation", "summary": v,
                      "place": h.world.courtyard_a.pk, "outcome": "noted"},
        _latest_call_page,
    ),
    "knowledge-answer": Form(
        "dispatcher",
        lambda h: "/hotline/knowledge/new/",
        lambda h, v: {"question": "几点收垃圾？", "answer": v, "keywords": "",
                      "place": h.world.community.pk},
        _latest_knowledge_page,
    ),
    "registry-resident-name": Form(
        "commissioner_a",
        lambda h: "/registry/residents/new/",
        lambda h, v: {"courtyard": h.world.courtyard_a.pk, "home": f"h:{h.reg.household_a.pk}",
                      "relation_to_head": "child", "name": v, "residence_type": "registered"},
        _latest_resident_page,
    ),
    "registry-work-or-school": Form(
        "commissioner_a",
        lambda h: "/registry/residents/new/",
        lambda h, v: {"courtyard": h.world.courtyard_a.pk, "home": f"h:{h.reg.household_a.pk}",
                      "relation_to_head": "child", "name": "王大力", "work_or_school": v,
                      "residence_type": "registered"},
        _latest_resident_page,
    ),
    "ledger-visit-problem": Form(
        "commissioner_a",
        lambda h: "/org/ledger/visit/",
        lambda h, v: {"household": h.reg.household_a.pk, "topics": "走访", "problem-0": v,
                      "solved-0": "on"},
        _latest_visit_page,
    ),
}  # fmt: skip


def _client(h: Hostile, who: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize("value", [SCRIPT, IMG, TEMPLATE], ids=["script", "img", "template"])
@pytest.mark.parametrize("name", list(FORMS))
def test_form__markup__stored_and_shown_escaped(hostile: Hostile, name: str, value: str) -> None:
    form = FORMS[name]
    client = _client(hostile, form.actor)
    response = client.post(form.url(hostile), form.data(hostile, value))
    assert response.status_code == 302, _text(response.content.decode())[:600]
    page = client.get(form.shown(hostile, client))
    assert page.status_code == 200
    assert_shown_escaped(page.content.decode(), value)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        *(
            pytest.param(n, NUL, "Null characters", id=f"{n}-nul")
            for n in FORMS
        ),
        *(
            pytest.param(n, LONG, "characters", id=f"{n}-ten-thousand")
            for n in FORMS
        ),
    ],
)  # fmt: skip
def test_form__nul_or_ten_thousand__message_beside_the_form_nothing_written(
    hostile: Hostile, name: str, value: str, says: str
) -> None:
    form = FORMS[name]
    client = _client(hostile, form.actor)
    with nothing_written():
        response = client.post(form.url(hostile), form.data(hostile, value))
    assert response.status_code == 400, response.status_code
    assert says in _text(response.content.decode())
