"""Point → courtyard lookups per second with 10,000 courtyards, and GCJ-02 → WGS-84 conversions.

    .venv/bin/python bench/locate_bench.py                 # print the results (or: make bench)
    .venv/bin/python bench/locate_bench.py --update-docs   # also rewrite docs/performance.md

Builds a jittered grid of non-overlapping courtyard polygons in memory (as the demo community
does, only larger), indexes it with :class:`sanan.places.locate.CourtyardIndex` and times
``lookup`` (one point per call, as a request does) and ``lookup_many`` (batches) on random points
inside the grid. Answers are first checked against a brute-force point-in-polygon test.
Every figure is the median of several runs, counted in CPU time of this process so that other
work on a shared machine slows it less; the wall-clock median is shown next to it.

``GridCourtyardLookup`` below is a proposed faster path for single lookups, measured alongside
(see docs/performance.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, mapping

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from sanan.core import clock  # noqa: E402
from sanan.core.demo import CELL_LAT, CELL_LNG, ORIGIN_LAT, ORIGIN_LNG  # noqa: E402
from sanan.places.coords import CoordSystem, LatLng, from_wgs84, to_wgs84  # noqa: E402
from sanan.places.locate import CourtyardIndex  # noqa: E402

# --- The proposed fast path for single lookups ------------------------------------------------


class GridCourtyardLookup:
    """Single-point lookups through a uniform grid of cells about one courtyard in size.

    Each cell lists, in id order, the courtyards whose bounding box overlaps it, with that box.
    A lookup is two float divisions and a dict get, a few comparisons against bounding boxes,
    and usually a single prepared point-in-polygon test: no Point object and no tree query.
    Same answer as ``CourtyardIndex.lookup``: the lowest id among the courtyards whose polygon
    intersects (contains or touches) the point.
    """

    MAX_CELLS_PER_POLYGON = 64  # larger ones go to a short list checked for every point

    def __init__(self, ids: np.ndarray, geoms: np.ndarray) -> None:
        self.cells: dict[tuple[int, int], tuple[tuple[Any, ...], ...]] = {}
        self.large: tuple[tuple[Any, ...], ...] = ()
        self.x0 = self.y0 = 0.0
        self.cw = self.ch = 1.0
        if len(geoms) == 0:
            return
        bounds = shapely.bounds(geoms)
        self.x0, self.y0 = float(bounds[:, 0].min()), float(bounds[:, 1].min())
        # Cells the size of a typical courtyard; never zero (degenerate input).
        self.cw = float(np.median(bounds[:, 2] - bounds[:, 0])) or 1e-9
        self.ch = float(np.median(bounds[:, 3] - bounds[:, 1])) or 1e-9
        cells: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
        large: list[tuple[Any, ...]] = []
        for i in np.argsort(ids, kind="stable").tolist():
            minx, miny, maxx, maxy = bounds[i].tolist()
            entry = (minx, miny, maxx, maxy, int(ids[i]), geoms[i])
            ix0, ix1 = self._ix(minx), self._ix(maxx)
            iy0, iy1 = self._iy(miny), self._iy(maxy)
            if (ix1 - ix0 + 1) * (iy1 - iy0 + 1) > self.MAX_CELLS_PER_POLYGON:
                large.append(entry)
                continue
            for ix in range(ix0, ix1 + 1):
                for iy in range(iy0, iy1 + 1):
                    cells.setdefault((ix, iy), []).append(entry)
        self.cells = {key: tuple(entries) for key, entries in cells.items()}
        self.large = tuple(large)

    def _ix(self, x: float) -> int:
        return int((x - self.x0) // self.cw)

    def _iy(self, y: float) -> int:
        return int((y - self.y0) // self.ch)

    def lookup(self, lng: float, lat: float) -> int | None:
        try:
            cell = self.cells.get(
                (int((lng - self.x0) // self.cw), int((lat - self.y0) // self.ch))
            )
        except (ValueError, OverflowError):  # NaN or infinite coordinates
            return None
        found: int | None = None
        if cell is not None:
            for minx, miny, maxx, maxy, place_id, geom in cell:  # in id order: first hit wins
                if (
                    minx <= lng <= maxx
                    and miny <= lat <= maxy
                    and shapely.intersects_xy(geom, lng, lat)
                ):
                    found = place_id
                    break
        for minx, miny, maxx, maxy, place_id, geom in self.large:
            if found is not None and place_id > found:
                break
            if (
                minx <= lng <= maxx
                and miny <= lat <= maxy
                and shapely.intersects_xy(geom, lng, lat)
            ):
                return int(place_id)
        return found


# --- Test data --------------------------------------------------------------------------------


def courtyard_grid(*, count: int, rng: random.Random) -> tuple[list[Polygon], tuple[float, ...]]:
    """``count`` cells of a jittered grid (core/demo.py's courtyard_polygons, larger):
    neighbours share their corner points, so the cells tile without overlapping."""
    cols = max(1, round(count**0.5))
    rows = -(-count // cols)
    corners: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(cols + 1):
        for j in range(rows + 1):
            dx = 0.0 if i in (0, cols) else rng.uniform(-0.22, 0.22) * CELL_LNG
            dy = 0.0 if j in (0, rows) else rng.uniform(-0.22, 0.22) * CELL_LAT
            x, y = ORIGIN_LNG + i * CELL_LNG + dx, ORIGIN_LAT + j * CELL_LAT + dy
            corners[(i, j)] = (round(x, 7), round(y, 7))
    cells = []
    for j in range(rows):
        for i in range(cols):
            ring = [corners[(i, j)], corners[(i + 1, j)], corners[(i + 1, j + 1)],
                    corners[(i, j + 1)], corners[(i, j)]]  # fmt: skip
            cells.append(Polygon(ring))
    cells = cells[:count]
    bounds = (ORIGIN_LNG, ORIGIN_LAT, ORIGIN_LNG + cols * CELL_LNG, ORIGIN_LAT + rows * CELL_LAT)
    return cells, bounds


def random_points(
    rng: random.Random, bounds: tuple[float, ...], n: int
) -> tuple[list[float], list[float]]:
    minx, miny, maxx, maxy = bounds
    return [rng.uniform(minx, maxx) for _ in range(n)], [rng.uniform(miny, maxy) for _ in range(n)]


# --- Measuring --------------------------------------------------------------------------------


@dataclass
class Timing:
    cpu: list[float]
    wall: list[float]

    def rate(self, ops: int) -> tuple[float, float]:
        """Median operations per CPU second, and per wall-clock second."""
        return ops / statistics.median(self.cpu), ops / statistics.median(self.wall)


def measure(fn: Callable[[], object], *, runs: int) -> Timing:
    fn()  # warm-up: caches, lazy imports
    timing = Timing(cpu=[], wall=[])
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            fn()
            timing.cpu.append(time.process_time() - cpu0)
            timing.wall.append(time.perf_counter() - wall0)
        finally:
            gc.enable()
    return timing


@dataclass
class Row:
    what: str
    how: str
    target: str
    result: str
    ok: bool | None = None


def per_second(cpu_rate: float, wall_rate: float) -> str:
    return f"**{cpu_rate:,.0f}/s** (wall clock {wall_rate:,.0f}/s)"


# --- Correctness ------------------------------------------------------------------------------


def brute_force(ids: Sequence[int], geoms: np.ndarray, lng: float, lat: float) -> list[int]:
    """The ids of the polygons that contain the point, else of those it lies on the boundary of
    (shared edges and corners), lowest first: every polygon is tested."""
    inside = np.flatnonzero(shapely.contains_xy(geoms, lng, lat))
    if len(inside) == 0:
        inside = np.flatnonzero(shapely.intersects_xy(geoms, lng, lat))
    return sorted(int(ids[int(i)]) for i in inside)


def check_answers(
    *,
    rows: list[tuple[int, dict[str, Any]]],
    polygons: list[Polygon],
    index: CourtyardIndex,
    grid: GridCourtyardLookup,
    bounds: tuple[float, ...],
    rng: random.Random,
    sample: int,
) -> tuple[list[str], str]:
    """Every way of looking up compared with brute force; (disagreements, what was checked)."""
    ids = [place_id for place_id, _ in rows]
    geoms = np.asarray(polygons, dtype=object)  # separate objects from the index's
    shapely.prepare(geoms)
    xs, ys = random_points(rng, bounds, sample)
    # Shared corners (up to four courtyards meet: lowest id wins) and points outside the grid.
    corners = rng.sample([c for p in polygons for c in p.exterior.coords[:4]], min(200, sample))
    xs += [x for x, _ in corners] + [bounds[0] - 0.001, bounds[2] + 0.001, bounds[0] - 1.0]
    ys += [y for _, y in corners] + [bounds[1] + 0.0001, bounds[3] - 0.0001, bounds[1]]
    many = index.lookup_many(xs, ys)
    problems = []
    kinds = {"inside one courtyard": 0, "on a shared edge or corner": 0, "outside all": 0}
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        hits = brute_force(ids, geoms, x, y)
        expected = hits[0] if hits else None
        kind = "outside all" if not hits else "inside one courtyard"
        kinds["on a shared edge or corner" if len(hits) > 1 else kind] += 1
        got = {"lookup": index.lookup(x, y), "lookup_many": many[k], "grid": grid.lookup(x, y)}
        for name, value in got.items():
            if value != expected:
                problems.append(f"{name}({x!r}, {y!r}) = {value}, brute force says {expected}")
    checked = f"{len(xs):,} points (" + ", ".join(f"{n:,} {kind}" for kind, n in kinds.items())
    return problems, checked + ")"


# --- The benchmark ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        if found:
            cpu = found.group(1).strip()
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical ({usable} usable)",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}, "
        f"numpy {np.__version__}",
        "os": f"{platform.system()} {platform.release()}",
        "load": load,
    }


def run(args: argparse.Namespace) -> tuple[list[Row], dict[str, str], list[str], str]:
    rng = random.Random(args.seed)
    polygons, bounds = courtyard_grid(count=args.polygons, rng=rng)
    place_ids = rng.sample(range(1, 10 * args.polygons + 1), args.polygons)  # not in grid order
    rows = [(pid, dict(mapping(p))) for pid, p in zip(place_ids, polygons, strict=True)]
    n = len(rows)
    index = CourtyardIndex.build(rows)
    grid = GridCourtyardLookup(index.ids, index.geoms)

    problems, checked = check_answers(
        rows=rows, polygons=polygons, index=index, grid=grid, bounds=bounds, rng=rng,
        sample=args.sample,
    )  # fmt: skip
    xs, ys = random_points(rng, bounds, args.points)
    pairs = list(zip(xs, ys, strict=True))
    results: list[Row] = []
    target = f"≥ {args.target:,}/s"

    def single() -> None:
        lookup = index.lookup
        for x, y in pairs:
            lookup(x, y)

    cpu, wall = measure(single, runs=args.runs).rate(len(pairs))
    results.append(Row(
        f"point → courtyard, one point per call (`CourtyardIndex.lookup`), {n:,} courtyards",
        f"{len(pairs):,} random points in the grid's bounds, one call each",
        target, per_second(cpu, wall), cpu >= args.target,
    ))  # fmt: skip

    batch = args.batch
    batches = [(xs[i : i + batch], ys[i : i + batch]) for i in range(0, len(xs), batch)]

    def vectorised() -> None:
        for bx, by in batches:
            index.lookup_many(bx, by)

    cpu, wall = measure(vectorised, runs=args.runs).rate(len(xs))
    results.append(Row(
        f"point → courtyard, batches (`CourtyardIndex.lookup_many`), {n:,} courtyards",
        f"the same points in batches of {batch:,}",
        target, per_second(cpu, wall), cpu >= args.target,
    ))  # fmt: skip

    def grid_single() -> None:
        lookup = grid.lookup
        for x, y in pairs:
            lookup(x, y)

    cpu, wall = measure(grid_single, runs=args.runs).rate(len(pairs))
    results.append(Row(
        f"point → courtyard, one point per call, proposed grid path, {n:,} courtyards",
        "as the first row, through `GridCourtyardLookup` (this file)",
        target, per_second(cpu, wall), cpu >= args.target,
    ))  # fmt: skip

    gcj = [from_wgs84(LatLng(y, x), CoordSystem.GCJ02) for x, y in pairs[: args.conversions]]

    def convert() -> None:
        for point in gcj:
            to_wgs84(point, "gcj02")

    cpu, wall = measure(convert, runs=args.runs).rate(len(gcj))
    results.append(Row(
        "coordinates GCJ-02 → WGS-84 (`places.coords.to_wgs84`)",
        f"{len(gcj):,} GCJ-02 points (AMap/WeChat), validation included",
        "— (informative)", per_second(cpu, wall),
    ))  # fmt: skip

    def gcj_locate() -> None:
        lookup = index.lookup
        for point in gcj:
            wgs = to_wgs84(point, "gcj02")
            lookup(wgs.lng, wgs.lat)

    cpu, wall = measure(gcj_locate, runs=args.runs).rate(len(gcj))
    results.append(Row(
        "GCJ-02 point → courtyard id (what `locate()` does before its database read)",
        "`to_wgs84` then `lookup`, same points",
        "— (informative)", per_second(cpu, wall),
    ))  # fmt: skip

    timing = measure(lambda: CourtyardIndex.build(rows), runs=max(3, args.runs // 2))
    build_cpu, build_wall = statistics.median(timing.cpu), statistics.median(timing.wall)
    results.append(Row(
        f"index build (`CourtyardIndex.build`), {n:,} courtyards",
        "GeoJSON rows → validated polygons → prepared STRtree (on every boundary change)",
        "— (informative)",
        f"**{build_cpu * 1000:,.0f} ms** (wall clock {build_wall * 1000:,.0f} ms)",
    ))  # fmt: skip
    timing = measure(
        lambda: GridCourtyardLookup(index.ids, index.geoms), runs=max(3, args.runs // 2)
    )
    results.append(Row(
        f"proposed grid build, {n:,} courtyards",
        "extra time on top of the index build",
        "— (informative)",
        f"**{statistics.median(timing.cpu) * 1000:,.0f} ms** "
        f"(wall clock {statistics.median(timing.wall) * 1000:,.0f} ms)",
    ))  # fmt: skip
    return results, machine(), problems, checked


def table(rows: list[Row], *, date: str, box: str) -> str:
    lines = [
        "| what | how measured | target | result (median) | date | machine |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        mark = "" if row.ok is None else (" ✅" if row.ok else " ❌ below target")
        lines.append(
            f"| {row.what} | {row.how} | {row.target} | {row.result}{mark} | {date} | {box} |"
        )
    return "\n".join(lines)


def report(args: argparse.Namespace, rows: list[Row], box: dict[str, str], checked: str) -> str:
    date = timezone.localtime(clock.now()).strftime("%Y-%m-%d %H:%M %Z")
    short = f"{box['cpu']}, {box['cores'].split(' ')[0]} cores"
    lines = [
        table(rows, date=date, box=short),
        "",
        f"Machine: {box['cpu']}; {box['cores']}; {box['python']}; {box['libraries']}; "
        f"{box['os']}; load average during the run {box['load']} (1, 5, 15 min).",
        f"Runs: median of {args.runs} after a warm-up; seed {args.seed}. Answers of `lookup`, "
        f"`lookup_many` and the grid path agreed with brute force on {checked}.",
        "Command: `.venv/bin/python bench/locate_bench.py"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polygons", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=20_000, help="points per timed run")
    parser.add_argument("--batch", type=int, default=1_000, help="points per lookup_many call")
    parser.add_argument("--conversions", type=int, default=10_000, help="points converted per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", type=int, default=1_000, help="points checked by brute force")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--target", type=int, default=50_000, help="lookups per second")
    parser.add_argument("--update-docs", action="store_true", help=f"rewrite the table in {DOC}")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = [a for a in argv if a != "--update-docs"]

    rows, box, problems, checked = run(args)
    if problems:
        print(f"WRONG ANSWERS ({len(problems)}):", *problems[:20], sep="\n  ")
        return 1
    text = report(args, rows, box, checked)
    print(text)
    if args.update_docs:
        update_doc(text)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
