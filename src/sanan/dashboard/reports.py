"""The monthly report as an XLSX workbook (openpyxl, write-only: rows stream, memory stays flat).

Sheets: the summary (the month's figures, then by courtyard and by department) and the month's
orders in the columns of the 12345 hotline's order lists: 工单编号, 受理时间, 来源渠道,
诉求类型, 诉求内容, 所属网格, 承办单位, 办理状态, 办结时间, 是否超期, 回访结果, 满意度.
Descriptions are masked (``core.privacy.mask_personal``); no name or phone number of a
reporter is written.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from sanan.core import clock
from sanan.core.privacy import mask_personal
from sanan.core.spreadsheets import safe_row
from sanan.dashboard import selectors as sel
from sanan.dashboard.periods import Period
from sanan.insights.selectors import counting_q
from sanan.workorders.models import Category, Channel, WorkOrder
from sanan.workorders.state import Resolution, Satisfaction, State

HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")


def is_overdue(order: WorkOrder, now: dt.datetime) -> bool:
    """Finished after its finish deadline, or still open past the deadline of its stage."""
    if order.finished_at is not None and order.finish_due_at is not None:
        return order.finished_at > order.finish_due_at
    if order.state in sel.OPEN and order.due_at is not None:
        return order.due_at <= now
    return False


def order_columns() -> list[str]:
    return [
        _("Order number"),  # 工单编号
        _("Registered at"),  # 受理时间
        _("Source channel"),  # 来源渠道
        _("Type of request"),  # 诉求类型
        _("Content of request"),  # 诉求内容
        _("Grid"),  # 所属网格
        _("Handling organisation"),  # 承办单位
        _("Handling status"),  # 办理状态
        _("Finished at"),  # 办结时间
        _("Overdue?"),  # 是否超期
        _("Call-back result"),  # 回访结果
        _("Satisfaction"),  # 满意度
    ]


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return timezone.localtime(moment).replace(tzinfo=None)  # Excel has no time zones


def _header(ws: WriteOnlyWorksheet, names: Iterable[str]) -> None:
    cells = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        cells.append(cell)
    ws.append(cells)


def _title(ws: WriteOnlyWorksheet, text: str) -> None:
    cell = WriteOnlyCell(ws, value=text)
    cell.font = Font(bold=True, size=13)
    ws.append([cell])


def month_orders(*, user: Any, scope: sel.Scope, period: Period) -> Any:
    """The orders registered in the month inside the scope that the user may see, oldest first."""
    return (
        WorkOrder.objects.visible_to(user)
        .filter(sel._under(scope.roots))
        .filter(created_at__gte=period.start, created_at__lt=period.end)
        .select_related("category", "courtyard", "lead_organisation")
        .order_by("created_at", "id")
    )


def category_labels() -> dict[int, str]:
    """Every category as "level 1 / level 2 / level 3" (one query)."""
    categories = list(Category.objects.all())
    by_path = {c.path: c for c in categories}
    labels = {}
    for c in categories:
        names = [by_path[p].name for p in c.ancestor_paths() if p in by_path]
        labels[c.pk] = " / ".join(names)
    return labels


def department_rows(*, user: Any, scope: sel.Scope, period: Period) -> list[dict[str, Any]]:
    """The month's orders by lead organisation: registered, finished and solved as the
    figures count them (``docs/kpis.md``: merged duplicates not counted, solved = the latest
    call-back says solved), open and overdue now (one query)."""
    now = clock.now()
    late = Q(finished_at__isnull=False, finish_due_at__isnull=False) & Q(
        finished_at__gt=F("finish_due_at")
    )
    rows = (
        month_orders(user=user, scope=scope, period=period)
        .order_by()
        .values("lead_organisation_id", "lead_organisation__name")
        .annotate(
            registered=Count("pk", filter=counting_q("orders")),
            finished=Count("pk", filter=counting_q("finished")),
            solved=Count("pk", filter=counting_q("solved")),
            open=Count("pk", filter=Q(state__in=sel.OPEN)),
            overdue=Count("pk", filter=late | sel.overdue_q(now)),
        )
    )
    result = [{**r, "name": r["lead_organisation__name"] or _("Not dispatched yet")} for r in rows]
    result.sort(key=lambda r: (-r["registered"], r["name"]))
    return result


def monthly_workbook(*, user: Any, scope: sel.Scope, period: Period) -> bytes:
    now = clock.now()
    wb = Workbook(write_only=True)
    summary = wb.create_sheet(_("Summary"))
    summary.column_dimensions["A"].width = 28
    for col in "BCDEFG":
        summary.column_dimensions[col].width = 14
    place = scope.focus.name if scope.focus is not None else ""
    _title(
        summary,
        _("Monthly report %(month)s") % {"month": period.label} + (f" · {place}" if place else ""),
    )
    summary.append([_("Generated at"), _local(now)])
    summary.append([])
    head = sel.headline(scope=scope, period=period, now=now)
    _header(summary, [_("Figure"), _("Value")])
    for label, value in (
        (_("Orders registered"), head.registered),
        (_("Orders finished"), head.finished),
        (_("Problems solved"), head.solved),
        (_("Open now"), head.open),
        (_("Overdue now"), head.overdue),
        (_("Under supervision now"), head.supervised),
    ):
        summary.append([label, value])
    summary.append([])
    figure_names = [
        _("Registered"), _("Finished"), _("Problems solved"), _("Open now"), _("Overdue now")
    ]  # fmt: skip
    _title(summary, _("By courtyard") if scope.map_place is not None else _("By community"))
    _header(summary, [_("Place"), *figure_names])
    for row in sel.place_breakdown(scope=scope, period=period, now=now):
        f = row.figures
        summary.append([row.label, f.registered, f.finished, f.solved, f.open, f.overdue])
    summary.append([])
    _title(summary, _("By department (orders registered in the month)"))
    _header(
        summary,
        [_("Handling organisation"), _("Registered"), _("Finished"), _("Problems solved"),
         _("Open now"), _("Overdue")],
    )  # fmt: skip
    for r in department_rows(user=user, scope=scope, period=period):
        summary.append(
            [r["name"], r["registered"], r["finished"], r["solved"], r["open"], r["overdue"]]
        )

    sheet = wb.create_sheet(_("Orders"))
    widths = [17, 18, 12, 28, 60, 14, 22, 14, 18, 9, 12, 12]
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    _header(sheet, order_columns())
    labels = category_labels()
    yes, no = _("Yes"), _("No")
    for o in month_orders(user=user, scope=scope, period=period).iterator(chunk_size=2000):
        sheet.append(
            safe_row(
                [
                    o.reference,
                    _local(o.created_at),
                    str(Channel(o.channel).label) if o.channel in Channel.values else o.channel,
                    labels.get(o.category_id, ""),
                    mask_personal(o.description),
                    o.courtyard.name if o.courtyard is not None else "",
                    o.lead_organisation.name if o.lead_organisation is not None else "",
                    str(State(o.state).label),
                    _local(o.finished_at) if o.state in sel.DONE else None,
                    yes if is_overdue(o, now) else no,
                    str(Resolution(o.resolution).label) if o.resolution else "",
                    str(Satisfaction(o.satisfaction).label) if o.satisfaction else "",
                ]
            )
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
