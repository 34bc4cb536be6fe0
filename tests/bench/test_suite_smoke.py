"""The benchmark suite's runner, run small (``bench/run.py --quick``), so that it cannot rot:
it builds its populations, measures, checks the answers and writes its results files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.own_sqlite_file
def test_bench_suite__quick_run__writes_every_figure_with_the_machine(tmp_path: Path) -> None:
    out = tmp_path / "results" / "smoke"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SANAN_VAR_DIR")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--engine", "sqlite",
         "--only", "orders,pages", "--no-lock", "--data", str(tmp_path / "data"),
         "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    result = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert result["problems"] == []
    rows = {(r["part"], r["what"].split(" (")[0].split(",")[0]): r for r in result["rows"]}
    board = rows["orders", "dispatcher's board"]
    assert board["size"] == 2000
    assert 0 < board["p50_ms"] <= board["p95_ms"]
    assert board["queries"] > 0
    sweep = next(r for r in result["rows"] if r["what"].startswith("SLA sweep"))
    assert sweep["seconds"] > 0
    pages = [r for r in result["rows"] if r["part"] == "pages"]
    assert len(pages) == 3  # the board, the handler's queue, one order's page
    assert all(r["p95_ms"] > 0 and r["queries"] > 0 for r in pages)
    box = result["machine"]
    for fact in ("cpu", "cores", "ram", "load", "commit"):
        assert box[fact], fact
    assert result["date"].startswith("20")

    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| orders | dispatcher's board" in table
    assert "| pages | handler's queue page" in table
    assert "2,000" in table
    assert box["cpu"] in table
