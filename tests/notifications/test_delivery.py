"""Delivery of the outbox: after commit only, once per recipient, in the recipient's language,
webhooks signed and retried with backoff, SMS never logging a full number."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction

from sanan.accounts.models import User
from sanan.notifications import delivery, services
from sanan.notifications.models import AttemptOutcome, DeliveryAttempt, InboxItem
from sanan.notifications.services import outbox_deliver_due
from sanan.workorders.models import OutboxMessage, OutboxStatus
from sanan.workorders.state import State
from tests.notifications.conftest import Receiver
from tests.notifications.race import outcome, race_deliver
from tests.workorders.world import WEDNESDAY_10, OrderWorld

ROOT = Path(__file__).resolve().parents[2]
THREADS = 4


class Rollback(Exception):
    pass


def _inbox(user: User) -> list[InboxItem]:
    return list(InboxItem.objects.filter(user=user).order_by("pk"))


def test_outbox__rolled_back_change__is_never_delivered(wo: OrderWorld) -> None:
    before = OutboxMessage.objects.count()
    seen: list[bool] = []

    def change_then_fail() -> None:
        with transaction.atomic():
            order = wo.submit()
            seen.append(OutboxMessage.objects.filter(order_id=order.pk).exists())
            raise Rollback

    with pytest.raises(Rollback):
        change_then_fail()
    assert seen == [True]  # the rows were written in the change's transaction
    assert OutboxMessage.objects.count() == before
    result = outbox_deliver_due(now=WEDNESDAY_10 + dt.timedelta(minutes=5))
    assert result.claimed == 0
    assert not InboxItem.objects.exists()


def test_inbox__dispatch__reaches_the_lead_organisation_and_the_reporter_in_their_language(
    wo: OrderWorld,
) -> None:
    User.objects.filter(pk=wo.handler.pk).update(preferred_language="en")
    User.objects.filter(pk=wo.resident.pk).update(preferred_language="zh-hans")
    order = wo.submit()
    outbox_deliver_due()
    InboxItem.objects.all().delete()  # the intake's notices; now the dispatch
    wo.drive(order, State.DISPATCHED)
    result = outbox_deliver_due()
    assert result.failed == 0
    assert result.sent >= 2

    (to_handler,) = _inbox(wo.handler)
    assert to_handler.template == "work_order.dispatched"
    assert to_handler.title == f"Request {order.reference} has been dispatched to you"
    assert to_handler.link.endswith(f"/{order.pk}/")
    (to_resident,) = _inbox(wo.resident)
    assert to_resident.template == "work_order.status_changed"
    assert order.reference in to_resident.title
    assert "您的诉求" in to_resident.title  # in Chinese, her language
    assert "已派单" in to_resident.title  # the state, in Chinese too
    # Other departments, and handlers of other organisations, hear nothing.
    assert _inbox(wo.urban_handler) == []
    assert _inbox(wo.unit_handler) == []
    assert _inbox(wo.commissioner_b) == []
    # Delivered means delivered: a second pass sends nothing again.
    again = outbox_deliver_due(now=WEDNESDAY_10 + dt.timedelta(hours=1))
    assert again.claimed == 0
    assert InboxItem.objects.filter(user=wo.handler).count() == 1


def test_inbox__awaiting_dispatch__goes_to_the_desk_over_the_place(wo: OrderWorld) -> None:
    wo.submit()
    outbox_deliver_due()
    assert [i.template for i in _inbox(wo.dispatcher)] == ["work_order.awaiting_dispatch"]
    assert [i.template for i in _inbox(wo.resident)] == ["work_order.registered"]
    assert _inbox(wo.handler) == []  # nothing is assigned to the department yet
    assert _inbox(wo.commissioner_a) == []  # no dispatch right


def test_webhook__500_then_200__retried_with_backoff_delivered_once_signed(
    wo: OrderWorld, receiver: Receiver, clock: time_machine.Coordinates
) -> None:
    endpoint, secret = services.webhook_endpoint_create(
        actor=wo.fresh(wo.dispatcher), organisation=wo.housing, url=receiver.url
    )
    receiver.script = [500]
    order = wo.order_in(State.DISPATCHED)
    message = OutboxMessage.objects.get(
        order=order, template="work_order.dispatched", recipient_organisation=wo.housing
    )

    first = outbox_deliver_due()
    message.refresh_from_db()
    assert first.retrying == 1
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at == WEDNESDAY_10 + services.backoff(1)
    assert message.last_error == "webhook.http_500"
    assert InboxItem.objects.filter(user=wo.handler).count() == 1  # the inbox did not wait

    early = outbox_deliver_due(now=WEDNESDAY_10 + dt.timedelta(seconds=10))
    assert early.claimed == 0  # not due yet: backoff

    clock.shift(services.backoff(1))
    second = outbox_deliver_due()
    message.refresh_from_db()
    assert second.sent >= 1
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 2

    posts = [r for r in receiver.requests if r["headers"]["Idempotency-Key"] == message.dedupe_key]
    assert [p["status"] for p in posts] == [500, 200]
    for post in posts:
        headers = post["headers"]
        assert delivery.webhook_verify(
            secret,
            signature=headers["X-Sanan-Signature"],
            timestamp=headers["X-Sanan-Timestamp"],
            body=post["body"],
            now=int(headers["X-Sanan-Timestamp"]),
        )
        assert not delivery.webhook_verify(
            "whsec_wrong",
            signature=headers["X-Sanan-Signature"],
            timestamp=headers["X-Sanan-Timestamp"],
            body=post["body"],
            now=int(headers["X-Sanan-Timestamp"]),
        )
    document = json.loads(posts[-1]["body"])
    assert document["event"] == "work_order.dispatched"
    assert document["data"]["order"] == order.pk
    assert "13900000001" not in posts[-1]["body"].decode()  # ids and codes only
    assert InboxItem.objects.filter(user=wo.handler, source_key=message.dedupe_key).count() == 1
    assert (
        DeliveryAttempt.objects.filter(
            message_key=message.dedupe_key, target=f"webhook:{endpoint.pk}"
        ).count()
        == 2
    )
    clock.shift(dt.timedelta(hours=1))
    assert outbox_deliver_due().claimed == 0
    assert receiver.keys().count(message.dedupe_key) == 2


def test_webhook__never_answers__given_up_after_the_last_try(
    wo: OrderWorld, receiver: Receiver, clock: time_machine.Coordinates, settings: Any
) -> None:
    settings.NOTIFY_MAX_ATTEMPTS = 3
    services.webhook_endpoint_create(
        actor=wo.fresh(wo.dispatcher), organisation=wo.housing, url=receiver.url
    )
    receiver.script = [503] * 10
    order = wo.order_in(State.DISPATCHED)
    message = OutboxMessage.objects.get(
        order=order, template="work_order.dispatched", recipient_organisation=wo.housing
    )
    for _ in range(3):
        outbox_deliver_due()
        message.refresh_from_db()
        if message.next_attempt_at:
            clock.move_to(message.next_attempt_at)
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert message.attempts == 3
    assert services.backoff(1) < services.backoff(2) < services.backoff(3)
    clock.shift(dt.timedelta(days=1))
    assert outbox_deliver_due().claimed == 0  # given up: never tried again


def test_sms__logging_adapter__masks_the_number(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sanan.notifications"):
        delivery.LoggingSmsAdapter().send(phone="13900000001", text="您的诉求已受理", key="k1")
        delivery.LoggingSmsAdapter().send(phone="+86 139 0000 0001", text="x", key="k2")
    assert "13900000001" not in caplog.text
    assert "139 0000 0001" not in caplog.text
    assert "139****0001" in caplog.text


def test_sms__hotline_caller__texted_with_the_number_masked_in_the_log(
    wo: OrderWorld, caplog: pytest.LogCaptureFixture
) -> None:
    order = wo.submit(actor=wo.dispatcher, channel="hotline", contact_phone="138 1234 5678")
    message = OutboxMessage.objects.get(order=order, channel="sms")
    with caplog.at_level(logging.INFO, logger="sanan.notifications"):
        outbox_deliver_due()
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert "13812345678" not in caplog.text
    assert "138****5678" in caplog.text
    assert order.reference in caplog.text
    attempt = DeliveryAttempt.objects.get(message_key=message.dedupe_key)
    assert attempt.target == "sms:contact"
    assert attempt.outcome == AttemptOutcome.DELIVERED


def test_email__channel_email__sent_through_django_mail(
    wo: OrderWorld, mailoutbox: list[Any]
) -> None:
    User.objects.filter(pk=wo.handler.pk).update(email="handler@example.cn")
    order = wo.order_in(State.DISPATCHED)
    source = OutboxMessage.objects.get(order=order, template="work_order.dispatched",
                                       recipient_organisation=wo.housing)  # fmt: skip
    OutboxMessage.objects.create(
        created_at=source.created_at,
        channel="email",
        template=source.template,
        payload=source.payload,
        recipient_organisation=wo.housing,
        order=order,
        event=source.event,
        dedupe_key=source.dedupe_key.replace(":inbox", ":email"),
        next_attempt_at=source.created_at,
    )
    outbox_deliver_due()
    assert [m.to for m in mailoutbox] == [["handler@example.cn"]]
    assert order.reference in mailoutbox[0].subject


@pytest.mark.own_sqlite_file
def test_outbox__workers_racing_on_sqlite_file__deliver_each_message_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "tests.notifications.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.notifications.race_probe", str(THREADS), receiver.url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    _assert_once(result, receiver)


def _assert_once(result: dict[str, Any], receiver: Receiver) -> None:
    assert result["errors"] == []
    assert result["claimed"] == result["messages"] == result["sent"]
    assert result["statuses"] == ["sent"]
    assert result["max_attempts"] == 1
    assert result["inbox_dupes"] == 0
    assert result["inbox_items"] > 0
    keys = receiver.keys()
    assert keys, "the department's webhook got nothing"
    assert len(keys) == len(set(keys))  # each message posted once


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (run with DATABASE_URL=postgres://...)",
)
@pytest.mark.django_db(transaction=True)
def test_outbox__workers_racing_on_postgresql__deliver_each_message_once(
    wo: OrderWorld, receiver: Receiver
) -> None:
    assert connection.vendor == "postgresql"
    services.webhook_endpoint_create(
        actor=wo.fresh(wo.dispatcher), organisation=wo.housing, url=receiver.url
    )
    for _ in range(8):
        wo.order_in(State.DISPATCHED)
    results = race_deliver(WEDNESDAY_10, THREADS)
    _assert_once(outcome(results), receiver)
