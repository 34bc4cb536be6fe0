"""Pages of the leader's dashboard (``/dashboard/``), its big screen, the drill-down order
list, the monthly report (XLSX and a printable page) and the public figures (``/public/``).

Every number on a page links to the list of orders behind it (``dashboard:orders`` with the
filters that count it). Charts are drawn by the vendored ECharts from JSON in the page; the
same figures are always in a table beside them, so the pages read without JavaScript.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound
from sanan.dashboard import composed, periods, public, reports
from sanan.dashboard import selectors as sel
from sanan.dashboard.filters import DashboardOrderFilter
from sanan.dashboard.periods import Period
from sanan.places import mapsvg
from sanan.places.models import Place, PlaceKind
from sanan.workorders.models import WorkOrder
from sanan.workorders.state import State

V = TypeVar("V", bound=Callable[..., HttpResponse])
PAGE_SIZE = 25


def dashboard_page(view: V) -> V:
    """Signed in, holding ``dashboard.view`` somewhere; anything out of sight is a 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sel.may_view(request.user):
            raise Http404
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return cast(V, login_required(wrapped))


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _period(request: HttpRequest) -> Period:
    try:
        return periods.parse(request.GET.get("period"))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return periods.rolling()


# --- links to the lists behind the numbers ----------------------------------------------------


_ORDERS_PATH: dict[str, str] = {}


def _orders_path() -> str:
    """``/dashboard/orders/`` under the current script prefix, reversed once (a district's
    table links three numbers of each of its 300 communities)."""
    prefix = get_script_prefix()
    path = _ORDERS_PATH.get(prefix)
    if path is None:
        path = _ORDERS_PATH[prefix] = reverse("dashboard:orders")
    return path


def orders_url(**params: Any) -> str:
    pairs = [(k, v) for k, v in params.items() if v not in (None, "", [])]
    return f"{_orders_path()}?{urlencode(pairs, doseq=True)}"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def figure_links(
    place: dict[str, Any], period: Period, summary: Any | None = None
) -> dict[str, str]:
    """For each figure of ``Figures``, the order list that counts it: the period's counts
    open the orders behind the figures' counters (``/insights/orders/``, from ``summary``),
    now's the dashboard's list (``place`` narrows it: ``{"place": pk}`` or
    ``{"courtyard": pk}``)."""
    links = {
        "open": orders_url(**place, open="true"),
        "overdue": orders_url(**place, open="true", overdue="true"),
        "supervised": orders_url(**place, open="true", supervised="true"),
    }
    if summary is not None:
        links.update(
            registered=summary.registered_url,
            finished=summary.finished_url,
            solved=summary.solved_url,
        )
    return links


def _place_param(scope: sel.Scope) -> dict[str, Any]:
    return {"place": scope.focus.pk} if scope.focus is not None else {}


def dashboard_url(place: Place | None, period: Period) -> str:
    params = {"period": period.code}
    if place is not None:
        params["place"] = str(place.pk)
    return f"{reverse('dashboard:home')}?{urlencode(params)}"


# --- the map --------------------------------------------------------------------------------


def _map(scope: sel.Scope, rows: list[sel.PlaceFigures], period: Period) -> dict[str, Any] | None:
    """The courtyards of the place in focus, coloured by their open and overdue orders; each
    courtyard links to the dashboard narrowed to it."""
    if scope.map_place is None or not scope.courtyards:
        return None
    outline = scope.map_place if scope.map_place.kind == PlaceKind.AREA else None
    svg = mapsvg.draw(scope.courtyards, outline=outline)
    if svg is None:
        return None
    by_place = {r.place.pk: r.figures for r in rows if r.place is not None}
    top = max((f.open for f in by_place.values()), default=0)
    shapes = []
    for shape in svg.shapes:
        figures = by_place.get(shape.place.pk, sel.Figures())
        if figures.overdue:
            level = "over"
        elif figures.open:
            level = str(min(3, 1 + (3 * figures.open - 1) // max(top, 1)))
        else:
            level = "0"
        shapes.append(
            {
                "shape": shape,
                "figures": figures,
                "level": level,
                "focus": scope.focus is not None and scope.focus.pk == shape.place.pk,
                "url": dashboard_url(shape.place, period),
            }
        )
    return {"svg": svg, "shapes": shapes}


# --- the dashboard --------------------------------------------------------------------------


def _month_label(month: dt.date) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")


def _short_month(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def dashboard_context(request: HttpRequest, scope: sel.Scope, period: Period) -> dict[str, Any]:
    """Everything the dashboard, the big screen and the report page show (a fixed number of
    queries, whatever the number of courtyards or communities)."""
    user = request.user
    now = clock.now()
    summary = sel.period_summary(scope=scope, period=period)
    head = sel.headline(scope=scope, period=period, now=now, summary=summary)
    rows = sel.place_breakdown(scope=scope, period=period, now=now)
    hotline = sel.hotline_months(roots=scope.roots, months=period.months)
    escalated = sel.escalations(scope=scope, now=now)
    place = _place_param(scope)
    for row in rows:
        if row.place is None:
            if scope.map_place is not None:  # the orders above the courtyards of the map
                outside = {"place": scope.map_place.pk, "no_courtyard": "true"}
                row.links = figure_links(outside, period, row.figures.summary)
            continue
        key = "courtyard" if row.place.kind == PlaceKind.COURTYARD else "place"
        row.links = figure_links({key: row.place.pk}, period, row.figures.summary)
        row.url = dashboard_url(row.place, period)
    since = _iso(escalated.since)
    for item in escalated.counts:
        item.url = orders_url(**place, escalated=item.action, since=since)
    hotline_chart = {
        "kind": "bar",
        "categories": [_short_month(m.month) for m in hotline.months],
        "series": [{"name": _("Hotline calls"), "data": [m.calls for m in hotline.months]}],
        "unit": "",
    }
    perms = permissions_for(user)
    return {
        "rates": composed.rates_of(summary),
        "rates_chart": composed.rates_chart(user=user, scope=scope, period=period),
        "campaigns": composed.campaigns(user=user, scope=scope)
        if perms.has("campaign.view")
        else None,
        "scope": scope,
        "period": period,
        "period_choices": _period_choices(period),
        "now": now,
        "figures": head,
        "links": figure_links(place, period, summary),
        "rows": rows,
        "map": _map(scope, rows, period),
        "hotline": hotline,
        "hotline_chart": hotline_chart,
        "hotline_url": reverse("hotline:statistics") if perms.has("hotline.view") else "",
        "escalations": escalated,
        "place_title": scope.focus.name if scope.focus is not None else _scope_title(scope),
        "report": _report_month(period),
    }


def _period_choices(period: Period) -> list[tuple[str, str]]:
    options = periods.choices()
    if period.code not in {code for code, _label in options}:
        options.append((period.code, period.label))
    return options


def _scope_title(scope: sel.Scope) -> str:
    if scope.map_place is not None:
        return scope.map_place.name
    names = [p.name for p in scope.options if p.depth == sel.COMMUNITY_DEPTH]
    if len(names) <= 3:
        return "、".join(names)
    return _("%(count)s communities") % {"count": len(names)}


def _report_month(period: Period) -> dict[str, Any]:
    """The month whose report the dashboard offers: the period's, or its last month so far."""
    if period.is_month:
        first = period.first_day
    else:
        first = periods.month_start(min(period.end_day - dt.timedelta(days=1), clock.today()))
    return {"year": first.year, "month": first.month, "code": f"{first:%Y-%m}"}


@dashboard_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The leader's dashboard: the figures, the map, the hotline, what escalated this week."""
    period = _period(request)
    scope = sel.dashboard_scope(user=request.user, place=request.GET.get("place"))
    context = dashboard_context(request, scope, period)
    if _htmx(request) and request.headers.get("HX-Target") == "dash-panels":
        return render(request, "dashboard/_panels.html", context)
    return render(request, "dashboard/dashboard.html", context)


@dashboard_page
@require_GET
def screen(request: HttpRequest) -> HttpResponse:
    """The big screen for the community hall: the last 12 months, refreshed every minute by
    HTMX (only the figures are swapped; the charts update in place). No personal data."""
    period = periods.rolling()
    scope = sel.dashboard_scope(user=request.user, place=request.GET.get("place"))
    context = dashboard_context(request, scope, period)
    context["refresh_seconds"] = 60
    if _htmx(request):
        return render(request, "dashboard/_screen.html", context)
    return render(request, "dashboard/screen.html", context)


# --- the drill-down list ------------------------------------------------------------------------


@dashboard_page
@require_GET
def orders(request: HttpRequest) -> HttpResponse:
    """The orders behind a number of the dashboard: the same filters that counted it."""
    roots = sel.dashboard_roots(request.user)
    qs = (
        WorkOrder.objects.visible_to(request.user)
        .filter(sel._under(roots))
        .select_related("category", "courtyard", "lead_organisation")
        .order_by("-created_at", "-id")
    )
    filtered = DashboardOrderFilter(request.GET, queryset=qs, request=request)
    if not filtered.is_valid():
        return render(
            request,
            "dashboard/orders.html",
            {"errors": filtered.errors, "page": None, "orders": []},
            status=400,
        )
    page = Paginator(filtered.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    now = clock.now()
    rows = list(page.object_list)
    for o in rows:
        o.is_overdue = reports.is_overdue(o, now)
    return render(
        request,
        "dashboard/orders.html",
        {
            "page": page,
            "orders": rows,
            "query": params.urlencode(),
            "described": describe_filters(filtered),
        },
    )


def describe_filters(filtered: DashboardOrderFilter) -> list[str]:
    """The filters in words, for the list's heading ("Open · Overdue · 1号院")."""
    data = filtered.form.cleaned_data
    words: list[str] = []
    if data.get("place"):
        words.append(
            Place.objects.filter(pk=data["place"]).values_list("name", flat=True).first() or ""
        )
    if data.get("courtyard"):
        words.append(
            Place.objects.filter(pk=data["courtyard"]).values_list("name", flat=True).first() or ""
        )
    labels = {
        "open": _("Open"),
        "overdue": _("Overdue"),
        "supervised": _("Under supervision"),
        "solved": _("Problems solved"),
    }
    words += [str(label) for key, label in labels.items() if data.get(key)]
    if data.get("escalated"):
        words.append(str(dict(filtered.filters["escalated"].extra["choices"])[data["escalated"]]))
    for after, before, label in (
        ("created_after", "created_before", _("registered")),
        ("finished_after", "finished_before", _("finished")),
    ):
        if data.get(after) or data.get(before):
            start = timezone.localtime(data[after]).date() if data.get(after) else None
            end = (
                timezone.localtime(data[before]).date() - dt.timedelta(days=1)
                if data.get(before)
                else None
            )
            span = " – ".join(date_format(d, "DATE_FORMAT") if d else "…" for d in (start, end))
            words.append(f"{label} {span}")
    if data.get("state") and not data.get("finished_after"):
        words.append("、".join(str(State(s).label) for s in data["state"]))
    return [w for w in words if w]


# --- the monthly report ---------------------------------------------------------------------------


def _report_period(year: int, number: int) -> Period:
    try:
        return periods.month(year, number)
    except DomainError:
        raise Http404 from None


@dashboard_page
@require_GET
def report_page(request: HttpRequest, year: int, month: int) -> HttpResponse:
    """The monthly report as a printable page (A4), its charts drawn."""
    period = _report_period(year, month)
    scope = sel.dashboard_scope(user=request.user, place=request.GET.get("place"))
    context = dashboard_context(request, scope, period)
    context["generated_at"] = clock.now()
    context["xlsx_url"] = reverse("dashboard:report_xlsx", args=[year, month])
    if scope.focus is not None:
        context["xlsx_url"] += f"?place={scope.focus.pk}"
    return render(request, "dashboard/report.html", context)


@dashboard_page
@require_GET
def report_xlsx(request: HttpRequest, year: int, month: int) -> HttpResponse:
    """The monthly report as a workbook: the summary by courtyard and by department, and the
    month's orders in the columns of the 12345 hotline (descriptions masked)."""
    period = _report_period(year, month)
    scope = sel.dashboard_scope(user=request.user, place=request.GET.get("place"))
    content = reports.monthly_workbook(user=request.user, scope=scope, period=period)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="sanan-report-{period.code}.xlsx"'
    return response


# --- the public figures -------------------------------------------------------------------------


@require_GET
def public_index(request: HttpRequest) -> HttpResponse:
    """No sign-in: the community's figures, or the communities to choose from."""
    communities = public.communities()
    if len(communities) == 1:
        return public_figures(request, communities[0].code)
    return render(request, "dashboard/public_index.html", {"communities": communities})


@require_GET
def public_figures(request: HttpRequest, code: str) -> HttpResponse:
    """A community's figures for everyone: aggregates and solved-problem stories, never
    personal data."""
    community = public.community(code)
    if community is None:
        raise Http404
    return render(request, "dashboard/public.html", public.figures(community))
