"""The registry of the demo community: about 3,000 people in realistic proportions, written
through the services, safe to build again, and no ID or phone number readable in the database
file.

The site tests run the `sanan` CLI in a subprocess against a throwaway installation (a temporary
SANAN_VAR_DIR with its own SQLite file, as tests/test_backup.py does), because the point is the
bytes of the file an operator gets: the test process's own database is not used. `sanan demo
--no-registry --orders 0` builds the places, the accounts and the organisation (without its year
of visits, which needs the registry); `build_registry_demo` is then called through `sanan shell`,
as `sanan demo` calls it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from sanan.core.validators import validate_id_number, validate_phone, validate_plate
from sanan.registry.demo import (
    KNOWN_NAMES,
    VEHICLES,
    HouseLayout,
    plan_registry_demo,
)
from sanan.registry.models import ResidenceType

pytestmark = pytest.mark.own_sqlite_file

SEED = 2018

BUILD_CODE = """
import json
from sanan.registry.demo import build_registry_demo
print("TOTALS=" + json.dumps(build_registry_demo(seed=2018, progress=print)))
"""

# Everything the tests check, read back through Django (numbers decrypted).
FACTS_CODE = """
import json
from collections import Counter
from sanan.audit.models import AuditEvent
from sanan.core import clock
from sanan.places.models import Place
from sanan.registry import models as m
from sanan.registry.demo import AREA_CODE, house_layouts, plan_registry_demo

area = Place.objects.get(code=AREA_CODE)
plan = plan_registry_demo(seed=2018, houses=house_layouts(area))
today = clock.today()
residents = list(m.Resident.objects.filter(place__path__startswith=area.path))
numbers = {"id": [], "phone": []}
for r in residents:
    numbers["id"].append(r.id_number_reveal())
    numbers["phone"] += [p for p in (r.phone_reveal(), r.phone2_reveal()) if p]
ages = [r.age for r in residents]
expiring = [
    (r.registration_expires_on - today).days
    for r in residents if r.registration_expires_on is not None
]
tags = Counter(m.ResidentTag.objects.values_list("tag__code", flat=True))
owners = dict(m.HouseProfile.objects.values_list("house__path", "owner_id"))
print("FACTS=" + json.dumps({
    "counts": {c.__name__: c.objects.count() for c in (
        m.Household, m.Resident, m.ResidenceEvent, m.HouseProfile, m.Rental, m.Vehicle,
        m.ResidentTag, AuditEvent)},
    "numbers": numbers,
    "planned": {
        "id": [p.id_number for p in plan.people()],
        "phone": [n for p in plan.people() for n in (p.phone, p.phone2) if n],
    },
    "masks": [r.id_number_masked for r in residents[:50]]
    + [r.phone_masked for r in residents[:50]],
    "types": Counter(r.residence_type for r in residents),
    "ages": ages,
    "expiring": expiring,
    "tags": tags,
    "houses": Place.objects.filter(kind="house", path__startswith=area.path).count(),
    "profiles": m.HouseProfile.objects.filter(house__path__startswith=area.path).count(),
    "self_built": m.HouseProfile.objects.filter(self_built=True).count(),
    "owners_here": m.HouseProfile.objects.filter(owner__isnull=False).count(),
    "rentals": Counter(m.Rental.objects.values_list("registration_state", flat=True)),
    "tenants": m.Rental.tenants.through.objects.count(),
    "landlords_own_the_house": sum(
        1 for path, landlord in m.Rental.objects.values_list("place__path", "landlord_id")
        if landlord is not None and owners.get(path[:-Place.steplen]) == landlord
    ),
    "inspected": m.Rental.objects.filter(last_inspected_on__isnull=False).count(),
    "plates": list(m.Vehicle.objects.values_list("plate", flat=True)),
    "heads": m.Household.objects.filter(head__isnull=False).count(),
}))
"""


# --- A throwaway Sanan installation ------------------------------------------------------------


class Site:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.env = {
            **os.environ,
            "SANAN_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "sanan.settings",
        }
        self.env.pop("DATABASE_URL", None)  # the file is the point: always SQLite

    @property
    def database(self) -> Path:
        return self.var_dir / "sanan.sqlite3"

    def sanan(self, *args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "sanan.cli", *args],
            env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            pytest.fail(f"sanan {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def shell(self, code: str, prefix: str) -> Any:
        out = self.sanan("shell", "-c", code)
        line = next(line for line in out.splitlines() if line.startswith(prefix + "="))
        return json.loads(line.removeprefix(prefix + "="))

    def build(self) -> None:
        self.sanan("demo", "--orders", "0", "--no-registry")
        self.shell(BUILD_CODE, "TOTALS")

    def raw_bytes(self) -> bytes:
        """The database as it lies on disk: the main file and, if any, its write-ahead log."""
        return b"".join(
            path.read_bytes()
            for path in (self.database, self.database.with_name("sanan.sqlite3-wal"))
            if path.exists()
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = Site(tmp_path_factory.mktemp("registry-demo"))
    site.build()
    return site


@pytest.fixture(scope="module")
def facts(site: Site) -> dict[str, Any]:
    return dict(site.shell(FACTS_CODE, "FACTS"))


def _windows(data: bytes) -> set[str]:
    """Every 11-, 12- and 18-character window of every run of digits, dashes and X in the bytes:
    a plain mobile (11), landline (0833-2xxxxxx: 12, or 11 without the dash) or ID number (18)
    would be one of them, wherever it was written."""
    found: set[str] = set()
    for run in re.findall(rb"[0-9Xx\-]{11,}", data):
        text = run.decode("ascii")
        for width in (11, 12, 18):
            found.update(text[i : i + width] for i in range(len(text) - width + 1))
    return found


# --- The database file -------------------------------------------------------------------------


def test_registry_demo__database_file__holds_no_plain_id_or_phone_number(
    site: Site, facts: dict[str, Any]
) -> None:
    ids, phones = facts["numbers"]["id"], facts["numbers"]["phone"]
    # The numbers looked for are the ones the demo meant to store, all of them.
    assert sorted(ids) == sorted(facts["planned"]["id"])
    assert sorted(phones) == sorted(facts["planned"]["phone"])
    assert len(ids) > 2_500
    assert len(phones) > 2_000
    assert any("-" in p for p in phones)  # landlines too

    data = site.raw_bytes()
    # The scan reads the stored text: the masks shown on screen are there.
    assert all(mask.encode() in data for mask in facts["masks"] if mask)

    windows = _windows(data)
    wanted = set(ids) | set(phones) | {p.replace("-", "") for p in phones}
    leaked = sorted(wanted & windows)
    assert not leaked, f"{len(leaked)} numbers in plain text, e.g. a {len(leaked[0])}-char one"
    # The same for the lower-case x an ID number may be typed with.
    assert not {i.lower() for i in ids if i.endswith("X")} & windows


# --- Size and proportions ----------------------------------------------------------------------


def test_registry_demo__size__is_about_3000_people_in_1100_households(
    facts: dict[str, Any],
) -> None:
    counts = facts["counts"]
    assert 2_800 <= counts["Resident"] <= 3_200
    assert 1_050 <= counts["Household"] <= 1_250
    assert counts["ResidenceEvent"] == counts["Resident"]  # each moved in once, through services
    assert facts["heads"] == counts["Household"]  # every household has its head
    assert facts["houses"] == facts["profiles"] == 177
    assert VEHICLES - 10 <= counts["Vehicle"] <= VEHICLES


def test_registry_demo__residents__are_about_40_percent_migrants_and_renters(
    facts: dict[str, Any],
) -> None:
    types = facts["types"]
    share = (types[ResidenceType.MIGRANT] + types[ResidenceType.RENTER]) / sum(types.values())
    assert 0.35 <= share <= 0.45
    # Migrants' residence registrations expire: some within 30 days, a few already.
    expiring = facts["expiring"]
    assert len(expiring) >= 400
    assert sum(0 <= d <= 30 for d in expiring) >= 30
    assert 1 <= sum(d < 0 for d in expiring) < len(expiring) * 0.15


def test_registry_demo__ages__follow_an_old_neighbourhood(facts: dict[str, Any]) -> None:
    ages = facts["ages"]
    n = len(ages)
    assert sum(a >= 60 for a in ages) / n >= 0.22  # many elderly
    assert sum(a >= 80 for a in ages) / n >= 0.04
    assert 0.10 <= sum(a < 15 for a in ages) / n <= 0.22  # and children
    assert max(ages) <= 100


def test_registry_demo__care_tags__in_realistic_proportions(facts: dict[str, Any]) -> None:
    n = facts["counts"]["Resident"]
    share = {code: count / n for code, count in facts["tags"].items()}
    assert 0.03 <= share["elderly_alone"] <= 0.05  # about 4 %
    assert 0.01 <= share["left_behind_child"] <= 0.04
    assert 0.04 <= share["migrant_child"] <= 0.12
    assert 0.01 <= share["disability"] <= 0.05
    assert 0.005 <= share["low_income"] <= 0.03
    assert 0.005 <= share["veteran"] <= 0.03
    assert 0.003 <= share["serious_illness"] <= 0.02


def test_registry_demo__houses_and_rentals__owners_let_to_tenants(facts: dict[str, Any]) -> None:
    assert facts["self_built"] >= 0.85 * 177
    assert facts["owners_here"] >= 0.6 * 177
    rentals = facts["rentals"]
    assert rentals["registered"] > rentals["unregistered"] > 0
    assert rentals["ended"] > 0
    assert facts["tenants"] >= 900  # the renting households live in the rented units
    # Landlords who live here own the house their rental is in.
    assert facts["landlords_own_the_house"] >= 0.6 * sum(rentals.values())
    assert facts["inspected"] >= 0.6 * sum(rentals.values())


def test_registry_demo__plates__are_valid_mostly_leshan_some_new_energy(
    facts: dict[str, Any],
) -> None:
    plates = facts["plates"]
    checked = [validate_plate(p) for p in plates]
    assert all(c.value == p for c, p in zip(checked, plates, strict=True))
    assert sum(p.startswith("川L") for p in plates) / len(plates) >= 0.75
    assert 0.05 <= sum(c.new_energy for c in checked) / len(plates) <= 0.25
    assert any(not p.startswith("川") for p in plates)  # cars from other provinces


# --- Building again ----------------------------------------------------------------------------


def test_registry_demo__built_again__adds_nothing(site: Site, facts: dict[str, Any]) -> None:
    site.shell(BUILD_CODE, "TOTALS")  # the registry's part of `sanan demo`, again
    again = site.shell(FACTS_CODE, "FACTS")
    assert again["counts"] == facts["counts"]  # not even an audit row
    assert sorted(again["numbers"]["id"]) == sorted(facts["numbers"]["id"])


# --- The plan, without a database -------------------------------------------------------------


def _layout() -> list[HouseLayout]:
    """177 houses of 2 to 5 floors with one or two units a floor, like the demo's."""
    houses = []
    for n in range(177):
        code = f"hq-c{n // 4 + 1:02d}-h{n % 4 + 1:02d}"
        floors = 2 + n % 4
        rooms = 1 + (n % 3 == 0)
        units = tuple(f"{code}-{f}0{r}" for f in range(1, floors + 1) for r in range(1, rooms + 1))
        houses.append(HouseLayout(code, f"红旗巷{n + 1}号", code[:6], units))
    return houses


def test_registry_demo__plan__is_the_same_for_the_same_seed() -> None:
    first = plan_registry_demo(seed=SEED, houses=_layout())
    second = plan_registry_demo(seed=SEED, houses=list(reversed(_layout())))
    assert asdict(first) == asdict(second)
    other = plan_registry_demo(seed=SEED + 1, houses=_layout())
    assert [p.id_number for p in other.people()] != [p.id_number for p in first.people()]


def test_registry_demo__plan__numbers_are_valid_unique_and_from_the_right_places() -> None:
    plan = plan_registry_demo(seed=SEED, houses=_layout())
    people = list(plan.people())
    ids = [p.id_number for p in people]
    assert len(set(ids)) == len(ids)
    for p in people:
        checked = validate_id_number(p.id_number)
        assert (checked.birth_date, checked.gender) == (p.birth_date, p.gender)
        if p.residence_type == ResidenceType.REGISTERED:
            assert p.id_number.startswith("5111")  # Leshan
        if p.residence_type == ResidenceType.MIGRANT:
            assert not p.id_number.startswith("5111")  # from elsewhere
        assert p.birth_date < dt.date(2025, 1, 1)
    phones = [n for p in people for n in (p.phone, p.phone2) if n]
    assert len(set(phones)) == len(phones)
    for number in phones:
        assert validate_phone(number)[0] == number
        assert number.startswith("0833-") or number[3:7] == "0833"  # the demo's blocks
    plates = [v.plate for v in plan.vehicles]
    assert len(set(plates)) == len(plates)
    assert {"川L12345", "川LD12345", "川L12345D"}.isdisjoint(plates)  # left to hand-made tests


def test_registry_demo__plan__names_are_common_and_never_well_known() -> None:
    plan = plan_registry_demo(seed=SEED, houses=_layout())
    names = [p.name for p in plan.people()]
    assert not KNOWN_NAMES & set(names)
    assert all(2 <= len(name) <= 4 for name in names)
    surnames = Counter(name[0] for name in names)
    assert {s for s, _ in surnames.most_common(5)} <= set("王李张刘陈杨罗何邓黄")
