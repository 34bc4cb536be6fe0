"""A district of 1,000,000 residents for the registry benchmarks, written with ``bulk_create``.

The district has the demo community's shape, repeated: 10 sub-districts × 34 communities (about
2,900 residents each, like Hongqi) × 10 courtyards × 8 houses × 10 units: 303,105 places. About
370,000 households of 1 to 6 people live in the units. Every resident has a valid ID number and
a mobile phone, stored as the services store them (encrypted token, blind index, mask: the
``protect_*`` helpers of ``registry.services``; the pairs of characters of every name for the
name search: ``name_grams_write``); the plain values are functions of the resident's
number ``i`` (``id_number_of(i)``, ``phone_of(i)``) so a benchmark can look them up without
keeping a million of them. 60 % registered, 27 % migrants, 13 % renters; 95 % live here; about 9 %
carry a care tag; one resident in ten owns a vehicle.

This is test data written around the services on purpose (a million ``resident_register`` calls
would take hours): no move history and no audit rows, which the lists and lookups measured here
do not read.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context

from django.db import connection, transaction

from sanan.core import clock, crypto
from sanan.core.validators import Gender, IdNumber, id_number_check_digit, mask_phone
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import (
    PHONE_PURPOSE,
    CareTag,
    Household,
    Relation,
    ResidenceType,
    Resident,
    ResidentStatus,
    ResidentTag,
    StandardCareTag,
    Vehicle,
    VehicleKind,
)
from sanan.registry.services import (
    care_tags_ensure_standard,
    name_grams_write,
    phone_index,
    protect_id_number,
)

ROOT_CODE = "bench-city"
VERSION = "registry-population v2"

REGIONS = ("511102", "511111", "511112", "511123", "511124", "511126", "511181", "510104",
           "510107", "511302", "511402", "511502", "500101", "530102", "420102",
           "430102")  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林邓谢唐曾彭冯蒋袁苏任廖钟宋郑魏杜余肖田范"
_GIVEN = (
    "秀英 桂英 建国 国华 德明 志强 伟 勇 军 丽 霞 燕 敏 磊 涛 鹏 杰 婷 静 娟 浩 宇 欣怡 雨桐 子轩 "
    "梓涵 建华 红梅 玉兰 淑芬 海涛 晓燕 俊杰 思雨 浩然 一诺 明 芳 强 平"
)
GIVEN = tuple(_GIVEN.split(" "))
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 34: no I, no O
DAYS = 36_500  # birth dates spread over a century


@dataclass(frozen=True)
class Shape:
    subdistricts: int = 10
    communities: int = 34  # per sub-district
    courtyards: int = 10  # per community (through one residential area)
    houses: int = 8  # per courtyard
    units: int = 10  # per house

    @property
    def unit_count(self) -> int:
        return self.subdistricts * self.communities * self.courtyards * self.houses * self.units


# --- Plain values a benchmark can recompute ---------------------------------------------------


def id_number_of(i: int) -> str:
    """The ID number of resident ``i`` (0-based): unique for every ``i`` below 4.6 million."""
    region = REGIONS[i % len(REGIONS)]
    j = i // len(REGIONS)
    birth = dt.date(1925, 1, 1) + dt.timedelta(days=(j * 7919) % DAYS)
    sequence = 100 + (j // DAYS) * 2 + (i * 2654435761 >> 7) % 2  # parity: gender
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_digit(first17)


def phone_of(i: int) -> str:
    return f"13{i:09d}"


def _birth_and_gender(number: str) -> tuple[dt.date, str]:
    birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return birth, Gender.MALE if int(number[16]) % 2 else Gender.FEMALE


def _protected(start: int, stop: int) -> list[tuple[str, str, str, str, str, str]]:
    """Encrypted token, blind index and mask of the ID number and phone of residents
    ``start`` to ``stop`` (run in worker processes)."""
    rows = []
    for i in range(start, stop):
        number = id_number_of(i)
        birth, gender = _birth_and_gender(number)
        pid = protect_id_number(IdNumber(number, number[:6], birth, gender))
        phone = phone_of(i)
        rows.append((
            pid.encrypted, pid.index, pid.masked,
            crypto.encrypt(phone, purpose=PHONE_PURPOSE), phone_index(phone), mask_phone(phone),
        ))  # fmt: skip
    return rows


# --- Building it ------------------------------------------------------------------------------


def population_ready(n: int) -> bool:
    root = Place.objects.filter(code=ROOT_CODE).first()
    return root is not None and root.address == f"{VERSION} n={n}"


def root() -> Place:
    return Place.objects.get(code=ROOT_CODE)


def _places(shape: Shape, progress: Callable[[str], object]) -> list[int]:
    """The place tree, level by level; returns the unit ids in path order."""
    roots = Place.objects.filter(depth=1).count()
    now = clock.now()
    city_path = Place._get_path(None, 1, roots + 1)
    levels: list[tuple[str, int]] = [
        (PlaceKind.DISTRICT, 1),
        (PlaceKind.SUBDISTRICT, shape.subdistricts),
        (PlaceKind.COMMUNITY, shape.communities),
        (PlaceKind.AREA, 1),
        (PlaceKind.COURTYARD, shape.courtyards),
        (PlaceKind.HOUSE, shape.houses),
        (PlaceKind.UNIT, shape.units),
    ]
    Place.objects.bulk_create([
        Place(path=city_path, depth=1, numchild=1, kind=PlaceKind.CITY, code=ROOT_CODE,
              name="基准市", address="(being built)", created_at=now, updated_at=now)
    ])  # fmt: skip
    parents = [(city_path, ROOT_CODE)]
    for depth, (kind, per_parent) in enumerate(levels, start=2):
        children = levels[depth - 1][1] if depth - 1 < len(levels) else 0
        batch: list[Place] = []
        next_parents = []
        for parent_path, parent_code in parents:
            for k in range(1, per_parent + 1):
                path = Place._get_path(parent_path, depth, k)
                code = f"{parent_code}-{k}" if depth > 2 else "bench-d"
                batch.append(Place(
                    path=path, depth=depth, numchild=children, kind=kind, code=code,
                    name=_name(kind, code, k), created_at=now, updated_at=now,
                ))  # fmt: skip
                next_parents.append((path, code))
                if len(batch) >= 5_000:
                    Place.objects.bulk_create(batch, batch_size=1_000)
                    batch = []
        Place.objects.bulk_create(batch, batch_size=1_000)
        parents = next_parents
        progress(f"  places: {len(parents):,} of kind {kind}")
    return list(
        Place.objects.filter(path__startswith=city_path, kind=PlaceKind.UNIT)
        .order_by("path")
        .values_list("id", flat=True)
    )


def _name(kind: str, code: str, k: int) -> str:
    """Names as community workers write them; a courtyard's is unique in the district (the
    import finds places by name), a house's in its courtyard, a unit's in its house."""
    parts = code.split("-")
    if kind == PlaceKind.COURTYARD:
        return f"{parts[2]}-{parts[3]}社区{k}号院"
    if kind == PlaceKind.COMMUNITY:
        return f"{parts[2]}-{k}社区"
    if kind == PlaceKind.HOUSE:
        return f"{k}号"
    if kind == PlaceKind.UNIT:
        return f"{(k + 1) // 2}0{2 - k % 2}室"  # 101室 102室 201室 … 502室
    names: dict[str, str] = {PlaceKind.DISTRICT: "基准区", PlaceKind.AREA: "小区"}
    return names.get(kind, f"第{k}街道")


def _household_sizes(n: int, rng: random.Random) -> list[int]:
    sizes: list[int] = []
    total = 0
    while total < n:
        size = min(rng.choices((1, 2, 3, 4, 5, 6), (26, 28, 22, 15, 6, 3))[0], n - total)
        sizes.append(size)
        total += size
    return sizes


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


def populate(
    n: int, *, seed: int, progress: Callable[[str], object], shape: Shape | None = None
) -> None:
    """Write the district (into an empty registry)."""
    shape = shape or Shape()
    rng = random.Random(seed)
    started = time.perf_counter()
    with transaction.atomic():
        units = _places(shape, progress)
    progress(f"  places written ({time.perf_counter() - started:.0f} s)")

    sizes = _household_sizes(n, rng)
    now = clock.now()
    with transaction.atomic():
        batch = []
        for h in range(len(sizes)):
            unit = units[h * len(units) // len(sizes)]
            batch.append(Household(place_id=unit, code=f"bh{h:07d}", created_at=now,
                                   updated_at=now))  # fmt: skip
            if len(batch) >= 20_000:
                Household.objects.bulk_create(batch, batch_size=2_000)
                batch = []
        Household.objects.bulk_create(batch, batch_size=2_000)
    households = list(
        Household.objects.filter(code__startswith="bh")
        .order_by("code")
        .values_list("id", "place_id")
    )
    progress(f"  households: {len(households):,} ({time.perf_counter() - started:.0f} s)")

    care_tags_ensure_standard(actor="bench")  # a flushed database has lost them
    tags = {t.code: t.pk for t in CareTag.objects.filter(code__in=StandardCareTag.values)}
    today = clock.today()
    member_of: list[tuple[int, int, int]] = []  # (household id, place id, position)
    for (hid, place), size in zip(households, sizes, strict=True):
        member_of.extend((hid, place, k) for k in range(size))

    # Encryption runs in worker processes while this one writes.
    chunk = 10_000
    context = get_context("fork")
    connection.close()  # the children must not share this connection
    with context.Pool(max(1, (os.cpu_count() or 2))) as pool:
        results = pool.imap(_protected_star, list(_chunks(n, chunk)))
        written = 0
        for start, stop in _chunks(n, chunk):
            protected = next(results)
            residents = []
            vehicle_owner: list[int] = []
            for i, prot in zip(range(start, stop), protected, strict=True):
                hid, place, position = member_of[i]
                number = id_number_of(i)
                birth, gender = _birth_and_gender(number)
                roll = rng.random()
                rtype = (
                    ResidenceType.REGISTERED if roll < 0.6
                    else ResidenceType.MIGRANT if roll < 0.87 else ResidenceType.RENTER
                )  # fmt: skip
                status_roll = rng.random()
                status = (
                    ResidentStatus.ACTIVE if status_roll < 0.95
                    else ResidentStatus.MOVED_OUT if status_roll < 0.99
                    else ResidentStatus.DECEASED
                )  # fmt: skip
                moved_in = birth + dt.timedelta(days=rng.randrange(max(1, (today - birth).days)))
                residents.append(Resident(
                    household_id=hid, place_id=place,
                    relation_to_head=Relation.HEAD if position == 0
                    else rng.choice((Relation.SPOUSE, Relation.CHILD, Relation.PARENT)),
                    name=rng.choice(SURNAMES) + rng.choice(GIVEN), gender=gender,
                    birth_date=birth,
                    id_number_encrypted=prot[0], id_number_index=prot[1],
                    id_number_masked=prot[2],
                    phone_encrypted=prot[3], phone_index=prot[4], phone_masked=prot[5],
                    residence_type=rtype,
                    work_or_school="",
                    moved_in_on=moved_in,
                    moved_out_on=(
                        None if status == ResidentStatus.ACTIVE
                        else moved_in + dt.timedelta(days=(today - moved_in).days // 2)
                    ),
                    status=status,
                    registration_expires_on=(
                        today + dt.timedelta(days=rng.randrange(-60, 365))
                        if rtype == ResidenceType.MIGRANT else None
                    ),
                    created_at=now, updated_at=now,
                ))  # fmt: skip
                if rng.random() < 0.1:
                    vehicle_owner.append(len(residents) - 1)
            with transaction.atomic():
                Resident.objects.bulk_create(residents, batch_size=2_000)  # sets the ids
                name_grams_write((r.pk, r.name) for r in residents)  # for the name search
                _tags_and_vehicles(residents, start, tags, vehicle_owner, rng, today)
            written = stop
            if (stop // chunk) % 10 == 0 or stop == n:
                elapsed = time.perf_counter() - started
                progress(f"  residents: {written:,}/{n:,} ({elapsed:.0f} s)")

    analyse()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(HEADS_SQL)
        Place.objects.filter(code=ROOT_CODE).update(address=f"{VERSION} n={n}")
    analyse()
    progress(f"  population ready ({time.perf_counter() - started:.0f} s)")


# The first member of every household is its head (one pass; SQLite 3.33+ and PostgreSQL).
HEADS_SQL = (
    "UPDATE registry_household SET head_id = first.id FROM (SELECT household_id, MIN(id) AS id "
    "FROM registry_resident GROUP BY household_id) AS first "
    "WHERE first.household_id = registry_household.id"
)


def _protected_star(bounds: tuple[int, int]) -> list[tuple[str, str, str, str, str, str]]:
    return _protected(*bounds)


def _tags_and_vehicles(
    residents: list[Resident],
    start: int,
    tags: dict[str, int],
    vehicle_owner: list[int],
    rng: random.Random,
    today: dt.date,
) -> None:
    tagged = []
    for r in residents:
        assert r.birth_date is not None
        age = (today - r.birth_date).days // 365
        code = None
        roll = rng.random()
        if age >= 70 and roll < 0.15:
            code = StandardCareTag.ELDERLY_ALONE
        elif age <= 16 and roll < 0.12:
            code = (
                StandardCareTag.MIGRANT_CHILD
                if r.residence_type != ResidenceType.REGISTERED
                else StandardCareTag.LEFT_BEHIND_CHILD
            )
        elif roll < 0.03:
            code = StandardCareTag.DISABILITY
        elif roll < 0.045:
            code = StandardCareTag.LOW_INCOME
        elif roll < 0.06:
            code = StandardCareTag.VETERAN
        elif roll < 0.07:
            code = StandardCareTag.SERIOUS_ILLNESS
        if code is not None:
            tagged.append(ResidentTag(resident_id=r.pk, tag_id=tags[code], since=None,
                                      created_at=clock.now()))  # fmt: skip
    ResidentTag.objects.bulk_create(tagged, batch_size=2_000)
    vehicles = []
    for k in vehicle_owner:
        serial = ""
        value = start + k
        for _ in range(5):
            value, digit = divmod(value, len(PLATE_CHARS))
            serial = PLATE_CHARS[digit] + serial
        vehicles.append(Vehicle(
            plate=f"川L{serial}", kind=VehicleKind.CAR, owner_id=residents[k].pk,
            place_id=residents[k].place_id, created_at=clock.now(), updated_at=clock.now(),
        ))  # fmt: skip
    Vehicle.objects.bulk_create(vehicles, batch_size=2_000)


def analyse() -> None:
    """Planner statistics and (PostgreSQL) the visibility map, as a database in use has them
    from autovacuum."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
