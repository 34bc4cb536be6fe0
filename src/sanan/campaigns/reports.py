"""The closing report of a campaign as XLSX (openpyxl): the figures, by category and by
courtyard, the solved orders (12345-style columns, titles with numbers masked), the tasks and
the burndown. Headers in Chinese and English, as the street office exchanges them."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from sanan.audit.services import audit_record
from sanan.campaigns.models import CampaignKind, CampaignState
from sanan.campaigns.selectors import ClosingReport
from sanan.core.privacy import mask_personal
from sanan.core.spreadsheets import safe_row
from sanan.workorders.state import Resolution, Satisfaction, State


def _sheet(ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(safe_row(row))
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    for column in ws.columns:
        width = max(len(str(c.value or "")) for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(60, max(10, width * 1.6))


def _local(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def closing_report_xlsx(report: ClosingReport, *, actor: Any) -> bytes:
    """The workbook, audited as ``campaign.report_exported`` (what, never who is in it)."""
    c, p = report.campaign, report.progress
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "汇总 Summary"
    rate = f"{p.resolution_percent}%" if p.resolution_percent is not None else "—"
    target_rate = (
        f"{c.target_resolution_percent}%" if c.target_resolution_percent is not None else "—"
    )
    _sheet(
        summary,
        ["项目 Item", "值 Value"],
        [
            ("行动 Campaign", c.title),
            ("类型 Kind", str(CampaignKind(c.kind).label)),
            ("状态 State", str(CampaignState(c.state).label)),
            ("开始 Starts", c.starts_on.isoformat()),
            ("结束 Ends", c.ends_on.isoformat()),
            ("牵头单位 Owner", c.owner_organisation.name),
            ("负责人 Person in charge", str(c.owner)),
            ("纳入工单 Orders linked", p.linked),
            ("已办结 Finished", p.finished),
            ("已解决 Solved", p.solved),
            ("未办结 Open", p.open),
            ("目标解决数 Target solved", p.target_solved),
            ("目标完成率 Share of target", f"{p.percent_of_target}%"),
            ("解决率 Resolution rate", rate),
            ("目标解决率 Target resolution rate", target_rate),
            ("达标 Target met", "是 yes" if p.target_met else "否 no"),
            ("任务 Tasks (done / all)", f"{p.tasks_done} / {p.tasks_total}"),
            ("总结 Closing summary", c.closing_note),
        ],
    )
    _sheet(
        wb.create_sheet("分类 By category"),
        ["一级分类 Category", "纳入 Linked", "解决 Solved"],
        [(b.label, b.linked, b.solved) for b in report.by_category],
    )
    _sheet(
        wb.create_sheet("院落 By courtyard"),
        ["院落 Courtyard", "纳入 Linked", "解决 Solved"],
        [(b.label, b.linked, b.solved) for b in report.by_courtyard],
    )
    _sheet(
        wb.create_sheet("已解决工单 Solved orders"),
        ["工单编号 Reference", "标题 Title", "分类 Category", "院落 Courtyard",
         "承办单位 Handled by", "受理时间 Registered", "办结时间 Finished", "状态 State",
         "解决情况 Resolution", "满意度 Satisfaction"],
        [
            (
                o.reference, mask_personal(o.title), o.category.name,
                o.courtyard.name if o.courtyard else "",
                o.lead_organisation.name if o.lead_organisation else "",
                _local(o.created_at), _local(o.finished_at), str(State(o.state).label),
                str(Resolution(o.resolution).label) if o.resolution else "",
                str(Satisfaction(o.satisfaction).label) if o.satisfaction else "",
            )
            for o in report.solved_orders
        ],
    )  # fmt: skip
    _sheet(
        wb.create_sheet("任务 Tasks"),
        ["任务 Task", "负责人 Who", "单位 Organisation", "期限 Due", "完成 Done at", "备注 Note"],
        [
            (
                t.title, str(t.owner) if t.owner else "",
                t.owner_organisation.name if t.owner_organisation else "",
                t.due_on.isoformat(), _local(t.done_at), t.note,
            )
            for t in report.tasks
        ],
    )  # fmt: skip
    _sheet(
        wb.create_sheet("燃尽 Burndown"),
        ["日期 Day", "未办结 Open", "已办结 Finished", "距目标 Remaining", "计划 Ideal"],
        [(d.day.isoformat(), d.open, d.finished, d.remaining, d.ideal_remaining)
         for d in report.burndown],
    )  # fmt: skip
    buffer = io.BytesIO()
    wb.save(buffer)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="campaign.report_exported",
            target=c,
            data={"orders": len(report.solved_orders)},
        )
    return buffer.getvalue()
