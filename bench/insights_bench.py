"""The figures at scale: one community's dashboard and a district's over 10,000, 100,000
and 1,000,000 orders (300 communities, 16,500 courtyards), on SQLite (and PostgreSQL).

    .venv/bin/python bench/insights_bench.py                        # 10k, 100k, 1M on SQLite
    .venv/bin/python bench/insights_bench.py --sizes 10000,100000   # quicker
    .venv/bin/python bench/insights_bench.py --engine postgres      # PostgreSQL too
    .venv/bin/python bench/insights_bench.py --update-docs          # rewrite docs/performance.md

Each size has its own database under ``--var-dir`` (default ``/tmp/insights-bench``), built
once (``bench/insights_population.py``: places, orders with their events, then the figures
counted by a full refresh) and reused by later runs. What is measured, as a request would do
it (a fresh user, so its roles are read again): the key figures of the last 12 months, their
12-month trend and the breakdown — by courtyard for a community's leader, by sub-district (the
places one level down) for the district's — ``--repeat`` times, p50 and p95. Also: the full
refresh of the figures, and an incremental refresh after 1,000 orders were rated late.

Run it under ``flock /tmp/bench.lock`` so that two benchmarks never share the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- insights-bench:begin -->", "<!-- insights-bench:end -->"
BIN = Path(sys.executable).parent
PG_URL = "postgres://postgres@127.0.0.1:5432/sanan_bench_insights_{size}"
TARGETS = {"community": 300.0, "district": 1000.0}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        SANAN_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="sanan.settings",
        PYTHONPATH=os.pathsep.join(
            [str(ROOT / "src"), str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")]
        ),
        **extra,
    )
    return env


def _pg_database(name: str) -> None:
    found = subprocess.run(  # noqa: S603 (a fixed database name of this script)
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",  # noqa: S607
         f"SELECT 1 FROM pg_database WHERE datname='{name}'"],  # noqa: S608
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if found != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)  # noqa: S603,S607


def run_size(args: argparse.Namespace, engine: str, size: int) -> dict[str, Any]:
    var_dir = Path(args.var_dir) / f"{engine}-{size}"
    if engine == "sqlite" and not var_dir.exists():
        # Start from the largest smaller population already built (its orders are the first
        # ones of this one): the copy is quicker than building them again.
        smaller = sorted(
            (int(p.name.split("-")[1]), p)
            for p in Path(args.var_dir).glob("sqlite-*")
            if p.name.split("-")[1].isdigit() and int(p.name.split("-")[1]) < size
        )
        if smaller:
            say(f"{engine} {size:,}: starting from the {smaller[-1][0]:,}-order population")
            shutil.copytree(smaller[-1][1], var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    extra: dict[str, str] = {}
    if engine == "postgres":
        url = PG_URL.format(size=size)
        _pg_database(url.rsplit("/", 1)[1])
        extra["DATABASE_URL"] = url
    env = _env(var_dir, **extra)
    say(f"{engine} {size:,}: migrate …")
    subprocess.run([str(BIN / "sanan"), "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
    cmd = [sys.executable, __file__, "--worker", "--orders", str(size), "--repeat",
           str(args.repeat), *(["--full-refresh"] if args.full_refresh else [])]  # fmt: skip
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)  # noqa: S603
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _worker(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from insights_population import populate_and_measure

    print(json.dumps(populate_and_measure(args, say)))
    return 0


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| engine | orders (events) | figures rollup rows | full refresh | incremental refresh "
        "(1,000 late ratings) | community: p50 / p95 (queries) | district: p50 / p95 "
        "(queries) | district by courtyard: p50 / p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c, d, dc = r["community"], r["district"], r["district_by_courtyard"]
        ok_c = "✅" if c["p95_ms"] < TARGETS["community"] else "❌"
        ok_d = "✅" if d["p95_ms"] < TARGETS["district"] else "❌"
        refresh = r.get("refresh", {})
        lines.append(
            f"| {r['engine']} | {r['orders']:,} ({r['events']:,}) | "
            f"{refresh.get('rollup_rows', '—')} | {refresh.get('full_s', '—')} s | "
            f"{refresh.get('incremental_s', '—')} s | {c['p50_ms']} / {c['p95_ms']} ms "
            f"({c['queries']}) {ok_c} | {d['p50_ms']} / {d['p95_ms']} ms ({d['queries']}) {ok_d} "
            f"| {dc['p50_ms']} / {dc['p95_ms']} ms |"
        )
    return "\n".join(lines)


def update_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        _block, tail = rest.split(END, 1)
        doc = f"{head}{BEGIN}\n{text}\n{END}{tail}"
    else:
        doc = doc.rstrip("\n") + f"\n\n{BEGIN}\n{text}\n{END}\n"
    DOC.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--var-dir", default="/tmp/insights-bench")  # noqa: S108 (built once, reused)
    parser.add_argument("--update-docs", action="store_true")
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="time a full refresh of the figures even when the population is already counted",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--orders", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    results = []
    for engine in engines:
        for size in (int(s.replace("_", "")) for s in args.sizes.split(",")):
            result = run_size(args, engine, size)
            say(json.dumps(result))
            results.append(result)
    text = report(results)
    print(text)
    if args.update_docs:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        update_doc(f"Measured {stamp}, {os.cpu_count()} cores shared with other work:\n\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
