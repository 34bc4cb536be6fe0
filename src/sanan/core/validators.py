"""Validators for the identifiers people type: resident ID numbers, phones, vehicle plates.

Each validator takes what a person typed (full-width characters, spaces, lower-case ``x``...),
returns the normalised value and raises ``DomainError`` with a stable code and a message that
says what is wrong and how to fix it. Messages never repeat the value itself: it is personal.

``field`` names the form or API field the message belongs to (``fields={field: [...]}``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.core.phone import ascii_digits, mask_mobile, normalise_digits, normalise_mobile

# --- Resident ID numbers (GB 11643-1999) -----------------------------------------------------

ID_NUMBER_LENGTH = 18
# ISO 7064 MOD 11-2: weight of position i (1-based from the left, 17 digits) is 2^(18-i) mod 11.
_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_ID_CHECK = "10X98765432"  # check character for (weighted sum mod 11)
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_EARLIEST_BIRTH = dt.date(1880, 1, 1)  # the oldest date in GB 11643's own examples


class Gender:
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True)
class IdNumber:
    """A valid ID number and what it says about its holder."""

    value: str  # 18 characters, upper-case X
    region: str  # the 6-digit administrative division code of first registration
    birth_date: dt.date
    gender: str  # Gender.MALE (odd 17th digit) or Gender.FEMALE (even)

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)


def normalise_id_number(value: str) -> str:
    """Full-width characters and other digits become ASCII, spaces go, ``x`` becomes ``X``."""
    return re.sub(r"\s+", "", ascii_digits(value)).upper()


def id_number_check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(
    value: str, *, field: str = "id_number", today: dt.date | None = None
) -> IdNumber:
    """Check a GB 11643 citizen ID number: length, shape, date of birth and check digit."""
    number = normalise_id_number(value)
    if len(number) != ID_NUMBER_LENGTH:
        raise DomainError(
            "resident.id_number_length",
            _("An ID number has 18 characters: 17 digits, then a digit or the letter X."),
            fields={field: [_("Enter all 18 characters of the ID number.")]},
        )
    if not _ID_SHAPE.match(number):
        raise DomainError(
            "resident.id_number_characters",
            _("An ID number contains only digits; only the last character may be the letter X."),
            fields={field: [_("Use digits only, and X only at the end.")]},
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth < _EARLIEST_BIRTH or birth > (today or clock.today()):
        raise DomainError(
            "resident.id_number_birth_date",
            _(
                "Characters 7 to 14 of an ID number are the date of birth (YYYYMMDD), and here "
                "they are not a real date in the past: please check the ID number again."
            ),
            fields={field: [_("The date of birth inside the ID number is not valid.")]},
        )
    if id_number_check_digit(number[:17]) != number[17]:
        raise DomainError(
            "resident.id_number_checksum",
            _("The check digit does not match: please check the ID number again."),
            fields={field: [_("The last character does not match the others.")]},
        )
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    return IdNumber(value=number, region=number[:6], birth_date=birth, gender=gender)


def mask_id_number(number: str) -> str:
    """``511***********123X``: the region's first three characters and the last four."""
    if len(number) < 8:
        return "*" * len(number)
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- Phones -----------------------------------------------------------------------------------

# An area code is 0 + 2 or 3 digits. The three-character ones are 010 (Beijing) and 02X (the big
# cities); every other code has four characters (0833 is Leshan). A local number has 7 or 8 digits
# and does not start with 0.
_AREA_SPLIT = re.compile(r"^\(?(0\d{2,3})\)?-?([1-9]\d{6,7})$")
_LANDLINE_DIGITS = re.compile(r"^0\d{9,11}$")
_LOCAL_NUMBER = re.compile(r"^[2-9]\d{6,7}$")  # without its area code


class PhoneKind:
    MOBILE = "mobile"
    LANDLINE = "landline"


def validate_mobile(value: str, *, field: str = "phone") -> str:
    """An 11-digit mainland mobile number (see ``core.phone``)."""
    return normalise_mobile(value, field=field)


def _landline_error(field: str) -> DomainError:
    return DomainError(
        "phone.invalid_landline",
        _(
            "A landline number needs its area code: 3 or 4 digits starting with 0, then 7 or 8 "
            "digits, e.g. 0833-1234567."
        ),
        fields={field: [_("Enter the area code and the number, e.g. 0833-1234567.")]},
    )


def validate_landline(value: str, *, field: str = "phone") -> str:
    """A fixed-line number with its area code, as ``0833-1234567``.

    Accepts ``0833-1234567``, ``(0833)1234567``, ``（0833）1234567``, ``0833 1234567`` and
    ``083312345678``; without a separator the area code's length follows the numbering plan.
    """
    typed = ascii_digits(value).strip()
    compact = re.sub(r"\s+", "-", typed)
    compact = re.sub(r"-+", "-", compact).replace("(-", "(").replace("-)", ")").replace(")-", ")")
    match = _AREA_SPLIT.match(compact) if ("-" in compact or "(" in compact) else None
    if match is not None:
        area, local = match.groups()
    else:
        digits = normalise_digits(typed)
        if not _LANDLINE_DIGITS.match(digits):
            raise _landline_error(field)
        split = 3 if digits[1] in "12" else 4
        area, local = digits[:split], digits[split:]
    if not (3 <= len(area) <= 4 and 7 <= len(local) <= 8 and local[0] != "0"):
        raise _landline_error(field)
    if (len(area) == 3) != (area[1] in "12"):
        raise _landline_error(field)
    return f"{area}-{local}"


def validate_phone(value: str, *, field: str = "phone") -> tuple[str, str]:
    """A mobile or a landline number: ``(normalised, PhoneKind)``.

    Numbers starting with 0 (other than 0086) are landlines with their area code; numbers
    starting with 1 or +86 are mobiles; a local number of 7 or 8 digits is a landline of the
    area ``SANAN_LOCAL_AREA_CODE`` names, when it is set; anything else is neither.
    """
    digits = normalise_digits(value or "")
    area = settings.LOCAL_AREA_CODE
    if area and _LOCAL_NUMBER.match(digits):  # a local call's caller ID has no area code
        return validate_landline(f"{area}-{digits}", field=field), PhoneKind.LANDLINE
    if digits.startswith("0") and not digits.startswith("0086"):
        return validate_landline(value, field=field), PhoneKind.LANDLINE
    if digits.startswith(("1", "+86", "0086", "86")):
        return validate_mobile(value, field=field), PhoneKind.MOBILE
    raise DomainError(
        "phone.invalid",
        _(
            "Enter a mobile number (11 digits, e.g. 138 0000 0000) or a landline number "
            "with its area code (e.g. 0833-1234567)."
        ),
        fields={field: [_("Not a mobile or landline number.")]},
    )


def mask_phone(normalised: str) -> str:
    """``138****1234`` for a mobile; ``0833-***4567`` for a landline."""
    if "-" in normalised:
        area, local = normalised.split("-", 1)
        return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"
    return mask_mobile(normalised)


# --- Vehicle plates (GA 36) -------------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are never used: they look like 1 and 0
_SERIAL = f"[{_LETTERS}0-9]"
_PLATE_FUEL = re.compile(rf"^[{_LETTERS}]{_SERIAL}{{5}}$")
_PLATE_SPECIAL = re.compile(rf"^[{_LETTERS}]{_SERIAL}{{4}}[学警挂港澳]$")
# New-energy plates: small cars D/F then a letter or digit and four digits; large vehicles five
# digits then D/F.
_PLATE_NEV_SMALL = re.compile(rf"^[{_LETTERS}][DF]{_SERIAL}\d{{4}}$")
_PLATE_NEV_LARGE = re.compile(rf"^[{_LETTERS}]\d{{5}}[DF]$")


@dataclass(frozen=True)
class Plate:
    value: str
    new_energy: bool


def normalise_plate(value: str) -> str:
    """Upper case, ASCII letters and digits, without spaces, dots, dashes or middle dots."""
    value = ascii_digits(value).upper()
    return re.sub(r"[\s.·•・\-_]", "", value)


def validate_plate(value: str, *, field: str = "plate") -> Plate:
    """A mainland licence plate: 7 characters, or 8 for a new-energy vehicle."""
    plate = normalise_plate(value)
    if len(plate) not in (7, 8):
        raise DomainError(
            "vehicle.plate_length",
            _(
                "A plate has 7 characters (e.g. 川L12345), or 8 for a new-energy vehicle "
                "(e.g. 川LD12345)."
            ),
            fields={field: [_("Enter 7 characters, or 8 for a new-energy vehicle.")]},
        )
    if plate[0] not in PROVINCES:
        raise DomainError(
            "vehicle.plate_province",
            _("A plate starts with the province's character, e.g. 川 for Sichuan."),
            fields={field: [_("Start with the province's character, e.g. 川.")]},
        )
    rest = plate[1:]
    if len(plate) == 8:
        if _PLATE_NEV_SMALL.match(rest) or _PLATE_NEV_LARGE.match(rest):
            return Plate(plate, new_energy=True)
        raise DomainError(
            "vehicle.plate_new_energy",
            _(
                "An 8-character new-energy plate has D or F right after the city letter "
                "(e.g. 川LD12345), or at the end for a large vehicle (e.g. 川L12345D)."
            ),
            fields={field: [_("Put D or F in the right place.")]},
        )
    if _PLATE_FUEL.match(rest) or _PLATE_SPECIAL.match(rest):
        return Plate(plate, new_energy=False)
    raise DomainError(
        "vehicle.plate_format",
        _(
            "After the province's character comes the city letter, then 5 letters or digits "
            "(the letters I and O are not used)."
        ),
        fields={field: [_("Check the letters and digits after the province.")]},
    )
