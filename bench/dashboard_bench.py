"""The leader's dashboard at city scale: one community's page and a district's, over 10,000,
100,000 and 1,000,000 work orders spread over 300 communities (16,500 courtyards).

    .venv/bin/python bench/dashboard_bench.py --build               # build the populations once
    .venv/bin/python bench/dashboard_bench.py                       # measure (SQLite)
    .venv/bin/python bench/dashboard_bench.py --engine postgres     # PostgreSQL
    .venv/bin/python bench/dashboard_bench.py --update-docs         # rewrite docs/performance.md

The populations are built once and kept (``--data-dir``, default ``/work/bench-data/dashboard``:
one SQLite database per size; PostgreSQL databases ``sanan_bench_dash_<size>``). They are
grown one from the other: the 100,000-order database is the 10,000 one plus 90,000 more orders,
every one of them built on its own by ``bench/insights_population.py`` (distinct dates,
courtyards, categories, departments and histories, not copies), then the figures are counted by
a full refresh.

What is measured is the page a browser asks for, through the Django test client (the whole
request: middleware, session, the user's roles, every panel, the template): the dashboard
(``/dashboard/``, the last 12 months), its panels as HTMX swaps them when the filter changes,
and the big screen's minute poll (``/dashboard/screen/`` over HTMX), each ``--repeat`` times for
a community's leader and for the district's, p50, p95 and the queries of one request. The
clock is held at the population's ``NOW``.

Run it under ``flock /tmp/bench.lock`` so that two benchmarks never share the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from suite_common import percentile, replace_block, say  # noqa: E402 (after the path)

BEGIN, END = "<!-- dashboard-bench:begin -->", "<!-- dashboard-bench:end -->"
BIN = Path(sys.executable).parent
PG_NAME = "sanan_bench_dash_{size}"
TARGETS = {"community": 300.0, "district": 1000.0}
PAGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("page", "/dashboard/", {}),
    ("panels", "/dashboard/", {"HX-Request": "true", "HX-Target": "dash-panels"}),
    ("screen", "/dashboard/screen/", {"HX-Request": "true"}),
)


def _env(var_dir: Path, src: Path = ROOT / "src", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        SANAN_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="sanan.settings",
        PYTHONPATH=os.pathsep.join(
            [str(src), str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")]
        ),
        **extra,
    )
    return env


def _psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(  # noqa: S603 (fixed statements of this script)
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-tAc", sql],  # noqa: S607
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def _pg_exists(name: str) -> bool:
    return _psql(f"SELECT 1 FROM pg_database WHERE datname='{name}'") == "1"  # noqa: S608


def _target(args: argparse.Namespace, engine: str, size: int) -> tuple[Path, dict[str, str]]:
    """The var directory and environment of one population (made from the next smaller one
    when it does not exist yet)."""
    data = Path(args.data_dir)
    var_dir = data / f"{engine}-{size}"
    smaller = sorted(s for s in _sizes(args.all_sizes) if s < size)
    extra: dict[str, str] = {}
    if engine == "sqlite":
        if not var_dir.exists() and smaller and (data / f"sqlite-{smaller[-1]}").exists():
            say(f"{engine} {size:,}: starting from the {smaller[-1]:,}-order population")
            shutil.copytree(data / f"sqlite-{smaller[-1]}", var_dir)
    else:
        name = PG_NAME.format(size=size)
        if not _pg_exists(name):
            if smaller and _pg_exists(PG_NAME.format(size=smaller[-1])):
                say(f"{engine} {size:,}: starting from the {smaller[-1]:,}-order population")
                subprocess.run(  # noqa: S603
                    ["createdb", "-h", "127.0.0.1", "-U", "postgres", "-T",  # noqa: S607
                     PG_NAME.format(size=smaller[-1]), name], check=True,
                )  # fmt: skip
            else:
                createdb = ["createdb", "-h", "127.0.0.1", "-U", "postgres", name]
                subprocess.run(createdb, check=True)  # noqa: S603
            if smaller and (data / f"{engine}-{smaller[-1]}").exists() and not var_dir.exists():
                shutil.copytree(data / f"{engine}-{smaller[-1]}", var_dir)
        extra["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    var_dir.mkdir(parents=True, exist_ok=True)
    return var_dir, extra


def run_size(args: argparse.Namespace, engine: str, size: int, *, build: bool) -> dict[str, Any]:
    var_dir, extra = _target(args, engine, size)
    env = _env(var_dir, Path(args.src), **extra)
    say(f"{engine} {size:,}: migrate …")
    subprocess.run([str(BIN / "sanan"), "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
    cmd = [sys.executable, __file__, "--worker", "--orders", str(size), "--repeat",
           str(args.repeat), *(["--build"] if build else [])]  # fmt: skip
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)  # noqa: S603
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --- inside the Django process of one population -------------------------------------------


def _build(size: int) -> dict[str, Any]:
    from django.db import connection
    from insights_population import build_orders, build_places

    from sanan.insights.services import insights_refresh

    build_places(say)
    seconds = build_orders(size, say, copies=False)
    result: dict[str, Any] = {"build_s": round(seconds, 1)}
    if seconds:
        say(f"  {connection.vendor}: counting the figures (full refresh) …")
        t0 = time.perf_counter()
        refreshed = insights_refresh(full=True, progress=say)
        result["full_refresh_s"] = round(time.perf_counter() - t0, 1)
        result["rollup_rows"] = refreshed.rollup_rows
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return result


class _Counter:
    """An execute wrapper that notes every statement a request runs."""

    def __init__(self, statements: list[str]) -> None:
        self.statements = statements

    def __call__(self, execute: Any, sql: str, *rest: Any) -> Any:
        self.statements.append(sql)
        return execute(sql, *rest)


def _measure(user_id: int, place_pk: int | None, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client

    from sanan.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    out: dict[str, Any] = {}
    for name, url, headers in PAGES:
        params = {"period": "12m", **({"place": str(place_pk)} if place_pk else {})}
        response = client.get(url, params, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        statements: list[str] = []
        with connection.execute_wrapper(_Counter(statements)):
            client.get(url, params, headers=headers)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            response = client.get(url, params, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = {
            "queries": len(statements),
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 95), 1),
            "bytes": len(response.content),
        }
    return out


def _worker(args: argparse.Namespace) -> int:
    import django

    django.setup()
    import time_machine
    from django.db import connection
    from insights_population import NOW, _user

    from sanan.places.models import Place
    from sanan.workorders.models import WorkOrder, WorkOrderEvent

    result: dict[str, Any] = {"engine": connection.vendor}
    if args.build:
        result.update(_build(args.orders))
    result["orders"] = WorkOrder.objects.count()
    result["events"] = WorkOrderEvent.objects.count()
    community = Place.objects.get(code="ib-s1-c1")
    district = Place.objects.get(code="ib-district")
    leader = _user("ib-leader", "leader", community)
    head = _user("ib-district-head", "leader", district)
    if args.repeat:
        say(f"  {connection.vendor}: measuring ({args.repeat} times each) …")
        with time_machine.travel(NOW, tick=True):
            result["community"] = _measure(leader.pk, None, args.repeat)
            result["district"] = _measure(head.pk, None, args.repeat)
    print(json.dumps(result))
    return 0


# --- the report -----------------------------------------------------------------------------


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| engine | orders (events) | who | page: p50 / p95 (queries) | panels (HTMX): p50 / p95 "
        "(queries) | big screen poll: p50 / p95 (queries) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for who in ("community", "district"):
            m = r.get(who)
            if not m:
                continue
            cells = []
            for page in ("page", "panels", "screen"):
                p = m[page]
                ok = "✅" if p["p95_ms"] < TARGETS[who] else "❌"
                cells.append(f"{p['p50_ms']} / {p['p95_ms']} ms ({p['queries']}) {ok}")
            engine = f"{r['engine']} {r['label']}".strip()
            lines.append(
                f"| {engine} | {r['orders']:,} ({r['events']:,}) | {who} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--all-sizes", default="10000,100000,1000000", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--data-dir", default="/work/bench-data/dashboard")
    parser.add_argument("--build", action="store_true", help="build the populations (kept)")
    parser.add_argument(
        "--src",
        default=str(ROOT / "src"),
        help="the code to measure (an export of an earlier commit, to compare)",
    )
    parser.add_argument("--label", default="", help="a name for the code measured")
    parser.add_argument("--update-docs", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--orders", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    results = []
    for engine in engines:
        for size in _sizes(args.sizes):
            result = run_size(args, engine, size, build=args.build)
            result["label"] = args.label
            say(json.dumps(result))
            results.append(result)
    text = report(results)
    print(text)
    if args.update_docs:
        load = os.getloadavg()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        replace_block(
            BEGIN,
            END,
            f"Measured {stamp}, {os.cpu_count()} cores shared with other work (load average "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end), {args.repeat} "
            f"requests each:\n\n{text}",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
