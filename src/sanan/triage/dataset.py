"""Labelled texts for the category model: the bilingual seed set shipped with the app and the
community's own categorised orders.

The seed set lives in ``data/seed/<level-1 code>.txt``, one text a line. A line ``@<code>``
names the level-2 category of the lines below it (``@-``: level 1 only). It was written for
the project: standard Chinese, Sichuan speech (巴适, 啥子, 莫得), elderly callers' words,
typos with the intended word in brackets, and English.

``data/heldout.tsv`` is the benchmark's held-out set, written apart in another style (call
summaries, web messages, e-mails). ``data/independent.tsv`` (403 texts, 26–27 per level-1
category) was written by another hand without reading the seed set, from the category names
and the domain alone: calls and WeChat messages of an old Leshan neighbourhood, Sichuan speech,
typos and homophones, run-on speech, English from foreign residents. Nothing here reads either
for training: only :func:`heldout` and :func:`independent` do, for ``bench/triage_bench.py``
and ``sanan triage evaluate --heldout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED_DIR = DATA_DIR / "seed"
HELDOUT_FILE = DATA_DIR / "heldout.tsv"
INDEPENDENT_FILE = DATA_DIR / "independent.tsv"
MAX_ORDERS = 20_000  # the most recent categorised orders used for training


@dataclass(frozen=True)
class Example:
    text: str
    level1: str
    level2: str = ""  # "" when the text names no level-2 category


def seed_examples() -> list[Example]:
    examples: list[Example] = []
    for path in sorted(SEED_DIR.glob("*.txt")):
        level1, level2 = path.stem, ""
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line:
                continue
            if line.startswith("@"):
                level2 = "" if line == "@-" else line[1:]
                continue
            examples.append(Example(line, level1, level2))
    return examples


def heldout(path: Path = HELDOUT_FILE) -> list[Example]:
    """A labelled evaluation set: ``<level-1 code><TAB><text>`` a line."""
    examples = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            code, text = raw.split("\t", 1)
            examples.append(Example(text.strip(), code.strip()))
    return examples


def independent() -> list[Example]:
    """The evaluation set written apart from the seed set by another hand."""
    return heldout(INDEPENDENT_FILE)


def category_levels() -> dict[int, tuple[str, str]]:
    """Category id → (level-1 code, level-2 code or "") for every active category."""
    from sanan.workorders.models import Category

    rows = list(Category.objects.values_list("pk", "path", "depth", "code"))
    by_path = {path: code for _pk, path, _depth, code in rows}
    steplen = Category.steplen
    levels: dict[int, tuple[str, str]] = {}
    for pk, path, depth, _code in rows:
        level1 = by_path.get(path[:steplen], "")
        level2 = by_path.get(path[: 2 * steplen], "") if depth >= 2 else ""
        if level1:
            levels[pk] = (level1, level2)
    return levels


def order_examples(limit: int = MAX_ORDERS) -> list[Example]:
    """The community's categorised orders (title and description), newest first. Read
    without a user: training is the system's own work and nothing leaves it but a model."""
    from sanan.workorders.models import WorkOrder

    levels = category_levels()
    rows: Any = (
        WorkOrder.objects.order_by("-created_at")
        .values_list("category_id", "title", "description")
        .iterator(chunk_size=2000)
    )
    examples: list[Example] = []
    for category_id, title, description in rows:
        if category_id not in levels:
            continue
        text = f"{title} {description}".strip()
        if text:
            level1, level2 = levels[category_id]
            examples.append(Example(text, level1, level2))
        if len(examples) >= limit:
            break
    return examples
