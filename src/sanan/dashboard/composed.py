"""The dashboard's panels that come from other apps: the three rates and their trend
(``insights``, from its rollups of the work-order event log) and the progress of the running
campaigns (``campaigns``). Each is a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from sanan.campaigns.models import Campaign, CampaignState
from sanan.campaigns.selectors import campaign_list, progress_many
from sanan.dashboard import selectors as sel
from sanan.dashboard.periods import Period, month_start
from sanan.insights import selectors as insights
from sanan.insights.kpis import KPIS, THREE_RATES, kpi_name


@dataclass(frozen=True)
class Rate:
    code: str
    name: str
    value: float | None  # per cent, one decimal; None when nothing was there to rate
    numerator: int
    denominator: int
    url: str  # the orders counted in the numerator
    denominator_url: str
    explained: str  # "numerator of denominator", in words


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _explained(code: str) -> str:
    kpi = KPIS[code]
    return _("%(numerator)s, out of the %(denominator)s") % {
        "numerator": kpi.numerator_text,
        "denominator": kpi.denominator_text,
    }


def _rates(figures: dict[str, insights.Figure]) -> list[Rate]:
    return [
        Rate(
            code=code,
            name=kpi_name(KPIS[code]),
            value=_percent(figures[code].value),
            numerator=int(figures[code].numerator),
            denominator=int(figures[code].denominator),
            url=figures[code].numerator_url,
            denominator_url=figures[code].denominator_url,
            explained=_explained(code),
        )
        for code in THREE_RATES
    ]


def _last_month(period: Period) -> dt.date:
    return month_start(period.end_day - dt.timedelta(days=1))


def rates_of(summary: insights.Summary) -> list[Rate]:
    """The three rates of the period's figures (``dashboard.selectors.period_summary``,
    already read for the headline: no query)."""
    return _rates(summary.figures)


def rates_chart(*, user: Any, scope: sel.Scope, period: Period) -> dict[str, Any]:
    """The three rates month by month over the period's months (two queries), as the chart's
    data: percentages, ``None`` for a month with nothing to rate."""
    months = period.months
    points = insights.kpi_trend(
        user=user, place=scope.focus, months=len(months), end=_last_month(period)
    )
    return {
        "kind": "line",
        "unit": "%",
        "categories": [f"{p.month:%Y-%m}" for p in points],
        "series": [
            {
                "name": kpi_name(KPIS[code]),
                "data": [_percent(p.figures[code].value) for p in points],
            }
            for code in THREE_RATES
        ],
        "rows": [
            {
                "month": f"{p.month:%Y-%m}",
                "values": [_percent(p.figures[code].value) for code in THREE_RATES],
                "urls": [p.figures[code].numerator_url for code in THREE_RATES],
            }
            for p in points
        ],
    }


# --- campaigns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    progress: Any
    url: str

    @property
    def name(self) -> str:
        return self.campaign.title

    @property
    def percent(self) -> int:
        return round(self.progress.percent_of_target)


def _campaign_url(campaign: Campaign) -> str:
    try:
        return reverse("campaigns:detail", args=[campaign.pk])
    except NoReverseMatch:
        return ""


def campaigns(*, user: Any, scope: sel.Scope, limit: int = 6) -> list[CampaignRow]:
    """The running campaigns the user may see whose place lies inside the scope or above it
    (a community's campaign shows on its courtyards' dashboards): three queries."""
    running = list(campaign_list(user=user, state=CampaignState.RUNNING).order_by("ends_on", "pk"))
    chosen = [
        c
        for c in running
        if any(c.place.path.startswith(r) or r.startswith(c.place.path) for r in scope.roots)
    ][:limit]
    progress = progress_many(chosen)
    return [CampaignRow(c, progress[c.pk], _campaign_url(c)) for c in chosen]
