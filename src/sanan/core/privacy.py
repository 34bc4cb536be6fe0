"""Personal data in free text: phone numbers, ID numbers, number plates and emails masked.

Used wherever people's own words are stored or leave Sanan: hotline summaries and knowledge
answers are masked before they are stored; Open311 descriptions and replies before they leave.
Numbers are masked the way Sanan masks them on screen (``138****1234``, ``511***********123X``).
Full-width digits (``１３８…``) and the digits of other scripts (Arabic-Indic ``١٣٨…``) are
read as the ASCII digits they stand for (and written back as ASCII digits).
"""

from __future__ import annotations

import re
import unicodedata

_SEP = r"[\s\-]?"
# Resident ID: 17 digits and a check digit (or X), or the old 15-digit number; not inside a
# longer run of digits or letters.
_ID18 = re.compile(r"(?<![\dA-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![\dA-Za-z])")
_ID15 = re.compile(r"(?<![\dA-Za-z])(\d{3})\d{9}(\d{3})(?![\dA-Za-z])")
# Mainland mobile, with +86/0086 and spaces or dashes between the groups.
_MOBILE = re.compile(
    rf"(?<![\d])(?:(?:\+|00)?86{_SEP})?(1[3-9]\d){_SEP}\d{{4}}{_SEP}(\d{{4}})(?!\d)"
)
# Landline: area code 0xx(x) and 7–8 digits, e.g. 0833-2123456.
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s\-]?\d{3,4}[\s\-]?(\d{4})(?!\d)")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
# Number plate: province character, letter, 5–6 letters or digits (川L12345, 川LD12345).
_PLATE = re.compile(
    r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z])[·•\s]?[A-Z0-9]{3,4}([A-Z0-9]{2})(?![A-Za-z0-9])"
)
_EMAIL = re.compile(r"[\w.+\-]+@([\w\-]+\.)+[\w\-]+")


def _ascii_digits(text: str) -> str:
    """Every decimal digit as its ASCII digit; nothing else of the text changes."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in text
    )


def mask_personal(text: str | None) -> str:
    """``text`` with phone numbers, ID numbers and email addresses masked."""
    if not text:
        return ""
    text = _ascii_digits(text.translate(_FULL_WIDTH))
    text = _ID18.sub(lambda m: f"{m.group(1)}{'*' * 11}{m.group(2)}", text)
    text = _ID15.sub(lambda m: f"{m.group(1)}{'*' * 9}{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)}", text)
    text = _PLATE.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)
    return _EMAIL.sub("***@***", text)
