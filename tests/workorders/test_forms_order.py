"""The order page beyond the basics: reply templates offered to handlers for public replies
(into the reply box, editable, with or without JavaScript), and the public view of a parent
order for the reporter of a duplicate merged into it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from sanan.accounts.models import User
from sanan.workorders import services
from sanan.workorders.access import allowed_actions, can_see, public_only
from sanan.workorders.models import ResponseTemplate, TemplateStage, WorkOrder, WorkOrderEvent
from sanan.workorders.state import State
from tests.factories import UserFactory
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


def _client(user: User, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def _act(order: WorkOrder, action: str) -> str:
    return reverse("workorders:act", args=[order.pk, action])


def _templates(html: str) -> dict[str, str]:
    """Title → text of the templates offered."""
    found = re.findall(
        r'data-template-body="([^"]*)" data-template-field="[a-z_]+" '
        r'data-testid="reply-template">([^<]+)</a>',
        html,
    )
    return {unescape(title): unescape(body) for body, title in found}


def _textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert found is not None
    return unescape(found.group(1)).strip()


# --- reply templates ---------------------------------------------------------------------------


def test_reply_templates__contact__offered_in_the_readers_language(wo: OrderWorld) -> None:
    order = wo.order_in(State.SIGNED)
    en = _templates(_client(wo.handler).get(_act(order, "contact")).text)
    assert en == {
        "Contacted": "Hello, we have your report; someone will come to look before {time}."
    }
    zh = _templates(_client(wo.handler, "zh-hans").get(_act(order, "contact")).text)
    assert zh == {"已联系": "您好，我们已收到您反映的问题，工作人员将于{时间}前到现场查看。"}


def test_reply_templates__category_own_first__other_categories_not_offered(
    wo: OrderWorld,
) -> None:
    own = ResponseTemplate.objects.create(
        category=wo.street_light, stage=TemplateStage.FINISH, language="en",
        title="Lamp replaced", body="The lamp at {where} has a new bulb.",
    )  # fmt: skip
    ResponseTemplate.objects.create(
        category=wo.water_outage, stage=TemplateStage.FINISH, language="en",
        title="Water back", body="The water is back.",
    )  # fmt: skip
    ResponseTemplate.objects.create(
        category=None, stage=TemplateStage.FINISH, language="en", title="Old", body="x",
        active=False,
    )  # fmt: skip
    order = wo.order_in(State.IN_PROGRESS)
    offered = _templates(_client(wo.handler).get(_act(order, "finish")).text)
    assert list(offered) == ["Lamp replaced", "Done"]
    assert offered["Lamp replaced"] == own.body


def test_reply_templates__without_javascript__the_box_comes_back_filled_then_edited(
    wo: OrderWorld,
) -> None:
    order = wo.order_in(State.SIGNED)
    client = _client(wo.handler)
    template = ResponseTemplate.objects.get(stage=TemplateStage.CONTACT, language="en")
    html = client.get(_act(order, "contact"), {"template": template.pk}).text
    assert _textarea(html, "public_note") == template.body
    assert f'href="{_act(order, "contact")}?template={template.pk}"' in html
    # The handler replaces the placeholder before sending: what is sent is what they wrote.
    edited = template.body.replace("{time}", "tomorrow 10:00")
    response = client.post(
        _act(order, "contact"),
        {"version": wo.reload(order).version, "method": "phone", "public_note": edited},
    )
    assert response.status_code == 302
    event = WorkOrderEvent.objects.filter(order=order, action="contact").get()
    assert event.public_note == edited
    assert "{time}" not in event.public_note
    # The reporter reads the reply on their page.
    assert "tomorrow 10:00" in _client(wo.resident).get(response["Location"]).text


def test_reply_templates__not_for_actions_without_a_public_reply(wo: OrderWorld) -> None:
    order = wo.order_in(State.DISPATCHED)
    assert _templates(_client(wo.handler).get(_act(order, "sign")).text) == {}
    bad = _client(wo.handler).get(_act(order, "return"), {"template": "999999"}).text
    assert _textarea(bad, "reason") == ""  # an unknown template fills nothing


# --- the public view of a parent order ---------------------------------------------------------


@pytest.fixture
def merged(wo: OrderWorld) -> tuple[WorkOrder, WorkOrder, User]:
    """A neighbour reports the lamp first (with a photo-free note to staff on the way); the
    resident reports it again; the desk merges the resident's report into the neighbour's."""
    neighbour = UserFactory(roles=[("resident", wo.world.house_a)], display_name="邻居张三")
    parent = wo.submit(actor=neighbour, description="A1号门口的路灯不亮了，晚上很黑")
    parent = wo.drive(parent, State.SIGNED)
    services.work_order_note(
        actor=wo.fresh(wo.handler), order=parent, internal_note="电工老李负责", public_note=""
    )
    child = wo.submit(description="A1号门口的路灯坏了")
    services.work_order_merge(
        actor=wo.fresh(wo.dispatcher), parent=wo.reload(parent), children=[wo.reload(child)],
        reason="同一盏灯",
    )  # fmt: skip
    return wo.reload(parent), wo.reload(child), neighbour


def test_merged__reporter_of_the_duplicate__opens_the_parent_from_their_report(
    wo: OrderWorld, merged: tuple[WorkOrder, WorkOrder, User]
) -> None:
    parent, child, _neighbour = merged
    client = _client(wo.resident)
    child_page = client.get(reverse("workorders:detail", args=[child.pk])).text
    assert 'data-testid="merged-into"' in child_page
    assert f'href="{reverse("workorders:detail", args=[parent.pk])}"' in child_page
    assert parent.reference in child_page
    response = client.get(reverse("workorders:detail", args=[parent.pk]))
    assert response.status_code == 200
    assert 'data-testid="following-note"' in response.text
    assert "A1号门口的路灯不亮了" in response.text  # the problem and its progress
    assert 'data-testid="order-state"' in response.text


def test_merged__parent_public_view__nothing_internal_nothing_personal_no_buttons(
    wo: OrderWorld, merged: tuple[WorkOrder, WorkOrder, User]
) -> None:
    parent, _child, neighbour = merged
    html = _client(wo.resident).get(reverse("workorders:detail", args=[parent.pk])).text
    assert "电工老李负责" not in html  # internal note
    assert "同一盏灯" not in html  # the desk's reason
    assert 'data-testid="internal-note"' not in html
    assert neighbour.display_name not in html  # the other reporter
    assert "Reported by" not in html
    assert 'data-testid="actions"' not in html
    assert allowed_actions(wo.fresh(wo.resident), parent) == []
    assert public_only(wo.fresh(wo.resident), parent)
    assert not public_only(wo.fresh(wo.dispatcher), parent)
    # Acting is still out of reach: the action pages do not open for a follower.
    assert _client(wo.resident).get(_act(parent, "note")).status_code == 404


def test_merged__parent__the_follower_sees_later_public_replies(
    wo: OrderWorld, merged: tuple[WorkOrder, WorkOrder, User]
) -> None:
    parent, _child, _neighbour = merged
    services.work_order_contact(
        actor=wo.fresh(wo.handler), order=parent, public_note="明天上午更换灯泡",
        internal_note="库存只剩一个",
    )  # fmt: skip
    html = _client(wo.resident).get(reverse("workorders:detail", args=[parent.pk])).text
    assert "明天上午更换灯泡" in html
    assert "库存只剩一个" not in html


def test_merged__parent__strangers_still_get_404(
    wo: OrderWorld, merged: tuple[WorkOrder, WorkOrder, User]
) -> None:
    parent, _child, neighbour = merged
    stranger = UserFactory(roles=[("resident", wo.world.house_a)])
    assert not can_see(stranger, parent)
    url = reverse("workorders:detail", args=[parent.pk])
    assert _client(stranger).get(url).status_code == 404
    assert _client(wo.commissioner_b).get(url).status_code == 404
    # The neighbour who reported it sees their own order as before, with their name.
    own = _client(neighbour).get(url).text
    assert 'data-testid="following-note"' not in own


def test_merged__follower_stops_following__back_to_their_requests_parent_out_of_sight(
    wo: OrderWorld, merged: tuple[WorkOrder, WorkOrder, User]
) -> None:
    parent, _child, _neighbour = merged
    client = _client(wo.resident)
    url = reverse("workorders:detail", args=[parent.pk])
    assert 'data-testid="unfollow"' in client.get(url).text
    response = client.post(reverse("workorders:follow", args=[parent.pk]), {"stop": "1"})
    assert response["Location"] == reverse("workorders:mine")
    assert client.get(url).status_code == 404
    assert not can_see(wo.fresh(wo.resident), parent)


def test_merged__the_followers_inbox_message__opens_the_parent(
    wo: OrderWorld, merged: tuple[WorkOrder, WorkOrder, User]
) -> None:
    from sanan.notifications.models import InboxItem
    from sanan.notifications.services import outbox_deliver_due

    parent, _child, _neighbour = merged
    services.work_order_contact(
        actor=wo.fresh(wo.handler), order=parent, public_note="明天上午更换灯泡"
    )
    outbox_deliver_due()
    item = InboxItem.objects.filter(user=wo.resident, template="work_order.followed_update").get()
    assert item.link == reverse("workorders:detail", args=[parent.pk])
    page = _client(wo.resident).get(item.link)
    assert page.status_code == 200
    assert "明天上午更换灯泡" in page.text
