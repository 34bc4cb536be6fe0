"""What the benchmark suite's runners share: the machine's description, percentiles, results
files and the blocks of ``docs/performance.md`` that a runner rewrites."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (the value below which ``p`` % of the values lie)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def _out(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=20)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine() -> dict[str, str]:
    """CPU model, cores, memory, load average, Python, databases, kernel, date-independent
    facts and the git commit being measured (with ``+`` when the tree has changes)."""
    cpu = platform.processor() or platform.machine()
    ram = ""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        found = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
        if found:
            cpu = found.group(1).strip()
        mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        if mem:
            ram = f"{int(mem.group(1)) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    import sqlite3

    pg = _out(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"])
    commit = _out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} cores",
        "ram": ram,
        "load": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "db": f"SQLite {sqlite3.sqlite_version}, PostgreSQL {pg.split(' ')[0] or 'n/a'}",
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit or "unknown",
    }


def write_results(stem: Path, result: dict[str, Any], text: str) -> None:
    """``<stem>.json`` (everything measured) and ``<stem>.md`` (the table)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(
        json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
    )
    stem.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    say(f"results: {stem}.json, {stem}.md")


def replace_block(begin: str, end: str, text: str, doc: Path = DOC) -> None:
    """Rewrite what stands between two markers of ``doc``."""
    body = doc.read_text(encoding="utf-8")
    if begin not in body or end not in body:
        raise SystemExit(f"{doc} has no {begin} … {end} block to replace")
    head, rest = body.split(begin, 1)
    _old, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{text}\n{end}{tail}", encoding="utf-8")
