"""ID numbers, phone numbers and plates as people (and attackers) type them: every malformed
one refused with a message that says how to fix it and a stable code, nothing written and the
number never echoed; every odd but valid spelling (full-width, other scripts' digits, spaces,
a lower-case x, +86) stored as the one number it is, so the duplicate checks still hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from sanan.core.validators import id_number_check_digit
from sanan.registry.testing import fake_id_number
from tests.hostile.conftest import Hostile
from tests.hostile.support import assert_refused, nothing_written
from tests.registry.world import LI_PHONE, WANG_ID

pytestmark = pytest.mark.django_db

VALID = fake_id_number(birth_date=dt.date(1988, 8, 8), sequence=301, region="510107")


def _with_check(first17: str) -> str:
    return first17 + id_number_check_digit(first17)


def _arabic_indic(text: str) -> str:
    return "".join(chr(0x660 + int(c)) if c.isdigit() else c for c in text)


def _devanagari(text: str) -> str:
    return "".join(chr(0x966 + int(c)) if c.isdigit() else c for c in text)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def _client(h: Hostile, who: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user(who))
    return client


def _register(h: Hostile, **fields: Any) -> Any:
    body = {"place": h.world.unit_b.pk, "name": "周八", **fields}
    return _client(h, "commissioner_b").post("/api/v1/registry/residents/", body, format="json")


# --- ID numbers --------------------------------------------------------------------------------

BAD_ID_NUMBERS: dict[str, tuple[str, str]] = {
    "seventeen-characters": (VALID[:17], "resident.id_number_length"),
    "nineteen-characters": (VALID + "1", "resident.id_number_length"),
    "fifteen-digit-old-format": ("511102500501042", "resident.id_number_length"),
    "letter-inside": (VALID[:5] + "A" + VALID[6:], "resident.id_number_characters"),
    "x-in-the-middle": (VALID[:8] + "X" + VALID[9:], "resident.id_number_characters"),
    "february-30": (_with_check("51010719900230301"), "resident.id_number_birth_date"),
    "born-in-the-future": (_with_check("51010720991231301"), "resident.id_number_birth_date"),
    "born-in-1850": (_with_check("51010718500101301"), "resident.id_number_birth_date"),
    "all-zeros": ("000000000000000000", "resident.id_number_birth_date"),
    "wrong-check-digit": (
        VALID[:17] + ("0" if VALID[17] != "0" else "1"),
        "resident.id_number_checksum",
    ),
    "sql-fragment": ("' OR '1'='1' --", "resident.id_number_length"),
    "sql-fragment-18": ("5101'OR'1'='1'--;X", "resident.id_number_characters"),
    "script-tag": ("<script>1</script>", "resident.id_number_characters"),
    "homoglyph-letter-o": (VALID[:6] + "O" + VALID[7:], "resident.id_number_characters"),
    "emoji": ("5101071988080830😀", "resident.id_number_length"),
    "emoji-18": ("51010719880808301😀", "resident.id_number_characters"),
}


@pytest.mark.parametrize(
    ("number", "code"), list(BAD_ID_NUMBERS.values()), ids=list(BAD_ID_NUMBERS)
)
def test_id_number__malformed__refused_with_a_reason_never_echoed(
    hostile: Hostile, number: str, code: str
) -> None:
    with nothing_written():
        response = _register(hostile, id_number=number)
    assert_refused(response, 400, code, field="id_number", says="ID number")
    if len(number) > 6:
        assert number not in response.content.decode()


@pytest.mark.parametrize(
    ("number", "says"),
    [
        pytest.param("5101071988\x0008083011", "Null characters", id="nul-byte"),
        pytest.param("5" * 10_000, "40 characters", id="ten-thousand-digits"),
    ],
)
def test_id_number__nul_or_huge__refused_by_the_field(
    hostile: Hostile, number: str, says: str
) -> None:
    with nothing_written():
        response = _register(hostile, id_number=number)
    assert_refused(response, 400, "validation.invalid", field="id_number", says=says)


ODD_BUT_VALID: dict[str, str] = {
    "full-width": _full_width(VALID),
    "lower-case-x-or-digit": VALID.lower(),
    "spaces-between-groups": f"{VALID[:6]} {VALID[6:14]} {VALID[14:]}",
    "arabic-indic-digits": _arabic_indic(VALID),
    "devanagari-digits": _devanagari(VALID),
}


@pytest.mark.parametrize("typed", list(ODD_BUT_VALID.values()), ids=list(ODD_BUT_VALID))
def test_id_number__odd_spelling__stored_as_the_one_number_it_is(
    hostile: Hostile, typed: str
) -> None:
    response = _register(hostile, id_number=typed)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["birth_date"] == "1988-08-08"
    assert body["id_number_masked"] == f"{VALID[:3]}{'*' * 11}{VALID[-4:]}"
    again = _register(hostile, id_number=VALID)  # the same number, typed plainly
    assert_refused(again, 409, "resident.already_registered")


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(_arabic_indic, id="arabic-indic-digits"),
        pytest.param(_devanagari, id="devanagari-digits"),
        pytest.param(_full_width, id="full-width"),
    ],
)
def test_id_number__registered_person_in_other_digits__still_found_as_registered(
    hostile: Hostile, spelling: Any
) -> None:
    with nothing_written():
        response = _register(hostile, id_number=spelling(WANG_ID))
    assert_refused(response, 409, "resident.already_registered")


# --- phones ------------------------------------------------------------------------------------

BAD_PHONES: dict[str, str] = {
    "ten-digits": "1380000000",
    "twelve-digits": "138000000001",
    "starts-with-2": "23800000000",
    "second-digit-2": "12800000000",
    "letters": "1380000abcd",
    "us-number": "+1 555 010 9999",
    "sql-fragment": "13800000000' OR '1'='1",
    "script-tag": "<script>13800000000</script>",
    "landline-without-area-code": "2123456",
    "landline-bad-area-code": "0999-0123456",
    "emoji-digits": "1️⃣3️⃣8️⃣00000000",
}


@pytest.mark.parametrize("phone", list(BAD_PHONES.values()), ids=list(BAD_PHONES))
def test_phone__malformed__refused_with_a_reason(hostile: Hostile, phone: str) -> None:
    with nothing_written():
        response = _register(hostile, phone=phone)
    body = assert_refused(response, 400, response.json().get("code", ""), field="phone")
    assert body["code"].startswith("phone."), body
    assert "e.g." in body["message"]  # shows what a good number looks like


@pytest.mark.parametrize(
    ("phone", "says"),
    [
        pytest.param("138\x0000000000", "Null characters", id="nul-byte"),
        pytest.param("1" * 10_000, "40 characters", id="ten-thousand-digits"),
    ],
)
def test_phone__nul_or_huge__refused_by_the_field(hostile: Hostile, phone: str, says: str) -> None:
    with nothing_written():
        response = _register(hostile, phone=phone)
    assert_refused(response, 400, "validation.invalid", field="phone", says=says)


ODD_PHONES: dict[str, str] = {
    "plus-86-spaces": "+86 138 0013 8000",
    "0086": "008613800138000",
    "full-width": "１３８００１３８０００",
    "dashes-brackets": "(138)-0013-8000",
    "arabic-indic-digits": _arabic_indic("13800138000"),
    "devanagari-digits": _devanagari("13800138000"),
}


@pytest.mark.parametrize("phone", list(ODD_PHONES.values()), ids=list(ODD_PHONES))
def test_phone__odd_spelling__stored_as_the_plain_mobile(hostile: Hostile, phone: str) -> None:
    response = _register(hostile, phone=phone)
    assert response.status_code == 201, response.content
    assert response.json()["phone_masked"] == "138****8000"


def test_phone__caller_in_other_digits__recognised_as_the_registered_resident(
    hostile: Hostile,
) -> None:
    """The call-taker's lookup finds 李四 whatever digits the number was typed in."""
    client = _client(hostile, "dispatcher")
    plain = client.post("/api/v1/callers/lookup/", {"phone": LI_PHONE}, format="json")
    odd = client.post("/api/v1/callers/lookup/", {"phone": _arabic_indic(LI_PHONE)}, format="json")
    assert plain.status_code == odd.status_code == 200, odd.content
    assert plain.json() == odd.json()
    assert plain.json()["residents"], plain.json()


@pytest.mark.parametrize(
    "phone",
    [
        pytest.param("12345", id="too-short"),
        pytest.param("' OR 1=1 --", id="sql-fragment"),
        pytest.param("1" * 10_000, id="ten-thousand-digits"),
        pytest.param("138\x000000000", id="nul-byte"),
    ],
)
def test_phone__hotline_caller_number__refused_nothing_written(
    hostile: Hostile, phone: str
) -> None:
    body = {"call_type": "consultation", "summary": "问路", "outcome": "noted",
            "place": hostile.world.courtyard_a.pk, "phone": phone}  # fmt: skip
    with nothing_written():
        response = _client(hostile, "dispatcher").post(
            "/api/v1/hotline/calls/", body, format="json"
        )
    assert response.status_code == 400, response.content
    assert_refused(response, 400, response.json()["code"], field="phone")


# --- plates ------------------------------------------------------------------------------------

BAD_PLATES: dict[str, tuple[str, str]] = {
    "unknown-province": ("X L12345", "vehicle.plate_province"),
    "too-short": ("川L123", "vehicle.plate_length"),
    "letter-o-for-zero": ("川LO2345", "vehicle.plate_format"),
    "sql-fragment": ("川' OR 1=1", "vehicle.plate_format"),
    "script-tag": ("<script>", "vehicle.plate_province"),
}


@pytest.mark.parametrize(("plate", "code"), list(BAD_PLATES.values()), ids=list(BAD_PLATES))
def test_plate__malformed__refused_with_a_reason(hostile: Hostile, plate: str, code: str) -> None:
    body = {"plate": plate, "place": hostile.world.courtyard_a.pk}
    with nothing_written():
        response = _client(hostile, "commissioner_a").post(
            "/api/v1/registry/vehicles/", body, format="json"
        )
    assert_refused(response, 400, code, field="plate")


@pytest.mark.parametrize(
    "plate",
    [
        pytest.param("川Ｌ１２３４５", id="full-width"),
        pytest.param("川L" + _arabic_indic("12345"), id="arabic-indic-digits"),
        pytest.param("川l·1 2 3 4 5", id="dots-spaces-lower-case"),
    ],
)
def test_plate__registered_car_in_another_spelling__refused_as_taken(
    hostile: Hostile, plate: str
) -> None:
    body = {"plate": plate, "place": hostile.world.courtyard_a.pk}
    with nothing_written():
        response = _client(hostile, "commissioner_a").post(
            "/api/v1/registry/vehicles/", body, format="json"
        )
    assert response.status_code in (400, 409), response.content
    assert response.json()["code"] == "vehicle.plate_taken", response.json()


# --- numbers in free text ------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda t: t, id="ascii"),
        pytest.param(_full_width, id="full-width"),
        pytest.param(_arabic_indic, id="arabic-indic-digits"),
        pytest.param(_devanagari, id="devanagari-digits"),
    ],
)
def test_free_text__a_number_in_any_digits__masked_before_it_is_stored(
    hostile: Hostile, spelling: Any
) -> None:
    from sanan.hotline.models import CallRecord

    summary = f"请回电{spelling('13812345678')}，身份证{spelling(VALID)}，谢谢"
    body = {"call_type": "consultation", "summary": summary, "outcome": "noted",
            "place": hostile.world.courtyard_a.pk}  # fmt: skip
    response = _client(hostile, "dispatcher").post("/api/v1/hotline/calls/", body, format="json")
    assert response.status_code == 201, response.content
    stored = CallRecord.objects.get(pk=response.json()["id"]).summary
    assert stored == f"请回电138****5678，身份证{VALID[:3]}{'*' * 11}{VALID[-4:]}，谢谢"
