"""Fake but valid identifiers for the demo, tests and benchmarks. Never for real people.

``fake_id_number(birth_date=date(1958, 3, 9), sequence=41)`` is an 18-character ID number with a
correct check digit: region (default 511102, Leshan Shizhong), date of birth, a 3-digit sequence
(odd = male, even = female, or forced by ``gender``) and the ISO 7064 MOD 11-2 check digit.
Sequences 0-999 give 1,000 distinct numbers per region and day (500 per gender when forced).
"""

from __future__ import annotations

import datetime as dt

from sanan.core.validators import Gender, id_number_check_digit

LESHAN_SHIZHONG = "511102"


def fake_id_number(
    *,
    birth_date: dt.date,
    sequence: int,
    region: str = LESHAN_SHIZHONG,
    gender: str | None = None,
) -> str:
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be a 6-digit division code")
    if gender is not None:
        if gender not in (Gender.MALE, Gender.FEMALE):
            raise ValueError("gender must be 'male' or 'female'")
        if not 0 <= sequence < 500:
            raise ValueError("with a gender, sequence must be 0-499")
        sequence = sequence * 2 + (1 if gender == Gender.MALE else 0)
    if not 0 <= sequence < 1000:
        raise ValueError("sequence must be 0-999")
    first17 = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_digit(first17)


def fake_mobile(n: int, *, prefix: str = "1370833") -> str:
    """An 11-digit mobile number ``prefix`` + ``n`` (0-9999 for the default 7-digit prefix)."""
    width = 11 - len(prefix)
    if not 0 <= n < 10**width:
        raise ValueError(f"n must have at most {width} digits")
    return f"{prefix}{n:0{width}d}"
