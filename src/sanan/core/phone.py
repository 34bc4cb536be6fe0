"""Phone numbers as people type them: normalised, validated, masked."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

from sanan.core.errors import DomainError

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def ascii_digits(value: str) -> str:
    """NFKC (full-width characters become ASCII), then every other decimal digit (Arabic-Indic
    ``٣``, Devanagari ``३``…) becomes its ASCII digit too: one number has one spelling, so its
    blind index and duplicate checks cannot be side-stepped by typing it in another script."""
    value = unicodedata.normalize("NFKC", value or "")
    if value.isascii():
        return value
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in value
    )


def normalise_digits(value: str) -> str:
    """Full-width and other non-ASCII digits become ASCII; spaces, dashes and brackets are
    dropped."""
    return re.sub(r"[\s\-()（）]", "", ascii_digits(value))


def normalise_mobile(value: str, *, field: str = "phone") -> str:
    """An 11-digit mainland mobile number, accepting +86/0086 and full-width digits.

    ``field`` names the form or API field an error message belongs to."""
    digits = normalise_digits(value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
            break
    if not _MOBILE.match(digits):
        raise DomainError(
            "phone.invalid_mobile",
            _("A mobile number has 11 digits and starts with 1, e.g. 138 0000 0000."),
            fields={field: [_("Enter an 11-digit mobile number.")]},
        )
    return digits


def looks_like_mobile(value: str) -> bool:
    try:
        normalise_mobile(value)
    except DomainError:
        return False
    return True


def mask_mobile(digits: str) -> str:
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) == 11 else "****"
