"""The desk is the call-taker's one screen: what the old order form did is done here — acting
for the caller, the category's questions, the repeats of the courtyard (merge the call into
one), the way on to dispatching — and personal numbers in what is typed are never stored or
shown in full."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from sanan.accounts.models import User
from sanan.core.errors import DomainError
from sanan.hotline import services
from sanan.hotline.models import CallRecord, KnowledgeEntry
from sanan.workorders.models import WorkOrder
from sanan.workorders.routing import routing_rule_create
from tests.hotline.conftest import ID_NUMBER, PHONE, Desk
from tests.hotline.test_pages import _post_call

Web = Callable[[User], Client]
OTHER_PHONE = "13900001111"


def test_old_call_taker_form__opened__leads_to_the_desk(desk: Desk, web_as: Web) -> None:
    response = web_as(desk.wo.dispatcher).get(reverse("workorders:hotline"))
    assert response.status_code == 302
    assert response.url == reverse("hotline:desk")  # type: ignore[attr-defined]
    # a resident is sent on too, and the desk is not found for them
    resident = web_as(desk.wo.resident)
    assert resident.get(reverse("workorders:hotline"), follow=True).status_code == 404


def test_desk__acting_for_the_caller__name_and_number_on_the_order(desk: Desk, web_as: Web) -> None:
    client = web_as(desk.wo.dispatcher)
    response = _post_call(
        client, desk, call_type="report", summary="楼道灯坏了好几天", outcome="work_order",
        category=desk.wo.street_light.pk, contact_name="王女士",
    )  # fmt: skip
    assert response.status_code == 302  # type: ignore[attr-defined]
    order = WorkOrder.objects.get(channel="hotline")
    assert order.contact_name == "王女士"
    assert order.contact_phone_masked
    assert PHONE not in order.contact_phone_masked
    # back at the desk, the order waits for dispatching: one key away
    page = client.get(response.url).content.decode()  # type: ignore[attr-defined]
    assert 'data-testid="last-order"' in page
    assert reverse("workorders:act", args=[order.pk, "dispatch"]) in page
    assert 'data-testid="dispatch-last-order"' in page


def test_desk__recognised_caller_without_a_name__the_resident_name_goes_on_the_order(
    desk: Desk, web_as: Web
) -> None:
    _post_call(
        web_as(desk.wo.dispatcher), desk, call_type="report", summary="楼道灯坏了",
        outcome="work_order", category=desk.wo.street_light.pk, resident=desk.caller.pk,
    )  # fmt: skip
    assert WorkOrder.objects.get(channel="hotline").contact_name == "李大爷"


def test_desk__category_questions__asked_required_and_kept_on_the_order(
    desk: Desk, web_as: Web
) -> None:
    client = web_as(desk.wo.dispatcher)
    fragment = client.get(reverse("workorders:questions"), {"category": desk.wo.water_outage.pk})
    assert 'name="answers-since"' in fragment.content.decode()
    html = client.get("/hotline/").content.decode()
    assert 'hx-get="' + reverse("workorders:questions") + '"' in html
    data = {"call_type": "report", "summary": "整栋楼停水了", "outcome": "work_order",
            "category": desk.wo.water_outage.pk}  # fmt: skip
    missing = _post_call(client, desk, **data)
    assert missing.status_code == 400  # type: ignore[attr-defined]
    page = missing.content.decode()  # type: ignore[attr-defined]
    assert 'data-testid="answers-error"' in page
    assert "整栋楼停水了" in page
    assert CallRecord.objects.count() == 0
    assert WorkOrder.objects.count() == 0
    answered = _post_call(
        client, desk, **data, **{"answers-since": "2026-11-25T08:00", "answers-scope": "building"}
    )
    assert answered.status_code == 302  # type: ignore[attr-defined]
    order = WorkOrder.objects.get(channel="hotline")
    assert order.answers["scope"] == "building"
    assert CallRecord.objects.get().work_order == order


def test_desk__repeat_of_an_open_order__offered_and_the_call_merged_into_it(
    desk: Desk, web_as: Web
) -> None:
    existing = desk.wo.submit(description="A1号门口的路灯不亮了")
    client = web_as(desk.wo.dispatcher)
    hint = client.post(
        reverse("hotline:repeats"),
        {"place": desk.wo.world.courtyard_a.pk, "category": desk.wo.street_light.pk,
         "summary": "门口路灯不亮"},
    )  # fmt: skip
    html = hint.content.decode()
    assert f'data-order="{existing.pk}"' in html
    assert 'name="duplicate_of"' in html
    # "same problem" (no end button pressed): the call becomes an order merged into it
    response = _post_call(
        client, desk, call_type="report", summary="门口路灯不亮", category=desk.wo.street_light.pk,
        duplicate_of=existing.pk,
    )  # fmt: skip
    assert response.status_code == 302  # type: ignore[attr-defined]
    call = CallRecord.objects.get()
    assert call.outcome == "work_order"
    assert call.work_order is not None
    call.work_order.refresh_from_db()
    assert call.work_order.parent_id == existing.pk
    assert f"?order={existing.pk}" in response.url  # type: ignore[attr-defined]


def test_desk__repeats_need_the_desk(desk: Desk, web_as: Web) -> None:
    response = web_as(desk.wo.resident).post(
        reverse("hotline:repeats"),
        {"place": desk.wo.world.courtyard_a.pk, "category": desk.wo.street_light.pk},
    )
    assert response.status_code == 404


def test_desk__numbers_in_the_summary__masked_in_call_order_and_pages(
    desk: Desk, web_as: Web
) -> None:
    client = web_as(desk.wo.dispatcher)
    said = f"老人说身份证{ID_NUMBER}，儿子电话{OTHER_PHONE}，楼道灯坏了"
    _post_call(
        client, desk, call_type="report", summary=said, outcome="work_order",
        category=desk.wo.street_light.pk,
    )  # fmt: skip
    call = CallRecord.objects.get()
    order = WorkOrder.objects.get(channel="hotline")
    for stored in (call.summary, order.description, order.title):
        assert ID_NUMBER not in stored
        assert OTHER_PHONE not in stored
    assert "楼道灯坏了" in call.summary
    pages = [
        client.get(reverse("hotline:call", args=[call.pk])),
        client.get(reverse("hotline:calls")),
        client.get(reverse("workorders:detail", args=[order.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert ID_NUMBER not in html
        assert OTHER_PHONE not in html
        assert PHONE not in html  # the caller's own number is shown masked only


def test_knowledge_base__numbers_in_questions_and_answers__masked(desk: Desk, web_as: Web) -> None:
    entry = services.knowledge_save(
        actor=desk.wo.dispatcher,
        place=desk.wo.community,
        question=f"低保找谁？电话{OTHER_PHONE}",
        answer=f"找社区民政专干，电话{OTHER_PHONE}，带身份证{ID_NUMBER}原件。",
    )
    stored = KnowledgeEntry.objects.get(pk=entry.pk)
    for text in (stored.question, stored.answer):
        assert OTHER_PHONE not in text
        assert ID_NUMBER not in text
    assert "找社区民政专干" in stored.answer
    client = web_as(desk.wo.dispatcher)
    for page in (
        client.get(reverse("hotline:knowledge"), {"q": "低保"}),
        client.get(reverse("hotline:answers"), {"kb_q": "低保"}),
    ):
        html = page.content.decode()
        assert "找社区民政专干" in html
        assert OTHER_PHONE not in html
        assert ID_NUMBER not in html
        assert not re.search(r"1[3-9]\d{9}", html)


def test_desk__building__the_callers_own_first_and_the_order_placed_there(
    desk: Desk, web_as: Web
) -> None:
    """Parity with the old call-taker's form: the building, not only the courtyard. The
    caller's own building comes first in the list (one Arrow-down), marked as their home."""
    client = web_as(desk.wo.dispatcher)
    world = desk.wo.world
    page = client.get("/hotline/").content.decode()
    assert 'hx-get="' + reverse("hotline:houses") + '"' in page
    assert 'data-testid="house-select"' in page
    fragment = client.get(
        reverse("hotline:houses"), {"place": world.courtyard_a.pk, "resident": desk.caller.pk}
    ).content.decode()
    options = re.findall(r'<option value="(\d*)"([^>]*)>', fragment)
    assert options[0][0] == ""  # outdoors, not in a building: the default
    assert options[1] == (str(world.house_a.pk), " data-home")
    assert str(world.house_b.pk) not in fragment  # another courtyard's building
    community = client.get(reverse("hotline:houses"), {"place": desk.wo.community.pk})
    assert "disabled" in community.content.decode()

    answer = _post_call(
        client, desk, call_type="report", summary="楼道灯坏了", outcome="work_order",
        category=desk.wo.street_light.pk, resident=desk.caller.pk, house=world.house_a.pk,
    )  # fmt: skip
    assert answer.status_code == 302  # type: ignore[attr-defined]
    order = WorkOrder.objects.get(channel="hotline")
    assert order.place == world.house_a
    assert order.courtyard == world.courtyard_a


def test_desk__building_of_another_courtyard__refused_nothing_saved(
    desk: Desk, web_as: Web
) -> None:
    answer = _post_call(
        web_as(desk.wo.dispatcher), desk, call_type="report", summary="楼道灯坏了",
        outcome="work_order", category=desk.wo.street_light.pk, house=desk.wo.world.house_b.pk,
    )  # fmt: skip
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert 'data-testid="error-house"' in answer.content.decode()  # type: ignore[attr-defined]
    assert not WorkOrder.objects.exists()
    assert not CallRecord.objects.exists()
    with pytest.raises(DomainError) as refused:
        services.call_record(
            actor=desk.wo.dispatcher, call_type="report", summary="楼道灯坏了",
            outcome="work_order", place=desk.wo.world.courtyard_a,
            category=desk.wo.street_light, order_place=desk.wo.world.house_b,
        )  # fmt: skip
    assert refused.value.code == "call.house_elsewhere"


def test_desk__dispatch_from_the_desk__suggested_organisation_then_the_next_call(
    desk: Desk, web_as: Web
) -> None:
    """The order the call became is dispatched on the desk itself: the routing directory's
    organisation is chosen already (Enter dispatches), then the desk is ready for the next
    call. Another organisation needs a reason, as on the order's own form."""
    routing_rule_create(
        actor=desk.wo.admin,
        place=desk.wo.community,
        lead_organisation=desk.wo.housing,
        backstop=True,  # a suggestion (a category's own rule would dispatch at intake)
    )
    client = web_as(desk.wo.dispatcher)
    made = _post_call(
        client, desk, call_type="report", summary="楼道灯坏了", outcome="work_order",
        category=desk.wo.street_light.pk,
    )  # fmt: skip
    order = WorkOrder.objects.get(channel="hotline")
    assert order.suggested_organisation == desk.wo.housing
    page = client.get(made.url).content.decode()  # type: ignore[attr-defined]
    form = re.search(r'<form[^>]*data-testid="desk-dispatch".*?</form>', page, re.S)
    assert form is not None
    assert re.search(rf'<option value="{desk.wo.housing.pk}" selected>', form[0])
    assert re.search(r'data-testid="dispatch-last-order" autofocus', form[0])
    url = reverse("hotline:dispatch", args=[order.pk])

    other = client.post(url, {"lead_organisation": desk.wo.urban.pk, "version": order.version})
    assert other.url == reverse("hotline:desk") + f"?order={order.pk}"  # type: ignore[attr-defined]
    refused = client.get(other.url).content.decode()  # type: ignore[attr-defined]
    message = re.search(r'<li class="msg msg-error">(.*?)</li>', refused)
    assert message is not None
    assert desk.wo.housing.name in message[1]  # "the directory suggests …: say why"
    assert 'data-testid="desk-dispatch"' in refused  # still one Enter away
    assert desk.wo.reload(order).state == "registered"
    assert (
        web_as(desk.wo.resident).post(url, {"lead_organisation": desk.wo.housing.pk}).status_code
        == 404
    )

    done = client.post(url, {"lead_organisation": desk.wo.housing.pk, "version": order.version})
    assert done.url == reverse("hotline:desk")  # type: ignore[attr-defined]
    order = desk.wo.reload(order)
    assert order.state == "dispatched"
    assert order.lead_organisation == desk.wo.housing
    following = client.get(done.url).content.decode()  # type: ignore[attr-defined]
    assert f"{order.reference}" in following
    assert 'data-testid="desk-dispatch"' not in following
    assert re.search(r'<input type="text" name="phone"[^>]*autofocus', following)
    assert not re.search(r'name="phone"[^>]*autofocus', page)  # the dispatch button had it
    again = client.post(url, {"lead_organisation": desk.wo.housing.pk, "version": order.version})
    assert again.status_code == 302  # type: ignore[attr-defined]
    assert desk.wo.reload(order).state == "dispatched"  # a second press changes nothing


def test_desk__order_dispatched_by_a_rule__the_message_names_the_department(
    desk: Desk, web_as: Web
) -> None:
    """A category with its own rule is dispatched at intake: the call-taker is told where the
    order went (to tell the caller), not merely that it was registered."""
    routing_rule_create(
        actor=desk.wo.admin,
        place=desk.wo.community,
        category=desk.wo.street_light,
        lead_organisation=desk.wo.housing,
    )
    client = web_as(desk.wo.dispatcher)
    made = _post_call(
        client, desk, call_type="report", summary="楼道灯坏了", outcome="work_order",
        category=desk.wo.street_light.pk,
    )  # fmt: skip
    order = WorkOrder.objects.get(channel="hotline")
    assert order.state == "dispatched"
    page = client.get(made.url).content.decode()  # type: ignore[attr-defined]
    message = re.search(r'<li class="msg msg-success">(.*?)</li>', page, re.S)
    assert message is not None
    assert order.reference in message[1]
    assert desk.wo.housing.name in message[1]
