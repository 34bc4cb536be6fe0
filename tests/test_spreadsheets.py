"""Cells written from what people typed never run as formulas (core.spreadsheets)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from sanan.core.spreadsheets import safe_cell, safe_row


@pytest.mark.parametrize(
    "typed",
    ['=HYPERLINK("http://evil.example","详情")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1"],
)
def test_safe_cell__formula_starts__written_as_text(typed: str) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(safe_row([typed, 3, None]))
    buffer = io.BytesIO()
    wb.save(buffer)
    cell = load_workbook(io.BytesIO(buffer.getvalue())).active["A1"]  # type: ignore[index]
    assert cell.data_type == "s"
    assert cell.value == "'" + typed


def test_safe_cell__ordinary_values__unchanged() -> None:
    assert safe_row(["路灯不亮", "13号院", 42, 1.5, None, ""]) == [
        "路灯不亮", "13号院", 42, 1.5, None, "",
    ]  # fmt: skip
    assert safe_cell("a=b") == "a=b"


def test_safe_cell__carriage_return_before_a_formula__quoted() -> None:
    assert safe_cell("\r=1+1") == "'\r=1+1"
