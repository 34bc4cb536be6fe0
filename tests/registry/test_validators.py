"""ID numbers, phone numbers and plates as people type them: accepted and normalised, or refused
with a stable code and a message that never repeats the value."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import translation

from sanan.core.errors import DomainError
from sanan.core.validators import (
    Gender,
    id_number_check_digit,
    mask_id_number,
    mask_phone,
    validate_id_number,
    validate_landline,
    validate_mobile,
    validate_phone,
    validate_plate,
)
from sanan.registry.testing import fake_id_number, fake_mobile

FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _refused(call: object, code: str, *args: object, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    assert info.value.code == code
    return info.value


# --- ID numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "normalised", "birth", "gender"),
    [
        # The two examples printed in GB 11643-1999 itself.
        ("11010519491231002X", "11010519491231002X", dt.date(1949, 12, 31), Gender.FEMALE),
        ("11010519491231002x", "11010519491231002X", dt.date(1949, 12, 31), Gender.FEMALE),
        (" 110105 19491231 002X ", "11010519491231002X", dt.date(1949, 12, 31), Gender.FEMALE),
        ("11010519491231002X".translate(FULL), "11010519491231002X", dt.date(1949, 12, 31), "f"),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", dt.date(1949, 12, 31), "f"),
    ],
    ids=["standard", "lower-x", "spaces", "full-width", "full-width-lower-x"],
)
def test_id_number__as_typed__is_normalised_with_birth_and_gender(
    typed: str, normalised: str, birth: dt.date, gender: str
) -> None:
    checked = validate_id_number(typed)
    assert checked.value == normalised
    assert checked.birth_date == birth
    assert checked.gender == (Gender.FEMALE if gender == "f" else gender)
    assert checked.region == "110105"


def test_id_number__second_example_of_the_standard__is_a_man_born_in_1880() -> None:
    checked = validate_id_number("440524188001010014")
    assert (checked.birth_date, checked.gender) == (dt.date(1880, 1, 1), Gender.MALE)


def test_id_number__generated_with_valid_checksums__all_pass() -> None:
    rng = random.Random(11643)
    for _ in range(2000):
        birth = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(45000))
        if birth > dt.date(2026, 1, 1):
            continue
        sequence = rng.randrange(1000)
        region = rng.choice(["511102", "510107", "110105", "440305", "650102"])
        number = fake_id_number(birth_date=birth, sequence=sequence, region=region)
        checked = validate_id_number(number)
        assert checked.value == number
        assert checked.birth_date == birth
        assert checked.gender == (Gender.MALE if sequence % 2 else Gender.FEMALE)


def test_id_number__every_wrong_check_character__is_refused() -> None:
    number = fake_id_number(birth_date=dt.date(1975, 6, 30), sequence=123)
    for wrong in "0123456789X":
        if wrong == number[-1]:
            continue
        _refused(validate_id_number, "resident.id_number_checksum", number[:17] + wrong)


def test_id_number__one_digit_mistyped__is_caught_by_the_checksum() -> None:
    number = fake_id_number(birth_date=dt.date(1982, 4, 5), sequence=77)
    for position in (0, 3, 14, 15, 16):  # digits outside the date
        digit = str((int(number[position]) + 1) % 10)
        typo = number[:position] + digit + number[position + 1 :]
        _refused(validate_id_number, "resident.id_number_checksum", typo)


def test_id_number__two_neighbours_swapped__is_caught_by_the_checksum() -> None:
    number = fake_id_number(birth_date=dt.date(1982, 4, 5), sequence=178)
    swapped = number[:15] + number[16] + number[15] + number[17]
    assert swapped != number
    _refused(validate_id_number, "resident.id_number_checksum", swapped)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "resident.id_number_length"),
        ("51110219800101", "resident.id_number_length"),  # 15-digit first generation
        ("5111021980010100011", "resident.id_number_length"),
        ("51110219800101A001", "resident.id_number_characters"),
        ("X11102198001010001", "resident.id_number_characters"),
        ("51110219800230001" + id_number_check_digit("51110219800230001"), "birth_date"),
        ("51110219801301001" + id_number_check_digit("51110219801301001"), "birth_date"),
        ("51110218791231001" + id_number_check_digit("51110218791231001"), "birth_date"),
        ("51110219000229001" + id_number_check_digit("51110219000229001"), "birth_date"),
    ],
    ids=[
        "empty",
        "15-digit",
        "19",
        "letter",
        "x-first",
        "feb-30",
        "month-13",
        "1879",
        "1900-02-29",
    ],
)
def test_id_number__malformed__says_what_is_wrong(typed: str, code: str) -> None:
    code = "resident.id_number_birth_date" if code == "birth_date" else code
    error = _refused(validate_id_number, code, typed)
    assert list(error.fields) == ["id_number"]


def test_id_number__born_tomorrow__is_refused() -> None:
    today = dt.date(2026, 11, 26)
    tomorrow = fake_id_number(birth_date=today + dt.timedelta(days=1), sequence=1)
    _refused(validate_id_number, "resident.id_number_birth_date", tomorrow, today=today)
    born_today = fake_id_number(birth_date=today, sequence=1)
    assert validate_id_number(born_today, today=today).birth_date == today


def test_id_number__leap_day__is_a_real_birth_date() -> None:
    number = fake_id_number(birth_date=dt.date(2000, 2, 29), sequence=5)
    assert validate_id_number(number).birth_date == dt.date(2000, 2, 29)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_id_number__errors__never_repeat_the_number(language: str) -> None:
    number = fake_id_number(birth_date=dt.date(1960, 1, 2), sequence=9)
    bad = [number[:17] + ("0" if number[17] != "0" else "1"), number[:10], number + "1"]
    with translation.override(language):
        for typed in bad:
            with pytest.raises(DomainError) as info:
                validate_id_number(typed)
            shown = str(info.value.message) + str(info.value.fields)
            assert typed not in shown
            assert typed[:10] not in shown


def test_id_number__checksum_message__is_the_one_people_understand() -> None:
    number = fake_id_number(birth_date=dt.date(1960, 1, 2), sequence=9)
    with translation.override("en"):
        wrong = number[:17] + ("X" if number[17] != "X" else "0")
        error = _refused(validate_id_number, "resident.id_number_checksum", wrong)
        assert str(error.message) == (
            "The check digit does not match: please check the ID number again."
        )


def test_id_number__mask__shows_three_and_four() -> None:
    assert mask_id_number("51110219800101123X") == "511***********123X"
    assert validate_id_number("11010519491231002X").masked == "110***********002X"


def test_fake_id_number__gender__is_forced_by_the_sequence_parity() -> None:
    birth = dt.date(1970, 1, 1)
    for n in range(0, 500, 37):
        male = validate_id_number(fake_id_number(birth_date=birth, sequence=n, gender="male"))
        female = validate_id_number(fake_id_number(birth_date=birth, sequence=n, gender="female"))
        assert (male.gender, female.gender) == (Gender.MALE, Gender.FEMALE)
    with pytest.raises(ValueError, match="sequence"):
        fake_id_number(birth_date=birth, sequence=1000)


# --- phones --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("0833-1234567", "0833-1234567"),
        ("(0833)1234567", "0833-1234567"),
        ("（0833）1234567", "0833-1234567"),
        ("(0833) 1234567", "0833-1234567"),
        ("0833 1234567", "0833-1234567"),
        ("08331234567", "0833-1234567"),
        ("083312345678", "0833-12345678"),
        ("０８３３－１２３４５６７", "0833-1234567"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("028 8765 4321", "028-87654321"),
    ],
)
def test_landline__as_typed__is_normalised(typed: str, normalised: str) -> None:
    assert validate_landline(typed) == normalised
    assert validate_phone(typed) == (normalised, "landline")


@pytest.mark.parametrize(
    "typed",
    [
        "1234567",  # no area code
        "0833-123456",  # 6 digits
        "0833-123456789",  # 9 digits
        "833-1234567",  # area code without 0
        "083-1234567",  # 083 is not a 3-digit code
        "0281-1234567",  # 02X codes have 3 digits
        "0833-0234567",  # a local number never starts with 0
        "0833-12a4567",
    ],
)
def test_landline__malformed__is_refused_with_an_example(typed: str) -> None:
    with pytest.raises(DomainError) as info, translation.override("en"):
        validate_landline(typed, field="phone2")
    assert info.value.code == "phone.invalid_landline"
    assert "0833-1234567" in str(info.value.message)
    assert list(info.value.fields) == ["phone2"]


@pytest.mark.parametrize(
    ("typed", "kind"),
    [("138 0833 0001", "mobile"), ("+86 13808330001", "mobile"), ("0833-2123456", "landline")],
)
def test_phone__mobile_or_landline__is_recognised(typed: str, kind: str) -> None:
    assert validate_phone(typed)[1] == kind


def test_phone__neither__names_both_forms() -> None:
    error = _refused(validate_phone, "phone.invalid", "95588")
    assert list(error.fields) == ["phone"]
    _refused(validate_phone, "phone.invalid_mobile", "1380833")
    _refused(validate_mobile, "phone.invalid_mobile", "12345678901", field="phone2")


def test_phone__local_number_without_area_code__takes_the_configured_one(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOCAL_AREA_CODE = ""
    _refused(validate_phone, "phone.invalid", "2922279")
    settings.LOCAL_AREA_CODE = "0833"
    assert validate_phone("292 2279") == ("0833-2922279", "landline")
    assert validate_phone("0817-2922279") == ("0817-2922279", "landline")  # another area's
    assert validate_phone("13808330001") == ("13808330001", "mobile")
    _refused(validate_phone, "phone.invalid", "95588")  # a service number: still neither


def test_local_area_code_setting__malformed__stops_start_up() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from sanan.core.env import env_area_code

    assert env_area_code("X", environ={"X": "0833"}) == "0833"
    assert env_area_code("X", environ={"X": "010"}) == "010"
    assert env_area_code("X", environ={}) == ""
    for bad in ("833", "08333", "0833-", "0033"):
        with pytest.raises(ImproperlyConfigured, match="area code"):
            env_area_code("X", environ={"X": bad})


def test_phone__masks() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0833-1234567") == "0833-***4567"
    assert mask_phone("010-12345678") == "010-****5678"
    assert fake_mobile(7) == "13708330007"


# --- plates --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "normalised", "new_energy"),
    [
        ("川L12345", "川L12345", False),
        ("川l 12345", "川L12345", False),
        ("川L·A1B2C", "川LA1B2C", False),
        ("川L.12345", "川L12345", False),
        ("川Ｌ１２３４５", "川L12345", False),
        ("粤B-1234学", "粤B1234学", False),
        ("川LD12345", "川LD12345", True),
        ("川L F1234 5", "川LF12345", True),
        ("川LDA1234", "川LDA1234", True),
        ("川L12345D", "川L12345D", True),
        ("京A 12345f", "京A12345F", True),
    ],
)
def test_plate__as_typed__is_normalised(typed: str, normalised: str, new_energy: bool) -> None:
    plate = validate_plate(typed)
    assert (plate.value, plate.new_energy) == (normalised, new_energy)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("川A1234", "vehicle.plate_length"),
        ("川L1234567", "vehicle.plate_length"),
        ("AL12345", "vehicle.plate_province"),
        ("港L12345", "vehicle.plate_province"),
        ("川112345", "vehicle.plate_format"),
        ("川LO2345", "vehicle.plate_format"),
        ("川LI2345", "vehicle.plate_format"),
        ("川L123学5", "vehicle.plate_format"),
        ("川LA12345", "vehicle.plate_new_energy"),  # 8 characters without D/F
        ("川LD1234A", "vehicle.plate_new_energy"),  # small NEV ends with 4 digits
        ("川L1234DF", "vehicle.plate_new_energy"),
    ],
)
def test_plate__malformed__says_what_is_wrong(typed: str, code: str) -> None:
    error = _refused(validate_plate, code, typed)
    assert list(error.fields) == ["plate"]
    assert typed not in str(error.message)
