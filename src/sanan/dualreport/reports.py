"""The yearly evaluation sheet of the dual-reporting units as XLSX (openpyxl)."""

from __future__ import annotations

import io
from typing import Any

from django.db import transaction
from openpyxl import Workbook
from openpyxl.styles import Font

from sanan.audit.services import audit_record
from sanan.core.spreadsheets import safe_row
from sanan.dualreport.selectors import Evaluation

HEADERS = [
    "单位/党员 Unit or member", "类型 Kind", "认领 Claimed", "完成 Finished",
    "完成率 Completion %", "服务时长(小时) Hours", "承诺时长(小时) Pledged hours",
    "评价数 Ratings", "平均评分 Average stars", "得分 Score",
]  # fmt: skip


def evaluation_xlsx(sheet: list[Evaluation], *, year: int, actor: Any) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"{year} 双报到考评"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for e in sheet:
        ws.append(
            safe_row([
                e.registration.name, str(e.registration.get_kind_display()), e.claimed, e.finished,
                e.completion_percent, e.hours, e.pledged_hours, e.ratings, e.average_rating,
                e.score,
            ])
        )  # fmt: skip
    ws.append([])
    ws.append(
        [
            "得分 = 40×完成率 + 40×(平均评分−1)/4 + 20×min(1, 服务时长/承诺时长) · "
            "Score = 40 × completion + 40 × (average stars − 1) ÷ 4 + 20 × min(1, hours ÷ pledged)"
        ]
    )
    ws.freeze_panes = "A2"
    for column in ws.iter_cols(min_row=1, max_row=max(1, len(sheet) + 1)):
        width = max(len(str(c.value or "")) for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(50, max(10, width * 1.5))
    buffer = io.BytesIO()
    wb.save(buffer)
    with transaction.atomic():
        audit_record(
            actor=actor, action="dual.evaluation_exported", data={"year": year, "rows": len(sheet)}
        )
    return buffer.getvalue()
