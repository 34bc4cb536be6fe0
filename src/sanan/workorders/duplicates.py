"""Possible duplicates of an order: open orders of the same courtyard, in the same category
family, whose text is alike.

Chinese has no spaces between words, so texts are compared as sets of character bigrams
(``路灯``, ``灯不``, ``不亮``…) with the Dice coefficient ``2|A∩B| / (|A|+|B|)``;
``SIMILARITY_THRESHOLD`` was chosen on the test sentences of ``tests/workorders/
test_duplicates.py``: two reports of the same broken lamp score about 0.35–0.6, two
different problems of the same kind below 0.2. Only the ``CANDIDATES`` most recent open
orders of the courtyard are compared (one indexed query), and at most ``MAX_HINTS`` are
offered, most similar first, each with the reason it is offered.

Scoping: the hints are read through ``WorkOrder.objects.visible_to(user)``, so a resident is
offered only their own open orders (a retried report), the desk and the commissioners the
orders of their scope.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from sanan.places.models import Place
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.state import OPEN_STATES

SIMILARITY_THRESHOLD = 0.3
MAX_HINTS = 5
CANDIDATES = 200
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Width-folded, lower-case, without spaces or punctuation."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())


def bigrams(text: str) -> frozenset[str]:
    compact = normalise_text(text)
    if len(compact) == 1:
        return frozenset({compact})
    return frozenset(compact[i : i + 2] for i in range(len(compact) - 1))


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the character bigrams of two texts, 0 to 1."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def category_family_path(category: Category) -> str:
    """The subtree duplicates are looked for in: the level-2 category (a broken street lamp
    filed under its level-3 child is still a broken street lamp), or the level-1 one."""
    depth = min(category.depth, 2)
    return str(category.path[: depth * category.steplen])


@dataclass(frozen=True)
class DuplicateHint:
    order: WorkOrder
    score: float
    reason: str
    same_category: bool


def _candidates(
    *, user: Any, courtyard: Place, category: Category, exclude: int | None
) -> QuerySet[WorkOrder]:
    qs = (
        WorkOrder.objects.visible_to(user)
        .filter(
            courtyard=courtyard,
            state__in=OPEN_STATES,
            parent__isnull=True,
            category__path__startswith=category_family_path(category),
        )
        .select_related("category", "courtyard")
        .order_by("-created_at", "-id")
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs[:CANDIDATES]


def work_order_duplicates(
    *,
    user: Any,
    courtyard: Place | None,
    category: Category,
    text: str = "",
    exclude: int | None = None,
    limit: int = MAX_HINTS,
) -> list[DuplicateHint]:
    """Open orders the user may see that may report the same problem. Without ``text``
    (the form has no description yet) every open order of the courtyard and category family
    is offered, newest first."""
    if courtyard is None:
        return []
    hints: list[DuplicateHint] = []
    words = normalise_text(text)
    for order in _candidates(user=user, courtyard=courtyard, category=category, exclude=exclude):
        same = order.category_id == category.pk
        kind = _("same category") if same else _("related category")
        if not words:
            hints.append(
                DuplicateHint(
                    order, 0.0, _("Open in this courtyard, %(kind)s") % {"kind": kind}, same
                )
            )
            continue
        score = similarity(text, f"{order.title} {order.description}")
        if score >= SIMILARITY_THRESHOLD:
            reason = _("Open in this courtyard, %(kind)s, text %(pct)d%% alike") % {
                "kind": kind,
                "pct": round(score * 100),
            }
            hints.append(DuplicateHint(order, round(score, 3), reason, same))
    if words:
        hints.sort(key=lambda h: (-h.score, not h.same_category, -h.order.created_at.timestamp()))
    return hints[:limit]


__all__ = [
    "MAX_HINTS",
    "SIMILARITY_THRESHOLD",
    "DuplicateHint",
    "bigrams",
    "category_family_path",
    "similarity",
    "work_order_duplicates",
]
