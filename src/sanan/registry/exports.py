"""Export of the registry to the spreadsheets community workers use: residents, houses,
rentals and vehicles as XLSX (a header row, frozen panes, a filter on the header) or CSV
(UTF-8 with BOM, which Excel opens in Chinese).

Records come through the registry selectors, scoped to where the exporter holds
``resident.export``, narrowed by the filters of ``registry/filters.py`` (the same filters as the
lists). Headers are in Chinese, like the sheets the street office and the 12345 hotline
exchange, and Sanan's import recognises them, so an exported file can be corrected and imported
again.

ID numbers and phones are masked (``511***********123X``, ``138****1234``). An exporter with
``pii.reveal`` over every exported record may ask for the full numbers with a reason: the
export is then audited as one ``pii.revealed`` event naming the fields and the count, before
the first number is decrypted. Every other export is audited as ``registry.exported``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, BinaryIO

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.audit.services import audit_record
from sanan.core import clock, crypto
from sanan.core.errors import DomainError, PermissionDenied
from sanan.core.spreadsheets import safe_cell, safe_row
from sanan.places.models import Place, PlaceKind
from sanan.registry import selectors
from sanan.registry.filters import HouseFilter, RentalFilter, ResidentFilter, VehicleFilter
from sanan.registry.imports import (
    BOOL_WORDS,
    GENDER_WORDS,
    RELATION_WORDS,
    RENTAL_STATE_WORDS,
    RESIDENCE_WORDS,
    TAG_WORDS,
    USE_WORDS,
    VEHICLE_WORDS,
    Progress,
)
from sanan.registry.models import HouseProfile, Resident, ResidentStatus
from sanan.registry.models_io import ImportKind

EXPORT = "resident.export"
REVEAL = "pii.reveal"
FORMATS = ("xlsx", "csv")
CHUNK = 2000

# The word each value is written as (the first of the words the import recognises).
_GENDER_ZH = {k: v[0] for k, v in GENDER_WORDS.items()}
_RELATION_ZH = {k: v[0] for k, v in RELATION_WORDS.items()}
_RESIDENCE_ZH = {k: v[0] for k, v in RESIDENCE_WORDS.items()}
_USE_ZH = {k: v[0] for k, v in USE_WORDS.items()}
_RENTAL_STATE_ZH = {k: v[0] for k, v in RENTAL_STATE_WORDS.items()}
_VEHICLE_ZH = {k: v[0] for k, v in VEHICLE_WORDS.items()}
_TAG_ZH = {k: v[0] for k, v in TAG_WORDS.items()}
_STATUS_ZH = {
    ResidentStatus.ACTIVE: "在住",
    ResidentStatus.MOVED_OUT: "已迁出",
    ResidentStatus.DECEASED: "已故",
}
_YES, _NO = BOOL_WORDS["yes"][0], BOOL_WORDS["no"][0]


@dataclass(frozen=True)
class Column:
    header: str  # Chinese, as the import recognises it
    width: int = 12
    pii: str = ""  # the protected number this column holds ("" for none)


COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.RESIDENTS: (
        Column("序号", 6),
        Column("姓名", 10),
        Column("性别", 6),
        Column("出生日期", 12),
        Column("身份证号", 22, "id_number"),
        Column("联系电话", 15, "phone"),
        Column("备用电话", 15, "phone2"),
        Column("院落", 10),
        Column("门牌号", 14),
        Column("房号", 8),
        Column("户号", 18),
        Column("与户主关系", 10),
        Column("人员类型", 8),
        Column("工作单位/学校", 20),
        Column("入住日期", 12),
        Column("居住登记到期日期", 14),
        Column("状态", 8),
        Column("关爱标签", 18),
    ),
    ImportKind.HOUSES: (
        Column("序号", 6),
        Column("院落", 10),
        Column("门牌号", 14),
        Column("房主", 10),
        Column("房主身份证号", 22, "owner_id_number"),
        Column("层数", 6),
        Column("用途", 8),
        Column("是否自建房", 10),
        Column("备注", 24),
    ),
    ImportKind.RENTALS: (
        Column("序号", 6),
        Column("院落", 10),
        Column("门牌号", 14),
        Column("房号", 8),
        Column("房东", 10),
        Column("房东身份证号", 22, "landlord_id_number"),
        Column("房东电话", 15, "landlord_phone"),
        Column("租客", 18),
        Column("租客身份证号", 40, "tenant_id_numbers"),
        Column("起租日期", 12),
        Column("到期日期", 12),
        Column("登记状态", 10),
        Column("最近检查日期", 12),
        Column("备注", 24),
    ),
    ImportKind.VEHICLES: (
        Column("序号", 6),
        Column("车牌号", 12),
        Column("车辆类型", 10),
        Column("新能源", 8),
        Column("车主", 10),
        Column("车主身份证号", 22, "owner_id_number"),
        Column("车主电话", 15, "owner_phone"),
        Column("院落", 10),
        Column("门牌号", 14),
        Column("房号", 8),
        Column("品牌颜色", 16),
    ),
}
SHEET_TITLES: dict[str, str] = {
    ImportKind.RESIDENTS: "居民",
    ImportKind.HOUSES: "房屋",
    ImportKind.RENTALS: "出租房",
    ImportKind.VEHICLES: "车辆",
}


@dataclass(frozen=True)
class ExportResult:
    kind: str
    format: str
    count: int  # records written (rows below the header)
    revealed: tuple[str, ...]  # fields written in full ("" when masked)
    filename: str


def export_filename(kind: str, fmt: str = "xlsx") -> str:
    """``居民_20261126.xlsx``."""
    return f"{SHEET_TITLES[kind]}_{clock.today():%Y%m%d}.{fmt}"


# --- what is exported ------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in COLUMNS:
        raise DomainError(
            "export.kind_unknown",
            _("Choose what to export: residents, houses, rentals or vehicles."),
            fields={"kind": [_("Choose residents, houses, rentals or vehicles.")]},
        )
    return kind


def _filtered(filterset_class: Any, qs: QuerySet[Any], actor: Any, data: Mapping[str, Any]) -> Any:
    filterset = filterset_class(dict(data), queryset=qs, request=SimpleNamespace(user=actor))
    if not filterset.is_valid():
        raise DomainError(
            "export.filter_invalid",
            _("Some filters are not valid: correct them and export again."),
            fields={k: [str(m) for m in v] for k, v in filterset.errors.items()},
        )
    return filterset.qs


def export_queryset(
    kind: str, *, actor: Any, filters: Mapping[str, Any] | None = None
) -> QuerySet[Any]:
    """The records an export writes: the actor's export scope, narrowed by the list filters
    (``place``, ``residence_type``, ``tag``, ``status``... as in ``registry/filters.py``)."""
    data = dict(filters or {})
    if kind == ImportKind.RESIDENTS:
        residents = selectors.resident_list(user=actor, action=EXPORT)
        return _filtered(ResidentFilter, residents, actor, data).order_by(
            "place__path", "household_id", "id"
        )
    if kind == ImportKind.HOUSES:
        houses = permissions_for(actor).filter(selectors.house_list(user=actor), EXPORT, "")
        return _filtered(HouseFilter, houses, actor, data).order_by("path")
    if kind == ImportKind.RENTALS:
        rentals = selectors.rental_list(user=actor, action=EXPORT)
        return _filtered(RentalFilter, rentals, actor, data).order_by("place__path", "id")
    vehicles = selectors.vehicle_list(user=actor, action=EXPORT)
    return _filtered(VehicleFilter, vehicles, actor, data).order_by("plate")


def _place_field(kind: str) -> str:
    return "" if kind == ImportKind.HOUSES else "place"


class _PlaceNames:
    """Courtyard, house and unit names above each record's place: one query per chunk."""

    def __init__(self) -> None:
        self.known: dict[str, tuple[str, str, str]] = {}  # path -> (kind, name, house number)

    def load(self, paths: Iterable[str]) -> None:
        wanted = {
            path[:i] for path in paths for i in range(Place.steplen, len(path) + 1, Place.steplen)
        } - self.known.keys()
        if not wanted:
            return
        rows = Place.objects.filter(path__in=wanted).values_list(
            "path", "kind", "name", "house_profile__house_number"
        )
        for path, kind, name, number in rows:
            self.known[path] = (kind, name, number or "")
        for path in wanted - self.known.keys():
            self.known[path] = ("", "", "")

    def parts(self, path: str) -> tuple[str, str, str]:
        """``(courtyard, house number, unit)`` names for a place path."""
        court = house = unit = ""
        for i in range(Place.steplen, len(path) + 1, Place.steplen):
            kind, name, number = self.known.get(path[:i], ("", "", ""))
            if kind == PlaceKind.COURTYARD:
                court = name
            elif kind == PlaceKind.HOUSE:
                house = number or name
            elif kind == PlaceKind.UNIT:
                unit = name
        return court, house, unit


def _chunked(qs: QuerySet[Any]) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for obj in qs.iterator(chunk_size=CHUNK):
        chunk.append(obj)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _d(day: dt.date | None) -> dt.date | str:
    return day if day is not None else ""


def _read(token: str, reader: Callable[[], str], masked: str, reveal: bool) -> str:
    if not reveal:
        return masked
    return reader() if token else ""


def _resident_rows(qs: QuerySet[Any], reveal: bool) -> Iterator[list[Any]]:
    names = _PlaceNames()
    n = 0
    for chunk in _chunked(qs):
        names.load(r.place.path for r in chunk)
        for r in chunk:
            n += 1
            court, house, unit = names.parts(r.place.path)
            tags = "、".join(_TAG_ZH.get(t.tag.code, t.tag.label) for t in r.tags.all())
            yield [
                n,
                r.name,
                _GENDER_ZH.get(r.gender, ""),
                _d(r.birth_date),
                _read(r.id_number_encrypted, r.id_number_reveal, r.id_number_masked, reveal),
                _read(r.phone_encrypted, r.phone_reveal, r.phone_masked, reveal),
                _read(r.phone2_encrypted, r.phone2_reveal, r.phone2_masked, reveal),
                court,
                house,
                unit,
                r.household.code,
                _RELATION_ZH.get(r.relation_to_head, ""),
                _RESIDENCE_ZH.get(r.residence_type, ""),
                r.work_or_school,
                _d(r.moved_in_on),
                _d(r.registration_expires_on),
                _STATUS_ZH.get(r.status, ""),
                tags,
            ]


def _house_rows(qs: QuerySet[Any], reveal: bool) -> Iterator[list[Any]]:
    names = _PlaceNames()
    n = 0
    for chunk in _chunked(qs):
        names.load(h.path for h in chunk)
        for house in chunk:
            n += 1
            court, number, _unit = names.parts(house.path)
            profile: HouseProfile | None = selectors.house_profile_of(house)
            owner = profile.owner if profile is not None else None
            yield [
                n,
                court,
                number,
                profile.owner_display if profile is not None else "",
                _read(
                    owner.id_number_encrypted,
                    owner.id_number_reveal,
                    owner.id_number_masked,
                    reveal,
                )
                if owner is not None
                else "",
                profile.floors if profile is not None and profile.floors else "",
                _USE_ZH.get(profile.use, "") if profile is not None else "",
                (_YES if profile.self_built else _NO) if profile is not None else "",
                profile.note if profile is not None else "",
            ]


def _rental_rows(qs: QuerySet[Any], reveal: bool) -> Iterator[list[Any]]:
    names = _PlaceNames()
    n = 0
    for chunk in _chunked(qs):
        names.load(r.place.path for r in chunk)
        for rental in chunk:
            n += 1
            court, house, unit = names.parts(rental.place.path)
            landlord: Resident | None = rental.landlord
            tenants = list(rental.tenants.all())
            yield [
                n,
                court,
                house,
                unit,
                rental.landlord_display,
                _read(
                    landlord.id_number_encrypted,
                    landlord.id_number_reveal,
                    landlord.id_number_masked,
                    reveal,
                )
                if landlord is not None
                else "",
                _read(
                    landlord.phone_encrypted, landlord.phone_reveal, landlord.phone_masked, reveal
                )
                if landlord is not None
                else "",
                "、".join(t.name for t in tenants),
                "、".join(
                    _read(t.id_number_encrypted, t.id_number_reveal, t.id_number_masked, reveal)
                    for t in tenants
                    if t.id_number_encrypted
                ),
                _d(rental.starts_on),
                _d(rental.ends_on),
                _RENTAL_STATE_ZH.get(rental.registration_state, ""),
                _d(rental.last_inspected_on),
                rental.note,
            ]


def _vehicle_rows(qs: QuerySet[Any], reveal: bool) -> Iterator[list[Any]]:
    names = _PlaceNames()
    n = 0
    for chunk in _chunked(qs):
        names.load(v.place.path for v in chunk)
        for vehicle in chunk:
            n += 1
            court, house, unit = names.parts(vehicle.place.path)
            owner: Resident | None = vehicle.owner
            yield [
                n,
                vehicle.plate,
                _VEHICLE_ZH.get(vehicle.kind, ""),
                _YES if vehicle.new_energy else _NO,
                owner.name if owner is not None else "",
                _read(
                    owner.id_number_encrypted,
                    owner.id_number_reveal,
                    owner.id_number_masked,
                    reveal,
                )
                if owner is not None
                else "",
                _read(owner.phone_encrypted, owner.phone_reveal, owner.phone_masked, reveal)
                if owner is not None
                else "",
                court,
                house,
                unit,
                vehicle.description,
            ]


_ROWS: dict[str, Callable[[QuerySet[Any], bool], Iterator[list[Any]]]] = {
    ImportKind.RESIDENTS: _resident_rows,
    ImportKind.HOUSES: _house_rows,
    ImportKind.RENTALS: _rental_rows,
    ImportKind.VEHICLES: _vehicle_rows,
}


# --- permission, reveal, audit ---------------------------------------------------------------


def _require_export(actor: Any) -> None:
    if not permissions_for(actor).has(EXPORT):
        raise PermissionDenied(
            "registry.export_forbidden", _("Your role may not export the registry.")
        )


def _require_reveal(kind: str, qs: QuerySet[Any], actor: Any) -> None:
    """Full numbers only when the actor may reveal them for every exported record."""
    perms = permissions_for(actor)
    if not perms.has(REVEAL):
        raise PermissionDenied(
            "pii.forbidden", _("Your role may not see full personal numbers: export them masked.")
        )
    revealable = perms.filter(qs.model._default_manager.all(), REVEAL, _place_field(kind))
    if qs.exclude(pk__in=revealable.values("pk")).exists():
        raise PermissionDenied(
            "pii.forbidden",
            _(
                "Some of these records are at places where your role may not see full "
                "personal numbers: export them masked, or choose a place where you may."
            ),
        )


def _audit_place(actor: Any, filters: Mapping[str, Any]) -> Place | None:
    """Where the export's audit event belongs: the filtered place, or the exporter's scope."""
    place_id = filters.get("place")
    if place_id not in (None, ""):
        try:
            return Place.objects.filter(pk=int(place_id)).first()
        except (TypeError, ValueError):
            return None
    roots = permissions_for(actor).scope_paths(EXPORT)
    if not roots or roots == [""]:
        return None
    common = roots[0]
    for root in roots[1:]:
        while not root.startswith(common):
            common = common[: -Place.steplen]
    return Place.objects.filter(path=common).first() if common else None


def _pii_fields(kind: str) -> tuple[str, ...]:
    return tuple(c.pii for c in COLUMNS[kind] if c.pii)


# --- writing ---------------------------------------------------------------------------------


def _write_xlsx(
    out: BinaryIO, kind: str, rows: Iterator[list[Any]], count: int, progress: Progress
) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    columns = COLUMNS[kind]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLES[kind])
    sheet.freeze_panes = "C2" if kind == ImportKind.RESIDENTS else "B2"  # header; number, name
    for i, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{count + 1}"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE4EE")
    centre = Alignment(horizontal="center", vertical="center")
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font, cell.fill, cell.alignment = bold, fill, centre
        header.append(cell)
    sheet.append(header)
    for n, row in enumerate(rows, start=1):
        sheet.append(safe_row(row))
        if n % CHUNK == 0:
            progress(n, count, "writing")
    book.save(out)


def _write_csv(
    out: BinaryIO, kind: str, rows: Iterator[list[Any]], count: int, progress: Progress
) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([c.header for c in COLUMNS[kind]])
    for n, row in enumerate(rows, start=1):
        writer.writerow([v.isoformat() if isinstance(v, dt.date) else safe_cell(v) for v in row])
        if n % CHUNK == 0:
            progress(n, count, "writing")
    text.flush()
    text.detach()


def _no_progress(done: int, total: int, phase: str) -> None:
    return None


def export_write(
    out: str | os.PathLike[str] | BinaryIO,
    *,
    kind: str,
    actor: Any,
    fmt: str = "xlsx",
    filters: Mapping[str, Any] | None = None,
    reveal: bool = False,
    reason: str = "",
    progress: Progress | None = None,
) -> ExportResult:
    """Write the export to ``out`` (a path or a binary file object).

    ``reveal=True`` writes ID numbers and phones in full: the actor needs ``pii.reveal`` over
    every exported record (else 403 ``pii.forbidden``) and a reason (else 400
    ``pii.reason_required``); one ``pii.revealed`` audit event records who, why, which fields
    and how many records, before anything is decrypted."""
    _kind(kind)
    if fmt not in FORMATS:
        raise DomainError(
            "export.format_unknown",
            _("Choose the format: xlsx or csv."),
            fields={"format": [_("xlsx or csv.")]},
        )
    _require_export(actor)
    filters = dict(filters or {})
    qs = export_queryset(kind, actor=actor, filters=filters)
    if reveal:
        _require_reveal(kind, qs, actor)
        reason = crypto.reveal_reason(reason)
    count = qs.count()
    fields = _pii_fields(kind) if reveal else ()
    target: Model | None = _audit_place(actor, filters)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="pii.revealed" if reveal else "registry.exported",
            target=target,
            reason=reason if reveal else "",
            data={
                "export": kind,
                "count": count,
                "format": fmt,
                **({"field": ",".join(fields)} if reveal else {}),
                **({"filters": sorted(k for k, v in filters.items() if v)} if filters else {}),
            },
        )
    progress = progress or _no_progress
    progress(0, count, "writing")
    rows = _ROWS[kind](qs, reveal)
    writer = _write_xlsx if fmt == "xlsx" else _write_csv
    if isinstance(out, str | os.PathLike):
        with open(out, "wb") as fh:
            writer(fh, kind, rows, count, progress)
    else:
        writer(out, kind, rows, count, progress)
    progress(count, count, "finished")
    return ExportResult(
        kind=kind, format=fmt, count=count, revealed=fields, filename=export_filename(kind, fmt)
    )


def export_bytes(
    *,
    kind: str,
    actor: Any,
    fmt: str = "xlsx",
    filters: Mapping[str, Any] | None = None,
    reveal: bool = False,
    reason: str = "",
) -> tuple[bytes, ExportResult]:
    """The export as bytes (for a download response)."""
    buffer = io.BytesIO()
    result = export_write(
        buffer, kind=kind, actor=actor, fmt=fmt, filters=filters, reveal=reveal, reason=reason
    )
    return buffer.getvalue(), result


CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def header_row(kind: str) -> Sequence[str]:
    return [c.header for c in COLUMNS[_kind(kind)]]


__all__ = [
    "COLUMNS",
    "CONTENT_TYPES",
    "ExportResult",
    "export_bytes",
    "export_filename",
    "export_queryset",
    "export_write",
    "header_row",
]
