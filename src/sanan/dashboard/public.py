"""The public figures of a community (``/public/figures/``, no sign-in): problems solved, the
three rates and the hotline trend over the last twelve months, and stories of problems solved.

Nothing personal leaves: figures are counts; a story is the category, the courtyard, the month
and two texts (what was reported, what was done) with phone, ID and plate numbers masked
(``core.privacy.mask_personal``), house, building and room numbers removed and people's
surnames before a form of address (王阿姨 → *阿姨) hidden. Orders found on patrol are not
stories (nobody reported them), and only orders the reporter rated "satisfied" are told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from sanan.core import clock
from sanan.core.privacy import mask_personal
from sanan.dashboard import composed, periods
from sanan.dashboard import selectors as sel
from sanan.places.models import Place, PlaceKind
from sanan.workorders.models import WorkOrder, WorkOrderEvent
from sanan.workorders.state import Action, Satisfaction

STORIES = 6
STORY_LENGTH = 90

_NUMERAL = r"[0-9０-９一二三四五六七八九十百零〇两]+"
# House, building, unit and room numbers: 12号, 3栋, 2单元, 101室, 5号院, A1号.
_ADDRESS = re.compile(rf"[A-Za-zＡ-Ｚ]?{_NUMERAL}\s*(?:号院|号楼|号|栋|幢|单元|室|楼|层|户|弄|巷)")
# A surname (one or two characters) before a form of address.
_ADDRESSED = re.compile(
    r"[\u4e00-\u9fff]{1,2}(阿姨|大爷|大妈|叔叔|阿姨|师傅|先生|女士|老师|婆婆|爷爷|奶奶|大姐|大哥|嬢嬢|孃孃)"
)
_SHORT_NAME = re.compile(r"(老|小)[\u4e00-\u9fff](?=[家说的,，。])")


def anonymise(text: str, limit: int = STORY_LENGTH) -> str:
    """Text fit for the public page: numbers masked, addresses and surnames removed."""
    text = mask_personal(text)
    text = _ADDRESS.sub("**", text)
    text = _ADDRESSED.sub(lambda m: "*" + m.group(1), text)
    text = _SHORT_NAME.sub(lambda m: m.group(1) + "*", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def communities() -> list[Place]:
    return list(Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("path"))


def community(code: str) -> Place | None:
    return Place.objects.filter(kind=PlaceKind.COMMUNITY, code=code).first()


@dataclass(frozen=True)
class Story:
    category: str
    courtyard: str
    finished: Any  # a date
    problem: str
    done: str


def stories(*, place: Place, limit: int = STORIES) -> list[Story]:
    """The latest problems solved to the reporter's satisfaction (two queries)."""
    orders = list(
        WorkOrder.objects.filter(
            place_path__startswith=place.path,
            state__in=sel.DONE,
            satisfaction=Satisfaction.SATISFIED,
            is_discovery=False,
            finished_at__isnull=False,
        )
        .select_related("category", "courtyard")
        .order_by("-finished_at", "-id")[:limit]
    )
    replies: dict[int, str] = {}
    for event in WorkOrderEvent.objects.filter(
        order__in=[o.pk for o in orders], action=Action.FINISH
    ).order_by("at", "id"):
        if event.public_note:
            replies[event.order_id] = event.public_note
    return [
        Story(
            category=o.category.name,
            courtyard=o.courtyard.name if o.courtyard is not None else place.name,
            finished=o.finished_at,
            problem=anonymise(o.description),
            done=anonymise(replies.get(o.pk, "")),
        )
        for o in orders
    ]


def figures(place: Place) -> dict[str, Any]:
    """What the public page shows for a community, over the last twelve months."""
    period = periods.rolling()
    scope = sel.Scope(roots=[place.path], focus=place, options=[], courtyards=[], map_place=None)
    summary = sel.period_summary(scope=scope, period=period)
    head = sel.headline(scope=scope, period=period, now=clock.now(), summary=summary)
    hotline = sel.hotline_months(roots=[place.path], months=period.months)
    return {
        "community": place,
        "period": period,
        "figures": head,
        "hotline": hotline,
        "hotline_chart": {
            "kind": "bar",
            "categories": [f"{m.month:%Y-%m}" for m in hotline.months],
            "series": [{"name": _("Hotline calls"), "data": [m.calls for m in hotline.months]}],
            "unit": "",
        },
        "stories": stories(place=place),
        "rates": composed.rates_of(summary),
    }
