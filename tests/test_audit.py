"""The audit log: every change leaves a row in the same transaction, rows are never edited, and
any edit or deletion behind the application's back is found by ``sanan audit verify``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant, user_create
from sanan.audit import services as audit_services
from sanan.audit.models import AppendOnlyError, AuditEvent, AuditHead
from sanan.audit.services import audit_record, compute_hash
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_create, place_update
from tests.factories import PASSWORD
from tests.personas import World


def _verify() -> str:
    out, err = StringIO(), StringIO()
    call_command("audit", "verify", stdout=out, stderr=err)
    return out.getvalue()


def _verify_fails() -> tuple[str, str]:
    """(the CommandError message, what the command wrote to stderr)."""
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("audit", "verify", stdout=StringIO(), stderr=err)
    return str(caught.value), err.getvalue()


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _three_new_events(world: World) -> list[AuditEvent]:
    """Three fresh rows at the end of the chain (renaming courtyard A three times)."""
    for name in ("A院一", "A院二", "A院三"):
        place_update(actor="tests", place=world.courtyard_a, name=name)
    return list(AuditEvent.objects.order_by("-seq")[:3])[::-1]


@pytest.fixture
def last_seq() -> Callable[[], int]:
    return lambda: AuditHead.objects.get(pk=1).last_seq


# --- written with the change -------------------------------------------------------------------
def test_audit__place_create__records_who_what_where(world: World) -> None:
    place = place_create(
        actor="tests",
        parent=world.courtyard_a,
        kind=PlaceKind.HOUSE,
        code="t-a-h2",
        name="A2号",
    )
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.action == "place.created"
    assert event.object_type == "places.place"
    assert event.object_id == str(place.pk)
    assert event.object_label == "A2号"
    assert event.place_path == place.path  # so the courtyard's leaders can find it
    assert event.actor_label == "tests"
    assert AuditHead.objects.get(pk=1).last_hash == event.hash


def test_audit__role_grant_by_a_person__names_that_person(
    world: World, leader: User, resident: User
) -> None:
    role_grant(actor=leader, user=resident, role=Role.RED_BUTLER, place=world.courtyard_a)
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.action == "role.granted"
    assert event.actor_id == leader.pk
    assert event.actor_label == f"{leader.display_name} (p-leader)"
    assert event.data == {"role": "red_butler", "place": "t-court-a", "organisation": None}


def test_audit__role_grant_again__records_nothing_new(world: World, commissioner_a: User) -> None:
    before = AuditEvent.objects.count()
    role_grant(actor="tests", user=commissioner_a, role=Role.COMMISSIONER, place=world.courtyard_a)
    assert AuditEvent.objects.count() == before


def test_audit__failing_audit_write__undoes_the_change(
    world: World, monkeypatch: pytest.MonkeyPatch, last_seq: Callable[[], int]
) -> None:
    """The change and its record commit together or not at all."""
    head_before = last_seq()

    def broken_hash(event: AuditEvent) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(audit_services, "compute_hash", broken_hash)
    with pytest.raises(OSError, match="disk full"):
        place_create(
            actor="tests",
            parent=world.courtyard_a,
            kind=PlaceKind.HOUSE,
            code="t-a-h-unrecorded",
            name="无记录",
        )
    assert not Place.objects.filter(code="t-a-h-unrecorded").exists()
    assert last_seq() == head_before


def test_audit__failing_service__writes_no_row(world: World, last_seq: Callable[[], int]) -> None:
    before = last_seq()
    with pytest.raises(DomainError, match=r"place\.code_taken"):
        place_create(
            actor="tests",
            parent=world.courtyard_a,
            kind=PlaceKind.HOUSE,
            code="t-a-h1",
            name="重复",
        )
    with pytest.raises(DomainError, match=r"user\.phone_taken"):
        user_create(actor="tests", username="dup", password=PASSWORD, phone="139 0000 0001")
    with pytest.raises(DomainError, match=r"role\.organisation_required"):
        role_grant(
            actor="tests",
            user=User.objects.get(username="p-resident"),
            role=Role.HANDLER,
            place=world.community,
        )
    assert last_seq() == before
    assert not User.objects.filter(username="dup").exists()


def test_audit__request__records_the_address_and_request_id(
    world: World, leader: User, commissioner_a: User
) -> None:
    client = APIClient()
    client.force_login(leader)
    response = client.post(
        f"/api/v1/users/{commissioner_a.pk}/reveal-phone/",
        {"reason": "上门走访前电话确认"},
        format="json",
        HTTP_X_REQUEST_ID="req-42",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42"
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.reason) == ("pii.revealed", "上门走访前电话确认")
    assert (event.ip, event.request_id, event.actor_id) == ("10.1.2.3", "req-42", leader.pk)
    assert "13900000002" not in str(event.data)  # the number itself is never logged


# --- verify --------------------------------------------------------------------------------------
def test_audit_verify__clean_chain__passes(world: World) -> None:
    _three_new_events(world)
    out = _verify()
    assert f"audit chain OK: {AuditEvent.objects.count()} rows verified" in out


def test_audit_verify__row_edited_with_sql__names_that_row(world: World) -> None:
    _first, middle, _last = _three_new_events(world)
    _sql("UPDATE audit_auditevent SET reason = %s WHERE seq = %s", ["nothing to see", middle.seq])
    message, stderr = _verify_fails()
    assert "audit chain BROKEN: 1 problem(s)" in message
    assert f"row #{middle.seq}: content was changed" in stderr


def test_audit_verify__row_edited_and_rehashed__breaks_the_next_link(world: World) -> None:
    """Recomputing the edited row's hash does not help: the next row points at the old one."""
    _first, middle, last = _three_new_events(world)
    middle.reason = "nothing to see"
    forged = compute_hash(middle)
    _sql(
        "UPDATE audit_auditevent SET reason = %s, hash = %s WHERE seq = %s",
        [middle.reason, forged, middle.seq],
    )
    _message, stderr = _verify_fails()
    assert f"row #{last.seq}: link to the previous row is broken" in stderr
    assert f"row #{middle.seq}:" not in stderr


def test_audit_verify__middle_row_deleted_with_sql__is_found(world: World) -> None:
    _first, middle, last = _three_new_events(world)
    _sql("DELETE FROM audit_auditevent WHERE seq = %s", [middle.seq])
    _message, stderr = _verify_fails()
    assert f"row #{middle.seq} missing (deleted)" in stderr
    assert f"row #{last.seq}: link to the previous row is broken" in stderr


def test_audit_verify__last_row_deleted_but_not_the_head__is_found(world: World) -> None:
    *_, last = _three_new_events(world)
    _sql("DELETE FROM audit_auditevent WHERE seq = %s", [last.seq])
    _message, stderr = _verify_fails()
    assert f"should end at row #{last.seq}, but ends at #{last.seq - 1}" in stderr


def test_audit_verify__head_rewound_with_the_rows__is_found_by_the_hash(world: World) -> None:
    """Deleting the tail and rewinding the head's counter still leaves the head's hash."""
    first, _middle, _last = _three_new_events(world)
    _sql("DELETE FROM audit_auditevent WHERE seq > %s", [first.seq])
    _sql("UPDATE audit_audithead SET last_seq = %s WHERE id = 1", [first.seq])
    _message, stderr = _verify_fails()
    assert f"should end at row #{first.seq}" in stderr


# --- append only ---------------------------------------------------------------------------------
def test_audit_event__save_existing__is_refused(world: World) -> None:
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get(seq=event.seq).reason != "rewritten"


def test_audit_event__delete_one__is_refused(world: World) -> None:
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.filter(seq=event.seq).exists()


def test_audit_event__queryset_update_and_delete__are_refused(world: World) -> None:
    count = AuditEvent.objects.count()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(action="place.created").update(reason="bulk edit")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == count
    assert not AuditEvent.objects.filter(reason="bulk edit").exists()


# --- prune ---------------------------------------------------------------------------------------
def test_audit_prune__after_retention__removes_old_rows_and_the_chain_still_verifies(
    world: World, time_machine: Any
) -> None:
    place_update(actor="tests", place=world.courtyard_a, name="A院（旧名）")
    old = AuditEvent.objects.order_by("-seq").first()
    assert old is not None
    expected = AuditEvent.objects.filter(seq__lte=old.seq).count()

    time_machine.move_to(clock.now() + dt.timedelta(days=settings.AUDIT_RETENTION_DAYS + 1))
    place_update(actor="tests", place=world.courtyard_a, name="A院（新名）")
    recent = AuditEvent.objects.order_by("-seq").first()
    assert recent is not None

    out = StringIO()
    call_command("audit", "prune", stdout=out)

    assert f"pruned {expected} audit event(s)" in out.getvalue()
    assert not AuditEvent.objects.filter(seq__lte=old.seq).exists()
    assert AuditEvent.objects.filter(seq=recent.seq).exists()
    marker = AuditEvent.objects.order_by("-seq").first()
    assert marker is not None
    assert marker.action == "audit.pruned"
    assert marker.data["through_seq"] == old.seq
    assert marker.data["rows"] == expected
    _verify()  # raises if the shortened chain no longer checks out


def test_audit_prune__within_retention__keeps_everything(
    world: World, last_seq: Callable[[], int]
) -> None:
    _three_new_events(world)
    before = (AuditEvent.objects.count(), last_seq())
    out = StringIO()
    call_command("audit", "prune", "--days", "30", stdout=out)
    assert "pruned 0 audit event(s)" in out.getvalue()
    assert (AuditEvent.objects.count(), last_seq()) == before


def test_audit_prune__then_tamper__is_still_found(world: World, time_machine: Any) -> None:
    _three_new_events(world)
    time_machine.move_to(clock.now() + dt.timedelta(days=settings.AUDIT_RETENTION_DAYS + 1))
    _three_new_events(world)
    call_command("audit", "prune", stdout=StringIO())
    survivor = AuditEvent.objects.order_by("seq").first()
    assert survivor is not None
    _sql("UPDATE audit_auditevent SET object_label = %s WHERE seq = %s", ["x", survivor.seq])
    _message, stderr = _verify_fails()
    assert f"row #{survivor.seq}: content was changed" in stderr


# --- outside a transaction ---------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_audit_record__outside_a_transaction__is_refused() -> None:
    """A record written on its own could commit while the change it describes rolls back."""
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        audit_record(actor="tests", action="place.created")
    assert not AuditEvent.objects.exists()
    with transaction.atomic():
        audit_record(actor="tests", action="system.checked")
    assert AuditEvent.objects.get().action == "system.checked"


def test_audit__phone_reveal_of_a_community_member__is_seen_by_the_communitys_leader(
    world: World, leader: User, commissioner_a: User, web_as: Any
) -> None:
    from sanan.accounts.services import user_phone_reveal

    user_phone_reveal(actor=leader, user=commissioner_a, reason="call back about a repair")
    page = web_as(leader).get("/audit/?action=pii.revealed", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "call back about a repair" in html
    assert "Personal data viewed" in html


def test_audit_log__pager__keeps_the_filter(
    demo: Any, world: World, admin: User, web_as: Any
) -> None:
    html = web_as(admin).get("/audit/?action=place.created").content.decode()
    assert "action=place.created&amp;page=2" in html
