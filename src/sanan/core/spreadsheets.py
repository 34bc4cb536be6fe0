"""Cells of the spreadsheets Sanan writes (XLSX and CSV) from what people typed.

A text starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) is
what a spreadsheet program runs as a formula: a resident's description such as
``=HYPERLINK("http://…")`` would become a live link in a leader's monthly report. Such a text is
written with a leading apostrophe, which the program shows as text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a cell: text that would run as a formula is quoted; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
