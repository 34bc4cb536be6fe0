"""The intake forms beyond the basics: a category's extra questions appear when it is chosen,
are checked with plain messages (Chinese and English) and stored as the order's answers,
shown on the order page; hints while typing (open orders that may be the same problem, the
caller recognised by number) that work without JavaScript too; the call-taker's keyboard
shortcuts, documented on the page."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sanan.accounts.models import User
from sanan.registry.services import care_tags_ensure_standard, resident_register
from sanan.workorders.models import Category, WorkOrder, WorkOrderFollower
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db

PHONE = "13712345678"


def _client(user: User, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def _report(wo: OrderWorld, category: Category, **extra: Any) -> dict[str, Any]:
    return {
        "category": category.pk,
        "description": extra.pop("description", "整栋楼从早上开始停水了"),
        "courtyard": wo.world.courtyard_a.pk,
        "house": "",
        "point_system": "wgs84",
        "idempotency_key": extra.pop("key", "k-" + category.code),
        **extra,
    }


def _error(html: str, code: str) -> str:
    found = re.search(rf'data-testid="field-error-{code}">(.*?)</p>', html, re.S)
    return _text(found.group(1)) if found else ""


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# --- extra questions ---------------------------------------------------------------------------


def test_intake_questions__category_chosen__its_questions_come_in(wo: OrderWorld) -> None:
    client = _client(wo.resident)
    html = client.get(reverse("workorders:questions"), {"category": wo.water_outage.pk}).text
    assert 'id="questions"' in html
    assert "Since when?" in html
    assert 'type="datetime-local"' in html
    assert 'name="answers-since"' in html
    # One choice among the scopes, each a big radio with its English name.
    assert html.count('name="answers-scope"') == 3
    assert "The whole building" in html
    assert html.count("(required)") == 2
    # A category without questions: the box empties.
    empty = client.get(
        reverse("workorders:questions"),
        {"category": Category.objects.get(path=wo.water_outage.path[:4]).pk},
    )
    assert "answers-" not in empty.text


def test_intake_questions__chosen_category_on_the_page__wired_for_htmx(wo: OrderWorld) -> None:
    html = _client(wo.resident).get(reverse("workorders:new")).text
    assert f'hx-get="{reverse("workorders:questions")}"' in html
    assert 'hx-target="#questions"' in html
    # Coming back with a category (e.g. after an error), the questions are already there.
    again = _client(wo.resident).get(reverse("workorders:new"), {"category": wo.waterlogging.pk})
    assert "About how deep (cm)?" in again.text


def test_intake_questions__required_unanswered__400_next_to_the_question_nothing_saved(
    wo: OrderWorld,
) -> None:
    before = WorkOrder.objects.count()
    response = _client(wo.resident).post(reverse("workorders:new"), _report(wo, wo.water_outage))
    assert response.status_code == 400
    assert _error(response.text, "answers-since") == "⚠ Please answer this question."
    assert _error(response.text, "answers-scope") == "⚠ Please answer this question."
    assert 'data-testid="answers-error"' in response.text
    assert WorkOrder.objects.count() == before


def test_intake_questions__chinese__messages_in_chinese(wo: OrderWorld) -> None:
    response = _client(wo.resident, "zh-hans").post(
        reverse("workorders:new"),
        _report(wo, wo.waterlogging, **{"answers-depth_cm": "半米"}),
    )
    assert response.status_code == 400
    assert _error(response.text, "answers-depth_cm") == "⚠ 请输入数字。"
    assert "积水大约多深（厘米）？" in response.text


def test_intake_questions__wrong_types__each_says_what_to_fix(wo: OrderWorld) -> None:
    response = _client(wo.resident).post(
        reverse("workorders:new"),
        _report(wo, wo.water_outage, **{"answers-since": "yesterday", "answers-scope": "street"}),
    )
    assert response.status_code == 400
    assert "Enter a date and time" in _error(response.text, "answers-since")
    assert _error(response.text, "answers-scope") == "⚠ Choose one of the offered answers."
    # What was typed stays in the form to be corrected.
    assert 'value="yesterday"' in response.text


def test_intake_questions__answered__stored_normalised_and_shown_on_the_order(
    wo: OrderWorld,
) -> None:
    client = _client(wo.resident)
    response = client.post(
        reverse("workorders:new"),
        _report(wo, wo.water_outage, **{"answers-since": "2026-11-25T07:30",
                                        "answers-scope": "building"}),
    )  # fmt: skip
    assert response.status_code == 302, response.text[-2000:]
    order = WorkOrder.objects.latest("id")
    # Stored as the API stores it: the time in UTC (07:30 in Leshan is 23:30 UTC the day before).
    assert order.answers == {"since": "2026-11-24T23:30:00+00:00", "scope": "building"}
    html = client.get(response["Location"]).text
    answers = re.search(r'data-testid="answers">(.*?)</dl>', html, re.S)
    assert answers is not None
    text = _text(answers.group(1))
    assert "Since when?" in text
    assert "25 Nov 2026" in text
    assert "07:30" in text
    assert "Who is affected? The whole building" in text
    zh = _client(wo.resident, "zh-hans").get(response["Location"]).text
    assert "整栋楼" in zh
    assert "影响范围" in zh


def test_intake_questions__call_taker_several_choices__stored_in_the_offered_order(
    wo: OrderWorld,
) -> None:
    noise = Category.objects.get(code="noise_nuisance")
    data = _report(wo, noise, description="楼下每天深夜装修", contact_phone="13800000001")
    data["answers-when"] = ["night", "morning"]
    response = _client(wo.dispatcher).post(reverse("workorders:hotline"), data)
    assert response.status_code == 302, response.text[-2000:]
    assert WorkOrder.objects.latest("id").answers == {"when": ["morning", "night"]}


def test_intake_questions__discovery__number_answer_stored(wo: OrderWorld) -> None:
    data = _report(wo, wo.waterlogging, description="A院门口积水", **{"answers-depth_cm": " 15 "})
    response = _client(wo.commissioner_a).post(reverse("workorders:discover"), data)
    assert response.status_code == 302, response.text[-2000:]
    order = WorkOrder.objects.latest("id")
    assert order.channel == "discovery"
    assert order.answers == {"depth_cm": 15}


# --- possible duplicates while typing ----------------------------------------------------------


def _hint(client: Client, wo: OrderWorld, category: Category, text: str) -> str:
    return client.post(
        reverse("workorders:hint-duplicates"),
        {"category": category.pk, "courtyard": wo.world.courtyard_a.pk, "description": text},
    ).text


def test_duplicate_hints__own_open_report__offered_to_open_instead(wo: OrderWorld) -> None:
    mine = wo.submit(description="A1号门口的路灯不亮了")
    html = _hint(_client(wo.resident), wo, wo.street_light, "A1号门口路灯不亮")
    assert f'data-order="{mine.pk}"' in html
    assert "This is my report: open it" in html
    assert reverse("workorders:detail", args=[mine.pk]) in html
    # Another text: nothing alike, nothing offered.
    assert 'data-testid="duplicate"' not in _hint(
        _client(wo.resident), wo, wo.street_light, "小区健身器材坏了需要维修"
    )


def test_duplicate_hints__commissioner__follows_the_open_order_instead(wo: OrderWorld) -> None:
    order = wo.submit(description="A1号门口的路灯不亮了")
    client = _client(wo.commissioner_a)
    html = _hint(client, wo, wo.street_light, "A1号门口的路灯不亮")
    assert "Same problem: follow it" in html
    assert f'formaction="{reverse("workorders:follow", args=[order.pk])}"' in html
    response = client.post(
        reverse("workorders:follow", args=[order.pk]), _report(wo, wo.street_light)
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("workorders:detail", args=[order.pk])
    assert WorkOrderFollower.objects.filter(order=order, user=wo.commissioner_a).exists()
    assert WorkOrder.objects.count() == 1  # following, not a second report
    page = client.get(response["Location"]).text
    assert f"You follow {order.reference}" in page
    assert 'data-testid="unfollow"' in page


def test_duplicate_hints__outside_scope_or_other_courtyard__nothing(wo: OrderWorld) -> None:
    wo.submit(description="A1号门口的路灯不亮了")
    # Commissioner B has courtyard B only: A's courtyard is not theirs to ask about.
    assert 'data-testid="duplicate"' not in _hint(
        _client(wo.commissioner_b), wo, wo.street_light, "A1号门口的路灯不亮"
    )


def test_duplicate_hints__without_javascript__shown_when_the_form_comes_back(
    wo: OrderWorld,
) -> None:
    mine = wo.submit(description="A1号门口的路灯不亮了")
    data = _report(wo, wo.street_light, description="A1号门口的路灯不亮了", house="bad")
    response = _client(wo.resident).post(reverse("workorders:new"), data)
    assert response.status_code == 400
    assert f'data-order="{mine.pk}"' in response.text


# --- the caller recognised by number -----------------------------------------------------------


@pytest.fixture
def caller(wo: OrderWorld) -> object:
    care_tags_ensure_standard()
    return resident_register(
        actor="tests", name="李大爷", place=wo.world.unit_a, phone=PHONE, tags=["elderly_alone"]
    )


def test_caller_hint__recognised__household_courtyard_open_orders_masked(
    wo: OrderWorld, caller: object
) -> None:
    open_order = wo.submit(
        actor=wo.dispatcher, channel="hotline", description="楼道灯坏了", contact_phone=PHONE
    )
    response = _client(wo.dispatcher).post(
        reverse("workorders:hint-caller"), {"contact_phone": "137 1234 5678"}
    )
    html = response.text
    assert response.status_code == 200
    assert 'data-testid="caller-recognised"' in html
    assert "李大爷" in html
    assert "137****5678" in html
    assert "A院" in html
    assert f'data-courtyard="{wo.world.courtyard_a.pk}"' in html
    assert open_order.reference in html
    assert PHONE not in html  # masked only
    assert "1234 5678" not in html


def test_caller_hint__partial_unknown_or_bad_number(wo: OrderWorld, caller: object) -> None:
    client = _client(wo.dispatcher)
    url = reverse("workorders:hint-caller")
    assert 'data-testid="caller-' not in client.post(url, {"contact_phone": "137"}).text
    unknown = client.post(url, {"contact_phone": "13900001111"}).text
    assert "139****1111 is not known" in unknown
    bad = client.post(url, {"contact_phone": "1234567"}).text
    assert 'data-testid="caller-error"' in bad
    assert "1234567" not in bad


def test_caller_hint__not_a_call_taker__nothing_revealed(wo: OrderWorld, caller: object) -> None:
    html = (
        _client(wo.resident).post(reverse("workorders:hint-caller"), {"contact_phone": PHONE}).text
    )
    assert "李大爷" not in html
    assert _client(wo.resident).get(reverse("workorders:hint-caller")).status_code == 405


def test_caller_hint__number_never_in_a_url(wo: OrderWorld) -> None:
    html = _client(wo.dispatcher).get(reverse("hotline:desk")).text  # the call-taker's screen
    watch = re.search(r'<div [^>]*hx-post="([^"]+)"[^>]*from:#id_phone', html)
    assert watch is not None
    assert watch.group(1) == reverse("hotline:caller")


# --- the call-taker's keyboard -----------------------------------------------------------------


def test_hotline_shortcuts__listed_on_the_page_and_wired(wo: OrderWorld) -> None:
    assert _client(wo.dispatcher).get(reverse("workorders:hotline")).url == reverse("hotline:desk")
    html = _client(wo.dispatcher).get(reverse("hotline:desk")).text  # the call-taker's screen
    keys = re.search(r'data-testid="shortcuts">(.*?)</aside>', html, re.S)
    assert keys is not None
    text = _text(keys.group(1))
    for line in ("Alt + 1 Caller's number", "Alt + 5 Kind of problem",
                 "Alt + 3 What the caller says", "Alt + O Create the work order",
                 "Ctrl + Enter Create the work order"):  # fmt: skip
        assert line in re.sub(r"\s*\+\s*", " + ", text)
    assert "hotline/desk.js" in html
    # The resident's phone form has no desk shortcuts.
    assert 'data-testid="shortcuts"' not in _client(wo.resident).get(reverse("workorders:new")).text


def test_duplicate_hints__hotline__the_call_is_merged_into_the_open_order(wo: OrderWorld) -> None:
    existing = wo.submit(description="A1号门口的路灯不亮了")
    client = _client(wo.dispatcher)
    hint = client.post(
        reverse("workorders:hint-duplicates"),
        {"category": wo.street_light.pk, "courtyard": wo.world.courtyard_a.pk,
         "description": "A1号门口路灯不亮", "channel": "hotline"},
    ).text  # fmt: skip
    assert f'name="duplicate_of" value="{existing.pk}"' in hint
    assert "merge the call into that order" in hint
    data = _report(wo, wo.street_light, description="A1号门口路灯不亮", contact_phone="13800000002")
    response = client.post(reverse("workorders:hotline"), {**data, "duplicate_of": existing.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("workorders:detail", args=[existing.pk])
    call = WorkOrder.objects.exclude(pk=existing.pk).get()
    assert call.parent_id == existing.pk
    assert call.state == "archived"
    # The caller (no account) follows the open order through their call's contact phone.
    assert WorkOrderFollower.objects.filter(order=existing, via_order=call).exists()
    page = client.get(response["Location"]).text
    assert f"merged into {existing.reference}" in page


def test_duplicate_hints__hotline__merge_refused__the_call_stays_registered(
    wo: OrderWorld,
) -> None:
    data = _report(wo, wo.street_light, description="A1号门口路灯不亮", contact_phone="13800000003")
    response = _client(wo.dispatcher).post(
        reverse("workorders:hotline"), {**data, "duplicate_of": 999999}
    )
    call = WorkOrder.objects.get()
    assert response["Location"] == reverse("workorders:detail", args=[call.pk])
    assert call.state == "registered"
    assert call.parent_id is None


def test_intake_questions__without_javascript__next_shows_them_keeping_what_was_typed(
    wo: OrderWorld,
) -> None:
    client = _client(wo.resident)
    page = client.get(reverse("workorders:new")).text
    assert 'name="show_questions"' in page  # inside <noscript>: only without JavaScript
    data = _report(wo, wo.water_outage, house=wo.world.house_a.pk, anonymous="on")
    response = client.post(reverse("workorders:new"), {**data, "show_questions": "1"})
    assert response.status_code == 200
    html = response.text
    assert "Since when?" in html
    assert "整栋楼从早上开始停水了</textarea>" in html
    assert f'<option value="{wo.world.house_a.pk}" selected>' in html
    assert re.search(r'<input[^>]*name="anonymous"[^>]*checked', html)
    assert 'data-testid="form-error"' not in html  # nothing checked yet
    assert "field-error" not in html
    assert WorkOrder.objects.count() == 0
