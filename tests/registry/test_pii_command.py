"""``sanan pii rotate`` and ``status``: every encrypted value moves to the current key and cipher,
in batches, once; nothing is lost and the blind indexes still find people."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from sanan.accounts.models import User
from sanan.audit.models import AuditEvent
from sanan.core import crypto
from sanan.registry.models import Resident
from sanan.registry.selectors import resident_search
from tests.registry.world import LANDLINE, WANG_ID, WANG_PHONE, RegistryWorld

NEW_KEY = os.urandom(32)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("pii", *args, stdout=out, stderr=out)
    return out.getvalue()


def _tokens() -> list[str]:
    values: list[str] = []
    for row in Resident.objects.values_list(
        "id_number_encrypted", "phone_encrypted", "phone2_encrypted"
    ):
        values += [v for v in row if v]
    values += [v for v in User.objects.values_list("phone_encrypted", flat=True) if v]
    return values


def test_pii__encrypted_fields__cover_users_and_every_registry_number() -> None:
    names = {(f.model, f.field) for f in crypto.encrypted_fields()}
    assert names >= {
        ("accounts.User", "phone_encrypted"),
        ("registry.Resident", "id_number_encrypted"),
        ("registry.Resident", "phone_encrypted"),
        ("registry.Resident", "phone2_encrypted"),
    }


def test_pii_rotate__new_key__moves_every_value_and_keeps_it_readable(
    reg: RegistryWorld, admin: User
) -> None:
    old_id = settings.PII_CURRENT_KEY_ID
    keys = {"k9": NEW_KEY, **settings.PII_KEYS}
    before = len(_tokens())
    with override_settings(PII_KEYS=keys, PII_CURRENT_KEY_ID="k9"):
        status = _run("status")
        assert f"aes-256-gcm {old_id}: 4 (to rotate)" in status  # ID numbers in the world
        assert "to rotate: run `sanan pii rotate`" in status

        out = _run("rotate", "--batch-size", "2")
        assert "registry.Resident.id_number_encrypted: 4 re-encrypted" in out
        assert "[##############################] 4/4" in out
        tokens = _tokens()
        assert len(tokens) == before
        assert all(t.startswith("v1:aes-256-gcm:k9:") for t in tokens)
        wang = Resident.objects.get(pk=reg.wang.pk)
        assert (wang.id_number_reveal(), wang.phone_reveal(), wang.phone2_reveal()) == (
            WANG_ID,
            WANG_PHONE,
            LANDLINE,
        )
        assert User.objects.get(pk=admin.pk).phone_reveal() == "13900000007"
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None
        assert event.action == "pii.rotated"
        assert event.data["key"] == "k9"
        assert event.data["values"]["registry.Resident.id_number_encrypted"] == 4

        # idempotent: a second run finds nothing to do and records nothing
        seq = event.seq
        again = _run("rotate")
        assert "0 value(s) now under aes-256-gcm key k9" in again
        assert AuditEvent.objects.order_by("-seq").first().seq == seq  # type: ignore[union-attr]
        assert "every value is current; keys no longer used:" in _run("status")

    # the old key can go: only the new one is needed
    with override_settings(PII_KEYS={"k9": NEW_KEY}, PII_CURRENT_KEY_ID="k9"):
        wang = Resident.objects.get(pk=reg.wang.pk)
        assert wang.id_number_reveal() == WANG_ID
        # the blind index did not change: exact search still finds her
        assert list(resident_search(user=admin, id_number=WANG_ID.lower())) == [wang]
        assert list(resident_search(user=admin, phone="139-1234-0001")) == [wang]


def test_pii_rotate__cipher_setting_changed__converts_to_sm4(reg: RegistryWorld) -> None:
    with override_settings(PII_CIPHER="sm4-gcm"):
        assert "to rotate" in _run("status")
        _run("rotate")
        assert all(t.startswith(f"v1:sm4-gcm:{settings.PII_CURRENT_KEY_ID}:") for t in _tokens())
        assert Resident.objects.get(pk=reg.wang.pk).phone2_reveal() == LANDLINE
    # and back again
    _run("rotate")
    assert all(t.startswith("v1:aes-256-gcm:") for t in _tokens())
    assert Resident.objects.get(pk=reg.wang.pk).id_number_reveal() == WANG_ID


def test_pii_rotate__value_under_a_removed_key__is_reported_and_left_alone(
    reg: RegistryWorld,
) -> None:
    with override_settings(PII_KEYS={"k9": NEW_KEY, **settings.PII_KEYS}, PII_CURRENT_KEY_ID="k9"):
        orphan = crypto.encrypt("13912345678", purpose="resident.phone")
    Resident.objects.filter(pk=reg.li.pk).update(phone_encrypted=orphan)
    assert "unknown key or format: 1 (cannot decrypt)" in _run("status")
    with pytest.raises(Exception, match="could not be decrypted"):
        _run("rotate")
    assert Resident.objects.get(pk=reg.li.pk).phone_encrypted == orphan
