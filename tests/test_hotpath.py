"""``core.hotpath``: the written-out statements give what the ORM gives, on either database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from sanan.accounts.models import User
from sanan.audit.models import AuditHead
from sanan.core import hotpath
from sanan.places.models import Place
from sanan.workorders.models import CatalogueStamp

pytestmark = pytest.mark.django_db


def _fields(obj: object) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_instances_equal_the_orms_reads_field_for_field() -> None:
    """Dates, decimals, booleans and JSON come back converted as the ORM converts them."""
    root = Place.objects.add_root(
        create_kwargs={"kind": "city", "code": "hp", "name": "Hot path city"}
    )
    place = Place.objects.add_child(
        root,
        create_kwargs={
            "kind": "community",
            "code": "hp-1",
            "name": "Hot path community",
            "latitude": Decimal("29.5521000"),
            "longitude": Decimal("103.7660000"),
            "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        },
    )
    got = hotpath.instances(Place, "FROM {0} m WHERE m.id = %s", [place.pk])
    assert len(got) == 1
    assert _fields(got[0]) == _fields(Place.objects.get(pk=place.pk))
    assert isinstance(got[0].latitude, Decimal)
    assert got[0]._state.adding is False  # a saved row: saving it again updates it


def test_instances_of_a_join_and_no_rows() -> None:
    user = User.objects.create_user(username="hotpath-user", password="a long password 1")
    got = hotpath.instances(User, "FROM {0} m WHERE m.username = %s", ["hotpath-user"])
    assert [u.pk for u in got] == [user.pk]
    assert got[0].is_active is True
    assert _fields(got[0]) == _fields(User.objects.get(pk=user.pk))
    assert hotpath.instances(User, "FROM {0} m WHERE m.username = %s", ["nobody"]) == []


def test_fetch_and_execute() -> None:
    CatalogueStamp.objects.update_or_create(pk=1, defaults={"token": "abc"})
    assert hotpath.fetch("SELECT token FROM {0} WHERE id = 1", [], CatalogueStamp) == [("abc",)]
    with transaction.atomic():
        AuditHead.objects.get_or_create(pk=1)
        rows = hotpath.fetch(
            "SELECT last_seq FROM {0} WHERE id = 1 FOR UPDATE", [], AuditHead, for_write=True
        )
        assert len(rows) == 1
        changed = hotpath.execute(
            "UPDATE {0} SET last_seq = %s WHERE id = 1", [rows[0][0] + 5], AuditHead
        )
    assert changed == 1
    assert AuditHead.objects.get(pk=1).last_seq == rows[0][0] + 5


def test_insert_writes_rows_as_bulk_create_does() -> None:
    """Keys in the order of the rows, JSON stored as JSON, times as times, a batch larger than
    one statement holds split (SQLite's variable limit)."""
    from sanan.audit.models import AuditEvent
    from sanan.core import clock

    now = clock.now()

    events = [
        AuditEvent(
            seq=10_000 + i, at=now, actor_label="t", action="hotpath.test",
            data={"i": i, "名": "值"}, prev_hash="0" * 64, hash=f"{i:064d}",
        )
        for i in range(700)
    ]  # fmt: skip
    hotpath.insert(events)
    assert all(e.pk is not None and not e._state.adding for e in events)
    stored = {e.pk: e for e in AuditEvent.objects.filter(action="hotpath.test")}
    assert len(stored) == 700
    for e in events:
        assert stored[e.pk].seq == e.seq
        assert stored[e.pk].data == {"i": e.seq - 10_000, "名": "值"}
        assert stored[e.pk].at == now
    hotpath.insert([])  # nothing to write: no statement


def test_insert_takes_plain_values_as_they_are_and_prepares_the_rest_as_the_orm() -> None:
    """Choices, keys of related rows, small integers and text go to the driver as they are;
    a lazy translation, JSON, times and empty keys as the ORM prepares them: the rows written
    equal those ``bulk_create`` writes."""
    from django.utils.translation import gettext_lazy

    from sanan.core import clock
    from sanan.workorders.models import OutboxChannel, OutboxMessage

    user = User.objects.create(username="hotpath-recipient")
    now = clock.now()

    def messages(prefix: str) -> list[OutboxMessage]:
        return [
            OutboxMessage(
                created_at=now, channel=OutboxChannel.EMAIL, template=gettext_lazy("通知"),
                payload={"n": i, "名": "值"}, recipient_user=user if i else None,
                recipient_action="work_order.dispatch" if i else "", attempts=i,
                dedupe_key=f"{prefix}-{i}", last_error="",
            )
            for i in range(3)
        ]  # fmt: skip

    hotpath.insert(messages("fast"))
    OutboxMessage.objects.bulk_create(messages("orm"))

    def stored(prefix: str) -> list[dict[str, object]]:
        rows = OutboxMessage.objects.filter(dedupe_key__startswith=f"{prefix}-").order_by("pk")
        return [
            {k: v for k, v in row.items() if k not in ("id", "dedupe_key")} for row in rows.values()
        ]

    assert stored("fast") == stored("orm")
    assert stored("fast")[1]["recipient_user_id"] == user.pk
    assert stored("fast")[0]["template"] == "通知"


def test_insert_skips_the_fields_preparation_for_plain_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shortcut is taken: text, numbers and keys never reach ``get_db_prep_save`` (empty
    keys still do, as the ORM prepares them)."""
    from django.db.models import CharField, ForeignKey, PositiveSmallIntegerField

    from sanan.core import clock
    from sanan.workorders.models import OutboxChannel, OutboxMessage

    user = User.objects.create(username="hotpath-plain")
    prepared: list[str] = []
    for cls in (CharField, ForeignKey, PositiveSmallIntegerField):
        original = cls.get_db_prep_save

        def spy(self: object, value: object, connection: object, _o: object = original) -> object:
            prepared.append(getattr(self, "name", "?"))
            return _o(self, value, connection)  # type: ignore[operator]

        monkeypatch.setattr(cls, "get_db_prep_save", spy)
    hotpath.insert([
        OutboxMessage(
            created_at=clock.now(), channel=OutboxChannel.INBOX, template="plain",
            payload={}, recipient_user=user, attempts=2, dedupe_key="plain-1",
        )
    ])  # fmt: skip
    assert sorted(prepared) == ["event", "order", "recipient_organisation", "recipient_place"]
