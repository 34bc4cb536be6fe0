"""Import of the spreadsheets community workers already keep: residents, houses, rentals and
vehicles, from XLSX or CSV (UTF-8 with or without BOM, or GB18030/GBK from Chinese Excel).

The steps, the same for the import wizard, the command line and the API:

1. ``parse(file)`` reads the header row and proposes a field for every column it recognises
   (``姓名``, ``身份证号``, ``联系电话``, ``院落``, ``门牌号``... and English headers): a
   :class:`ParsedFile`. The person corrects the proposal: a *mapping* ``{column key: field}``.
2. ``dry_run(file, mapping=..., kind=..., actor=...)`` checks every row and matches it with the
   registry without writing anything: an :class:`ImportReport` naming every bad row, its column
   and the reason (never the ID number or phone itself), and what an import would create,
   update or leave unchanged.
3. ``apply(...)`` does the same and, when no row is bad, writes everything in one transaction.
   A file with one bad row imports nothing. Importing the same file again updates instead of
   duplicating: residents are keyed by their ID number's blind index (or, without one, by
   name in their dwelling), houses by the house, rentals by place + landlord + start date,
   vehicles by plate. An empty cell leaves the stored value as it is.

Places are named the way community workers write them (``3号院``, ``红旗巷12号``,
``12号院 红旗巷12号 201室``) and found in the Place tree among the places the actor can see; a
row for a place where the actor may not import is a bad row.

This module is the import's write service: it validates with the registry services' own rules
(``services._clean_name``, ``_identity``... and ``protect_id_number``/``protect_phone``), writes
in bulk (``bulk_create``/``bulk_update``, so 100,000 rows take seconds, not minutes), records
the move-in history of every new resident and one audit event per import (``registry.imported``,
counts and field names only) in the same transaction. The page's progress comes from an
:class:`~sanan.registry.models_io.ImportJob` row (``import_job_create`` /
``import_job_start``), the command line's from the ``progress`` callback.
"""

from __future__ import annotations

import base64
import bisect
import codecs
import contextlib
import csv
import datetime as dt
import functools
import gc
import io
import logging
import os
import re
import threading
import time
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeAlias, TypeVar

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Model
from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import _minimal, permissions_for
from sanan.audit.services import audit_record
from sanan.core import clock, crypto
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.core.validators import (
    IdNumber,
    Plate,
    validate_id_number,
    validate_phone,
    validate_plate,
)
from sanan.places.models import Place, PlaceKind
from sanan.registry import services
from sanan.registry.models import (
    CareTag,
    Household,
    HouseProfile,
    HouseUse,
    Relation,
    Rental,
    RentalState,
    ResidenceEvent,
    ResidenceEventKind,
    ResidenceType,
    Resident,
    ResidentNameGram,
    ResidentStatus,
    ResidentTag,
    StandardCareTag,
    Vehicle,
    VehicleKind,
    name_grams,
)
from sanan.registry.models_io import (
    IMPORT_FILE_PURPOSE,
    ImportJob,
    ImportKind,
    ImportPhase,
    ImportState,
)

log = logging.getLogger(__name__)

IMPORT = "resident.import"
EDIT = "resident.edit"
VIEW = "resident.view"

MAX_FILE_BYTES = 50 * 1024 * 1024
HEADER_SEARCH_ROWS = 10
CHUNK = 500  # values per IN (...) query
# On PostgreSQL, the residents' matching reads this many at once: 200 round trips of 500 blind
# indexes took 4 s of a 100,000-row import on a million residents; the server sorts each list
# and walks its index in that order.
PG_MATCH_CHUNK = 10_000
INSERT_BATCH = 1000  # rows per INSERT statement

Source: TypeAlias = Any  # a path (str or PathLike), bytes, or a binary file object (an upload)
Progress: TypeAlias = Callable[[int, int, str], object]
"""``progress(done, total, phase)``: rows done of ``total`` (0 when unknown) in a phase
(``reading``, ``matching``, ``writing``, ``finished``)."""

T = TypeVar("T")


# --- fields and the headers that name them ---------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """A field a column can be mapped to. ``header`` is the Chinese header Sanan's exports
    write; ``aliases`` are the other headers recognised (Chinese and English)."""

    name: str
    label: str | Promise
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


def _spec(
    name: str, label: str | Promise, header: str, aliases: str, *, required: bool = False
) -> FieldSpec:
    """``aliases``: the other headers, separated by ``|``."""
    return FieldSpec(name, label, header, tuple(aliases.split("|")), required)


_COURTYARD = _spec(
    "courtyard", _("courtyard"), "院落", "院落名称|所属院落|院子|院|小区院落|院落名|courtyard|yard"
)
_HOUSE = _spec(
    "house",
    _("house number"),
    "门牌号",
    "门牌|门牌号码|房屋|房屋门牌|房屋门牌号|楼栋|楼栋号|栋号|house|house number|house no|building",
)
_UNIT = _spec(
    "unit", _("room (unit)"), "房号", "房间号|房间|室号|户室号|单元房号|unit|room|flat|apartment"
)
_ADDRESS = _spec(
    "address",
    _("address (courtyard, house and room in one cell)"),
    "地址",
    "住址|现住址|居住地址|详细地址|家庭住址|房屋地址|address",
)
_NOTE = _spec("note", _("note"), "备注", "说明|note|notes|remark|remarks")

FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    ImportKind.RESIDENTS: (
        _spec("name", _("name"), "姓名", "名字|居民姓名|人员姓名|name|full name", required=True),
        _spec("gender", _("gender"), "性别", "gender|sex"),
        _spec(
            "id_number",
            _("ID number"),
            "身份证号",
            "身份证号码|公民身份号码|身份证|证件号码|身份号码|id number|id no|id card|citizen id",
        ),
        _spec(
            "birth_date",
            _("date of birth"),
            "出生日期",
            "出生年月|出生年月日|生日|date of birth|birth date|birthday|dob",
        ),
        _spec(
            "phone",
            _("phone"),
            "联系电话",
            "手机号|手机号码|电话|手机|电话号码|联系方式|phone|mobile|telephone|tel",
        ),
        _spec(
            "phone2",
            _("second phone"),
            "备用电话",
            "其他电话|固定电话|座机|联系电话2|电话2|second phone|phone 2|landline",
        ),
        _COURTYARD,
        _HOUSE,
        _UNIT,
        _ADDRESS,
        _spec("household_code", _("household code"), "户号", "户编号|家庭编号|household"),
        _spec(
            "relation_to_head",
            _("relation to the head"),
            "与户主关系",
            "户主关系|关系|relation|relation to head|relationship",
        ),
        _spec(
            "residence_type",
            _("residence type"),
            "人员类型",
            "居住类型|人口类型|户籍类型|居住性质|residence type",
        ),
        _spec(
            "work_or_school",
            _("work or school"),
            "工作单位/学校",
            "工作单位|学校|工作单位或学校|就读学校|单位|work or school|employer|school|work",
        ),
        _spec(
            "moved_in_on",
            _("moved in on"),
            "入住日期",
            "入住时间|迁入日期|迁入时间|moved in|moved in on|move-in date",
        ),
        _spec(
            "registration_expires_on",
            _("residence registration expires on"),
            "居住登记到期日期",
            "居住证到期日期|登记到期日期|居住登记到期|到期日期|registration expires|expires on",
        ),
        _spec("tags", _("care tags"), "关爱标签", "标签|特殊人群|人群类别|care tags|tags"),
    ),
    ImportKind.HOUSES: (
        _COURTYARD,
        FieldSpec("house", _HOUSE.label, _HOUSE.header, _HOUSE.aliases, required=True),
        _ADDRESS,
        _spec("owner_name", _("owner"), "房主", "房主姓名|产权人|房屋所有人|业主|owner"),
        _spec(
            "owner_id_number",
            _("owner's ID number"),
            "房主身份证号",
            "产权人身份证号|房主身份证号码|业主身份证号|owner id number",
        ),
        _spec("floors", _("floors"), "层数", "楼层数|总层数|楼层|floors"),
        _spec("use", _("use"), "用途", "房屋用途|使用性质|房屋性质|use"),
        _spec(
            "self_built",
            _("self-built"),
            "是否自建房",
            "自建房|自建|是否自建|self-built|self built",
        ),
        _NOTE,
    ),
    ImportKind.RENTALS: (
        _COURTYARD,
        _HOUSE,
        _UNIT,
        _ADDRESS,
        _spec("landlord_name", _("landlord"), "房东", "房东姓名|出租人|出租人姓名|landlord"),
        _spec(
            "landlord_id_number",
            _("landlord's ID number"),
            "房东身份证号",
            "出租人身份证号|房东身份证号码|landlord id number",
        ),
        _spec("tenants", _("tenants"), "租客", "租客姓名|承租人|承租人姓名|租户|tenants|tenant"),
        _spec(
            "tenant_id_numbers",
            _("tenants' ID numbers"),
            "租客身份证号",
            "承租人身份证号|租客身份证号码|租户身份证号|tenant id numbers",
        ),
        _spec(
            "starts_on",
            _("from"),
            "起租日期",
            "租赁开始日期|开始日期|起租时间|入住日期|starts on|start|from",
        ),
        _spec(
            "ends_on",
            _("until"),
            "到期日期",
            "租赁到期日期|租赁结束日期|结束日期|到期时间|ends on|end|until",
        ),
        _spec(
            "registration_state",
            _("registration"),
            "登记状态",
            "是否登记|备案状态|是否备案|registration|registration state",
        ),
        _spec(
            "last_inspected_on",
            _("last inspected on"),
            "最近检查日期",
            "检查日期|上次检查日期|最近检查|last inspected|last inspected on",
        ),
        _NOTE,
    ),
    ImportKind.VEHICLES: (
        _spec(
            "plate",
            _("plate"),
            "车牌号",
            "车牌|车牌号码|号牌号码|plate|licence plate|license plate",
            required=True,
        ),
        _spec("kind", _("kind"), "车辆类型", "车型|车辆种类|vehicle kind|kind"),
        _spec("owner_name", _("owner"), "车主", "车主姓名|owner"),
        _spec(
            "owner_id_number",
            _("owner's ID number"),
            "车主身份证号",
            "车主身份证号码|owner id number",
        ),
        _COURTYARD,
        _HOUSE,
        _UNIT,
        _spec(
            "address",
            _("where it parks"),
            "停放位置",
            "停车位置|停放地点|地址|where it parks|parking|address",
        ),
        _spec(
            "description",
            _("make and colour"),
            "品牌颜色",
            "品牌|车辆品牌|颜色|车辆描述|品牌型号|make|colour|description",
        ),
    ),
}

# Recognised, deliberately not imported: the row number and export-only columns.
_IGNORED_HEADERS = (
    "序号",
    "no",
    "no.",
    "#",
    "年龄",
    "age",
    "状态",
    "新能源",
    "房东电话",
    "车主电话",
)


def field_choices(kind: str) -> list[tuple[str, str]]:
    """``[(field name, label)]`` for the mapping step's drop-downs."""
    return [(f.name, str(f.label)) for f in _fields(kind)]


def _fields(kind: str) -> tuple[FieldSpec, ...]:
    try:
        return FIELDS[kind]
    except KeyError:
        raise DomainError(
            "import.kind_unknown",
            _("Choose what the file holds: residents, houses, rentals or vehicles."),
            fields={"kind": [_("Choose residents, houses, rentals or vehicles.")]},
        ) from None


def _header_key(text: str) -> str:
    """``"* 身份证号码（必填）"`` → ``"身份证号码"``; English in lower case."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[(（\[【][^)）\]】]*[)）\]】]", "", text)  # (必填), [选填], (手机)
    text = re.sub(r"[\s*:：_]+", " ", text).strip()
    return text.replace(" ", "") if re.search(r"[\u4e00-\u9fff]", text) else text


_ALIASES: dict[str, dict[str, str]] = {
    kind: {
        _header_key(alias): spec.name
        for spec in specs
        for alias in (spec.header, spec.name, *spec.aliases)
    }
    for kind, specs in FIELDS.items()
}
_IGNORED = {_header_key(h) for h in _IGNORED_HEADERS}


def _recognise(header: str, kind: str) -> tuple[str, bool]:
    """The field a header names (``""`` for none) and whether the match was exact."""
    key = _header_key(header)
    if not key:
        return "", False
    aliases = _ALIASES[kind]
    if key in aliases:
        return aliases[key], True
    contained = [a for a in aliases if len(a) >= 2 and a in key and re.search(r"[^\x00-\x7f]", a)]
    if contained:
        return aliases[max(contained, key=len)], False
    return "", False


def _known_header(header: str) -> bool:
    key = _header_key(header)
    return bool(key) and (key in _IGNORED or any(key in a for a in _ALIASES.values()))


# --- reading files ---------------------------------------------------------------------------


def _letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


# Control characters (NUL among them) that other systems leave in cells: invisible, never part
# of a name or a number, and a NUL cannot be stored in PostgreSQL text at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # most cells have no control character: no regex for them
        return (value if value.isprintable() else _CONTROL.sub("", value)).strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _looks_personal(text: str) -> bool:
    """Seven digits or more: (part of) an ID or phone number, never echoed."""
    return sum(ch.isdigit() for ch in unicodedata.normalize("NFKC", text)) >= 7


def _safe(text: str, limit: int = 20) -> str:
    """A value fit to quote back in a message: short and not a personal number."""
    text = " ".join(text.split())
    if not text or _looks_personal(text):
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mask_sample(text: str) -> str:
    text = " ".join(text.split())
    if _looks_personal(text):
        compact = re.sub(r"\s", "", text)
        return f"{compact[:3]}{'*' * max(len(compact) - 7, 4)}{compact[-4:]}"
    return text if len(text) <= 30 else text[:29] + "…"


@dataclass
class _Table:
    format: str
    encoding: str
    sheet: str
    header_row: int  # 1-based; 0 when the file has no header row
    headers: list[str]  # as displayed (or the column letter)
    keys: list[str]  # unique per column, used by mappings
    rows: Iterator[tuple[int, tuple[Any, ...]]]
    total: int  # data rows (an estimate for workbooks), 0 when unknown
    close: Callable[[], None] = lambda: None


def _read_source(source: Source) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), ""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise _too_large()
        with open(path, "rb") as fh:
            return fh.read(), os.path.basename(path)
    if hasattr(source, "seek"):
        source.seek(0)
    data = source.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large()
    return data, os.path.basename(str(getattr(source, "name", "") or ""))


def _too_large() -> DomainError:
    return DomainError(
        "import.file_too_large",
        _("The file is larger than 50 MB: split it into several files."),
        fields={"file": [_("At most 50 MB.")]},
    )


def _decode(data: bytes) -> tuple[str, str]:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (a superset of GBK,
    what Chinese Excel writes for "CSV")."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("gbk", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise DomainError(
        "import.encoding_unknown",
        _(
            "The file's text encoding is not UTF-8 or GBK: save it again from Excel as "
            "“CSV UTF-8” or as an Excel workbook (.xlsx)."
        ),
        fields={"file": [_("Save as CSV UTF-8 or .xlsx.")]},
    )


def _csv_rows(text: str) -> tuple[Iterator[tuple[Any, ...]], int]:
    first = text[: text.find("\n")] if "\n" in text else text
    delimiter = max((",", "\t", ";"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return (tuple(r) for r in reader), text.count("\n") + (0 if text.endswith("\n") else 1)


def _xlsx_rows(data: bytes) -> tuple[Iterator[tuple[Any, ...]], int, str, Callable[[], None]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (
        InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError
    ) as exc:  # fmt: skip
        raise DomainError(
            "import.unreadable",
            _("This workbook cannot be read: open it in Excel or WPS and save it again."),
            fields={"file": [_("Save the file again as .xlsx.")]},
        ) from exc
    sheets = [ws for ws in book.worksheets if hasattr(ws, "iter_rows")]
    sheet = book.active if book.active in sheets else (sheets[0] if sheets else None)
    if sheet is None:
        book.close()
        raise _empty()
    total = int(getattr(sheet, "max_row", 0) or 0)
    sheet.reset_dimensions()  # a wrong <dimension> would cut the rows short
    return sheet.iter_rows(values_only=True), total, str(sheet.title), book.close


def _empty() -> DomainError:
    return DomainError(
        "import.empty",
        _("The file has no rows to import."),
        fields={"file": [_("The file is empty.")]},
    )


def _open(data: bytes) -> _Table:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DomainError(
            "import.old_excel",
            _("This is an old Excel 97–2003 file (.xls): save it as .xlsx or CSV and try again."),
            fields={"file": [_("Save as .xlsx.")]},
        )
    close: Callable[[], None] = lambda: None  # noqa: E731
    if data.startswith(b"PK\x03\x04"):
        raw, total, sheet, close = _xlsx_rows(data)
        fmt, encoding = "xlsx", ""
    else:
        text, encoding = _decode(data)
        raw, total = _csv_rows(text)
        fmt, sheet = "csv", ""
    numbered = ((n, row) for n, row in enumerate(raw, start=1))
    head = [(n, row) for n, row in islice(numbered, HEADER_SEARCH_ROWS)]
    nonempty = [(n, row) for n, row in head if any(_cell_text(v) for v in row)]
    if not nonempty:
        close()
        raise _empty()
    # The header row is the one naming most known fields (a title row may sit above it).
    scored = [(sum(_known_header(_cell_text(v)) for v in row), n, row) for n, row in nonempty]
    best = max(scored, key=lambda s: (s[0], -s[1]))
    if best[0] == 0:
        header_row, header_cells = 0, ()
        width = max(len(row) for _n, row in nonempty)
    else:
        header_row, header_cells = best[1], best[2]
        width = len(header_cells)
        while width and not _cell_text(header_cells[width - 1]):
            width -= 1
    headers: list[str] = []
    keys: list[str] = []
    for i in range(width):
        text = " ".join(_cell_text(header_cells[i]).split()) if i < len(header_cells) else ""
        if not text or _looks_personal(text) or len(text) > 60:
            text = ""
        key = text or _letter(i)
        while key in keys:
            key = f"{key} ({_letter(i)})"
        headers.append(text or _letter(i))
        keys.append(key)
    rest = ((n, row) for n, row in head if n > header_row)
    data_rows = (
        (n, row)
        for n, row in _chain(rest, numbered)
        if any(_cell_text(v) for v in row[:width] if v is not None)
    )
    return _Table(
        format=fmt,
        encoding=encoding,
        sheet=sheet,
        header_row=header_row,
        headers=headers,
        keys=keys,
        rows=data_rows,
        total=max(total - header_row, 0),
        close=close,
    )


def _chain(*its: Iterable[T]) -> Iterator[T]:
    for it in its:
        yield from it


# --- step 1: parse ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectedColumn:
    key: str  # what a mapping names the column by: its header, or its letter
    header: str
    letter: str
    field: str  # the proposed field, "" when the header is not recognised
    samples: tuple[str, ...]  # first values, personal numbers masked


@dataclass(frozen=True)
class ParsedFile:
    kind: str  # as given, or guessed from the headers
    format: str  # "xlsx" or "csv"
    encoding: str  # CSV only: "utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"
    sheet: str
    header_row: int
    rows: int  # data rows (estimated for large workbooks)
    columns: tuple[DetectedColumn, ...]
    missing: tuple[str, ...]  # required fields no column is mapped to

    @property
    def mapping(self) -> dict[str, str]:
        """The proposal, ``{column key: field}``, to show and let the person correct."""
        return {c.key: c.field for c in self.columns if c.field}


def _propose(headers: Sequence[str], keys: Sequence[str], kind: str) -> dict[str, str]:
    exact: dict[str, str] = {}
    loose: dict[str, str] = {}
    for header, key in zip(headers, keys, strict=True):
        name, is_exact = _recognise(header, kind)
        if name:
            (exact if is_exact else loose)[key] = name
    taken: set[str] = set()
    proposal: dict[str, str] = {}
    for source in (exact, loose):
        for key, name in source.items():
            if name == "phone" and "phone" in taken and kind == ImportKind.RESIDENTS:
                name = "phone2"  # a second "电话" column is the second phone
            if name not in taken:
                proposal[key] = name
                taken.add(name)
    return {k: proposal[k] for k in keys if k in proposal}


def _guess_kind(headers: Sequence[str], keys: Sequence[str]) -> str:
    def score(kind: str) -> tuple[int, int]:
        mapped = set(_propose(headers, keys, kind).values())
        required = [f.name for f in FIELDS[kind] if f.required]
        signals: dict[str, set[str]] = {
            ImportKind.VEHICLES: {"plate"},
            ImportKind.RENTALS: {"landlord_name", "tenants", "landlord_id_number"},
            ImportKind.RESIDENTS: {"name", "id_number"},
            ImportKind.HOUSES: {"floors", "self_built", "use", "owner_name"},
        }
        specific = signals[kind]
        return (
            3 * len(mapped & specific) + 2 * all(r in mapped for r in required) + len(mapped),
            -list(FIELDS).index(kind),
        )

    return max(FIELDS, key=score)


def parse(source: Source, *, kind: str | None = None) -> ParsedFile:
    """Read the header row and the first rows of a file; propose a field for each column.

    ``source``: a path, bytes, or a file object (a Django upload). ``kind``: residents,
    houses, rentals or vehicles; guessed from the headers when not given."""
    data, _name = _read_source(source)
    table = _open(data)
    try:
        if kind is not None:
            _fields(kind)
        kind = kind or _guess_kind(table.headers, table.keys)
        proposal = _propose(table.headers, table.keys, kind)
        samples: list[list[str]] = [[] for _ in table.keys]
        for _n, row in islice(table.rows, 50):
            for i in range(len(table.keys)):
                text = _cell_text(row[i]) if i < len(row) else ""
                if text and len(samples[i]) < 3:
                    samples[i].append(_mask_sample(text))
            if all(len(s) >= 3 for s in samples):
                break
    finally:
        table.close()
    columns = tuple(
        DetectedColumn(
            key=key,
            header=header,
            letter=_letter(i),
            field=proposal.get(key, ""),
            samples=tuple(samples[i]),
        )
        for i, (header, key) in enumerate(zip(table.headers, table.keys, strict=True))
    )
    return ParsedFile(
        kind=kind,
        format=table.format,
        encoding=table.encoding,
        sheet=table.sheet,
        header_row=table.header_row,
        rows=table.total,
        columns=columns,
        missing=tuple(_missing(kind, set(proposal.values()))),
    )


def _missing(kind: str, mapped: set[str]) -> list[str]:
    missing = [f.name for f in FIELDS[kind] if f.required and f.name not in mapped]
    place_fields = {"courtyard", "house", "unit", "address"}
    if kind in (ImportKind.RESIDENTS, ImportKind.RENTALS) and not (mapped & place_fields):
        missing.append("house")
    if kind == ImportKind.HOUSES and "house" in missing and "address" in mapped:
        missing.remove("house")
    return missing


def parse_mapping(text: str, *, kind: str = "") -> dict[str, str]:
    """``"姓名=name,C=id_number"`` (the command line's ``--map``) as a mapping. A column is
    named by its header or letter; ``col=`` or ``col=-`` leaves a column out."""
    mapping: dict[str, str] = {}
    for part in re.split(r"[,，;；]\s*", text.strip()):
        if not part.strip():
            continue
        column, sep, name = part.partition("=")
        if not sep:
            raise DomainError(
                "import.mapping_syntax",
                _("Write the column mapping as column=field, separated by commas."),
                fields={"mapping": [_("Use column=field, column=field...")]},
            )
        mapping[column.strip()] = "" if name.strip() in ("", "-") else name.strip()
    return mapping


# --- reports ---------------------------------------------------------------------------------


def _interpolate(message: str | Promise, params: Mapping[str, Any]) -> str:
    return str(message) % {k: str(v) if isinstance(v, Promise) else v for k, v in params.items()}


_format = lazy(_interpolate, str)
"""``_format(_("Row %(row)d ..."), {"row": 2})``: ``message % params`` rendered each time it is
shown, in the language active then (``gettext_lazy(...) % params`` renders at once)."""


@dataclass(frozen=True)
class RowProblem:
    """A bad row: spreadsheet row number, the column (header as in the file), the field, a
    stable code and a reason a person understands. Never holds the value itself.

    ``reason`` stays lazy: ``message`` renders it in the active language; a job keeps it in
    every language of the site (``import_job_problems`` shows the page's)."""

    row: int
    column: str
    field: str
    code: str
    reason: str | Promise

    @property
    def message(self) -> str:
        return str(self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


def _problems_stored(problems: Sequence[RowProblem]) -> list[dict[str, Any]]:
    """Problems as a job keeps them: the reason in each of ``settings.LANGUAGES``
    (``messages``), so the report reads in the language of whoever opens it later."""
    messages: list[dict[str, str]] = [{} for _p in problems]
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for texts, problem in zip(messages, problems, strict=True):
                texts[language] = problem.message
    return [
        {"row": p.row, "column": p.column, "field": p.field, "code": p.code, "messages": texts}
        for p, texts in zip(problems, messages, strict=True)
    ]


def _problem_message(problem: Mapping[str, Any], languages: Sequence[str]) -> str:
    messages = problem.get("messages") or {}
    for language in languages:
        if language and messages.get(language):
            return str(messages[language])
    # Jobs checked before their problems kept every language: the one message they have.
    return str(problem.get("message") or next(iter(messages.values()), ""))


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: int = 0  # data rows read
    problems: list[RowProblem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # created / updated / unchanged...
    written: bool = False  # the import was applied (committed)
    job_id: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems})

    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- values ----------------------------------------------------------------------------------


def _choices(table: Mapping[str, Sequence[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, words in table.items():
        for word in (value, *words):
            out[_header_key(word)] = value
    return out


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


GENDER_WORDS = {"male": _words("男|男性|m|男士"), "female": _words("女|女性|f|女士")}
RELATION_WORDS: dict[str, tuple[str, ...]] = {
    Relation.HEAD: _words("户主|本人|户主本人|head|self|head of household"),
    Relation.SPOUSE: _words("配偶|妻|妻子|夫|丈夫|老伴|spouse|wife|husband"),
    Relation.CHILD: _words(
        "子女|子|女|儿子|女儿|长子|次子|三子|长女|次女|三女|养子|养女|继子|继女|child|son|daughter"
    ),
    Relation.CHILD_IN_LAW: _words("儿媳/女婿|儿媳|女婿|媳妇|son-in-law|daughter-in-law"),
    Relation.GRANDCHILD: _words(
        "孙子女|孙子|孙女|外孙|外孙女|外孙子女|孙|grandchild|grandson|granddaughter"
    ),
    Relation.PARENT: _words("父母|父亲|母亲|父|母|parent|father|mother"),
    Relation.PARENT_IN_LAW: _words("公婆/岳父母|公婆|岳父母|公公|婆婆|岳父|岳母|parent-in-law"),
    Relation.GRANDPARENT: _words(
        "祖父母|祖父|祖母|外祖父|外祖母|爷爷|奶奶|外公|外婆|grandparent|grandfather|grandmother"
    ),
    Relation.SIBLING: _words(
        "兄弟姐妹|兄弟|姐妹|兄|弟|姐|妹|哥哥|弟弟|姐姐|妹妹|sibling|brother|sister"
    ),
    Relation.OTHER_RELATIVE: _words(
        "其他亲属|亲属|侄子|侄女|外甥|外甥女|叔叔|伯父|舅舅|姑姑|阿姨|other relative|relative"
    ),
    Relation.OTHER: _words(
        "非亲属|其他|租客|租户|保姆|同住|借住|朋友|lodger|tenant|not related|other"
    ),
}
RESIDENCE_WORDS: dict[str, tuple[str, ...]] = {
    ResidenceType.REGISTERED: _words(
        "户籍|户籍人口|户籍人员|常住|常住人口|本地|本地户籍|registered|hukou"
    ),
    ResidenceType.MIGRANT: _words("流动|流动人口|流动人员|外来|外来人口|暂住|migrant"),
    ResidenceType.RENTER: _words("租住|租住人员|租户|租房|租客|承租|renter"),
}
USE_WORDS: dict[str, tuple[str, ...]] = {
    HouseUse.RESIDENTIAL: _words("自住|住宅|居住|住房|residential"),
    HouseUse.RENTED: _words("出租|出租房|rented|rented out"),
    HouseUse.COMMERCIAL: _words("商用|商铺|门面|经营|商业|门市|commercial|shop"),
    HouseUse.MIXED: _words("商住|商住两用|混合|mixed"),
    HouseUse.VACANT: _words("空置|闲置|空房|vacant|empty"),
    HouseUse.OTHER: _words("其他|other"),
}
RENTAL_STATE_WORDS: dict[str, tuple[str, ...]] = {
    RentalState.REGISTERED: _words("已登记|登记|已备案|备案|是|registered"),
    RentalState.UNREGISTERED: _words("未登记|未备案|否|unregistered|not registered"),
    RentalState.ENDED: _words("已结束|结束|已退租|退租|终止|ended"),
}
VEHICLE_WORDS: dict[str, tuple[str, ...]] = {
    VehicleKind.CAR: _words("小汽车|汽车|轿车|小轿车|小型汽车|小型车|私家车|越野车|suv|car"),
    VehicleKind.VAN_TRUCK: _words(
        "货车/面包车|货车|面包车|客车|卡车|皮卡|厢式货车|大型车|van|truck|van or truck"
    ),
    VehicleKind.MOTORCYCLE: _words("摩托车|电动摩托车|摩托|motorcycle"),
    VehicleKind.OTHER: _words("其他|三轮车|电动车|other"),
}
BOOL_WORDS = {
    "yes": _words("是|有|y|yes|true|1|√|✓|对"),
    "no": _words("否|无|n|no|false|0|×|不是"),
}
TAG_WORDS: dict[str, tuple[str, ...]] = {
    StandardCareTag.ELDERLY_ALONE: _words("独居老人|空巢独居老人|独居|空巢老人"),
    StandardCareTag.LEFT_BEHIND_CHILD: _words("留守儿童"),
    StandardCareTag.MIGRANT_CHILD: _words("流动儿童|随迁子女"),
    StandardCareTag.DISABILITY: _words("残疾|残疾人|残障"),
    StandardCareTag.LOW_INCOME: _words("低保|低保户|低保对象"),
    StandardCareTag.VETERAN: _words("退役军人|复员军人|军人"),
    StandardCareTag.SERIOUS_ILLNESS: _words("大病|重病|重大疾病|大病患者"),
}
_GENDER = _choices(GENDER_WORDS)
_RELATION = _choices(RELATION_WORDS)
_RESIDENCE = _choices(RESIDENCE_WORDS)
_USE = _choices(USE_WORDS)
_RENTAL_STATE = _choices(RENTAL_STATE_WORDS)
_VEHICLE = _choices(VEHICLE_WORDS)
_BOOL = _choices(BOOL_WORDS)

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_LIST_SPLIT = re.compile(r"[、,，;；/\s]+")


class _Bad(Exception):
    """One cell's problem (raised and caught while checking a row)."""

    def __init__(self, code: str, message: str | Promise, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field


def _parse_date(text: str, raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    value = unicodedata.normalize("NFKC", text).strip()
    match = _DATE.match(value) or _DATE_COMPACT.match(value)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise _Bad(
        "import.date_invalid",
        _("This is not a date: write it as 2024-03-15 or 2024年3月15日."),
    )


# --- places ----------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Node:
    id: int
    path: str
    kind: str
    name: str
    code: str


_SPACES = re.compile(r"\s+")
_TAIL = re.compile(r"(\d+)$")


# Place names repeat (a district has thousands of ``201室`` and ``3号``): each distinct name is
# normalised once per process.
@functools.lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).lower()


_SUFFIXES: dict[str, tuple[str, ...]] = {
    PlaceKind.COURTYARD: ("院落", "院", "号"),
    PlaceKind.HOUSE: ("号楼", "号", "栋", "幢", "楼"),
    PlaceKind.UNIT: ("室", "房", "号", "户"),
}


@functools.lru_cache(maxsize=65536)
def _core(text: str, kind: str) -> str:
    key = _norm(text)
    for suffix in _SUFFIXES[kind]:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    return key


@functools.lru_cache(maxsize=65536)
def _tail_number(core: str) -> str:
    match = _TAIL.search(core)
    return match[1] if match else ""


_Entry: TypeAlias = tuple[_Node, tuple[str, ...]]  # a place and the names it is known by


@functools.lru_cache(maxsize=65536)
def _name_keys(names: tuple[str, ...], kind: str) -> tuple[frozenset[str], ...]:
    """The keys a place is found by: exact names, names without suffix, trailing numbers."""
    exact, cores, tails = set(), set(), set()
    for name in names:
        if name:
            exact.add(_norm(name))
            core = _core(name, kind)
            cores.add(core)
            if kind != PlaceKind.COURTYARD:
                tails.add(_tail_number(core))
    return frozenset(exact), frozenset(cores), frozenset(tails - {""})


class _Names:
    """Places of one kind found by name: the exact name first, then the name without its
    suffix (``3号院`` = ``3号`` = ``3``), then (houses, units) the trailing number.

    A district has tens of thousands of rooms called ``201室``: places are kept by their
    parent, so a house's rooms are found among its own ten or so, never by a scan of the
    district; a search everywhere (``within=""``) uses an index built when first needed."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._at: dict[str, _Entry] = {}  # by path
        self._children: dict[str, list[_Entry]] = {}  # by parent path
        self._parents: list[str] | None = None  # sorted, when first needed
        self._everywhere: tuple[dict[str, list[_Node]], ...] | None = None

    def add(self, node: _Node, *names: str) -> None:
        self.extend([(node, names)])

    def extend(self, entries: Iterable[_Entry]) -> None:
        at, children, cut = self._at, self._children, -Place.steplen
        for entry in entries:
            path = entry[0].path
            at[path] = entry
            group = children.get(path[:cut])
            if group is None:
                children[path[:cut]] = [entry]
            else:
                group.append(entry)
        self._parents, self._everywhere = None, None

    def node_at(self, path: str) -> _Node | None:
        entry = self._at.get(path)
        return entry[0] if entry is not None else None

    def has_children(self, path: str) -> bool:
        return path in self._children

    def _index(self) -> tuple[dict[str, list[_Node]], ...]:
        if self._everywhere is None:
            levels: tuple[dict[str, list[_Node]], ...] = ({}, {}, {})
            for node, names in sorted(self._at.values(), key=lambda e: e[0].path):
                for level, keys in zip(levels, _name_keys(names, self.kind), strict=True):
                    for key in keys:
                        level.setdefault(key, []).append(node)
            self._everywhere = levels
        return self._everywhere

    def _entries_within(self, within: str) -> list[_Entry]:
        """The places whose path starts with ``within``: children of the parents in range."""
        if self._parents is None:
            self._parents = sorted(self._children)
        parents = self._parents
        out: list[_Entry] = []
        for i in range(bisect.bisect_left(parents, within), len(parents)):
            if not parents[i].startswith(within):
                break
            out.extend(self._children[parents[i]])
        if within in self._at:  # the place itself
            out.append(self._at[within])
        if len(out) > 1:
            out.sort(key=lambda e: e[0].path)
        return out

    def find(self, text: str, within: str = "") -> list[_Node]:
        """The places called ``text`` whose path starts with ``within``, in path order."""
        core = _core(text, self.kind)
        keys = (_norm(text), core, _tail_number(core) if self.kind != PlaceKind.COURTYARD else "")
        if not within:
            index = self._index()
            for level, key in enumerate(keys):
                found = index[level].get(key) if key else None
                if found:
                    return list(found)
            return []
        entries = self._entries_within(within)
        for level, key in enumerate(keys):
            if not key:
                continue
            found = [n for n, names in entries if key in _name_keys(names, self.kind)[level]]
            if found:
                return found
        return []


_LAST = "\U0010ffff"  # sorts after every character a path can hold


class _Rooms(_Names):
    """Units (rooms), of which a district holds hundreds of thousands: kept as rows sorted by
    path (a list of paths beside a list of rows), not as an entry per room filed under its
    house. A house's rooms are a range of that list, made into entries when a row of the file
    names one of them (among 3.2 million residents: 864,000 rooms read in 0.6 s instead of
    3.5 s, which each check and each import spent before its first row)."""

    def __init__(self) -> None:
        super().__init__(PlaceKind.UNIT)
        self._paths: list[str] = []
        self._rows: list[tuple[int, str, str, str]] = []  # id, path, name, code
        self._made: dict[int, _Entry] = {}  # by position in the rows
        self._filed = False  # every row also kept as the base class keeps its entries

    def load(self, rows: Iterable[tuple[int, str, str, str]]) -> None:
        """Rows read from the database, before any room is added one by one or searched
        for everywhere (which file every row the base class's way)."""
        if self._filed:
            raise RuntimeError("rooms are loaded before any is added or searched everywhere")
        added = list(rows)
        if not added:
            return
        ordered = self._rows + added
        ordered.sort(key=lambda r: r[1])
        self._rows, self._paths = ordered, [r[1] for r in ordered]
        self._made, self._filed = {}, False
        self._parents, self._everywhere = None, None

    def extend(self, entries: Iterable[_Entry]) -> None:
        self._file_all()
        super().extend(entries)

    def _entry(self, i: int) -> _Entry:
        entry = self._made.get(i)
        if entry is None:
            pk, path, name, code = self._rows[i]
            entry = self._made[i] = (_Node(pk, path, PlaceKind.UNIT, name, code), (name,))
        return entry

    def _span(self, prefix: str) -> range:
        paths = self._paths
        return range(bisect.bisect_left(paths, prefix), bisect.bisect_left(paths, prefix + _LAST))

    def _file_all(self) -> None:
        """Every row as the base class keeps entries (a search everywhere, or rooms added
        one by one): once, when first needed."""
        if not self._filed:
            self._filed = True
            super().extend(self._entry(i) for i in range(len(self._rows)))

    def node_at(self, path: str) -> _Node | None:
        if self._filed:
            return super().node_at(path)
        i = bisect.bisect_left(self._paths, path)
        if i < len(self._paths) and self._paths[i] == path:
            return self._entry(i)[0]
        return None

    def has_children(self, path: str) -> bool:
        if self._filed:
            return super().has_children(path)
        cut = len(path)
        return any(len(self._paths[i]) - cut == Place.steplen for i in self._span(path))

    def _entries_within(self, within: str) -> list[_Entry]:
        if self._filed:
            return super()._entries_within(within)
        # Rooms under ``within`` (its children's children too), and the place itself.
        return [self._entry(i) for i in self._span(within)]

    def find(self, text: str, within: str = "") -> list[_Node]:
        if not within:
            self._file_all()
        return super().find(text, within)


_AREA_WORD = re.compile(r"(小区|社区|街道|新村|花园|市|区|县|镇|乡)$")
_ADDRESS_SPLIT = re.compile(
    r"^(?P<court>.*?院落?)?(?P<house>.*?(?:号楼|号|栋|幢))?(?P<unit>.+)?$",
)


def split_address(text: str) -> tuple[str, str, str]:
    """``"12号院 红旗巷12号 201室"`` → ``("12号院", "红旗巷12号", "201室")``; parts missing
    from the text are ``""``. Names of the area above the courtyard (``红旗小区``) are skipped."""
    tokens = [t for t in re.split(r"[\s,，、;；/|]+", unicodedata.normalize("NFKC", text)) if t]
    tokens = [t for t in tokens if not _AREA_WORD.search(t)] or tokens
    court = house = unit = ""
    if len(tokens) == 1:
        match = _ADDRESS_SPLIT.match(tokens[0])
        if match:
            court, house, unit = (
                (match["court"] or ""),
                (match["house"] or ""),
                (match["unit"] or ""),
            )
            if unit and not house and not court:
                house, unit = unit, ""
        return court, house, unit
    for token in tokens:
        if re.search(r"院落?$", token) and not court:
            court = token
        elif house and (re.search(r"(室|房|户)$", token) or token.isdigit()):
            unit = token
        else:
            house = token
    return court, house, unit


class PlaceIndex:
    """The courtyards, houses and units the actor can see, found by the names people write.
    ``resolve`` answers a place, or raises ``_Bad`` with the reason (unknown, ambiguous, out
    of the actor's import scope, wrong level)."""

    def __init__(self, actor: Any) -> None:
        perms = permissions_for(actor)
        self.view_roots = perms.scope_paths("place.view")
        import_roots = perms.scope_paths(IMPORT)
        edit_roots = perms.scope_paths(EDIT)
        both = {
            longer
            for i in import_roots
            for e in edit_roots
            for longer in ((i,) if i.startswith(e) else (e,) if e.startswith(i) else ())
        }
        self.write_roots = _minimal(both)
        self.courtyards = _Names(PlaceKind.COURTYARD)
        self.houses = _Names(PlaceKind.HOUSE)
        self.units = _Rooms()
        roots = _minimal(set(self.view_roots) | set(self.write_roots))
        numbers = dict(
            HouseProfile.objects.exclude(house_number="").values_list("house_id", "house_number")
        )
        # A district holds hundreds of thousands of rooms: one pass, no more per place than a
        # node and its entry under its parent (the name keys are computed when asked).
        for kind, names in (
            (PlaceKind.COURTYARD, self.courtyards),
            (PlaceKind.HOUSE, self.houses),
            (PlaceKind.UNIT, self.units),
        ):
            for root in roots:
                qs = Place.objects.filter(kind=kind)
                if root:
                    qs = qs.filter(path__startswith=root)
                if kind == PlaceKind.UNIT:
                    self.units.load(qs.order_by("path").values_list("id", "path", "name", "code"))
                    continue
                for pk, path, name, code, address in qs.values_list(
                    "id", "path", "name", "code", "address"
                ):
                    node = _Node(pk, path, kind, name, code)
                    if kind == PlaceKind.HOUSE:
                        names.add(node, name, numbers.get(pk, ""), address)
                    else:
                        names.add(node, name, address)
        self._cache: dict[tuple[str, str, str, str], _Node | _Bad] = {}

    def node_at(self, path: str) -> _Node | None:
        """The courtyard, house or unit at ``path``, if the actor can see it."""
        for names in (self.units, self.houses, self.courtyards):
            node = names.node_at(path)
            if node is not None:
                return node
        return None

    def has_units(self, node: _Node) -> bool:
        return node.kind == PlaceKind.HOUSE and self.units.has_children(node.path)

    def writable(self, path: str) -> bool:
        return any(path.startswith(root) for root in self.write_roots)

    def courtyard_path(self, path: str) -> str:
        for depth in range(len(path) // Place.steplen, 0, -1):
            node = self.courtyards.node_at(path[: depth * Place.steplen])
            if node is not None:
                return node.path
        return path

    def resolve(self, court: str, house: str, unit: str, address: str, want: str) -> _Node:
        key = (court, house, unit, address + "|" + want)
        found = self._cache.get(key)
        if found is None:
            try:
                found = self._resolve(court, house, unit, address, want)
            except _Bad as bad:
                found = bad
            self._cache[key] = found
        if isinstance(found, _Bad):
            raise found
        return found

    def _resolve(self, court: str, house: str, unit: str, address: str, want: str) -> _Node:
        if address:
            a_court, a_house, a_unit = split_address(address)
            court, house, unit = court or a_court, house or a_house, unit or a_unit
        if not (court or house or unit):
            raise _Bad(
                "import.place_missing",
                _("Say where: the courtyard (院落), the house number (门牌号) and the room."),
                "house",
            )
        node: _Node | None = None
        courts: list[_Node] = []
        if court:
            courts = self.courtyards.find(court)
            if not courts:
                raise _Bad("import.courtyard_unknown", _unknown("courtyard", court), "courtyard")
        houses: list[_Node] = []
        if house:
            scopes = [c.path for c in courts] or [""]
            houses = [h for s in scopes for h in self.houses.find(house, s)]
            if not houses:
                raise _Bad("import.house_unknown", _unknown("house", house), "house")
            if len(houses) > 1:
                raise _Bad("import.house_ambiguous", _ambiguous("house", house), "house")
            node = houses[0]
        elif court:
            if len(courts) > 1:
                raise _Bad(
                    "import.courtyard_ambiguous", _ambiguous("courtyard", court), "courtyard"
                )
            node = courts[0]
        if unit:
            if node is None or node.kind != PlaceKind.HOUSE:
                raise _Bad(
                    "import.unit_without_house",
                    _("A room number needs its house: fill in the house number (门牌号)."),
                    "house",
                )
            units = self.units.find(unit, node.path)
            if not units:
                raise _Bad("import.unit_unknown", _unknown("unit", unit), "unit")
            if len(units) > 1:
                raise _Bad("import.unit_ambiguous", _ambiguous("unit", unit), "unit")
            node = units[0]
        assert node is not None
        self._check_level(node, want)
        if not self.writable(node.path):
            raise _Bad(
                "import.place_out_of_scope",
                _(
                    "This place is outside the area where you may import into the registry: "
                    "leave the row out, or ask the staff who look after it."
                ),
                "courtyard" if court else "house",
            )
        return node

    def _check_level(self, node: _Node, want: str) -> None:
        if want == "dwelling":
            if node.kind == PlaceKind.COURTYARD:
                raise _Bad(
                    "import.house_needed",
                    _(
                        "Give the house number (门牌号) where the person lives, "
                        "not only the courtyard."
                    ),
                    "house",
                )
            if self.has_units(node):
                raise _Bad(
                    "import.unit_needed",
                    _("This house is divided into rooms: give the room number (房号) too."),
                    "unit",
                )
        elif want == "house" and node.kind != PlaceKind.HOUSE:
            raise _Bad(
                "import.house_needed",
                _("House details belong to a house: give its house number (门牌号), no room."),
                "house",
            )
        elif want == "rental" and node.kind == PlaceKind.COURTYARD:
            raise _Bad(
                "import.house_needed",
                _("A rental is a house or a room of it: give the house number (门牌号)."),
                "house",
            )


def _unknown(level: str, name: str) -> str | Promise:
    shown = _safe(name)
    messages = {
        "courtyard": (
            _(
                "There is no courtyard called “%(name)s” among the places you can see: "
                "check the name."
            ),
            _("There is no such courtyard among the places you can see: check the name."),
        ),
        "house": (
            _(
                "There is no house “%(name)s” here among the places you can see: "
                "check the house number."
            ),
            _("There is no such house among the places you can see: check the house number."),
        ),
        "unit": (
            _("This house has no room “%(name)s”: check the room number."),
            _("This house has no such room: check the room number."),
        ),
    }
    named, plain = messages[level]
    return _format(named, {"name": shown}) if shown else plain


def _ambiguous(level: str, name: str) -> Promise:
    messages = {
        "courtyard": _("More than one courtyard has this name: write the house number too."),
        "house": _("More than one house has this number: write the courtyard (院落) too."),
        "unit": _("More than one room has this number in the house: write it as it is named."),
    }
    return messages[level]


# --- the check-and-match engine --------------------------------------------------------------


class _Ctx:
    """One run: the column of each field, the problems found, lookups shared by rows."""

    def __init__(self, *, actor: Any, kind: str, table: _Table, mapping: Mapping[str, str]) -> None:
        self.actor = actor
        self.kind = kind
        self.today = clock.today()
        self.problems: list[RowProblem] = []
        self.columns: dict[str, int] = {}
        self.headers: dict[str, str] = {}
        self.specs = specs = {f.name: f for f in _fields(kind)}
        index_of = {_letter(i): i for i in range(len(table.keys))}  # a column by its letter
        index_of.update({key: i for i, key in enumerate(table.keys)})  # or by its header
        for key, name in mapping.items():
            if not name:
                continue
            if key not in index_of:
                raise DomainError(
                    "import.mapping_column_unknown",
                    _("The mapping names a column the file does not have: %(column)s")
                    % {"column": _safe(key, 40)},
                    fields={"mapping": [_("Choose the columns from the file's header row.")]},
                )
            if name not in specs:
                raise DomainError(
                    "import.mapping_field_unknown",
                    _("“%(field)s” is not a field of this kind of import.") % {"field": name[:40]},
                    fields={"mapping": [_("Choose a field from the list.")]},
                )
            if name in self.columns:
                raise DomainError(
                    "import.mapping_field_twice",
                    _("Two columns are mapped to the same field (%(field)s): keep one.")
                    % {"field": str(specs[name].label)},
                    fields={"mapping": [_("Each field once.")]},
                )
            self.columns[name] = index_of[key]
            self.headers[name] = table.headers[index_of[key]]
        missing = _missing(kind, set(self.columns))
        if missing:
            labels = "、".join(str(specs[m].label) for m in missing if m in specs)
            raise DomainError(
                "import.column_missing",
                _("These fields need a column: %(fields)s.") % {"fields": labels},
                fields={"mapping": [_("Map a column to each required field.")]},
            )
        self.places = PlaceIndex(actor)
        perms = permissions_for(actor)
        self.view_roots = perms.scope_paths(VIEW)
        self._tags: dict[str, CareTag] | None = None
        self._row: tuple[Any, ...] | None = None
        self._texts: dict[str, str] = {}
        self._words: dict[tuple[int, str], str | None] = {}

    # cells
    def has(self, name: str) -> bool:
        return name in self.columns

    def raw(self, row: tuple[Any, ...], name: str) -> Any:
        i = self.columns.get(name)
        return row[i] if i is not None and i < len(row) else None

    def text(self, row: tuple[Any, ...], name: str) -> str:
        if row is not self._row:  # each cell of a row is read once
            self._row = row
            width = len(row)
            texts = self._texts = {}
            for n, i in self.columns.items():
                value = row[i] if i < width else None
                # Most cells (all of a CSV's) are printable text: _cell_text's first case, inline.
                if value.__class__ is str and value.isprintable():
                    texts[n] = value.strip()
                else:
                    texts[n] = _cell_text(value)
        return self._texts.get(name, "")

    # problems
    def column(self, name: str) -> str:
        """The column a problem is shown in: the mapped column's header; for a place, the
        address column when that is where the place came from; else the field's header."""
        if name in self.headers:
            return self.headers[name]
        if name in ("courtyard", "house", "unit"):
            for other in ("address", "house", "courtyard", "unit"):
                if other in self.headers:
                    return self.headers[other]
        spec = self.specs.get(name)
        return spec.header if spec is not None else ""

    def fail(self, row: int, name: str, code: str, message: str | Promise) -> None:
        self.problems.append(RowProblem(row, self.column(name), name, code, message))

    def fail_error(self, row: int, name: str, exc: DomainError) -> None:
        named = next((f for f in exc.fields if f in self.columns), None)
        self.fail(row, named or name, exc.code, exc.message)

    def visible(self, path: str) -> bool:
        return any(path.startswith(root) for root in self.view_roots)

    # values
    def choice(
        self, row: tuple[Any, ...], name: str, words: Mapping[str, str], message: Promise
    ) -> str | None:
        text = self.text(row, name)
        if not text:
            return None
        key = (id(words), text)
        if key not in self._words:
            self._words[key] = words.get(_header_key(text))
        value = self._words[key]
        if value is None:
            raise _Bad("import.choice_invalid", message, name)
        return value

    def date(self, row: tuple[Any, ...], name: str, *, past: bool = False) -> dt.date | None:
        text = self.text(row, name)
        if not text:
            return None
        try:
            day = _parse_date(text, self.raw(row, name))
        except _Bad as bad:
            bad.field = name
            raise
        if past and day > self.today:
            raise _Bad(
                "registry.date_in_future",
                _("This date is in the future: enter the day it happened."),
                name,
            )
        return day

    def id_number(self, row: tuple[Any, ...], name: str, *, optional_mask: bool) -> IdNumber | None:
        """A valid ID number, ``None`` when empty (or masked, for ``optional_mask`` fields)."""
        raw = self.raw(row, name)
        if isinstance(raw, float):
            raise _Bad(
                "import.id_number_as_number",
                _(
                    "Excel stored this ID number as a number and lost its last digits: format "
                    "the column as text and type the number again."
                ),
                name,
            )
        text = _cell_text(raw)
        if not text:
            return None
        if "*" in text:
            if optional_mask:
                return None
            raise _Bad(
                "import.id_number_masked",
                _(
                    "This ID number is masked (with *): import a file with the full numbers, "
                    "or leave the ID number column out."
                ),
                name,
            )
        try:
            return validate_id_number(text, field=name, today=self.today)
        except DomainError as exc:
            raise _Bad(exc.code, exc.message, name) from None

    def id_numbers(self, row: tuple[Any, ...], name: str) -> list[IdNumber] | None:
        text = self.text(row, name)
        if not text or "*" in text:
            return None
        out = []
        for part in _LIST_SPLIT.split(text):
            if part:
                try:
                    out.append(validate_id_number(part, field=name, today=self.today))
                except DomainError as exc:
                    raise _Bad(exc.code, exc.message, name) from None
        return out or None

    def place(self, row: tuple[Any, ...], want: str) -> _Node | None:
        court, house, unit, address = (
            self.text(row, "courtyard"),
            self.text(row, "house"),
            self.text(row, "unit"),
            self.text(row, "address"),
        )
        if not (court or house or unit or address):
            return None
        return self.places.resolve(court, house, unit, address, want)

    def tags(self, row: tuple[Any, ...]) -> list[CareTag] | None:
        text = self.text(row, "tags")
        if not text:
            return None
        if self._tags is None:
            from sanan.registry.selectors import care_tag_list

            self._tags = {}
            for tag in care_tag_list(user=self.actor):
                for word in (tag.code, tag.label, *TAG_WORDS.get(tag.code, ())):
                    self._tags[_norm(word)] = tag
                if tag.is_standard:
                    self._tags[_norm(str(StandardCareTag(tag.code).label))] = tag
        out: list[CareTag] = []
        for word in _LIST_SPLIT.split(text):
            if not word:
                continue
            found = self._tags.get(_norm(word))
            if found is None:
                shown = _safe(word)
                raise _Bad(
                    "import.tag_unknown",
                    (
                        _format(
                            _("“%(tag)s” is not a care tag: use one of the tags on the list."),
                            {"tag": shown},
                        )
                        if shown
                        else _("This is not a care tag: use one of the tags on the list.")
                    ),
                    "tags",
                )
            if found not in out:
                out.append(found)
        return out


def _phone(ctx: _Ctx, row: tuple[Any, ...], name: str) -> tuple[str, str] | None:
    """``(normalised, blind index)``, or ``None`` when empty or masked (left as stored)."""
    text = ctx.text(row, name)
    if not text or "*" in text:
        return None
    try:
        number, _kind = validate_phone(text, field=name)
    except DomainError as exc:
        raise _Bad(exc.code, exc.message, name) from None
    return number, services.phone_index(number)


def _check_cells(
    ctx: _Ctx, n: int, checks: Sequence[tuple[str, Callable[[], Any]]]
) -> dict[str, Any] | None:
    """Run each cell's check; collect every problem of the row (not only the first)."""
    values: dict[str, Any] = {}
    ok = True
    for name, check in checks:
        try:
            values[name] = check()
        except _Bad as bad:
            ctx.fail(n, bad.field or name, bad.code, bad.message)
            ok = False
        except DomainError as exc:
            ctx.fail_error(n, name, exc)
            ok = False
    return values if ok else None


# --- residents -------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _ResidentRow:
    row: int
    name: str
    place: _Node
    checked: IdNumber | None
    id_index: str | None
    gender: str | None
    birth_date: dt.date | None
    phone: tuple[str, str] | None
    phone2: tuple[str, str] | None
    relation: str | None
    residence_type: str | None
    work: str | None
    moved_in_on: dt.date | None
    expires_on: dt.date | None
    household_code: str | None
    tags: list[CareTag] | None
    resident: Resident | None = None  # the stored resident, when there is one
    household: _HH | None = None
    resident_id: int | None = None  # existing or created


_GENDER_MSG = _("Write 男 or 女 (male or female).")
_RELATION_MSG = _(
    "This relation is not on the list: write 户主, 配偶, 子女, 父母, 孙子女, 兄弟姐妹, "
    "其他亲属 or 非亲属."
)
_TYPE_MSG = _("Write 户籍 (registered), 流动 (migrant) or 租住 (renter).")


def _check_resident(ctx: _Ctx, n: int, row: tuple[Any, ...]) -> _ResidentRow | None:
    def name() -> str:
        return services._clean_name(ctx.text(row, "name"))

    def place() -> _Node:
        node = ctx.place(row, "dwelling")
        if node is None:
            raise _Bad(
                "import.place_missing",
                _("Say where the person lives: courtyard (院落), house number (门牌号), room."),
                "house",
            )
        return node

    values = _check_cells(
        ctx,
        n,
        [
            ("name", name),
            ("id_number", lambda: ctx.id_number(row, "id_number", optional_mask=False)),
            ("gender", lambda: ctx.choice(row, "gender", _GENDER, _GENDER_MSG)),
            ("birth_date", lambda: ctx.date(row, "birth_date")),
            ("phone", lambda: _phone(ctx, row, "phone")),
            ("phone2", lambda: _phone(ctx, row, "phone2")),
            (
                "relation_to_head",
                lambda: ctx.choice(row, "relation_to_head", _RELATION, _RELATION_MSG),
            ),
            ("residence_type", lambda: ctx.choice(row, "residence_type", _RESIDENCE, _TYPE_MSG)),
            ("moved_in_on", lambda: ctx.date(row, "moved_in_on", past=True)),
            ("registration_expires_on", lambda: ctx.date(row, "registration_expires_on")),
            ("tags", lambda: ctx.tags(row)),
            ("house", place),
        ],
    )
    if values is None:
        return None
    checked: IdNumber | None = values["id_number"]
    gender, birth = values["gender"], values["birth_date"]
    try:
        if checked is not None:
            gender, birth = services._identity(checked, gender or "", birth)
        elif gender or birth:
            services._identity(None, gender or "", birth)
    except DomainError as exc:
        ctx.fail_error(n, "id_number", exc)
        return None
    work = ctx.text(row, "work_or_school")
    code = ctx.text(row, "household_code")
    if len(code) > 64:
        ctx.fail(
            n,
            "household_code",
            "import.household_code_long",
            _("A household code has at most 64 characters."),
        )
        return None
    return _ResidentRow(
        row=n,
        name=values["name"],
        place=values["house"],
        checked=checked,
        id_index=services.id_number_index(checked.value) if checked else None,
        gender=gender or None,
        birth_date=birth,
        phone=values["phone"],
        phone2=values["phone2"],
        relation=values["relation_to_head"],
        residence_type=values["residence_type"],
        work=work[:120] if work else None,
        moved_in_on=values["moved_in_on"],
        expires_on=values["registration_expires_on"],
        household_code=code or None,
        tags=values["tags"],
    )


@dataclass(eq=False)
class _HH:
    """A household as the import sees it: stored, or to be created."""

    place_id: int
    place_path: str
    place_code: str
    code: str
    pk: int | None = None  # None until created
    head: Any = None  # a Resident pk, a _ResidentRow (new head), or None
    head_row: int | None = None  # the file's row that made its head, for messages
    head_dirty: bool = False


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _import_reason(job: ImportJob | None) -> str:
    return f"import #{job.pk}" if job is not None and job.pk else "import"


@dataclass
class _Plan:
    """What the import will write."""

    creates: list[Any] = field(default_factory=list)
    updates: list[tuple[Any, list[str]]] = field(default_factory=list)  # (object, fields)
    unchanged: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)  # places touched
    counts: dict[str, int] = field(default_factory=dict)  # what else it will create


def _match_chunk() -> int:
    return PG_MATCH_CHUNK if connections[_router_db(Resident)].vendor == "postgresql" else CHUNK


def _present(model: type[Model], name: str, values: Iterable[str]) -> list[str]:
    """Those of ``values`` (text) that some row of ``model`` holds in its indexed column
    ``name``, sorted. On PostgreSQL one probe of the column's index per 10,000 values, read
    from the index alone, so that only the rows of the values found are then loaded: loading
    10,000 residents by blind index with their place's path (what the plan needs of a row
    found) took 0.2 to 0.5 s on a million residents even when none was there, the probe alone
    0.05 to 0.15 s. Elsewhere every value is kept (the rows are loaded directly)."""
    wanted = sorted(set(values))
    connection = connections[_router_db(model)]
    if connection.vendor != "postgresql" or not wanted:
        return wanted
    qn = connection.ops.quote_name
    column = qn(str(getattr(model._meta.get_field(name), "column", "")))
    sql = (
        f"SELECT DISTINCT {column} FROM {qn(model._meta.db_table)} "  # noqa: S608 (quoted identifiers only)
        f"WHERE {column} = ANY(%s::text[])"
    )
    found: list[str] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(wanted, PG_MATCH_CHUNK):
            cursor.execute(sql, [list(chunk)])
            found.extend(r[0] for r in cursor.fetchall())
    return sorted(found)


def _plan_residents(ctx: _Ctx, rows: list[_ResidentRow]) -> _Plan:
    plan = _Plan()
    size = _match_chunk()
    # Existing residents: by ID number, else by name in the same dwelling (no ID number).
    indexes = _present(Resident, "id_number_index", (r.id_index for r in rows if r.id_index))
    by_index: dict[str, Resident] = {}
    for index_chunk in _chunks(indexes, size):
        for known in Resident.objects.filter(id_number_index__in=index_chunk).annotate(
            place_path=F("place__path")
        ):
            by_index[known.id_number_index or ""] = known
    no_id_places = sorted({r.place.id for r in rows if not r.id_index})
    by_name: dict[tuple[int, str], list[Resident]] = defaultdict(list)
    for place_chunk in _chunks(no_id_places, size):
        for known in Resident.objects.filter(
            place_id__in=place_chunk, id_number_index__isnull=True, status=ResidentStatus.ACTIVE
        ).annotate(place_path=F("place__path")):
            by_name[(known.place_id, known.name)].append(known)

    # Households: by code, at the dwellings, and those of the residents found.
    codes = sorted({r.household_code for r in rows if r.household_code})
    households: dict[int, _HH] = {}

    def load(qs: Any) -> None:
        for hh in qs.annotate(
            place_path=F("place__path"), place_code=F("place__code"), head_status=F("head__status")
        ):
            if hh.pk not in households:
                active_head = hh.head_id if hh.head_status == ResidentStatus.ACTIVE else None
                households[hh.pk] = _HH(
                    hh.place_id, hh.place_path, hh.place_code, hh.code, pk=hh.pk, head=active_head
                )

    for code_chunk in _chunks(_present(Household, "code", codes), size):
        load(Household.objects.filter(code__in=code_chunk))
    # The households living at a dwelling matter to the rows without a household code only
    # (``_household_for``): a row with a code goes to that household, or a new one.
    for place_chunk in _chunks(sorted({r.place.id for r in rows if not r.household_code}), size):
        load(Household.objects.filter(place_id__in=place_chunk))
    found = [*by_index.values(), *(r for group in by_name.values() for r in group)]
    for id_chunk in _chunks(sorted({r.household_id for r in found}), size):
        load(Household.objects.filter(pk__in=id_chunk))
    by_code = {hh.code: hh for hh in households.values()}
    at_place: dict[int, list[_HH]] = defaultdict(list)
    for hh in households.values():
        at_place[hh.place_id].append(hh)
    existing_tags: set[tuple[int, int]] = set()
    if any(r.tags for r in rows):
        for id_chunk in _chunks([r.pk for r in found], size):
            existing_tags.update(
                ResidentTag.objects.filter(resident_id__in=id_chunk).values_list(
                    "resident_id", "tag_id"
                )
            )

    claimed: set[int] = set()
    tags_to_add: list[tuple[_ResidentRow, CareTag]] = []
    moves: list[tuple[_ResidentRow, _HH, _HH]] = []
    for row in rows:
        resident: Resident | None = None
        if row.id_index:
            resident = by_index.get(row.id_index)
        else:
            candidates = [
                r for r in by_name.get((row.place.id, row.name), ()) if r.pk not in claimed
            ]
            if len(candidates) > 1:
                ctx.fail(
                    row.row,
                    "name",
                    "import.resident_ambiguous",
                    _(
                        "Several people with this name live here and the row has no ID "
                        "number: add the ID number."
                    ),
                )
                continue
            resident = candidates[0] if candidates else None
        if resident is not None:
            claimed.add(resident.pk)
            row.resident_id = resident.pk
            if not ctx.places.writable(getattr(resident, "place_path", "")):
                ctx.fail(
                    row.row,
                    "id_number",
                    "import.resident_out_of_scope",
                    _(
                        "This person is already registered at a place where you may not "
                        "change the registry: ask the staff who look after that place."
                    ),
                )
                continue
            if resident.status != ResidentStatus.ACTIVE:
                ctx.fail(
                    row.row,
                    "id_number" if row.id_index else "name",
                    "import.resident_not_living_here",
                    _(
                        "This person is recorded as moved out or deceased: move them in on "
                        "their page first, then import again."
                    ),
                )
                continue
        row.resident = resident
        target = _household_for(ctx, row, by_code, at_place, households)
        if target is None:
            continue
        hh = target
        row.household = hh
        if not _claim_head(ctx, row, hh):
            continue
        relation = row.relation or Relation.HEAD
        try:
            new_type = row.residence_type or (
                resident.residence_type if resident is not None else ResidenceType.REGISTERED
            )
            new_expiry = row.expires_on or (
                resident.registration_expires_on if resident is not None else None
            )
            services._residence(new_type, new_expiry)
        except DomainError as exc:
            ctx.fail_error(row.row, "registration_expires_on", exc)
            continue
        plan.paths.append(row.place.path)
        if resident is None:
            plan.creates.append(row)
            for tag in row.tags or ():
                tags_to_add.append((row, tag))
            continue
        changed = _resident_changes(row, resident, relation, hh)
        for tag in row.tags or ():
            if (resident.pk, tag.pk) not in existing_tags:
                tags_to_add.append((row, tag))
                existing_tags.add((resident.pk, tag.pk))
                if "tags" not in changed:
                    changed.append("tags")
        if "household" in changed:
            old = households.get(resident.household_id)
            if old is not None:
                moves.append((row, old, hh))
                if old.head == resident.pk:
                    old.head, old.head_dirty = None, True
        if changed:
            plan.updates.append((resident, changed))
        else:
            plan.unchanged += 1
    plan.extra = {"households": households, "tags": tags_to_add, "moves": moves}
    planned = {id(r.household): r.household for r in plan.creates}
    planned.update({id(new): new for _r, _o, new in moves})
    plan.counts = {"households_created": sum(1 for hh in planned.values() if hh.pk is None)}
    return plan


def _household_for(
    ctx: _Ctx,
    row: _ResidentRow,
    by_code: dict[str, _HH],
    at_place: dict[int, list[_HH]],
    households: dict[int, _HH],
) -> _HH | None:
    place = row.place
    resident = row.resident
    if row.household_code:
        hh = by_code.get(row.household_code)
        if hh is None:
            hh = _HH(place.id, place.path, place.code, row.household_code)
            by_code[hh.code] = hh
            at_place[place.id].append(hh)
        elif hh.place_id != place.id:
            ctx.fail(
                row.row,
                "household_code",
                "import.household_elsewhere",
                _(
                    "This household code belongs to a household living at another place: "
                    "check the code, or the courtyard, house and room."
                ),
            )
            return None
        return hh
    if resident is not None and resident.place_id == place.id:
        return households.get(resident.household_id)
    here = at_place[place.id]
    if len(here) > 1:
        ctx.fail(
            row.row,
            "household_code",
            "import.household_ambiguous",
            _(
                "Several households live in this room: add a column with the household "
                "code (户号) to say which one."
            ),
        )
        return None
    if here:
        return here[0]
    n = 1
    while f"{place.code}-{n:02d}" in by_code:
        n += 1
    hh = _HH(place.id, place.path, place.code, f"{place.code}-{n:02d}")
    by_code[hh.code] = hh
    here.append(hh)
    return hh


def _claim_head(ctx: _Ctx, row: _ResidentRow, hh: _HH) -> bool:
    """Settle the row's relation to the head (``row.relation``). A household has one head:
    the file may name it once, and only where no other head lives."""
    resident = row.resident
    me: Any = resident.pk if resident is not None else row
    relation = row.relation or (resident.relation_to_head if resident is not None else None)
    if relation is None:
        if hh.head is not None:
            ctx.fail(
                row.row,
                "relation_to_head",
                "import.relation_needed",
                _(
                    "This household already has a head: say how the person is related to "
                    "the head (与户主关系)."
                ),
            )
            return False
        relation = Relation.HEAD
    row.relation = relation
    if relation == Relation.HEAD:
        if hh.head is None or hh.head == me:
            if hh.head != me:
                hh.head, hh.head_row, hh.head_dirty = me, row.row, True
            return True
        message = (
            _format(
                _("Row %(row)d of this file is already the head of this household."),
                {"row": hh.head_row},
            )
            if hh.head_row is not None
            else _(
                "This household already has a head in the registry: change the head on the "
                "household's page first, or give another relation."
            )
        )
        ctx.fail(row.row, "relation_to_head", "household.head_taken", message)
        return False
    if hh.head == me:
        hh.head, hh.head_dirty = None, True  # no longer the head
    return True


def _resident_changes(row: _ResidentRow, resident: Resident, relation: str, hh: _HH) -> list[str]:
    changed: list[str] = []

    def put(name: str, value: Any) -> None:
        if value is not None and getattr(resident, name) != value:
            setattr(resident, name, value)
            changed.append(name)

    put("name", row.name)
    if not resident.id_number_index:
        put("gender", row.gender)
        put("birth_date", row.birth_date)
    for slot, value in (("phone", row.phone), ("phone2", row.phone2)):
        if value is not None and getattr(resident, f"{slot}_index") != value[1]:
            _set_phone(resident, slot, value)
            changed.append(slot)
    put("relation_to_head", relation)
    put("residence_type", row.residence_type)
    put("work_or_school", row.work)
    put("moved_in_on", row.moved_in_on)
    put("registration_expires_on", row.expires_on)
    if hh.pk != resident.household_id:
        changed.append("household")
    return changed


def _set_phone(resident: Resident, slot: str, value: tuple[str, str]) -> None:
    number, index = value  # checked and indexed with the row
    protected = services.protect_valid_phone(number, index=index)
    setattr(resident, f"{slot}_encrypted", protected.encrypted)
    setattr(resident, f"{slot}_index", protected.index)
    setattr(resident, f"{slot}_masked", protected.masked)


_NOTHING = services.Protected()

_RESIDENT_COLUMNS = {
    "phone": ["phone_encrypted", "phone_index", "phone_masked"],
    "phone2": ["phone2_encrypted", "phone2_index", "phone2_masked"],
    "household": ["household", "place"],
    "tags": [],
}


def _write_residents(
    ctx: _Ctx, plan: _Plan, job: ImportJob | None, progress: Progress
) -> dict[str, int]:
    """Write the plan with multi-row INSERTs and batched UPDATEs (see ``_insert``): the
    ORM's per-value preparation would cost more than the validation and encryption."""
    households: dict[int, _HH] = plan.extra["households"]
    moves: list[tuple[_ResidentRow, _HH, _HH]] = plan.extra["moves"]
    rows: list[_ResidentRow] = plan.creates
    all_hh = {id(hh): hh for hh in households.values()}
    for row in rows:
        if row.household is not None:
            all_hh[id(row.household)] = row.household
    for _row, _old, new in moves:
        all_hh[id(new)] = new
    new_hh = [hh for hh in all_hh.values() if hh.pk is None]
    now = clock.now()
    today = clock.today()
    actor_fields = services._actor_fields(ctx.actor)
    reason = _import_reason(job)
    total = len(rows) + len(plan.updates)
    progress(0, total, ImportPhase.WRITING)
    streaming = connections[_router_db(Resident)].vendor == "postgresql"

    def head_of(hh: _HH) -> int | None:
        return hh.head.resident_id if isinstance(hh.head, _ResidentRow) else hh.head

    if streaming:
        # The new residents' keys first, so that each new household is written with its head
        # (the foreign key is checked at commit, when the head is there): no UPDATE of every
        # new household afterwards (0.7 to 1.4 s for 33,334 of them on a million residents).
        for row, pk in zip(rows, _take_keys(Resident, len(rows)), strict=True):
            row.resident_id = pk
        ids = _insert(
            Household,
            ["place", "code", "head", "created_at", "updated_at"],
            [(hh.place_id, hh.code, head_of(hh), now, now) for hh in new_hh],
            returning=True,
        )
        for hh in new_hh:
            hh.head_dirty = False
    else:
        ids = _insert(
            Household,
            ["place", "code", "created_at", "updated_at"],
            [(hh.place_id, hh.code, now, now) for hh in new_hh],
            returning=True,
        )
    for hh, pk in zip(new_hh, ids, strict=True):
        hh.pk = pk
    # New residents, their numbers encrypted now (only theirs: unchanged rows cost no AES),
    # on PostgreSQL while the server writes those sent before them (COPY takes a stream).
    step = 10_000

    def values(chunk: Sequence[_ResidentRow]) -> Iterator[tuple[Any, ...]]:
        for row in chunk:
            home = row.household
            assert home is not None
            # The blind indexes were computed when the row was checked; numbers are valid.
            ident = (
                services.protect_id_number(row.checked, index=row.id_index or "")
                if row.checked
                else _NOTHING
            )
            phone = (
                services.protect_valid_phone(row.phone[0], index=row.phone[1])
                if row.phone
                else _NOTHING
            )
            phone2 = (
                services.protect_valid_phone(row.phone2[0], index=row.phone2[1])
                if row.phone2
                else _NOTHING
            )
            yield (
                home.pk,
                home.place_id,
                row.relation or Relation.HEAD,
                row.name,
                row.gender or "",
                row.birth_date,
                ident.encrypted,
                ident.index or None,
                ident.masked,
                phone.encrypted,
                phone.index,
                phone.masked,
                phone2.encrypted,
                phone2.index,
                phone2.masked,
                row.residence_type or ResidenceType.REGISTERED,
                row.work or "",
                row.moved_in_on,
                None,
                ResidentStatus.ACTIVE,
                row.expires_on,
                now,
                now,
            )

    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        if streaming:
            _insert_copy(
                Resident,
                _RESIDENT_INSERT,
                values(chunk),
                count=len(chunk),
                keys=[row.resident_id or 0 for row in chunk],  # taken above
            )
        else:
            ids = _insert(Resident, _RESIDENT_INSERT, list(values(chunk)), returning=True)
            for row, pk in zip(chunk, ids, strict=True):
                row.resident_id = pk
        # Between statements: progress is written on this connection (never during a COPY).
        progress(start + len(chunk), total, ImportPhase.WRITING)
    # The pairs of characters of the new names, for the name search (models.ResidentNameGram).
    _insert(
        ResidentNameGram,
        ["resident", "gram"],
        [(row.resident_id, gram) for row in rows for gram in name_grams(row.name)],
    )
    # Changed residents (and those who moved to another household).
    for row, _old, new in moves:
        assert row.resident is not None
        assert new.pk is not None
        row.resident.household_id = new.pk
        row.resident.place_id = new.place_id
    by_columns: dict[tuple[str, ...], list[Resident]] = defaultdict(list)
    for resident, changed in plan.updates:
        columns = {c for name in changed for c in _RESIDENT_COLUMNS.get(name, [name])}
        by_columns[tuple(sorted(columns))].append(resident)  # () when only tags were added
    for columns_changed, residents in by_columns.items():
        attnames = [_attname(Resident, n) for n in columns_changed]
        _update(
            Resident,
            [*columns_changed, "updated_at"],
            [(*(getattr(r, a) for a in attnames), now, r.pk) for r in residents],
        )
    renamed = [(r.pk, r.name) for r, changed in plan.updates if "name" in changed]
    services.name_grams_write(renamed, replace=True)
    progress(total, total, ImportPhase.WRITING)
    # Heads of households.
    heads = [(head_of(hh), now, hh.pk) for hh in all_hh.values() if hh.head_dirty]
    _update(Household, ["head", "updated_at"], heads)
    # History: every new resident moved in; every move between households.
    event_fields = [
        "resident",
        "kind",
        "on",
        "from_household",
        "to_household",
        "from_place",
        "to_place",
        "place",
        "reason",
        "actor",
        "actor_label",
        "created_at",
    ]
    actor_id = actor_fields["actor"].pk if actor_fields["actor"] is not None else None
    label = actor_fields["actor_label"]
    events: list[tuple[Any, ...]] = [
        (
            row.resident_id,
            ResidenceEventKind.MOVED_IN,
            row.moved_in_on or today,
            None,
            row.household.pk,
            None,
            row.household.place_id,
            row.household.place_id,
            reason,
            actor_id,
            label,
            now,
        )
        for row in rows
        if row.household is not None
    ]
    events += [
        (
            row.resident_id,
            ResidenceEventKind.HOUSEHOLD_CHANGED,
            today,
            old.pk,
            new.pk,
            old.place_id,
            new.place_id,
            new.place_id,
            reason,
            actor_id,
            label,
            now,
        )
        for row, old, new in moves
    ]
    _insert(ResidenceEvent, event_fields, events)
    _insert(
        ResidentTag,
        ["resident", "tag", "since", "note", "created_at"],
        [(row.resident_id, tag.pk, None, "", now) for row, tag in plan.extra["tags"]],
    )
    return {
        "created": len(rows),
        "updated": len(plan.updates),
        "unchanged": plan.unchanged,
        "households_created": len(new_hh),
    }


_RESIDENT_INSERT = [
    "household",
    "place",
    "relation_to_head",
    "name",
    "gender",
    "birth_date",
    "id_number_encrypted",
    "id_number_index",
    "id_number_masked",
    "phone_encrypted",
    "phone_index",
    "phone_masked",
    "phone2_encrypted",
    "phone2_index",
    "phone2_masked",
    "residence_type",
    "work_or_school",
    "moved_in_on",
    "moved_out_on",
    "status",
    "registration_expires_on",
    "created_at",
    "updated_at",
]


def _adapter(model_field: Any, connection: Any) -> Callable[[Any], Any] | None:
    """How a value of this field goes to the database (``None``: as it is)."""
    internal = model_field.get_internal_type()
    if internal == "DateField":
        return lambda v: connection.ops.adapt_datefield_value(v)
    if internal == "DateTimeField":
        return lambda v: connection.ops.adapt_datetimefield_value(v)
    return None


def _prepared(
    model: type[Model], names: Sequence[str]
) -> tuple[Any, list[str], list[Callable[[Any], Any] | None]]:
    connection = connections[_router_db(model)]
    fields = [model._meta.get_field(name) for name in names]
    columns = [connection.ops.quote_name(str(getattr(f, "column", ""))) for f in fields]
    return connection, columns, [_adapter(f, connection) for f in fields]


def _router_db(model: type[Model]) -> str:
    return model._default_manager.db


def _pk_column(model: type[Model]) -> str:
    pk = model._meta.pk
    assert pk is not None
    return str(pk.column)


def _attname(model: type[Model], name: str) -> str:
    return str(getattr(model._meta.get_field(name), "attname", name))


def _params(
    rows: Iterable[Sequence[Any]], adapters: Sequence[Callable[[Any], Any] | None]
) -> list[Any]:
    """The rows' values, flat, dates and times as the database takes them (each distinct
    value adapted once: most rows share ``now`` and a few dates)."""
    adapted = [i for i, adapt in enumerate(adapters) if adapt is not None]
    if not adapted:
        return [value for row in rows for value in row]
    memo: dict[tuple[int, Any], Any] = {}
    out: list[Any] = []
    for row in rows:
        values = list(row)
        for i in adapted:
            value = values[i]
            if value is not None:
                key = (i, value)
                if key not in memo:
                    memo[key] = adapters[i](value)  # type: ignore[misc]
                values[i] = memo[key]
        out.extend(values)
    return out


def _placeholder(connection: Any) -> str:
    """SQLite's own ``?``: Django rewrites every ``%s`` of a statement for SQLite with a regular
    expression, 20,000 of them per batch of rows. Not when queries are being logged (tests,
    ``DEBUG``): the log fills the ``%s`` in itself."""
    return "?" if connection.vendor == "sqlite" and not connection.queries_logged else "%s"


def _insert(
    model: type[Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = False,
) -> list[int]:
    """``INSERT INTO ... VALUES (...), (...), ...`` in batches, values already valid (the
    import checked them with the services' rules): ``bulk_create`` without the ORM's cost per
    value. With ``returning``, the new primary keys in the order of ``rows``."""
    if not rows:
        return []
    connection, columns, adapters = _prepared(model, names)
    if connection.vendor == "postgresql":
        return _insert_copy(model, names, rows, count=len(rows), returning=returning)
    qn = connection.ops.quote_name
    limit = 30000  # bound parameters per statement
    batch = max(1, min(INSERT_BATCH, limit // len(names)))
    head = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(columns)}) VALUES "  # noqa: S608
    tail = f" RETURNING {qn(_pk_column(model))}" if returning else ""
    one = "(" + ", ".join([_placeholder(connection)] * len(names)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            sql = head + ", ".join([one] * len(chunk)) + tail  # identifiers and placeholders
            cursor.execute(sql, _params(chunk, adapters))
            if returning:
                ids.extend(r[0] for r in cursor.fetchall())
    return ids


def _insert_copy(
    model: type[Model],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    count: int,
    returning: bool = False,
    keys: Sequence[int] | None = None,
) -> list[int]:
    """PostgreSQL: ``COPY ... FROM STDIN``, inside the import's transaction like any statement.
    psycopg formats the rows in C and streams them while the server writes the ones already
    sent, so ``rows`` may be a generator doing work of its own (the encryption) meanwhile;
    no statement to parse or plan. Multi-row ``VALUES`` had psycopg find 20,000 placeholders
    with a regular expression per statement; ``UNNEST`` of arrays had it dump every value
    through Python (a quarter of the apply's CPU).

    With ``returning``, the ``count`` rows get keys taken from the table's sequence first (one
    query), in order, as ``INSERT ... RETURNING`` would have given them; with ``keys``, the rows
    get those (taken with ``_take_keys``)."""
    connection = connections[_router_db(model)]
    qn = connection.ops.quote_name
    table = model._meta.db_table
    columns = [qn(str(getattr(model._meta.get_field(name), "column", ""))) for name in names]
    ids: list[int] = list(keys) if keys is not None else []
    if returning and keys is None:
        ids = _take_keys(model, count)
    with connection.cursor() as cursor:
        if returning or keys is not None:
            columns.insert(0, qn(_pk_column(model)))
            rows = ((key, *row) for key, row in zip(ids, rows, strict=True))
        sql = f"COPY {qn(table)} ({', '.join(columns)}) FROM STDIN"  # quoted identifiers only
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    return ids


def _take_keys(model: type[Model], count: int) -> list[int]:
    """PostgreSQL: ``count`` new primary keys from the table's sequence, in one query."""
    if not count:
        return []
    connection = connections[_router_db(model)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, _pk_column(model), count],
        )
        return [r[0] for r in cursor.fetchall()]


def _update(model: type[Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``UPDATE ... SET a = %s, b = %s WHERE id = %s`` for each row (values, then the pk); on
    PostgreSQL one statement per 10,000 rows, the values as arrays (``UPDATE ... FROM
    UNNEST(...)``): a statement per row took 2 s for the heads of 33,000 new households."""
    if not rows:
        return
    connection, columns, adapters = _prepared(model, names)
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        types = [model._meta.get_field(name).db_type(connection) for name in names]
        pk_type = model._meta.pk.db_type(connection) if model._meta.pk is not None else "bigint"
        pk_type = {"serial": "integer", "bigserial": "bigint"}.get(str(pk_type), pk_type)
        arrays = ", ".join(f"%s::{t}[]" for t in [*types, pk_type])
        names_v = [f"v{i}" for i in range(len(names))]
        sets = ", ".join(f"{c} = v.{v}" for c, v in zip(columns, names_v, strict=True))
        table, pk = qn(model._meta.db_table), qn(_pk_column(model))
        sql = (
            f"UPDATE {table} SET {sets} FROM UNNEST({arrays}) AS v({', '.join(names_v)}, k) "  # noqa: S608 (quoted identifiers, column types)
            f"WHERE {table}.{pk} = v.k"
        )
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 10_000):
                chunk = rows[start : start + 10_000]
                values = [[*_params([row[:-1]], adapters), row[-1]] for row in chunk]
                cursor.execute(sql, [[v[i] for v in values] for i in range(len(names) + 1)])
        return
    mark = _placeholder(connection)
    sets = ", ".join(f"{c} = {mark}" for c in columns)
    table, pk = qn(model._meta.db_table), qn(_pk_column(model))
    sql = f"UPDATE {table} SET {sets} WHERE {pk} = {mark}"  # noqa: S608 (quoted identifiers only)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            params = [[*_params([row[:-1]], adapters), row[-1]] for row in chunk]
            cursor.executemany(sql, params)


# --- houses ----------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _HouseRow:
    row: int
    house: _Node
    house_text: str
    owner_name: str | None
    owner_index: str | None
    floors: int | None
    use: str | None
    self_built: bool | None
    note: str | None
    owner_id: int | None = None


def _check_house(ctx: _Ctx, n: int, row: tuple[Any, ...]) -> _HouseRow | None:
    def house() -> _Node:
        node = ctx.place(row, "house")
        if node is None:
            raise _Bad("import.place_missing", _("Give the house number (门牌号)."), "house")
        return node

    def floors() -> int | None:
        text = ctx.text(row, "floors")
        if not text:
            return None
        match = re.fullmatch(r"(\d{1,3})\s*(层|楼)?", unicodedata.normalize("NFKC", text))
        value = int(match[1]) if match else 0
        if not 1 <= value <= 100:
            raise _Bad("house.floors_invalid", _("A house has between 1 and 100 floors."), "floors")
        return value

    def self_built() -> bool | None:
        value = ctx.choice(row, "self_built", _BOOL, _("Write 是 (yes) or 否 (no)."))
        return None if value is None else value == "yes"

    use_msg = _("Write what the house is used for: 自住, 出租, 商用, 商住, 空置 or 其他.")
    values = _check_cells(
        ctx,
        n,
        [
            ("house", house),
            ("owner_id_number", lambda: ctx.id_number(row, "owner_id_number", optional_mask=True)),
            ("floors", floors),
            ("use", lambda: ctx.choice(row, "use", _USE, use_msg)),
            ("self_built", self_built),
        ],
    )
    if values is None:
        return None
    owner = values["owner_id_number"]
    owner_name = " ".join(ctx.text(row, "owner_name").split())
    note = ctx.text(row, "note")
    return _HouseRow(
        row=n,
        house=values["house"],
        house_text=ctx.text(row, "house")[:40],
        owner_name=owner_name[:60] or None,
        owner_index=services.id_number_index(owner.value) if owner else None,
        floors=values["floors"],
        use=values["use"],
        self_built=values["self_built"],
        note=note[:200] if note else None,
    )


def _people_by_index(ctx: _Ctx, indexes: Iterable[str]) -> dict[str, tuple[int, str, str, str]]:
    """Residents the actor can see, by ID number index: (pk, name, place path, status)."""
    out: dict[str, tuple[int, str, str, str]] = {}
    for chunk in _chunks(sorted(set(indexes))):
        for pk, index, name, path, status in Resident.objects.filter(
            id_number_index__in=chunk
        ).values_list("pk", "id_number_index", "name", "place__path", "status"):
            if ctx.visible(path):
                out[index or ""] = (pk, name, path, status)
    return out


def _person_unknown() -> Promise:
    return _(
        "No resident with this ID number among the people you can see: register them first, "
        "or leave the ID number out and write the name only."
    )


def _plan_houses(ctx: _Ctx, rows: list[_HouseRow]) -> _Plan:
    plan = _Plan()
    people = _people_by_index(ctx, [r.owner_index for r in rows if r.owner_index])
    profiles: dict[int, HouseProfile] = {}
    for chunk in _chunks(sorted({r.house.id for r in rows})):
        for known in HouseProfile.objects.filter(house_id__in=chunk).select_related("owner"):
            profiles[known.house_id] = known
    seen: dict[int, int] = {}
    for row in rows:
        if row.house.id in seen:
            ctx.fail(
                row.row,
                "house",
                "import.house_duplicate",
                _format(
                    _("This house is already in row %(row)d of this file: each house once."),
                    {"row": seen[row.house.id]},
                ),
            )
            continue
        seen[row.house.id] = row.row
        if row.owner_index:
            person = people.get(row.owner_index)
            if person is None:
                ctx.fail(row.row, "owner_id_number", "import.person_unknown", _person_unknown())
                continue
            row.owner_id = person[0]
        plan.paths.append(row.house.path)
        profile = profiles.get(row.house.id)
        created = profile is None
        if profile is None:
            profile = HouseProfile(house_id=row.house.id, house_number=row.house_text)
            profiles[row.house.id] = profile
        changed: list[str] = []

        def put(
            name: str, value: Any, profile: HouseProfile = profile, changed: list[str] = changed
        ) -> None:
            if value is not None and getattr(profile, name) != value:
                setattr(profile, name, value)
                changed.append(name)

        if not profile.house_number and row.house_text:
            put("house_number", row.house_text)
        if row.owner_id is not None:
            put("owner_id", row.owner_id)
            put("owner_name", "")
        elif row.owner_name is not None:
            same = profile.owner is not None and profile.owner.name == row.owner_name
            if not same:
                if profile.owner_id is not None:
                    profile.owner_id = None
                    changed.append("owner_id")
                put("owner_name", row.owner_name)
        put("floors", row.floors)
        put("use", row.use)
        put("self_built", row.self_built)
        put("note", row.note)
        if created and set(changed) - {"house_number"}:
            plan.creates.append(profile)
        elif changed and not created:
            plan.updates.append((profile, changed))
        else:
            plan.unchanged += 1  # (a house named without details gets no empty profile)
    return plan


def _write_plain(model: type[Model], plan: _Plan, progress: Progress) -> dict[str, int]:
    now = clock.now()
    total = len(plan.creates) + len(plan.updates)
    progress(0, total, ImportPhase.WRITING)
    model._default_manager.bulk_create(plan.creates, batch_size=1000)
    if plan.updates:
        for obj, _changed in plan.updates:
            obj.updated_at = now
        columns = sorted({c for _o, changed in plan.updates for c in changed} | {"updated_at"})
        model._default_manager.bulk_update([o for o, _c in plan.updates], columns, batch_size=500)
    progress(total, total, ImportPhase.WRITING)
    return {"created": len(plan.creates), "updated": len(plan.updates), "unchanged": plan.unchanged}


# --- rentals ---------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _RentalRow:
    row: int
    place: _Node
    landlord_name: str | None
    landlord_index: str | None
    tenant_names: list[str] | None
    tenant_indexes: list[str] | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    state: str | None
    inspected_on: dt.date | None
    note: str | None
    landlord_id: int | None = None
    tenant_ids: set[int] | None = None


def _check_rental(ctx: _Ctx, n: int, row: tuple[Any, ...]) -> _RentalRow | None:
    def place() -> _Node:
        node = ctx.place(row, "rental")
        if node is None:
            raise _Bad(
                "import.place_missing", _("Give the house number (门牌号) and the room."), "house"
            )
        return node

    state_msg = _("Write 已登记 (registered), 未登记 (not registered) or 已结束 (ended).")
    values = _check_cells(
        ctx,
        n,
        [
            ("house", place),
            (
                "landlord_id_number",
                lambda: ctx.id_number(row, "landlord_id_number", optional_mask=True),
            ),
            ("tenant_id_numbers", lambda: ctx.id_numbers(row, "tenant_id_numbers")),
            ("starts_on", lambda: ctx.date(row, "starts_on")),
            ("ends_on", lambda: ctx.date(row, "ends_on")),
            (
                "registration_state",
                lambda: ctx.choice(row, "registration_state", _RENTAL_STATE, state_msg),
            ),
            ("last_inspected_on", lambda: ctx.date(row, "last_inspected_on", past=True)),
        ],
    )
    if values is None:
        return None
    try:
        services._rental_dates(values["starts_on"], values["ends_on"])
    except DomainError as exc:
        ctx.fail_error(n, "ends_on", exc)
        return None
    landlord = values["landlord_id_number"]
    names = [" ".join(t.split()) for t in _LIST_SPLIT.split(ctx.text(row, "tenants")) if t.strip()]
    tenant_ids: list[IdNumber] | None = values["tenant_id_numbers"]
    note = ctx.text(row, "note")
    landlord_name = " ".join(ctx.text(row, "landlord_name").split())
    return _RentalRow(
        row=n,
        place=values["house"],
        landlord_name=landlord_name[:60] or None,
        landlord_index=services.id_number_index(landlord.value) if landlord else None,
        tenant_names=names or None,
        tenant_indexes=[services.id_number_index(t.value) for t in tenant_ids]
        if tenant_ids
        else None,
        starts_on=values["starts_on"],
        ends_on=values["ends_on"],
        state=values["registration_state"],
        inspected_on=values["last_inspected_on"],
        note=note[:200] if note else None,
    )


def _residents_named(ctx: _Ctx, names: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    """Active residents the actor can see, by name: [(pk, place path)]."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(set(names))):
        for pk, name, path in Resident.objects.filter(
            name__in=chunk, status=ResidentStatus.ACTIVE
        ).values_list("pk", "name", "place__path"):
            if ctx.visible(path):
                out[name].append((pk, path))
    return out


def _plan_rentals(ctx: _Ctx, rows: list[_RentalRow]) -> _Plan:
    plan = _Plan()
    people = _people_by_index(
        ctx,
        [r.landlord_index for r in rows if r.landlord_index]
        + [i for r in rows for i in (r.tenant_indexes or ())],
    )
    named = _residents_named(
        ctx, [n for r in rows if not r.tenant_indexes for n in r.tenant_names or ()]
    )
    existing: dict[int, list[Rental]] = defaultdict(list)
    for chunk in _chunks(sorted({r.place.id for r in rows})):
        for known in Rental.objects.filter(place_id__in=chunk).select_related("landlord"):
            existing[known.place_id].append(known)
    tenants_of: dict[int, set[int]] = defaultdict(set)
    rental_ids = [r.pk for group in existing.values() for r in group]
    through = Rental.tenants.through
    for chunk in _chunks(rental_ids):
        for rental_id, resident_id in through.objects.filter(rental_id__in=chunk).values_list(
            "rental_id", "resident_id"
        ):
            tenants_of[rental_id].add(resident_id)
    seen: dict[tuple[int, str, dt.date | None], int] = {}
    for row in rows:
        ok = True
        if row.landlord_index:
            person = people.get(row.landlord_index)
            if person is None:
                ctx.fail(row.row, "landlord_id_number", "import.person_unknown", _person_unknown())
                ok = False
            else:
                row.landlord_id = person[0]
                row.landlord_name = row.landlord_name or person[1]
        if row.tenant_indexes:
            ids = set()
            for index in row.tenant_indexes:
                person = people.get(index)
                if person is None:
                    ctx.fail(
                        row.row, "tenant_id_numbers", "import.person_unknown", _person_unknown()
                    )
                    ok = False
                else:
                    ids.add(person[0])
            row.tenant_ids = ids
        elif row.tenant_names:
            house_path = row.place.path[: (len(row.place.path) // Place.steplen) * Place.steplen]
            ids = set()
            for name in row.tenant_names:
                here = [pk for pk, path in named.get(name, ()) if path.startswith(house_path)]
                if len(here) != 1:
                    shown = _safe(name)
                    message = (
                        _(
                            "No one called “%(name)s” lives at this house or room: register the "
                            "tenant first, or give the tenants' ID numbers."
                        )
                        if not here
                        else _(
                            "Several people called “%(name)s” live here: give the tenants' ID "
                            "numbers instead."
                        )
                    )
                    ctx.fail(
                        row.row,
                        "tenants",
                        "import.tenant_unknown" if not here else "import.tenant_ambiguous",
                        _format(message, {"name": shown}),
                    )
                    ok = False
                else:
                    ids.add(here[0])
            row.tenant_ids = ids
        if not ok:
            continue
        who = f"id:{row.landlord_id}" if row.landlord_id else f"name:{row.landlord_name or ''}"
        key = (row.place.id, who, row.starts_on)
        if key in seen:
            ctx.fail(
                row.row,
                "starts_on",
                "import.rental_duplicate",
                _format(
                    _("Row %(row)d already has this rental (same place, landlord and start date)."),
                    {"row": seen[key]},
                ),
            )
            continue
        seen[key] = row.row
        plan.paths.append(row.place.path)
        rental = _match_rental(row, existing.get(row.place.id, []))
        created = rental is None
        if rental is None:
            rental = Rental(place_id=row.place.id)
        changed: list[str] = []

        def put(
            name: str, value: Any, rental: Rental = rental, changed: list[str] = changed
        ) -> None:
            if value is not None and getattr(rental, name) != value:
                setattr(rental, name, value)
                changed.append(name)

        if row.landlord_id is not None:
            put("landlord_id", row.landlord_id)
        elif row.landlord_name and (
            rental.landlord is None or rental.landlord.name != row.landlord_name
        ):
            put("landlord_name", row.landlord_name)
        put("starts_on", row.starts_on)
        put("ends_on", row.ends_on)
        put("registration_state", row.state)
        put("last_inspected_on", row.inspected_on)
        put("note", row.note)
        try:
            services._rental_dates(rental.starts_on, rental.ends_on)
        except DomainError as exc:
            ctx.fail_error(row.row, "ends_on", exc)
            continue
        tenants = row.tenant_ids
        if tenants is not None and (created or tenants != tenants_of.get(rental.pk, set())):
            changed.append("tenants")
        rental._import_tenants = tenants  # type: ignore[attr-defined]
        if created:
            plan.creates.append(rental)
        elif changed:
            plan.updates.append((rental, changed))
        else:
            plan.unchanged += 1
    return plan


def _match_rental(row: _RentalRow, rentals: list[Rental]) -> Rental | None:
    for rental in rentals:
        if rental.starts_on != row.starts_on:
            continue
        if row.landlord_id is not None and rental.landlord_id == row.landlord_id:
            return rental
        names = {rental.landlord_name, rental.landlord.name if rental.landlord else ""}
        if row.landlord_name and row.landlord_name in names:
            return rental
        if not row.landlord_name and row.landlord_id is None and not any(names):
            return rental
    return None


def _write_rentals(ctx: _Ctx, plan: _Plan, progress: Progress) -> dict[str, int]:
    counts = _write_plain(
        Rental,
        _Plan(
            plan.creates,
            [(o, [c for c in ch if c != "tenants"]) for o, ch in plan.updates],
            plan.unchanged,
        ),
        progress,
    )
    through = Rental.tenants.through
    replaced = [o.pk for o, ch in plan.updates if "tenants" in ch]
    for chunk in _chunks(replaced):
        through.objects.filter(rental_id__in=chunk).delete()
    links = [
        through(rental_id=rental.pk, resident_id=resident_id)
        for rental in [*plan.creates, *(o for o, ch in plan.updates if "tenants" in ch)]
        for resident_id in sorted(rental._import_tenants or ())
    ]
    through.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)
    counts["updated"] = len(plan.updates)
    return counts


# --- vehicles --------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _VehicleRow:
    row: int
    plate: Plate
    kind: str | None
    owner_name: str | None
    owner_index: str | None
    place: _Node | None
    description: str | None
    owner_id: int | None = None


def _check_vehicle(ctx: _Ctx, n: int, row: tuple[Any, ...]) -> _VehicleRow | None:
    def plate() -> Plate:
        text = ctx.text(row, "plate")
        if not text:
            raise _Bad("import.plate_missing", _("Write the plate (车牌号)."), "plate")
        return validate_plate(text)

    kind_msg = _("Write the kind of vehicle: 小汽车, 货车, 面包车, 摩托车 or 其他.")
    values = _check_cells(
        ctx,
        n,
        [
            ("plate", plate),
            ("kind", lambda: ctx.choice(row, "kind", _VEHICLE, kind_msg)),
            ("owner_id_number", lambda: ctx.id_number(row, "owner_id_number", optional_mask=True)),
            ("house", lambda: ctx.place(row, "any")),
        ],
    )
    if values is None:
        return None
    owner = values["owner_id_number"]
    owner_name = " ".join(ctx.text(row, "owner_name").split())
    description = ctx.text(row, "description")
    return _VehicleRow(
        row=n,
        plate=values["plate"],
        kind=values["kind"],
        owner_name=owner_name or None,
        owner_index=services.id_number_index(owner.value) if owner else None,
        place=values["house"],
        description=description[:60] if description else None,
    )


def _plan_vehicles(ctx: _Ctx, rows: list[_VehicleRow]) -> _Plan:
    plan = _Plan()
    people = _people_by_index(ctx, [r.owner_index for r in rows if r.owner_index])
    named = _residents_named(
        ctx, [r.owner_name for r in rows if r.owner_name and not r.owner_index]
    )
    existing: dict[str, Vehicle] = {}
    for chunk in _chunks(sorted({r.plate.value for r in rows})):
        for known in (
            Vehicle.objects.filter(plate__in=chunk)
            .annotate(place_path=F("place__path"))
            .select_related("owner")
        ):
            existing[known.plate] = known
    seen: dict[str, int] = {}
    for row in rows:
        if row.plate.value in seen:
            ctx.fail(
                row.row,
                "plate",
                "import.plate_duplicate",
                _format(
                    _("This plate is already in row %(row)d of this file: each vehicle once."),
                    {"row": seen[row.plate.value]},
                ),
            )
            continue
        seen[row.plate.value] = row.row
        vehicle = existing.get(row.plate.value)
        if vehicle is not None and not ctx.places.writable(getattr(vehicle, "place_path", "")):
            ctx.fail(
                row.row,
                "plate",
                "import.vehicle_out_of_scope",
                _(
                    "This plate is registered at a place where you may not change the "
                    "registry: ask the staff who look after it."
                ),
            )
            continue
        owner_path = ""
        if row.owner_index:
            person = people.get(row.owner_index)
            if person is None:
                ctx.fail(row.row, "owner_id_number", "import.person_unknown", _person_unknown())
                continue
            row.owner_id, owner_path = person[0], person[2]
        elif row.owner_name:
            base = row.place.path if row.place is not None else getattr(vehicle, "place_path", "")
            court = ctx.places.courtyard_path(base) if base else ""
            here = [
                (pk, path)
                for pk, path in named.get(row.owner_name, ())
                if court and path.startswith(court)
            ]
            if (
                vehicle is not None
                and vehicle.owner is not None
                and vehicle.owner.name == row.owner_name
            ):
                here = [(vehicle.owner.pk, "")]
            if len(here) != 1:
                shown = _safe(row.owner_name)
                message = (
                    _(
                        "No one called “%(name)s” lives in this courtyard: give the owner's "
                        "ID number, or register the owner first."
                    )
                    if not here
                    else _(
                        "Several people called “%(name)s” live in this courtyard: give the "
                        "owner's ID number."
                    )
                )
                ctx.fail(
                    row.row,
                    "owner_name",
                    "import.owner_unknown" if not here else "import.owner_ambiguous",
                    _format(message, {"name": shown}),
                )
                continue
            row.owner_id, owner_path = here[0]
        place = row.place
        if place is None and vehicle is None:
            node = ctx.places.node_at(owner_path) if owner_path else None
            if node is None or not ctx.places.writable(node.path):
                ctx.fail(
                    row.row,
                    "house",
                    "vehicle.place_required",
                    _("Say where the vehicle parks (courtyard or house number), or who owns it."),
                )
                continue
            place = node
        plan.paths.append(place.path if place is not None else getattr(vehicle, "place_path", ""))
        created = vehicle is None
        if vehicle is None:
            vehicle = Vehicle(
                plate=row.plate.value,
                new_energy=row.plate.new_energy,
                kind=row.kind or VehicleKind.CAR,
            )
        changed: list[str] = []

        def put(
            name: str, value: Any, vehicle: Vehicle = vehicle, changed: list[str] = changed
        ) -> None:
            if value is not None and getattr(vehicle, name) != value:
                setattr(vehicle, name, value)
                changed.append(name)

        put("kind", row.kind)
        put("owner_id", row.owner_id)
        put("place_id", place.id if place is not None else None)
        put("description", row.description)
        if created:
            plan.creates.append(vehicle)
        elif changed:
            plan.updates.append((vehicle, changed))
        else:
            plan.unchanged += 1
    return plan


# --- running an import -----------------------------------------------------------------------

_CHECKERS: dict[str, Callable[[_Ctx, int, tuple[Any, ...]], Any]] = {
    ImportKind.RESIDENTS: _check_resident,
    ImportKind.HOUSES: _check_house,
    ImportKind.RENTALS: _check_rental,
    ImportKind.VEHICLES: _check_vehicle,
}
_PLANNERS: dict[str, Callable[[_Ctx, list[Any]], _Plan]] = {
    ImportKind.RESIDENTS: _plan_residents,
    ImportKind.HOUSES: _plan_houses,
    ImportKind.RENTALS: _plan_rentals,
    ImportKind.VEHICLES: _plan_vehicles,
}


def _duplicates(ctx: _Ctx, rows: list[Any]) -> list[Any]:
    """The same person twice in a residents file: the later rows are bad."""
    if ctx.kind != ImportKind.RESIDENTS:
        return rows
    first: dict[str, int] = {}
    kept = []
    for row in rows:
        if row.id_index:
            if row.id_index in first:
                ctx.fail(
                    row.row,
                    "id_number",
                    "import.id_number_duplicate",
                    _format(
                        _(
                            "The same ID number is already in row %(row)d of this file: list "
                            "each person once."
                        ),
                        {"row": first[row.id_index]},
                    ),
                )
                continue
            first[row.id_index] = row.row
        kept.append(row)
    return kept


def _require_import(actor: Any) -> None:
    if not permissions_for(actor).has(IMPORT):
        raise PermissionDenied(
            "registry.import_forbidden", _("Your role may not import into the registry.")
        )


def _no_progress(done: int, total: int, phase: str) -> None:
    return None


def _common_place(paths: Iterable[str]) -> Place | None:
    common: str | None = None
    for path in paths:
        if common is None:
            common = path
            continue
        while not path.startswith(common):
            common = common[: -Place.steplen]
    return Place.objects.filter(path=common).first() if common else None


SQLITE_IMPORT_CACHE_KIB = 256 * 1024


@contextlib.contextmanager
def _page_cache() -> Iterator[None]:
    """On SQLite, a page cache of 256 MB for the import's connection while it matches and
    writes, then the connection's own again. SQLite's default (2 MB) holds almost nothing of a
    registry of a million residents: every row written goes to random places in its indexes
    (blind indexes are random by design), and each of those became a read from the file."""
    connection = connections[_router_db(Resident)]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_on = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's automatic garbage collection held off while an import runs (and back on when
    the last running import ends, if it was on before).

    An import keeps what it checked until it writes: a million objects and more, which made
    the collector's full passes walk more and more of the process, again and again: a third of
    the time of checking 100,000 rows among 3.2 million residents (8 s with, 5 s without).
    The pause is the process's: requests served beside an import in the same process leave
    their cyclic garbage (DRF's request, view and response refer to each other: about 12 KB a
    request) to the full collection an import runs every ``COLLECT_EVERY_S`` seconds at its
    progress points (``_collecting``), and to the collector once the import ends."""
    global _collector_pauses, _collector_was_on
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_on:
                gc.enable()


# While imports hold the collector off, one full collection at most this often, at an import's
# progress points: a few tenths of a second among 3.2 million residents.
COLLECT_EVERY_S = 10.0


def _collecting(progress: Progress) -> Progress:
    """``progress``, running a full collection first when ``COLLECT_EVERY_S`` have passed since
    the import began or since the last one."""
    last = time.monotonic()

    def tick(done: int, total: int, phase: str) -> None:
        nonlocal last
        if time.monotonic() - last >= COLLECT_EVERY_S:
            gc.collect()
            last = time.monotonic()
        progress(done, total, phase)

    return tick


@_collector_paused()
def _run(
    source: Source,
    *,
    mapping: Mapping[str, str],
    kind: str,
    actor: Any,
    dry_run: bool,
    progress: Progress | None,
    job: ImportJob | None,
) -> ImportReport:
    started = time.perf_counter()
    _fields(kind)
    _require_import(actor)
    progress = _collecting(progress or _no_progress)
    data, _name = _read_source(source)
    table = _open(data)
    report = ImportReport(kind=kind, dry_run=dry_run, job_id=job.pk if job else None)
    try:
        ctx = _Ctx(actor=actor, kind=kind, table=table, mapping=mapping)
        check = _CHECKERS[kind]
        rows: list[Any] = []
        total = table.total
        progress(0, total, ImportPhase.READING)
        every = 500
        for n, cells in table.rows:
            report.rows += 1
            checked = check(ctx, n, cells)
            if checked is not None:
                rows.append(checked)
            if report.rows % every == 0:
                progress(report.rows, max(total, report.rows), ImportPhase.READING)
    finally:
        table.close()
    if report.rows == 0:
        raise _empty()
    progress(report.rows, report.rows, ImportPhase.READING)
    rows = _duplicates(ctx, rows)
    progress(0, report.rows, ImportPhase.MATCHING)
    try:
        with _page_cache(), transaction.atomic():
            plan = _PLANNERS[kind](ctx, rows)
            report.counts = {
                "created": len(plan.creates),
                "updated": len(plan.updates),
                "unchanged": plan.unchanged,
                **plan.counts,
            }
            progress(report.rows, report.rows, ImportPhase.MATCHING)
            if not ctx.problems and not dry_run:
                job = job or _job_for_cli(actor, kind, mapping)
                report.job_id = job.pk
                if kind == ImportKind.RESIDENTS:
                    counts = _write_residents(ctx, plan, job, progress)
                elif kind == ImportKind.RENTALS:
                    counts = _write_rentals(ctx, plan, progress)
                else:
                    model = HouseProfile if kind == ImportKind.HOUSES else Vehicle
                    counts = _write_plain(model, plan, progress)
                report.counts = counts
                job.place = _common_place(plan.paths)
                job.save(update_fields=["place", "updated_at"])
                audit_record(
                    actor=actor,
                    action="registry.imported",
                    target=job,
                    data={
                        "kind": kind,
                        "rows": report.rows,
                        **counts,
                        "fields": sorted(ctx.columns),
                    },
                )
                report.written = True
    except IntegrityError as exc:
        log.warning("registry import %s: integrity error %s", kind, type(exc).__name__)
        raise DomainError(
            "import.conflict",
            _(
                "Somebody changed the registry while the file was being imported: nothing "
                "was imported. Please import the file again."
            ),
            status_code=409,
        ) from None
    position = {header: i for i, header in enumerate(table.headers)}
    report.problems = sorted(ctx.problems, key=lambda p: (p.row, position.get(p.column, 999)))
    report.seconds = time.perf_counter() - started
    progress(report.rows, report.rows, ImportPhase.FINISHED)
    return report


def _job_for_cli(actor: Any, kind: str, mapping: Mapping[str, str]) -> ImportJob:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return ImportJob.objects.create(
        actor=user,
        actor_label=services._actor_fields(actor)["actor_label"],
        kind=kind,
        mapping=dict(mapping),
        dry_run=False,
        state=ImportState.RUNNING,
    )


def dry_run(
    source: Source,
    *,
    mapping: Mapping[str, str],
    kind: str,
    actor: Any,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row and match it with the registry; write nothing. The report lists every
    bad row and what an import would create, update and leave unchanged."""
    return _run(
        source, mapping=mapping, kind=kind, actor=actor, dry_run=True, progress=progress, job=None
    )


def apply(
    source: Source,
    *,
    mapping: Mapping[str, str],
    kind: str,
    actor: Any,
    progress: Progress | None = None,
    job: ImportJob | None = None,
) -> ImportReport:
    """Import the file: all rows in one transaction, or, if any row is bad, nothing (the report
    says why, ``report.written`` is false). Audited as one ``registry.imported`` event."""
    return _run(
        source, mapping=mapping, kind=kind, actor=actor, dry_run=False, progress=progress, job=job
    )


# --- import jobs (the wizard's page polls them) ----------------------------------------------

JOB_FILE_KEPT = dt.timedelta(days=1)
JOB_STALE_AFTER = dt.timedelta(minutes=10)


def _encrypt_file(data: bytes) -> str:
    return crypto.encrypt(base64.b64encode(data).decode("ascii"), purpose=IMPORT_FILE_PURPOSE)


def _decrypt_file(token: str) -> bytes:
    return base64.b64decode(crypto.decrypt(token, purpose=IMPORT_FILE_PURPOSE))


def import_jobs_purge() -> int:
    """Forget the files of uploads older than a day (they hold personal numbers)."""
    cutoff = clock.now() - JOB_FILE_KEPT
    return (
        ImportJob.objects.filter(created_at__lt=cutoff)
        .exclude(file_encrypted="")
        .update(file_encrypted="")
    )


def import_job_create(
    *, actor: Any, file: Source, kind: str | None = None, filename: str = ""
) -> tuple[ImportJob, ParsedFile]:
    """Keep an upload (encrypted) and read its columns: the wizard's first step. Returns the
    job and the proposal to show (``parsed.columns``, ``parsed.mapping``)."""
    _require_import(actor)
    data, name = _read_source(file)
    parsed = parse(data, kind=kind)
    import_jobs_purge()
    user = actor if getattr(actor, "is_authenticated", False) else None
    job = ImportJob.objects.create(
        actor=user,
        actor_label=services._actor_fields(actor)["actor_label"],
        kind=parsed.kind,
        filename=(filename or name)[:200],
        file_format=parsed.format,
        file_encrypted=_encrypt_file(data),
        mapping=parsed.mapping,
        rows_total=parsed.rows,
        state=ImportState.UPLOADED,
    )
    return job, parsed


def import_job_get_for(*, user: Any, pk: Any) -> ImportJob:
    """The user's own job (anyone else's is not found); a job whose worker vanished is
    reported as failed."""
    try:
        job = ImportJob.objects.visible_to(user).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        job = None
    if job is None:
        raise NotFound("import.not_found", _("There is no such import."))
    running = job.state in (ImportState.QUEUED, ImportState.RUNNING)
    if running and job.updated_at < clock.now() - JOB_STALE_AFTER:
        ImportJob.objects.filter(pk=job.pk, state=job.state).update(
            state=ImportState.FAILED,
            error=str(_("The import stopped unexpectedly: nothing was imported. Start it again.")),
            updated_at=clock.now(),
        )
        job.refresh_from_db()
    return job


def import_job_problems(job: ImportJob, *, limit: int | None = None) -> list[dict[str, Any]]:
    """A job's bad rows to show (the first ``limit``): row, column, field, the stable ``code``
    and the ``message`` in the active language (the page's or the API caller's), whichever
    language the check ran in."""
    current = translation.get_language() or ""
    try:
        supported = translation.get_supported_language_variant(current)
    except LookupError:
        supported = ""
    languages = (current, supported, job.language, settings.LANGUAGE_CODE)
    return [
        {
            "row": p.get("row"),
            "column": p.get("column", ""),
            "field": p.get("field", ""),
            "code": p.get("code", ""),
            "message": _problem_message(p, languages),
        }
        for p in (job.problems or [])[:limit]
    ]


def import_job_parsed(job: ImportJob) -> ParsedFile:
    """The columns of a job's file again (the mapping step after a reload)."""
    if not job.file_encrypted:
        raise _file_gone()
    return parse(_decrypt_file(job.file_encrypted), kind=job.kind)


def _file_gone() -> DomainError:
    return DomainError(
        "import.file_gone",
        _("The uploaded file is no longer kept: upload it again."),
        status_code=410,
    )


def _run_job_inline(job_id: int) -> None:
    import_job_run(job_id)


def _run_job_in_thread(job_id: int) -> None:
    def main() -> None:
        try:
            import_job_run(job_id)
        finally:
            connections.close_all()

    threading.Thread(target=main, name=f"registry-import-{job_id}", daemon=True).start()


job_runner: Callable[[int], None] = _run_job_in_thread
"""How ``import_job_start`` runs a job once the request's transaction commits: a thread of
this process by default (tests set ``_run_job_inline``; a worker can take over later)."""


def import_job_start(
    *,
    actor: Any,
    job: ImportJob,
    mapping: Mapping[str, str] | None = None,
    kind: str | None = None,
    dry_run: bool = True,
    language: str = "",
) -> ImportJob:
    """Check (``dry_run``) or import a job's file in the background; the page polls the job
    (``import_job_get_for``) for ``phase``, ``rows_done``/``rows_total`` and the report."""
    _require_import(actor)
    if job.actor_id != getattr(actor, "pk", None) and not getattr(actor, "is_superuser", False):
        raise NotFound("import.not_found", _("There is no such import."))
    if job.state in (ImportState.QUEUED, ImportState.RUNNING):
        raise DomainError(
            "import.busy",
            _("This import is already running: wait for it to finish."),
            status_code=409,
        )
    if job.state == ImportState.DONE:
        raise DomainError("import.done", _("This file was already imported."), status_code=409)
    if not job.file_encrypted:
        raise _file_gone()
    kind = kind or job.kind
    _fields(kind)
    job.kind = kind
    if mapping is not None:
        job.mapping = {str(k): str(v) for k, v in mapping.items()}
    job.dry_run = dry_run
    job.state = ImportState.QUEUED
    job.phase = ""
    job.rows_done = 0
    job.problems = []
    job.problem_count = 0
    job.error = ""
    job.language = (language or translation.get_language() or "")[:8]
    job.save()
    transaction.on_commit(lambda: job_runner(job.pk))
    return job


class _JobProgress:
    """Writes a job's progress at most a few times a second (committed outside the import's
    own transaction, so the page sees it)."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.last = 0.0

    def __call__(self, done: int, total: int, phase: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.3 and phase == self.job.phase and done < total:
            return
        self.last = now
        self.job.phase = phase
        ImportJob.objects.filter(pk=self.job.pk).update(
            phase=phase, rows_done=done, rows_total=total, updated_at=clock.now()
        )


def import_job_run(job_id: int) -> ImportJob:
    """Run a queued job to its end (``import_job_start`` calls this in the background)."""
    job = ImportJob.objects.select_related("actor").get(pk=job_id)
    language = job.language or translation.get_language() or "zh-hans"
    actor = job.actor
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportState.RUNNING, error="", updated_at=clock.now()
    )
    job.state, job.error = ImportState.RUNNING, ""
    with translation.override(language):
        try:
            if actor is None:
                raise PermissionDenied(
                    "registry.import_forbidden", _("Your role may not import into the registry.")
                )
            data = _decrypt_file(job.file_encrypted)
            report = _run(
                data,
                mapping=job.mapping,
                kind=job.kind,
                actor=actor,
                dry_run=job.dry_run,
                progress=_JobProgress(job),
                job=job,
            )
        except DomainError as exc:
            job.state = ImportState.FAILED
            job.error = str(exc.message)[:300]
        except Exception:
            log.exception("registry import job %s failed", job.pk)
            job.state = ImportState.FAILED
            job.error = str(_("The import stopped because of an error: nothing was imported."))
        else:
            job.counts = report.counts
            job.problem_count = len(report.problems)
            job.problems = _problems_stored(report.problems[: ImportJob.PROBLEMS_KEPT])
            job.rows_total = job.rows_done = report.rows
            if report.problems:
                job.state = ImportState.REFUSED
            elif report.written:
                job.state = ImportState.DONE
                job.file_encrypted = ""  # imported: the personal numbers live in the registry
            else:
                job.state = ImportState.CHECKED
    job.phase = ImportPhase.FINISHED
    job.finished_at = clock.now()
    job.save()
    return job


__all__ = [
    "FIELDS",
    "DetectedColumn",
    "FieldSpec",
    "ImportReport",
    "ParsedFile",
    "PlaceIndex",
    "RowProblem",
    "apply",
    "dry_run",
    "field_choices",
    "import_job_create",
    "import_job_get_for",
    "import_job_parsed",
    "import_job_problems",
    "import_job_run",
    "import_job_start",
    "import_jobs_purge",
    "parse",
    "parse_mapping",
    "split_address",
]
