"""The import benchmark's file, its check and its cleanup, around ``sanan.registry.imports``
(``parse`` → ``dry_run`` → ``apply``, the import the pages, the API and the command line use).

``write_sanan_csv`` writes the spreadsheet a district's community workers would hand in
(Chinese headers, places by the names people write: ``3-12社区5号院``, ``4号``, ``201室``),
``check_imported`` checks that every row was stored with its numbers, ``remove_imported`` takes
the rows out again afterwards (not timed).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import registry_population as population
from django.db import transaction

from sanan.places.models import Place, PlaceKind
from sanan.registry.models import (
    Household,
    ResidenceEvent,
    Resident,
    ResidentNameGram,
    ResidentTag,
    name_grams,
)
from sanan.registry.services import id_number_index

CODE_PREFIX = "imp-"  # households of the benchmark's file
# The file's people are population.id_number_of(FIRST + k): past the largest population (the
# suite's 3.2 million residents; at 2,000,000 the file held people already there, who matched
# them) and, with the file's 100,000, below the 4.6 million whose numbers are unique.
FIRST = 4_000_000


def _rows_in(path: Path) -> int:
    with path.open(encoding="utf-8-sig") as f:
        return sum(1 for _ in f) - 1


SANAN_HEADERS = ("姓名", "性别", "身份证号", "联系电话", "院落", "门牌号", "房号", "户号",
                 "与户主关系", "人员类型", "工作单位/学校", "入住日期",
                 "居住登记到期日期")  # fmt: skip


def write_sanan_csv(path: Path, *, rows: int, progress: Callable[[str], object]) -> None:
    """Residents ``FIRST`` onwards of ``registry_population``, with the headers of Sanan's own
    exports and places named as people write them (courtyard, house number, room), spread over
    the district: three people a household, one household per unit. Written once, reused."""
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


# --- Checking and cleaning up -----------------------------------------------------------------


def check_imported(path: Path) -> list[str]:
    """Every row stored, its numbers decrypting to the file's."""
    rows = _rows_in(path)
    problems = []
    stored = Resident.objects.filter(household__code__startswith=CODE_PREFIX).count()
    if stored != rows:
        problems.append(f"import stored {stored} of {rows} rows")
    for k in (0, 1, rows // 2, rows - 1):
        number = population.id_number_of(FIRST + k)
        r = Resident.objects.filter(id_number_index=id_number_index(number)).first()
        if r is None or r.id_number_reveal() != number:
            problems.append(f"row {k + 2}: ID number not found back")
        elif k % 10 != 9 and r.phone_reveal() != population.phone_of(FIRST + k):
            problems.append(f"row {k + 2}: phone not found back")
        elif set(r.name_grams.values_list("gram", flat=True)) != set(name_grams(r.name)):
            problems.append(f"row {k + 2}: the name search would not find this name")
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
        ResidentNameGram.objects.filter(resident__in=mine.values("pk"))._raw_delete("default")
        households.update(head=None)
        mine._raw_delete("default")
        households._raw_delete("default")
