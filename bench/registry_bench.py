"""Registry benchmarks: a CSV import of 100,000 residents, exact lookup by ID number among
1,000,000 residents, and the filtered registry list over 1,000,000 residents.

    .venv/bin/python bench/registry_bench.py                  # SQLite and PostgreSQL, print results
    .venv/bin/python bench/registry_bench.py --update-docs    # also rewrite docs/performance.md
    .venv/bin/python bench/registry_bench.py --engines sqlite --only lookup,list
    .venv/bin/python bench/registry_bench.py --help           # --residents, --rows, --runs …

Each engine runs in its own process against its own database: SQLite in
/tmp/sanan-bench-reg/registry.sqlite3, PostgreSQL in the database ``sanan_bench_reg`` on
127.0.0.1:5432 (user postgres; created when missing). The 1,000,000 residents are written once
with ``bulk_create`` (``bench/registry_population.py``, a few minutes) and kept for the next
run. Every measurement is checked first: lookups must find exactly the resident whose number was
asked for, lists must hold exactly the rows a plain query for the same filter returns, in the
same order, and the import must store every row (numbers decrypting to the file's). A wrong
answer stops the benchmark with exit status 1 and no figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- registry-bench:begin -->", "<!-- registry-bench:end -->"
# The benchmark's own scratch databases; the suite (bench/run.py) gives each size its own.
WORK_DIR = Path(os.environ.get("SANAN_BENCH_REG_DIR", "/tmp/sanan-bench-reg"))  # noqa: S108
PG_NAME = os.environ.get("SANAN_BENCH_REG_DB", "sanan_bench_reg")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
ENGINES = {
    "sqlite": f"sqlite:///{WORK_DIR / 'registry.sqlite3'}",
    "postgresql": PG_URL,
}
ENGINE_LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def progress(line: str) -> None:
    """Progress goes to the terminal (stderr); stdout carries the result."""
    print(line, file=sys.stderr, flush=True)


@dataclass
class Row:
    what: str
    how: str
    target: str
    result: str
    ok: bool | None = None
    engine: str = ""
    figures: dict[str, float] = field(default_factory=dict)  # the numbers behind ``result``


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


# ==============================================================================================
# The worker: one engine, inside Django
# ==============================================================================================


def worker(args: argparse.Namespace) -> int:
    os.environ["DATABASE_URL"] = ENGINES[args.worker]
    os.environ["SANAN_VAR_DIR"] = str(WORK_DIR)  # the bench's own keys
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
    sys.path.insert(0, str(ROOT / "bench"))
    import django

    django.setup()
    import registry_population as population
    from django.core.management import call_command

    progress(f"[{args.worker}] migrating")
    call_command("migrate", interactive=False, verbosity=0)
    if not population.population_ready(args.residents):
        if population.Place.objects.filter(code=population.ROOT_CODE).exists():
            progress(f"[{args.worker}] an older population is there: emptying the database")
            call_command("flush", interactive=False, verbosity=0)
        progress(f"[{args.worker}] writing {args.residents:,} residents (once; kept afterwards)")
        # The suite (bench/run.py) asks for the city's shape: 300 communities, courtyards by size.
        shape_env = os.environ.get("SANAN_BENCH_REG_SHAPE", "")
        shape = population.Shape(*map(int, shape_env.split(","))) if shape_env else None
        population.populate(args.residents, seed=args.seed, progress=progress, shape=shape)
    else:
        progress(f"[{args.worker}] {args.residents:,} residents already there")
        population.analyse()

    # As the WSGI entry point does (sanan/wsgi.py): the views imported, then what start-up made
    # left out of the garbage collector's full collections.
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018
    gc.freeze()

    results: list[Row] = []
    problems: list[str] = []
    only = set(args.only.split(","))
    if "lookup" in only:
        rows, wrong = bench_lookup(args)
        results += rows
        problems += wrong
    if "list" in only:
        rows, wrong = bench_list(args)
        results += rows
        problems += wrong
    if "import" in only:
        rows, wrong = bench_import(args)
        results += rows
        problems += wrong
    for row in results:
        row.engine = args.worker
    print("RESULT=" + json.dumps({
        "rows": [asdict(r) for r in results], "problems": problems, "versions": versions(),
    }))  # fmt: skip
    return 0


def versions() -> dict[str, str]:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            db = f"SQLite {cursor.fetchone()[0]}"
        else:
            cursor.execute("show server_version")
            db = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    return {"db": db, "django": django.__version__}


# --- Users, as the pages and the API see them --------------------------------------------------


def bench_user(username: str, role: str, place: Any) -> Any:
    from sanan.accounts.models import User
    from sanan.accounts.services import role_grant, user_create

    user = User.objects.filter(username=username).first()
    if user is None:
        from django.db import transaction

        with transaction.atomic():
            user = user_create(
                actor="bench", username=username, password="bench-only-" + username,
                validate=False,
            )  # fmt: skip
            role_grant(actor="bench", user=user, role=role, place=place, reason="benchmark")
    return user


def fresh(user: Any) -> Any:
    """The user as a new request sees it: permissions not yet resolved (one query)."""
    return type(user).objects.get(pk=user.pk)


# --- (b) exact lookup by ID number -------------------------------------------------------------


def bench_lookup(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    import random

    import registry_population as population
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from sanan.accounts.roles import Role
    from sanan.places.models import Place
    from sanan.registry.selectors import resident_search
    from sanan.registry.testing import fake_id_number

    engine = args.worker
    district = Place.objects.get(code="bench-d")
    community = Place.objects.get(code="bench-d-1-1")
    dispatcher = bench_user("bench-dispatcher", Role.DISPATCHER, district)
    local = bench_user("bench-dispatcher-c", Role.DISPATCHER, community)
    rng = random.Random(args.seed)
    n = args.residents
    problems: list[str] = []

    # Correctness first.
    import datetime as dt

    in_community = set(
        population.Resident.objects.filter(place__path__startswith=community.path).values_list(
            "pk", flat=True
        )
    )
    sample = rng.sample(range(n), 300)
    for i in sample:
        number = population.id_number_of(i)
        found = list(resident_search(user=fresh(dispatcher), id_number=number, status=None))
        if len(found) != 1 or found[0].id_number_reveal() != number:
            problems.append(f"lookup of resident #{i}: {len(found)} rows")
        local_found = list(resident_search(user=fresh(local), id_number=number, status=None))
        expected = 1 if found and found[0].pk in in_community else 0
        if len(local_found) != expected:
            problems.append(f"community lookup of resident #{i}: {len(local_found)} rows")
    absent = fake_id_number(birth_date=dt.date(1990, 1, 1), sequence=999, region="110101")
    if list(resident_search(user=fresh(dispatcher), id_number=absent, status=None)):
        problems.append("a number nobody has was found")
    checked = f"{len(sample)} residents and one absent number"
    if problems:
        return [], problems

    def timed(user: Any, numbers: list[str]) -> tuple[list[float], int]:
        latencies = []
        queries = 0
        for number in numbers:
            u = fresh(user)  # outside the timing: the request loads its user anyway
            reset_queries()  # the log keeps 9,000 queries: a full one captures nothing
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                list(resident_search(user=u, id_number=number))
                latencies.append(time.perf_counter() - t0)
            queries = max(queries, len(ctx.captured_queries))
        return latencies, queries

    numbers = [population.id_number_of(rng.randrange(n)) for _ in range(args.lookups)]
    timed(dispatcher, numbers[:100])  # warm-up
    rows = []
    for label, user, scope in (
        ("district dispatcher (all 1,000,000 in scope)", dispatcher, "district"),
        ("community dispatcher (about 2,900 in scope)", local, "community"),
    ):
        runs = [timed(user, numbers) for _ in range(args.runs)]
        p95 = statistics.median(percentile(lat, 95) for lat, _q in runs)
        p50 = statistics.median(percentile(lat, 50) for lat, _q in runs)
        p99 = statistics.median(percentile(lat, 99) for lat, _q in runs)
        queries = max(q for _lat, q in runs)
        rows.append(Row(
            f"exact lookup by ID number among {n:,} residents, {label}",
            f"`selectors.resident_search(user=…, id_number=…)` and its rows, {len(numbers):,} "
            f"random residents per run; {queries} queries each (the user's grants; the "
            "resident with its care tags)",
            "p95 < 10 ms",
            f"**p95 {ms(p95)}** (p50 {ms(p50)}, p99 {ms(p99)})",
            p95 < 0.010,
            figures={"p50_ms": p50 * 1000, "p95_ms": p95 * 1000, "p99_ms": p99 * 1000},
        ))  # fmt: skip
        progress(f"[{engine}] lookup, {scope}: p50 {ms(p50)}, p95 {ms(p95)}, p99 {ms(p99)}")
    rows[0].how += f"; checked first on {checked}"
    return rows, problems


# --- (c) the filtered registry list ------------------------------------------------------------


class GcPauses:
    """Time spent in Python's cyclic garbage collector, by generation (``gc.callbacks``): a
    full (generation 2) collection walks every object of the process, which is what one slow
    call among many fast ones can be."""

    def __init__(self) -> None:
        self.total = 0.0
        self.full = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started
            self.full += info.get("generation") == 2

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


@dataclass
class ListCase:
    label: str
    username: str
    params: dict[str, Any]
    expected: Callable[[], Any]  # the same rows by a plain query, in the list's order


def bench_list(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIRequestFactory, force_authenticate

    from sanan.accounts.roles import Role
    from sanan.core.pagination import COUNT_CAP
    from sanan.places.models import Place
    from sanan.registry.api import ResidentViewSet
    from sanan.registry.models import Resident, ResidentStatus
    from sanan.registry.selectors import resident_list

    engine = args.worker
    district = Place.objects.get(code="bench-d")
    community = Place.objects.get(code="bench-d-1-1")
    courtyard = Place.objects.get(code="bench-d-1-1-1-1")
    other_community = Place.objects.get(code="bench-d-7-20")
    users = {
        "leader": bench_user("bench-leader", Role.LEADER, district),
        "dispatcher": bench_user("bench-dispatcher-c", Role.DISPATCHER, community),
        "commissioner": bench_user("bench-commissioner", Role.COMMISSIONER, courtyard),
    }
    active = Resident.objects.filter(status=ResidentStatus.ACTIVE)
    order = tuple(resident_list(user=users["leader"]).query.order_by)  # the list's own order
    cap = COUNT_CAP

    def under(place: Place) -> Any:  # a plain query: LIKE, not the list's ranges
        return active.filter(place__path__startswith=place.path).order_by(*order)

    cases = [
        ListCase("commissioner, own courtyard, no filter", "commissioner", {},
                 lambda: under(courtyard)),
        ListCase("community dispatcher, migrants", "dispatcher", {"residence_type": "migrant"},
                 lambda: under(community).filter(residence_type="migrant")),
        ListCase("district leader, no filter (everyone living here)", "leader", {},
                 lambda: under(district)),
        ListCase("district leader, migrants", "leader", {"residence_type": "migrant"},
                 lambda: under(district).filter(residence_type="migrant")),
        ListCase("district leader, care tag elderly living alone", "leader",
                 {"tag": "elderly_alone"},
                 lambda: under(district).filter(tags__tag__code="elderly_alone")),
        ListCase("district leader, one community", "leader", {"place": other_community.pk},
                 lambda: under(other_community)),
        ListCase("district leader, part of a name (王秀)", "leader", {"name": "王秀"},
                 lambda: under(district).filter(name__contains="王秀")),
    ]  # fmt: skip
    view = ResidentViewSet.as_view({"get": "list"})
    factory = APIRequestFactory()
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]

    def call(case: ListCase, page: int) -> tuple[Any, int, float]:
        user = fresh(users[case.username])
        request = factory.get("/api/v1/registry/residents/", {**case.params, "page": page})
        force_authenticate(request, user=user)
        reset_queries()  # the log keeps 9,000 queries: a full one captures nothing
        with CaptureQueriesContext(connection) as ctx, GcPauses() as pauses:
            t0 = time.perf_counter()
            response = view(request)
            response.render()
            elapsed = time.perf_counter() - t0
        if elapsed > 0.1:  # why a call is slow: the collector, or not
            slow.append((elapsed, pauses.total, pauses.full))
        if response.status_code != 200:
            raise RuntimeError(f"{case.label}: HTTP {response.status_code} {response.data}")
        return response.data, len(ctx.captured_queries), elapsed

    problems: list[str] = []
    rows: list[Row] = []
    slow: list[tuple[float, float, int]] = []  # (call, of which garbage collection, full ones)
    for case in cases:
        expected_qs = case.expected()
        total = expected_qs.count()
        pages = max(1, -(-total // page_size))
        deep = min(pages, 20)
        checked_pages = sorted({1, deep, pages} if pages <= 20 else {1, deep})
        queries: dict[int, int] = {}
        for page in checked_pages:
            data, nq, _t = call(case, page)
            queries[page] = nq
            want = list(
                expected_qs.values_list("id", flat=True)[(page - 1) * page_size : page * page_size]
            )
            got = [r["id"] for r in data["results"]]
            count_ok = (
                data["count"] == cap and total > cap
                if data["count_capped"]
                else data["count"] == total and total <= cap
            )
            if not count_ok or got != want:
                problems.append(f"{case.label}, page {page}: {data['count']} rows / {got[:3]}…,"
                                f" expected {total} / {want[:3]}…")  # fmt: skip
        if len(set(queries.values())) != 1:
            problems.append(f"{case.label}: query count grows with the page: {queries}")
        if problems:
            break
        timings: dict[int, list[float]] = {}
        for page in (1, deep):
            call(case, page)  # warm-up
            timings[page] = []
            started = time.perf_counter()
            for _ in range(args.list_repeats):  # a very slow case stops at the time budget
                timings[page].append(call(case, page)[2])
                if len(timings[page]) >= 5 and time.perf_counter() - started > args.list_budget:
                    break
        p95 = {page: percentile(t, 95) for page, t in timings.items()}
        p50 = {page: percentile(t, 50) for page, t in timings.items()}
        worst = max(p95.values())
        calls = min(len(t) for t in timings.values())
        result = f"**p95 {ms(p95[1])}** page 1 (p50 {ms(p50[1])})"
        if deep != 1:
            result += f"; **p95 {ms(p95[deep])}** page {deep} (p50 {ms(p50[deep])})"
        if calls < args.list_repeats:
            result += f"; {calls} calls per page (time budget)"
        rows.append(Row(
            f"registry list over {args.residents:,} residents: {case.label}",
            f"`GET /api/v1/registry/residents/` ({ResidentViewSet.__name__}: ResidentFilter, "
            f"page of {page_size}, serialised); {total:,} matching rows"
            + (f" (the list says “more than {cap:,}”)" if total > cap else "")
            + f"; {next(iter(queries.values()))} queries on every page",
            "p95 < 150 ms, queries constant",
            result,
            worst < 0.150,
            figures={"p50_ms": p50[1] * 1000, "p95_ms": p95[1] * 1000,
                     "p95_deep_ms": p95[deep] * 1000, "queries": next(iter(queries.values()))},
        ))  # fmt: skip
        progress(f"[{engine}] list, {case.label}: {total:,} rows, {queries} queries, "
                 f"p95 page 1 {ms(p95[1])}, page {deep} {ms(p95[deep])}")  # fmt: skip
        for elapsed, collecting, full in slow:
            progress(f"[{engine}]   a call of {ms(elapsed)}: {ms(collecting)} collecting garbage"
                     f" ({full} full collections)")  # fmt: skip
        slow.clear()
    return rows, problems


# --- (a) import of 100,000 residents from CSV -------------------------------------------------


def bench_import(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    import registry_import

    from sanan.accounts.roles import Role
    from sanan.places.models import Place
    from sanan.registry import imports

    engine = args.worker
    district = Place.objects.get(code="bench-d")
    actor = bench_user("bench-dispatcher", Role.DISPATCHER, district)
    if args.residents > registry_import.FIRST:
        return [], [f"import: the file's people start at {registry_import.FIRST:,}, inside "
                    f"a registry of {args.residents:,}"]  # fmt: skip
    path = WORK_DIR / f"import-{args.rows}-from-{registry_import.FIRST}-sanan.csv"
    registry_import.write_sanan_csv(path, rows=args.rows, progress=progress)
    parsed = imports.parse(str(path), kind="residents")
    mapping = parsed.mapping
    wanted = {"name", "id_number", "phone", "courtyard", "house", "unit", "household_code",
              "relation_to_head", "residence_type", "moved_in_on",
              "registration_expires_on"}  # fmt: skip
    if not wanted <= set(mapping.values()):
        return [], [f"import: columns not recognised: {sorted(wanted - set(mapping.values()))}"]

    last = [0.0]

    def report_progress(done: int, total: int, phase: str) -> None:
        now = time.perf_counter()
        if now - last[0] > 2 or phase == "finished":
            last[0] = now
            progress(f"  import: {phase} {done:,}/{total:,}")

    problems: list[str] = []
    timings: dict[str, list[float]] = {"apply": [], "dry_run": []}
    cpu_times: dict[str, list[float]] = {"apply": [], "dry_run": []}
    gave_up: dict[str, float] = {}

    def too_long(_signum: int, _frame: Any) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, too_long)
    for run in range(args.import_runs):
        registry_import.remove_imported()
        for step in ("dry_run", "apply"):
            if step in gave_up or "dry_run" in gave_up:  # apply checks all that dry_run does
                continue
            fn = getattr(imports, step)
            t0, cpu0 = time.perf_counter(), time.process_time()
            signal.alarm(args.import_budget)
            try:
                report = fn(str(path), mapping=mapping, kind="residents", actor=fresh(actor),
                            progress=report_progress)  # fmt: skip
            except TimeoutError:
                gave_up[step] = time.perf_counter() - t0
                progress(f"[{engine}] import {step}: gave up after {gave_up[step]:.0f} s")
                continue
            finally:
                signal.alarm(0)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            if not report.ok:
                first = report.problems[0]
                problems.append(f"import {step}: {len(report.problems)} bad rows, first: row "
                                f"{first.row} {first.code}")  # fmt: skip
                break
            if report.counts.get("created") != args.rows:
                problems.append(f"import {step}: counts {report.counts}")
                break
            timings[step].append(wall)
            cpu_times[step].append(cpu)
            progress(f"[{engine}] import {step} run {run + 1}: {args.rows / wall:,.0f} rows/s "
                     f"({wall:.1f} s; {cpu:.1f} s CPU in this process)")  # fmt: skip
        if problems or "dry_run" in gave_up:
            break
        if "apply" not in gave_up:
            problems += registry_import.check_imported(path)
        if problems:
            break
    registry_import.remove_imported()
    if problems:
        return [], problems
    rows = []
    for step, label, target in (
        ("apply", "`registry.imports.apply`: every row checked, numbers encrypted, "
         "all written in one transaction", "≥ 5,000 rows/s"),
        ("dry_run", "`registry.imports.dry_run`: the same checks and matching, nothing written "
         "(the wizard's check step)", "— (informative)"),
    ):  # fmt: skip
        if step == "apply" and "dry_run" in gave_up and "apply" not in gave_up:
            rows.append(Row(
                f"import of {args.rows:,} residents from CSV into a registry of "
                f"{args.residents:,} (apply)",
                label, target,
                f"**not run**: the dry run, which does the same checking, did not finish in "
                f"{gave_up['dry_run'] / 60:.0f} min",
                False,
            ))  # fmt: skip
            continue
        if step in gave_up:
            rows.append(Row(
                f"import of {args.rows:,} residents from CSV into a registry of "
                f"{args.residents:,} ({step.replace('_', ' ')})",
                label, target,
                f"**did not finish in {gave_up[step] / 60:.0f} min** (< "
                f"{args.rows / gave_up[step]:,.0f} rows/s)",
                False if step == "apply" else None,
            ))  # fmt: skip
            continue
        wall = statistics.median(timings[step])
        cpu = statistics.median(cpu_times[step])
        rate = args.rows / wall
        # The CPU time of this process (Python, and SQLite, which runs inside it; not the
        # PostgreSQL server's): what the import costs whatever else the machine is doing.
        cpu_note = f"; {args.rows / cpu:,.0f} rows per CPU second of the process" if cpu > 0 else ""
        rows.append(Row(
            f"import of {args.rows:,} residents from CSV into a registry of "
            f"{args.residents:,} ({step.replace('_', ' ')})",
            f"{label}; district dispatcher; CSV with Chinese headers (`parse` recognises "
            f"them), places by name (院落, 门牌号, 房号), households of three, 10 % landlines",
            target,
            f"**{rate:,.0f} rows/s** ({wall:.1f} s, wall clock{cpu_note})",
            rate >= 5_000 if step == "apply" else None,
            figures={"rate": rate, "seconds": wall},
        ))  # fmt: skip
    return rows, problems


# ==============================================================================================
# The conductor: runs one worker per engine, prints and writes the table
# ==============================================================================================


def ensure_pg_database() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True,
            connect_timeout=5,
        ) as conn:  # fmt: skip
            found = conn.execute(
                "select 1 from pg_database where datname = %s", [PG_NAME]
            ).fetchone()
            if not found:
                conn.execute(f'CREATE DATABASE "{PG_NAME}"')
    except psycopg.Error as exc:
        progress(f"PostgreSQL is not reachable ({exc.__class__.__name__}): skipped")
        return False
    return True


def machine(load: str) -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        if found:
            cpu = found.group(1).strip()
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical ({usable} usable)",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "load": load,
    }


def loadavg() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def table(rows: list[Row], *, date: str, box: str) -> str:
    lines = [
        "| engine | what | how measured | target | result | date | machine |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        mark = "" if row.ok is None else (" ✅" if row.ok else " ❌ target missed")
        lines.append(
            f"| {ENGINE_LABEL.get(row.engine, row.engine)} | {row.what} | "
            f"{row.how} | {row.target} | {row.result}{mark} | {date} | {box} |"
        )
    return "\n".join(lines)


def report(args: argparse.Namespace, rows: list[Row], info: dict[str, Any]) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
    import django

    django.setup()
    from django.utils import timezone

    from sanan.core import clock

    date = timezone.localtime(clock.now()).strftime("%Y-%m-%d %H:%M %Z")
    box = info["machine"]
    short = f"{box['cpu']}, {box['cores'].split(' ')[0]} cores"
    dbs = "; ".join(v["db"] for v in info["versions"].values())
    django_version = next(iter(info["versions"].values()))["django"] if info["versions"] else "?"
    lines = [
        table(rows, date=date, box=short),
        "",
        f"Machine: {box['cpu']}; {box['cores']}; {box['python']}; Django {django_version}; "
        f"{dbs}; {box['os']}; load average before and after the run {box['load']} "
        f"(1, 5, 15 min).",
        f"Runs: lookups {args.lookups:,} per run, median of {args.runs} runs' percentiles; "
        f"lists {args.list_repeats} calls per page after a warm-up; import median of "
        f"{args.import_runs} runs; seed {args.seed}. All answers were checked before timing.",
        "Command: `.venv/bin/python bench/registry_bench.py"
        + (" " + " ".join(args.argv) if args.argv else "")
        + "`",
    ]
    return "\n".join(lines)


def update_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{DOC} has no {BEGIN} … {END} block to replace")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def worker_options(argv: list[str]) -> list[str]:
    """The options meant for the workers (all but --update-docs)."""
    return [a for a in argv if a != "--update-docs"]


def conduct(args: argparse.Namespace) -> int:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    engines = [e for e in args.engines.split(",") if e]
    if "postgresql" in engines and not ensure_pg_database():
        engines.remove("postgresql")
    load_before = loadavg()
    rows: list[Row] = []
    versions_by_engine: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for engine in engines:
        command = [sys.executable, __file__, "--worker", engine, *worker_options(args.argv)]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
        proc = subprocess.run(  # noqa: S603 (this script, this interpreter)
            command, env=env, stdout=subprocess.PIPE, text=True, check=False
        )
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT=")), None)
        if proc.returncode != 0 or line is None:
            progress(f"[{engine}] the worker failed (exit status {proc.returncode})")
            return 1
        result = json.loads(line.removeprefix("RESULT="))
        rows += [Row(**r) for r in result["rows"]]
        problems += [f"[{engine}] {p}" for p in result["problems"]]
        versions_by_engine[engine] = result["versions"]
    if problems:
        print(f"WRONG ANSWERS ({len(problems)}):", *problems[:20], sep="\n  ")
        return 1
    info = {
        "machine": machine(f"{load_before} / {loadavg()}"),
        "versions": versions_by_engine,
    }
    text = report(args, rows, info)
    print(text)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": [asdict(r) for r in rows], **info}, ensure_ascii=False),
            encoding="utf-8",
        )
    if args.update_docs:
        update_doc(text)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--only", default="import,lookup,list", help="comma-separated")
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the imported CSV")
    parser.add_argument("--lookups", type=int, default=2_000, help="lookups per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--list-repeats", type=int, default=30, help="calls per list page")
    parser.add_argument("--import-runs", type=int, default=3)
    parser.add_argument(
        "--import-budget", type=int, default=1200, help="seconds before an import run is stopped"
    )
    parser.add_argument(
        "--list-budget", type=float, default=60, help="seconds of calls per list page (≥ 5 calls)"
    )
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--update-docs", action="store_true", help=f"rewrite the table in {DOC}")
    parser.add_argument("--json", default="", help="also write the rows and figures there")
    parser.add_argument("--worker", choices=sorted(ENGINES), help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = [a for a in argv if a != "--update-docs"]
    if args.worker:
        return worker(args)
    return conduct(args)


if __name__ == "__main__":
    sys.exit(main())
