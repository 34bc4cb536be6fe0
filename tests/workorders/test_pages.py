"""The work-order pages as each role meets them: who may open what (404 outside the scope), the
buttons an order page shows (exactly ``allowed_actions``), forms that go through the services
and show their errors next to the fields, a conflict that asks to reload, deadlines in plain
words, and lists whose query count does not grow with their rows."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse

from sanan.accounts.models import User
from sanan.workorders.access import allowed_actions, can_see
from sanan.workorders.models import Channel, WorkOrder, WorkOrderEvent
from sanan.workorders.selectors import BOARD_BUCKETS, QUEUE_BUCKETS, bucket_q, work_order_list
from sanan.workorders.state import State
from tests.workorders.world import OrderWorld, at

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _buttons(html: str) -> set[str]:
    section = re.search(r'data-testid="actions">(.*?)</section>', html, re.S)
    if section is None:
        return set()
    return set(re.findall(r'data-action="([a-z_]+)"', section.group(1)))


def _detail(order: WorkOrder) -> str:
    return reverse("workorders:detail", args=[order.pk])


def _act(order: WorkOrder, action: str) -> str:
    return reverse("workorders:act", args=[order.pk, action])


# --- who may open what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("resident", "workorders:new", 200),
        ("resident", "workorders:mine", 200),
        ("resident", "workorders:board", 404),
        ("resident", "workorders:queue", 404),
        ("resident", "hotline:desk", 404),
        ("resident", "workorders:discover", 404),
        ("commissioner_a", "workorders:discover", 200),
        ("dispatcher", "workorders:board", 200),
        ("dispatcher", "hotline:desk", 200),
        ("dispatcher", "workorders:queue", 404),
        ("handler", "workorders:queue", 200),
        ("handler", "workorders:board", 404),
        ("handler", "workorders:new", 404),
        ("leader", "workorders:board", 200),
    ],
)
def test_work_order_pages__open__per_role(wo: OrderWorld, who: str, url: str, status: int) -> None:
    response = _client(getattr(wo, who)).get(reverse(url))
    assert response.status_code == status


def test_work_order_pages__anonymous_visitor__is_sent_to_sign_in(wo: OrderWorld) -> None:
    response = Client().get(reverse("workorders:board"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_work_order_detail__outside_scope__404(wo: OrderWorld) -> None:
    order = wo.submit()  # registered: no organisation has it yet
    assert _client(wo.handler).get(_detail(order)).status_code == 404
    assert _client(wo.urban_handler).get(_detail(order)).status_code == 404
    assert _client(wo.commissioner_b).get(_detail(order)).status_code == 404
    assert _client(wo.urban_handler).post(_act(order, "sign")).status_code == 404
    assert _client(wo.dispatcher).get(_detail(order)).status_code == 200
    assert _client(wo.resident).get(_detail(order)).status_code == 200


# --- buttons equal allowed_actions -------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [State.REGISTERED, State.DISPATCHED, State.SIGNED, State.CONTACTED, State.IN_PROGRESS,
     State.FINISHED, State.CALLBACK, State.RETURNED, State.ARCHIVED],
)  # fmt: skip
@pytest.mark.parametrize("who", ["resident", "dispatcher", "handler", "leader"])
def test_work_order_detail__buttons__equal_allowed_actions(
    wo: OrderWorld, state: str, who: str
) -> None:
    order = wo.order_in(state)
    user = wo.fresh(getattr(wo, who))
    response = _client(user).get(_detail(order))
    if not can_see(wo.fresh(user), wo.reload(order)):
        assert response.status_code == 404  # e.g. a handler before dispatch
        return
    assert response.status_code == 200
    expected = set(allowed_actions(wo.fresh(user), wo.reload(order)))
    shown = _buttons(response.content.decode())
    if who == "resident" and "callback" in expected:
        # The reporter rates in the form on the page itself rather than behind a button.
        assert 'data-testid="rate"' in response.content.decode()
        expected.discard("callback")
    assert shown == expected


def test_work_order_detail__resident__sees_replies_not_internal_notes(wo: OrderWorld) -> None:
    order = wo.order_in(State.SIGNED)
    from sanan.workorders import services

    services.work_order_contact(
        actor=wo.fresh(wo.handler),
        order=wo.reload(order),
        public_note="明天上午来修",
        internal_note="需要带梯子",
    )
    resident_html = _client(wo.resident).get(_detail(order)).content.decode()
    assert "明天上午来修" in resident_html
    assert "需要带梯子" not in resident_html
    handler_html = _client(wo.handler).get(_detail(order)).content.decode()
    assert "需要带梯子" in handler_html
    assert 'data-testid="internal-note"' in handler_html


# --- forms through the services ----------------------------------------------------------------


def test_work_order_new__resident__submits_through_the_service(wo: OrderWorld) -> None:
    client = _client(wo.resident)
    page = client.get(reverse("workorders:new")).content.decode()
    assert f'value="{wo.world.courtyard_a.pk}" selected' in page  # the home courtyard, chosen
    response = client.post(
        reverse("workorders:new"),
        {
            "category": wo.street_light.pk,
            "description": "3号楼门口的路灯坏了",
            "courtyard": wo.world.courtyard_a.pk,
            "house": wo.world.house_a.pk,
            "point_system": "wgs84",
            "anonymous": "on",
            "idempotency_key": "page-test-1",
        },
    )
    order = WorkOrder.objects.get(description="3号楼门口的路灯坏了")
    assert response.status_code == 302
    assert response["Location"] == _detail(order)
    assert order.channel == Channel.RESIDENT_FORM
    assert order.place == wo.world.house_a
    assert order.anonymous
    assert order.reporter_id == wo.resident.pk
    assert WorkOrderEvent.objects.filter(order=order, action="submit").count() == 1


def test_work_order_new__retried_post__returns_the_first_order(wo: OrderWorld) -> None:
    client = _client(wo.resident)
    data = {
        "category": wo.street_light.pk,
        "description": "路灯不亮",
        "courtyard": wo.world.courtyard_a.pk,
        "point_system": "wgs84",
        "idempotency_key": "same-key",
    }
    first = client.post(reverse("workorders:new"), data)
    second = client.post(reverse("workorders:new"), data)
    assert first["Location"] == second["Location"]
    assert WorkOrder.objects.filter(description="路灯不亮").count() == 1


def test_work_order_new__missing_place_and_text__errors_next_to_fields(wo: OrderWorld) -> None:
    client = _client(wo.resident)
    response = client.post(
        reverse("workorders:new"),
        {"category": wo.street_light.pk, "description": "", "point_system": "wgs84"},
    )
    assert response.status_code == 400
    assert 'data-testid="field-error-description"' in response.content.decode()
    response = client.post(
        reverse("workorders:new"),
        {"category": wo.street_light.pk, "description": "坏了", "point_system": "wgs84"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="field-error-place"' in html
    assert "Say where the problem is" in html
    assert not WorkOrder.objects.exists()


def test_work_order_new__point_outside_courtyards__domain_error_shown(wo: OrderWorld) -> None:
    response = _client(wo.resident).post(
        reverse("workorders:new"),
        {
            "category": wo.street_light.pk,
            "description": "坏了",
            "lat": "31.0",
            "lng": "104.0",
            "point_system": "gcj02",
        },
    )
    assert response.status_code == 400
    assert "not inside any courtyard" in response.content.decode()


def test_work_order_discover__commissioner__is_a_discovery(wo: OrderWorld) -> None:
    response = _client(wo.commissioner_a).post(
        reverse("workorders:discover"),
        {
            "category": wo.street_light.pk,
            "description": "巡查发现路灯坏了",
            "courtyard": wo.world.courtyard_a.pk,
            "point_system": "wgs84",
        },
    )
    assert response.status_code == 302
    order = WorkOrder.objects.get(description="巡查发现路灯坏了")
    assert order.is_discovery
    assert order.channel == Channel.DISCOVERY


def test_work_order_hotline__call_taker__acts_for_the_caller(wo: OrderWorld) -> None:
    phone = wo.resident.phone_reveal()
    response = _client(wo.dispatcher).post(
        reverse("workorders:hotline"),
        {
            "category": wo.street_light.pk,
            "description": "来电：路灯坏了",
            "courtyard": wo.world.courtyard_a.pk,
            "point_system": "wgs84",
            "contact_name": "王女士",
            "contact_phone": phone,
        },
    )
    assert response.status_code == 302
    order = WorkOrder.objects.get(description="来电：路灯坏了")
    assert order.channel == Channel.HOTLINE
    assert order.reporter_id == wo.resident.pk  # recognised by the phone number
    assert order.created_by_id == wo.dispatcher.pk


def test_work_order_act__finish_without_reply__error_next_to_the_field(wo: OrderWorld) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    response = _client(wo.handler).post(
        _act(order, "finish"), {"public_note": "", "version": order.version}
    )
    assert response.status_code == 400
    assert 'data-testid="field-error-public_note"' in response.content.decode()
    assert wo.reload(order).state == State.IN_PROGRESS


def test_work_order_act__dispatch_override_without_reason__service_message(
    wo: OrderWorld,
) -> None:
    from sanan.workorders.models import RoutingKind, RoutingRule

    RoutingRule.objects.create(
        kind=RoutingKind.BACKSTOP, category=None, place=wo.community, lead_organisation=wo.urban
    )
    order = wo.submit()
    client = _client(wo.dispatcher)
    board = client.get(reverse("workorders:board")).content.decode()
    assert wo.urban.name in board
    assert "owner of last resort" in board
    response = client.post(
        _act(order, "dispatch"),
        {"lead_organisation": wo.housing.pk, "reason": "", "version": order.version},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="field-error-reason"' in html
    response = client.post(
        _act(order, "dispatch"),
        {"lead_organisation": wo.housing.pk, "reason": "住建局负责", "version": order.version},
    )
    assert response.status_code == 302
    assert wo.reload(order).lead_organisation_id == wo.housing.pk


def test_work_order_act__stale_version__asks_to_reload(wo: OrderWorld) -> None:
    from sanan.workorders import services

    order = wo.order_in(State.SIGNED)
    stale = order.version
    # A colleague asks for more time a moment ago: the order's version moves on.
    services.work_order_request_extension(
        actor=wo.fresh(wo.handler), order=wo.reload(order), days=2, reason="等配件"
    )
    response = _client(wo.handler).post(
        _act(order, "contact"), {"method": "phone", "public_note": "", "version": stale}
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this order" in html
    assert 'data-testid="reload"' in html
    assert wo.reload(order).state == State.SIGNED


def test_work_order_act__already_done__says_what_the_state_is(wo: OrderWorld) -> None:
    order = wo.order_in(State.DISPATCHED)
    stale = order.version
    wo.drive(order, State.SIGNED)  # someone else signed a moment ago
    response = _client(wo.handler).post(_act(order, "sign"), {"version": stale})
    html = response.content.decode()
    assert response.status_code == 409
    assert "cannot be given" in html
    assert 'data-testid="reload"' in html


def test_work_order_act__htmx_success__tells_the_page_where_to_go(wo: OrderWorld) -> None:
    order = wo.order_in(State.SIGNED)
    response = _client(wo.handler).post(
        _act(order, "contact"),
        {"method": "phone", "public_note": "已电话联系", "version": order.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Location"] == _detail(order)
    assert wo.reload(order).state == State.CONTACTED


def test_work_order_act__htmx_get__renders_only_the_panel(wo: OrderWorld) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    response = _client(wo.handler).get(_act(order, "finish"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="action-panel"' in html
    assert "<html" not in html


def test_work_order_rating__dissatisfied__goes_back_to_the_department(wo: OrderWorld) -> None:
    order = wo.order_in(State.FINISHED)
    client = _client(wo.resident)
    assert 'data-testid="rate"' in client.get(_detail(order)).content.decode()
    response = client.post(
        _act(order, "callback"),
        {"resolution": "not_solved", "satisfaction": "dissatisfied", "version": order.version},
    )
    assert response.status_code == 302
    order = wo.reload(order)
    assert order.state == State.DISPATCHED
    assert order.rehandle_count == 1


def test_board_bulk_dispatch__dispatches_each_through_the_service(wo: OrderWorld) -> None:
    orders = [wo.submit(description=f"路灯{i}") for i in range(3)]
    response = _client(wo.dispatcher).post(
        reverse("workorders:board-dispatch"),
        {"orders": [o.pk for o in orders[:2]], "lead_organisation": wo.housing.pk},
    )
    assert response.status_code == 302
    states = [wo.reload(o).state for o in orders]
    assert states == [State.DISPATCHED, State.DISPATCHED, State.REGISTERED]


@pytest.mark.parametrize(
    ("who", "page", "buckets"),
    [("dispatcher", "workorders:board", BOARD_BUCKETS), ("handler", "workorders:queue",
                                                          QUEUE_BUCKETS)],
)  # fmt: skip
def test_board_and_queue__a_bucket_list__paged_by_the_bucket_count_without_counting_orders(
    wo: OrderWorld, monkeypatch: pytest.MonkeyPatch, who: str, page: str, buckets: Any
) -> None:
    """A list that is exactly one bucket takes the bucket's count (from the maintained
    counters) for its pages instead of counting its orders; the pages still hold every order
    of the bucket once. A narrowed list (a search) counts its own orders."""
    from sanan.workorders import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for _ in range(3):
        wo.submit()
    for state in (State.DISPATCHED, State.DISPATCHED, State.DISPATCHED, State.IN_PROGRESS,
                  State.RETURNED, State.FINISHED):  # fmt: skip
        wo.order_in(state)
    user = getattr(wo, who)
    client = _client(user)
    for code in buckets:
        expected = list(
            work_order_list(user=wo.fresh(user))
            .filter(bucket_q(code, user=wo.fresh(user)))
            .values_list("pk", flat=True)
        )
        seen: list[int] = []
        for number in (1, 2, 3, 4):
            statements: list[str] = []

            def noted(execute: Any, sql: str, *rest: Any, log: list[str] = statements) -> Any:
                log.append(sql)
                return execute(sql, *rest)

            with connection.execute_wrapper(noted):
                response = client.get(reverse(page), {"bucket": code, "page": number})
            assert response.status_code == 200
            paged = response.context["page"]
            assert paged.paginator.count == len(expected), code
            counted = 'SELECT COUNT(*) AS "__count" FROM "workorders_workorder"'
            assert not [q for q in statements if q.startswith(counted)], code
            if number <= paged.paginator.num_pages:
                seen += [o.pk for o in paged.object_list]
        assert sorted(seen) == sorted(expected), code
    searched = client.get(reverse(page), {"bucket": next(iter(buckets)), "q": "no such words"})
    assert searched.context["page"].paginator.count == 0


def test_board__a_narrowed_list__counts_its_orders_only_up_to_the_cap(
    wo: OrderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search or a courtyard is not a bucket: its orders are counted, but never past the cap
    ("Page 2", not "of 2"), and the pages still go on to the last of them."""
    from sanan.core.pagination import CappedPaginator
    from sanan.workorders import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(CappedPaginator, "count_cap", 3)
    orders = [wo.submit(description=f"楼道灯坏了 第{i}处") for i in range(5)]
    client = _client(wo.dispatcher)
    seen: list[int] = []
    for number in (1, 2, 3):
        statements: list[str] = []

        def noted(execute: Any, sql: str, *rest: Any, log: list[str] = statements) -> Any:
            log.append(sql)
            return execute(sql, *rest)

        with connection.execute_wrapper(noted):
            response = client.get(reverse("workorders:board"), {"q": "楼道灯", "page": number})
        assert response.status_code == 200
        paged = response.context["page"]
        assert paged.paginator.capped
        assert paged.paginator.count == 3
        counted = 'SELECT COUNT(*) AS "__count" FROM "workorders_workorder"'
        assert not [q for q in statements if q.startswith(counted)]
        html = response.content.decode()
        assert f"Page {number}<" in html
        assert f"Page {number} of" not in html
        seen += [o.pk for o in paged.object_list]
        assert paged.has_next() == (number < 3)
    assert sorted(seen) == sorted(o.pk for o in orders)


def test_queue__handler__signs_in_one_click(wo: OrderWorld) -> None:
    order = wo.order_in(State.DISPATCHED)
    client = _client(wo.handler)
    html = client.get(reverse("workorders:queue")).content.decode()
    assert f'data-testid="sign-{order.pk}"' in html
    client.post(_act(order, "sign"), {"version": order.version})
    assert wo.reload(order).state == State.SIGNED


# --- deadlines in plain words -------------------------------------------------------------------


def test_queue__deadlines__in_plain_words_with_tone(wo: OrderWorld, clock: Any) -> None:
    order = wo.order_in(State.DISPATCHED)
    client = _client(wo.handler)
    html = client.get(reverse("workorders:queue")).content.decode()
    assert re.search(r'data-tone="ok".*Due in \d+ working hours? \(sign for\)', html, re.S)
    clock.move_to(at(2026, 12, 3, 10))  # a week later: long past the sign-for deadline
    client = _client(wo.handler)  # a new session (the old one timed out meanwhile)
    html = client.get(reverse("workorders:queue") + "?bucket=queue_overdue").content.decode()
    assert re.search(r'data-tone="late".*Overdue by \d+ working days?', html, re.S)
    assert order.reference in html


# --- query counts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("dispatcher", "workorders:board"),
        ("handler", "workorders:queue"),
        ("resident", "workorders:mine"),
    ],
)
def test_work_order_lists__query_count__does_not_grow(
    wo: OrderWorld, django_assert_max_num_queries: Any, who: str, url: str
) -> None:
    client = _client(getattr(wo, who))
    params = "?bucket=to_sign" if who == "handler" else ""
    for i in range(2):
        wo.order_in(State.DISPATCHED if who == "handler" else State.REGISTERED, description=f"a{i}")
    client.get(reverse(url) + params)  # warm the calendar and session
    with django_assert_max_num_queries(20) as few:
        client.get(reverse(url) + params)
    baseline = len(few.captured_queries)
    for i in range(8):
        wo.order_in(State.DISPATCHED if who == "handler" else State.REGISTERED, description=f"b{i}")
    with django_assert_max_num_queries(baseline):
        response = client.get(reverse(url) + params)
    assert response.content.decode().count("b7") >= 1 or who == "resident"


def test_work_order_detail__time_zone__shanghai(wo: OrderWorld) -> None:
    with time_machine.travel(at(2026, 11, 25, 23, 30), tick=False):
        order = wo.submit()
    html = _client(wo.resident).get(_detail(order)).content.decode()
    assert "23:30" in html


# --- photos and merging (the colleague's attachments and duplicates services) --------------------


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_work_order_new__with_a_photo__stored_and_shown(wo: OrderWorld, settings: Any,
                                                         tmp_path: Any) -> None:  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = str(tmp_path)
    client = _client(wo.resident)
    response = client.post(
        reverse("workorders:new"),
        {
            "category": wo.street_light.pk,
            "description": "有照片的报修",
            "courtyard": wo.world.courtyard_a.pk,
            "point_system": "wgs84",
            "photos": [SimpleUploadedFile("lamp.png", _png(), content_type="image/png")],
        },
    )
    assert response.status_code == 302
    order = WorkOrder.objects.get(description="有照片的报修")
    submit = WorkOrderEvent.objects.get(order=order, action="submit")
    assert len(submit.attachments) == 1
    html = client.get(_detail(order)).content.decode()
    assert 'data-testid="photo"' in html


def test_work_order_new__fake_photo__error_next_to_photos(wo: OrderWorld, settings: Any,
                                                          tmp_path: Any) -> None:  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = str(tmp_path)
    response = _client(wo.resident).post(
        reverse("workorders:new"),
        {
            "category": wo.street_light.pk,
            "description": "假照片",
            "courtyard": wo.world.courtyard_a.pk,
            "point_system": "wgs84",
            "photos": [SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")],
        },
    )
    assert response.status_code == 400
    assert 'data-testid="field-error-photos"' in response.content.decode()
    assert not WorkOrder.objects.filter(description="假照片").exists()


def test_work_order_act__merge__closes_the_duplicate_into_its_parent(wo: OrderWorld) -> None:
    parent = wo.submit(description="路灯坏了（第一份）")
    child = wo.submit(description="路灯坏了（第二份）")
    client = _client(wo.dispatcher)
    assert "merge" in _buttons(client.get(_detail(child)).content.decode())
    response = client.post(
        _act(child, "merge"), {"parent": parent.reference, "version": child.version}
    )
    assert response.status_code == 302
    child = wo.reload(child)
    assert child.state == State.ARCHIVED
    assert child.parent_id == parent.pk
    response = client.post(_act(parent, "merge"), {"parent": "999999", "version": 1})
    assert 'data-testid="field-error-parent"' in response.content.decode()
