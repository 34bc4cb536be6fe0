"""The figures desk page (``/insights/``) and the orders behind a figure
(``/insights/orders/``). One URL renders the whole page or, for HTMX, its fragment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound
from sanan.insights import selectors
from sanan.insights.kpis import KPIS, THREE_RATES, kpi_name
from sanan.insights.params import add_months, parse_dims, parse_month, parse_period, parse_place
from sanan.places.models import Place, PlaceKind

PAGE_SIZE = 50
PAGE_BREAKDOWNS = ("courtyard", "place", "commissioner", "department", "unit", "category",
                   "channel", "month", "campaign")  # fmt: skip


def _labels() -> dict[str, str]:
    return {
        "courtyard": _("Courtyards"),
        "place": _("Places"),
        "commissioner": _("Commissioners"),
        "department": _("Departments"),
        "unit": _("Dual-reporting units"),
        "category": _("Categories"),
        "channel": _("Channels"),
        "month": _("Months"),
        "campaign": _("Campaigns"),
    }


def _places(user: Any) -> list[Place]:
    """The places a user can narrow the figures to: their communities and above (a handful)
    and their courtyards."""
    roots = permissions_for(user).scope_paths(selectors.VIEW)
    qs = Place.objects.visible_to(user).filter(
        kind__in=[PlaceKind.DISTRICT, PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY,
                  PlaceKind.COURTYARD]
    )  # fmt: skip
    if roots != [""]:
        cond = None
        for root in roots:
            q = selectors.under(root, "path")
            cond = q if cond is None else cond | q
        if cond is not None:
            qs = qs.filter(cond)
    return list(qs.order_by("path")[:300])


def _rates(row: selectors.BreakdownRow) -> list[tuple[str, selectors.Figure]]:
    """The three rates of a ranked row, with their names, for the red and black lists."""
    return [(kpi_name(KPIS[code]), row.figures[code]) for code in THREE_RATES]


@login_required
def insights_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not permissions_for(user).has(selectors.VIEW):
        raise Http404
    params = request.GET
    by = params.get("by") or ""
    context: dict[str, Any] = {
        "breakdowns": [(code, label) for code, label in _labels().items()],
        "kpis": [(code, kpi_name(k), k) for code, k in KPIS.items()],
        "three": THREE_RATES,
        "places": _places(user),
    }
    status = 200
    try:
        place = parse_place(user, params)
        if not by:
            # A community or less: its courtyards; a sub-district or more: the places one
            # level down (a district's 16,500 courtyards make no table to read).
            prefixes = selectors.scope_prefixes(user=user, place=place)
            wide = max(len(p) for p in prefixes) <= selectors.COMMUNITY_LEN - Place.steplen
            by = "place" if wide else "courtyard"
        context["by"] = by
        start, end = parse_period(params)
        month = (
            parse_month(params["month"], "month")
            if params.get("month")
            else add_months(clock.today().replace(day=1), -1)
        )
        if by not in PAGE_BREAKDOWNS:
            raise DomainError("insights.bad_dimension", _("Unknown dimension."))
        summary = selectors.kpi_summary(user=user, place=place, start=start, end=end)
        rows = selectors.kpi_breakdown(user=user, by=by, place=place, start=start, end=end)
        lists_by = by if by in selectors.RED_BLACK_BY else "courtyard"
        red_black = selectors.red_black_lists(user=user, month=month, by=lists_by, place=place)
        context.update(
            place=place,
            start=start,
            end=end,
            month=month,
            summary=[(summary[code], kpi_name(summary[code].kpi)) for code in KPIS],
            rows=rows,
            red_black=red_black,
            red=[(r, _rates(r.row)) for r in red_black.red],
            black=[(r, _rates(r.row)) for r in red_black.black],
            lists_by_label=_labels()[lists_by],
        )
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        context["error"] = str(error.message)
        context.setdefault("by", by or "courtyard")
        status = 400
    template = "insights/_figures.html" if request.htmx else "insights/page.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


@login_required
def insights_orders(request: HttpRequest) -> HttpResponse:
    """The orders behind the numerator or the denominator of a figure."""
    user = request.user
    if not permissions_for(user).has(selectors.VIEW):
        raise Http404
    params = request.GET
    context: dict[str, Any] = {}
    status = 200
    try:
        place = parse_place(user, params)
        start, end = parse_period(params)
        dims = parse_dims(params)
        code = str(params.get("kpi") or "")
        part = str(params.get("part") or "")
        qs = selectors.kpi_orders(
            user=user, kpi=code, part=part, place=place, start=start, end=end, **dims
        )
        page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
        kpi = KPIS[code]
        context.update(
            page=page,
            kpi=kpi,
            kpi_label=kpi_name(kpi),
            part=part,
            part_text=kpi.numerator_text if part == "numerator" else kpi.denominator_text,
            start=start,
            end=end,
            place=place,
            query=params.urlencode(),
            back=_back_query(params),
        )
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        context["error"] = str(error.message)
        status = 400
    return render(request, "insights/orders.html", context, status=status)


def _back_query(params: Any) -> str:
    keep = {k: params[k] for k in ("place", "from", "to") if params.get(k)}
    from urllib.parse import urlencode

    return urlencode(keep)


def month_label(day: dt.date) -> str:
    return day.strftime("%Y-%m")
