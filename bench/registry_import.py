"""The import benchmark's files and, for when ``sanan.registry.imports`` is missing, a bulk CSV
import of residents built on ``registry.services``' helpers.

The benchmark measures ``sanan.registry.imports`` (``parse`` → ``apply``, the import the pages,
the API and the command line use) whenever that module is there: ``write_sanan_csv`` writes the
spreadsheet a district's community workers would hand in (Chinese headers, places by the names
people write: ``3-12社区5号院``, ``4号``, ``201室``), ``remove_imported`` takes its rows out again
afterwards.

``import_csv`` below is the fallback, written before that module existed: the fastest honest
path that stores rows exactly as the services do. Every row is read and validated like a form
(name, GB 11643 ID number with its check digit and date of birth, mobile or landline, relation,
residence type, dates, the dwelling and the household), every number goes through
``protect_id_number``/``protect_phone`` (AES-256-GCM token, HMAC blind index, mask), ID numbers
already in the registry or twice in the file are refused, and nothing is written unless every
row is good. Then, in one transaction: the new households, the residents, their heads, a move-in
event per resident and one audit record for the import (counts only).
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import registry_population as population
from django.db import transaction

from sanan.audit.services import audit_record
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.core.validators import validate_id_number
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import (
    Household,
    Relation,
    ResidenceEvent,
    ResidenceEventKind,
    ResidenceType,
    Resident,
    ResidentTag,
)
from sanan.registry.services import Protected, id_number_index, protect_id_number, protect_phone

CODE_PREFIX = "imp-"  # households of the benchmark's file
FIRST = 2_000_000  # the file's people are population.id_number_of(FIRST + k): nobody else's

HEADERS = {
    "姓名": "name", "身份证号": "id_number", "联系电话": "phone", "与户主关系": "relation",
    "居住类型": "residence_type", "工作单位或学校": "work_or_school", "入住日期": "moved_in_on",
    "居住证到期日期": "registration_expires_on", "户号": "household", "住址编码": "dwelling",
}  # fmt: skip
RELATIONS = {"户主": Relation.HEAD, "配偶": Relation.SPOUSE, "子女": Relation.CHILD,
             "父母": Relation.PARENT, "孙子女": Relation.GRANDCHILD,
             "其他": Relation.OTHER}  # fmt: skip
TYPES = {"户籍": ResidenceType.REGISTERED, "流动人口": ResidenceType.MIGRANT,
         "租住": ResidenceType.RENTER}  # fmt: skip


# --- The file ---------------------------------------------------------------------------------


def write_csv(path: Path, *, rows: int, seed: int, progress: Callable[[str], object]) -> None:
    """A spreadsheet of ``rows`` residents in households of three, as community workers keep
    them (Chinese headers); written once, then reused."""
    if path.exists() and path.stat().st_size > 0 and _rows_in(path) == rows:
        return
    units = list(
        Place.objects.filter(code__startswith="bench-d-", kind=PlaceKind.UNIT)
        .order_by("path")
        .values_list("code", flat=True)[: rows // 3 + 1]
    )
    today = dt.date(2025, 1, 1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(HEADERS))
    for k in range(rows):
        number = population.id_number_of(FIRST + k)
        position = k % 3
        kind = ("户籍", "流动人口", "租住")[(k // 3) % 3]
        phone = population.phone_of(FIRST + k)
        if k % 10 == 9:
            phone = f"0833-2{k % 1_000_000:06d}"
        writer.writerow([
            "张" + ("建国", "秀英", "小明")[position], number, phone,
            ("户主", "配偶", "子女")[position], kind, ("退休", "个体经营", "小学")[position],
            (today - dt.timedelta(days=30 + k % 3000)).isoformat(),
            (dt.date(2027, 6, 30)).isoformat() if kind == "流动人口" else "",
            f"{CODE_PREFIX}{k // 3:06d}", units[k // 3],
        ])  # fmt: skip
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    progress(f"  wrote {path} ({rows:,} rows, {path.stat().st_size / 1e6:.1f} MB)")


def _rows_in(path: Path) -> int:
    with path.open(encoding="utf-8-sig") as f:
        return sum(1 for _ in f) - 1


def sanan_imports() -> ModuleType | None:
    """``sanan.registry.imports`` if it is there and has the expected API."""
    try:
        module = importlib.import_module("sanan.registry.imports")
    except ImportError:
        return None
    ok = all(hasattr(module, name) for name in ("parse", "dry_run", "apply"))
    return module if ok else None


SANAN_HEADERS = ("姓名", "性别", "身份证号", "联系电话", "院落", "门牌号", "房号", "户号",
                 "与户主关系", "人员类型", "工作单位/学校", "入住日期",
                 "居住登记到期日期")  # fmt: skip


def write_sanan_csv(path: Path, *, rows: int, progress: Callable[[str], object]) -> None:
    """The same people as ``write_csv``, with the headers of Sanan's own exports and places
    named as people write them (courtyard, house number, room), spread over the district:
    three people a household, one household per unit. Written once, then reused."""
    if path.exists() and path.stat().st_size > 0 and _rows_in(path) == rows:
        return
    households = -(-rows // 3)
    names = dict(
        Place.objects.filter(
            code__startswith="bench-d-", kind__in=[PlaceKind.COURTYARD, PlaceKind.HOUSE]
        ).values_list("path", "name")
    )
    units = list(
        Place.objects.filter(code__startswith="bench-d-", kind=PlaceKind.UNIT)
        .order_by("path")
        .values_list("path", "name")
    )
    step = max(1, len(units) // households)
    today = dt.date(2025, 1, 1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SANAN_HEADERS)
    for k in range(rows):
        number = population.id_number_of(FIRST + k)
        position = k % 3
        kind = ("户籍", "流动人口", "租住")[(k // 3) % 3]
        phone = population.phone_of(FIRST + k)
        if k % 10 == 9:
            phone = f"0833-2{k % 1_000_000:06d}"
        path_, unit = units[(k // 3) * step % len(units)]
        house, courtyard = path_[: -Place.steplen], path_[: -2 * Place.steplen]
        writer.writerow([
            "张" + ("建国", "秀英", "小明")[position], "", number, phone,
            names[courtyard], names[house], unit, f"{CODE_PREFIX}{k // 3:06d}",
            ("户主", "配偶", "子女")[position], kind, ("退休", "个体经营", "小学")[position],
            (today - dt.timedelta(days=30 + k % 3000)).isoformat(),
            "2027-06-30" if kind == "流动人口" else "",
        ])  # fmt: skip
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    progress(f"  wrote {path} ({rows:,} rows, {path.stat().st_size / 1e6:.1f} MB)")


# --- Reading and checking ---------------------------------------------------------------------


@dataclass
class Good:
    line: int
    name: str
    id_number: str
    protected_id: Protected
    gender: str
    birth_date: dt.date
    phone: Protected
    relation: str
    residence_type: str
    work_or_school: str
    moved_in_on: dt.date | None
    expires_on: dt.date | None
    household: str
    dwelling: str


@dataclass
class ImportReport:
    rows: int = 0
    problems: list[str] = field(
        default_factory=list
    )  # "line 12, 身份证号: resident.id_number_checksum"
    households_created: int = 0
    residents_created: int = 0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def how(self) -> str:
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items())
        return (
            "bench/registry_import.py (no `registry.imports` yet): CSV with Chinese headers read, "
            "every row validated (GB 11643 check digit, phone, relation, type, dates), numbers "
            "protected with `protect_id_number`/`protect_phone`, duplicates checked through the "
            "blind index, then households, residents, heads, move-in events and one audit "
            f"record in one transaction; one process ({phases})"
        )


def _date(value: str, line: int, column: str, problems: list[str]) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append(f"line {line}, {column}: date")
        return None


def check_rows(
    rows: Iterable[Sequence[str]], header: Sequence[str]
) -> tuple[list[Good], list[str]]:
    columns = {HEADERS[h.strip()]: i for i, h in enumerate(header) if h.strip() in HEADERS}
    missing = {"name", "id_number", "household", "dwelling"} - set(columns)
    if missing:
        return [], [f"header: missing {', '.join(sorted(missing))}"]
    today = clock.today()
    good: list[Good] = []
    problems: list[str] = []
    seen: set[str] = set()

    def cell(row: Sequence[str], key: str) -> str:
        i = columns.get(key)
        return row[i].strip() if i is not None and i < len(row) else ""

    for line, row in enumerate(rows, start=2):
        try:
            name = " ".join(cell(row, "name").split())
            if not name or len(name) > 60:
                raise DomainError("resident.name_required", "name")
            checked = validate_id_number(cell(row, "id_number"), today=today)
            if checked.value in seen:
                raise DomainError("import.id_number_twice", "twice in the file")
            seen.add(checked.value)
            phone = protect_phone(cell(row, "phone"), "phone")
            relation = RELATIONS.get(cell(row, "relation") or "户主")
            rtype = TYPES.get(cell(row, "residence_type") or "户籍")
            if relation is None or rtype is None:
                raise DomainError("import.choice", "relation or type")
        except DomainError as exc:
            problems.append(f"line {line}: {exc.code}")
            continue
        moved_in = _date(cell(row, "moved_in_on"), line, "入住日期", problems)
        expires = _date(cell(row, "registration_expires_on"), line, "居住证到期日期", problems)
        if moved_in is not None and moved_in > today:
            problems.append(f"line {line}: registry.date_in_future")
        if expires is not None and rtype == ResidenceType.REGISTERED:
            problems.append(f"line {line}: resident.expiry_not_applicable")
        good.append(Good(
            line=line, name=name, id_number=checked.value,
            protected_id=protect_id_number(checked), gender=checked.gender,
            birth_date=checked.birth_date, phone=phone, relation=relation,
            residence_type=rtype, work_or_school=cell(row, "work_or_school")[:120],
            moved_in_on=moved_in, expires_on=expires, household=cell(row, "household"),
            dwelling=cell(row, "dwelling"),
        ))  # fmt: skip
    return good, problems


def _chunks(items: Sequence[str], size: int = 900) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- Importing --------------------------------------------------------------------------------


def import_csv(path: Path, *, progress: Callable[[str], object]) -> ImportReport:
    report = ImportReport()
    t0 = time.perf_counter()
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    good, problems = check_rows(reader, header)
    report.rows = len(good) + len(problems)
    report.phases["read and check"] = time.perf_counter() - t0
    progress(f"  import: {report.rows:,} rows checked ({report.phases['read and check']:.1f} s)")

    # Matching with the registry: dwellings, households, numbers already registered.
    t1 = time.perf_counter()
    dwellings: dict[str, int] = {}
    codes = sorted({g.dwelling for g in good})
    for chunk in _chunks(codes):
        dwellings.update(
            Place.objects.filter(code__in=chunk, kind__in=[PlaceKind.UNIT, PlaceKind.HOUSE])
            .values_list("code", "pk")
        )  # fmt: skip
    existing: dict[str, tuple[int, int]] = {}
    household_codes = sorted({g.household for g in good})
    for chunk in _chunks(household_codes):
        for code, pk, place in Household.objects.filter(code__in=chunk).values_list(
            "code", "pk", "place_id"
        ):
            existing[code] = (pk, place)
    indexes = [g.protected_id.index for g in good]
    taken: set[str] = set()
    for chunk in _chunks(indexes):
        taken.update(
            str(i)
            for i in Resident.objects.filter(id_number_index__in=chunk).values_list(
                "id_number_index", flat=True
            )
        )
    for g in good:
        if g.dwelling not in dwellings:
            problems.append(f"line {g.line}: household.wrong_place")
        elif g.household in existing and existing[g.household][1] != dwellings[g.dwelling]:
            problems.append(f"line {g.line}: import.household_elsewhere")
        if g.protected_id.index in taken:
            problems.append(f"line {g.line}: resident.already_registered")
    report.phases["match"] = time.perf_counter() - t1
    if problems:
        report.problems = problems
        return report

    # Writing: all or nothing.
    t2 = time.perf_counter()
    now, today = clock.now(), clock.today()
    with transaction.atomic():
        new = [
            Household(
                place_id=dwellings[g.dwelling], code=g.household, created_at=now, updated_at=now
            )
            for g in _first_of_each(good)
            if g.household not in existing
        ]
        Household.objects.bulk_create(new, batch_size=2_000)
        ids = {h.code: h.pk for h in new} | {code: pk for code, (pk, _p) in existing.items()}
        residents = [
            Resident(
                household_id=ids[g.household],
                place_id=dwellings[g.dwelling],
                relation_to_head=g.relation,
                name=g.name,
                gender=g.gender,
                birth_date=g.birth_date,
                id_number_encrypted=g.protected_id.encrypted,
                id_number_index=g.protected_id.index,
                id_number_masked=g.protected_id.masked,
                phone_encrypted=g.phone.encrypted,
                phone_index=g.phone.index,
                phone_masked=g.phone.masked,
                residence_type=g.residence_type,
                work_or_school=g.work_or_school,
                moved_in_on=g.moved_in_on,
                registration_expires_on=g.expires_on,
                created_at=now,
                updated_at=now,
            )
            for g in good
        ]
        Resident.objects.bulk_create(residents, batch_size=2_000)
        heads: dict[int, int] = {}
        for r in residents:
            if r.relation_to_head == Relation.HEAD:
                heads.setdefault(r.household_id, r.pk)
        for h in new:
            h.head_id = heads.get(h.pk)
        Household.objects.bulk_update([h for h in new if h.head_id], ["head"], batch_size=1_000)
        ResidenceEvent.objects.bulk_create(
            [
                ResidenceEvent(
                    resident_id=r.pk,
                    kind=ResidenceEventKind.MOVED_IN,
                    on=r.moved_in_on or today,
                    place_id=r.place_id,
                    to_household_id=r.household_id,
                    to_place_id=r.place_id,
                    reason="import",
                    actor_label="bench",
                    created_at=now,
                )
                for r in residents
            ],
            batch_size=2_000,
        )
        audit_record(
            actor="bench",
            action="resident.imported",
            data={"rows": len(residents), "households": len(new)},
        )
    report.households_created = len(new)
    report.residents_created = len(residents)
    report.phases["write"] = time.perf_counter() - t2
    return report


def _first_of_each(good: list[Good]) -> list[Good]:
    seen: set[str] = set()
    firsts = []
    for g in good:
        if g.household not in seen:
            seen.add(g.household)
            firsts.append(g)
    return firsts


# --- Checking and cleaning up -----------------------------------------------------------------


def check_imported(path: Path, report: ImportReport | None) -> list[str]:
    """Every row stored, its numbers decrypting to the file's; nothing refused."""
    if report is not None and report.problems:
        return [f"import refused: {p}" for p in report.problems[:5]]
    rows = _rows_in(path)
    problems = []
    stored = Resident.objects.filter(household__code__startswith=CODE_PREFIX).count()
    if stored != rows or (report is not None and report.residents_created != rows):
        problems.append(f"import stored {stored} of {rows} rows")
    for k in (0, 1, rows // 2, rows - 1):
        number = population.id_number_of(FIRST + k)
        r = Resident.objects.filter(id_number_index=id_number_index(number)).first()
        if r is None or r.id_number_reveal() != number:
            problems.append(f"row {k + 2}: ID number not found back")
        elif k % 10 != 9 and r.phone_reveal() != population.phone_of(FIRST + k):
            problems.append(f"row {k + 2}: phone not found back")
    heads = Household.objects.filter(code__startswith=CODE_PREFIX, head__isnull=True).count()
    if heads:
        problems.append(f"{heads} imported households without a head")
    return problems


def remove_imported() -> None:
    """Take the benchmark's rows out again (not timed)."""
    with transaction.atomic():
        households = Household.objects.filter(code__startswith=CODE_PREFIX)
        mine = Resident.objects.filter(household__in=households.values("pk"))
        ResidentTag.objects.filter(resident__in=mine.values("pk"))._raw_delete("default")
        ResidenceEvent.objects.filter(resident__in=mine.values("pk"))._raw_delete("default")
        households.update(head=None)
        mine._raw_delete("default")
        households._raw_delete("default")
