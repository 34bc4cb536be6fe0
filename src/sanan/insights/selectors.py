"""Reads of the figures, always on behalf of a user and scoped to their places.

The figures come from the rollups (``KpiRollup``, kept up to date by
``services.insights_refresh``): a community's page reads its courtyards' rows, a district's
the rows of its communities, so the cost follows the number of places and months shown, not
the number of orders. A place filter below the courtyards (a house) reads the order facts.
Every figure carries the links to the orders behind its numerator and its denominator
(``/insights/orders/``, listed by :func:`kpi_orders` through the work-order selectors).

Who sees figures: the roles holding ``dashboard.view`` (committee, dispatcher, leader,
administrator), over their place scope. Anyone else gets a 404 (residents and outsiders do not
learn that figures exist for a place).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound
from sanan.insights.kpis import BUCKET_FIELDS, COUNTERS, HOUR_BUCKETS, KPIS, THREE_RATES, Kpi
from sanan.insights.models import Grain, KpiRollup, OrderFact, PlacePopulation
from sanan.organisation.models import Organisation, OrganisationKind, Post
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.workorders.models import Category, Channel, WorkOrder
from sanan.workorders.selectors import work_order_list

VIEW = "dashboard.view"
STEP = Place.steplen
COMMUNITY_LEN = (KIND_ORDER.index(PlaceKind.COMMUNITY) + 1) * STEP
COURTYARD_LEN = (KIND_ORDER.index(PlaceKind.COURTYARD) + 1) * STEP
# A courtyard, department or unit enters the red and black lists of a month with this many
# orders registered in it (fewer orders make a rate say little).
MIN_ORDERS_FOR_LISTS = 5
LIST_SIZE = 5
BREAKDOWNS: tuple[str, ...] = (
    "place", "courtyard", "commissioner", "department", "unit", "category", "channel", "month",
    "campaign",
)  # fmt: skip
RED_BLACK_BY: tuple[str, ...] = ("courtyard", "commissioner", "department", "unit")
DETAIL_BY = frozenset({"department", "unit", "category", "channel"})


# --- the scope and the cut ----------------------------------------------------------------------


def _next_path(path: str) -> str | None:
    alphabet = Place.alphabet
    chars = list(path)
    while chars:
        i = alphabet.index(chars[-1])
        if i + 1 < len(alphabet):
            chars[-1] = alphabet[i + 1]
            return "".join(chars)
        chars.pop()
    return None


def under(path: str, field_name: str = "place_path") -> Q:
    """Rows whose path is ``path`` or below it, as a range (SQLite uses an index for a range,
    never for ``LIKE``)."""
    if not path:
        return Q()
    upper = _next_path(path)
    cond = Q(**{f"{field_name}__gte": path})
    return cond & Q(**{f"{field_name}__lt": upper}) if upper is not None else cond


@dataclass(frozen=True)
class Cut:
    """Which orders a figure counts: registered from ``start`` to ``end`` (months, both
    included), inside the scope, and optionally one value of a dimension."""

    prefixes: tuple[str, ...]  # place paths; ("",) is everything
    start: dt.date  # first day of the first month
    end: dt.date  # first day of the last month
    place_id: int | None = None
    area: str = ""  # a place path the orders lie in (courtyard / place rows)
    area_exact: str = ""  # orders registered at exactly this path (above the courtyards)
    organisation: int = 0
    category: int = 0
    channel: str = ""
    commissioner: int = 0
    campaign: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Cut:
        values = {**self.__dict__, **changes}
        return Cut(**values)

    def query(self) -> dict[str, str]:
        """The cut as query parameters of the drill-down list."""
        params: dict[str, str] = {
            "from": self.start.strftime("%Y-%m"),
            "to": self.end.strftime("%Y-%m"),
        }
        if self.place_id:
            params["place"] = str(self.place_id)
        for name in ("area", "area_exact", "channel"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        for name in ("organisation", "category", "commissioner", "campaign"):
            if getattr(self, name):
                params[name] = str(getattr(self, name))
        return params


def scope_prefixes(*, user: Any, place: Place | None = None) -> tuple[str, ...]:
    """The place paths whose figures ``user`` may read, narrowed to ``place``: 404 for a user
    without figures, or a place out of their sight."""
    perms = permissions_for(user)
    roots = perms.scope_paths(VIEW)
    if not roots:
        raise NotFound("not_found", _("Not found."))
    if place is None:
        return tuple(roots)
    inside = [place.path] if any(place.path.startswith(r) for r in roots) else []
    below = [r for r in roots if r.startswith(place.path) and r != place.path]
    prefixes = tuple(inside or below)
    if not prefixes:
        raise NotFound(
            "place.not_found", _("No such place."), fields={"place": [_("Unknown place.")]}
        )
    return prefixes


def _level(prefixes: Iterable[str]) -> str:
    longest = max(len(p) for p in prefixes)
    if longest <= COMMUNITY_LEN:
        return "community"
    if longest <= COURTYARD_LEN:
        return "courtyard"
    return "facts"


def _commissioner_courtyards(user_id: int) -> list[str]:
    return list(
        Post.objects.current()
        .filter(holder_id=user_id, post_type__covers_courtyards=True)
        .values_list("place__path", flat=True)
    )


def _source(
    cut: Cut, *, detail: bool, by_place: bool = False, facts: bool = False
) -> tuple[QuerySet[Any], str]:
    """The rows to sum for ``cut`` (rollup rows of the coarsest grain that can answer it, or
    the order facts), and the name of their place field."""
    level = _level(cut.prefixes)
    if cut.area or cut.area_exact or cut.commissioner or by_place:
        level = "facts" if level == "facts" else "courtyard"
    if facts or cut.campaign or (cut.area and len(cut.area) > COURTYARD_LEN):
        level = "facts"
    if level == "facts":
        qs: QuerySet[Any] = OrderFact.objects.all()
        if cut.organisation:
            qs = qs.filter(organisation_id=cut.organisation)
    else:
        grain = {
            ("community", False): Grain.COMMUNITY,
            ("community", True): Grain.COMMUNITY_DETAIL,
            ("courtyard", False): Grain.COURTYARD,
            ("courtyard", True): Grain.COURTYARD_DETAIL,
        }[(level, detail or bool(cut.organisation or cut.category or cut.channel))]
        qs = KpiRollup.objects.filter(grain=grain)
        if cut.organisation:
            qs = qs.filter(organisation_id=cut.organisation)
    # The months as a list, not a range: the index (grain, month, place path) then answers
    # each month with a range of paths. With a range of months, both databases walked every
    # place's rows of the period to keep a community's (a community's map read the 200,000
    # courtyard rows of a city's year to sum its own 660).
    qs = qs.filter(month__in=_months_of(cut.start, cut.end))
    scope = Q()
    for prefix in cut.prefixes:
        scope |= under(prefix)
    qs = qs.filter(scope)
    if cut.area:
        qs = qs.filter(under(cut.area))
    if cut.area_exact:
        qs = qs.filter(place_path=cut.area_exact)
    if cut.commissioner:
        covered = Q(pk__in=[])
        for path in _commissioner_courtyards(cut.commissioner):
            covered |= under(path)
        qs = qs.filter(covered)
    if cut.category:
        qs = qs.filter(category_id=cut.category)
    if cut.channel:
        qs = qs.filter(channel=cut.channel)
    if cut.campaign:
        qs = qs.filter(
            order__campaign_links__campaign_id=cut.campaign, order__campaign_links__active=True
        )
    return qs.order_by(), "place_path"


def _months_of(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the months from ``start``'s to ``end``'s, both included."""
    return [_add_months(start, i) for i in range(_months_between(start, end))]


SUMS = {c: Sum(c) for c in COUNTERS}


def _totals(row: dict[str, Any]) -> dict[str, int]:
    return {c: int(row.get(c) or 0) for c in COUNTERS}


def _residents(cut: Cut) -> int:
    """Residents living in the cut's places now (for the per-1,000 figure)."""
    paths = [cut.area] if cut.area else list(cut.prefixes)
    if cut.area_exact:
        return 0
    if cut.commissioner:
        paths = _commissioner_courtyards(cut.commissioner)
    if not paths:
        return 0
    grain = Grain.COMMUNITY if _level(paths) == "community" else Grain.COURTYARD
    cond = Q()
    for p in paths:
        cond |= under(p)
    total = PlacePopulation.objects.filter(cond, grain=grain).aggregate(n=Sum("residents"))["n"]
    return int(total or 0)


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One key figure: ``value`` is ``None`` when the denominator is 0 (nothing to rate)."""

    code: str
    numerator: float
    denominator: int
    value: float | None
    numerator_url: str
    denominator_url: str

    @property
    def kpi(self) -> Kpi:
        return KPIS[self.code]

    @property
    def display(self) -> str:
        """The value as people read it: 87.5 %, 36.0 h, 12.3 ‰, or an em dash."""
        if self.value is None:
            return "—"
        if self.kpi.unit == "%":
            return f"{self.value * 100:.1f} %"
        if self.kpi.unit == "h":
            return f"{self.value:.1f} h"
        return f"{self.value:.1f}"  # per 1,000 residents: the name says so

    @property
    def numerator_display(self) -> str:
        """The numerator as the pages show it: a count, or the summed hours."""
        if self.kpi.kind == "mean_hours":
            return f"Σ {self.numerator:,.0f} h"
        return f"{self.numerator:,.0f}"


def p90_hours(histogram: list[int], total: int) -> tuple[float | None, int]:
    """The upper edge of the bucket holding the 90th percentile, and how many orders lie in
    the buckets up to it."""
    if total <= 0:
        return None, 0
    target = math.ceil(0.9 * total)
    running = 0
    for i, n in enumerate(histogram):
        running += n
        if running >= target:
            return float(HOUR_BUCKETS[i]), running
    return float(HOUR_BUCKETS[-1]), running


def orders_url(cut: Cut, code: str, part: str) -> str:
    return reverse("insights:orders") + "?" + urlencode({"kpi": code, "part": part, **cut.query()})


_ORDERS_BASE: dict[str, str] = {}


def _orders_base() -> str:
    """``/insights/orders/?`` under the current script prefix, reversed once."""
    prefix = get_script_prefix()
    base = _ORDERS_BASE.get(prefix)
    if base is None:
        base = _ORDERS_BASE[prefix] = reverse("insights:orders") + "?"
    return base


def figures_from(totals: dict[str, int], residents: int, cut: Cut) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    # The links differ only in the figure and the part: build the rest once (a breakdown of a
    # district's courtyards builds hundreds of thousands of them).
    base = _orders_base()
    rest = "".join(f"&{name}={value}" for name, value in cut.query().items())  # URL-safe
    for code, kpi in KPIS.items():
        den = residents if kpi.denominator == "residents" else totals[kpi.denominator]
        num: float = totals[kpi.numerator]
        value: float | None
        if kpi.kind == "rate":
            value = num / den if den else None
        elif kpi.kind == "mean_hours":
            num = round(totals["handling_minutes"] / 60, 1)
            value = totals["handling_minutes"] / den / 60 if den else None
        elif kpi.kind == "p90_hours":
            value, within = p90_hours([totals[b] for b in BUCKET_FIELDS], den)
            num = within
        else:  # per_1000
            value = num * 1000 / den if den else None
        out[code] = Figure(
            code=code,
            numerator=num,
            denominator=den,
            value=value,
            numerator_url=f"{base}kpi={code}&part=numerator{rest}",
            denominator_url="" if kpi.denominator == "residents"
            else f"{base}kpi={code}&part=denominator{rest}",
        )  # fmt: skip
    return out


def make_cut(*, user: Any, place: Place | None, start: dt.date, end: dt.date, **dims: Any) -> Cut:
    if end < start:
        raise DomainError(
            "insights.bad_period",
            _("The period ends before it starts."),
            fields={"to": [_("Choose a month after the first one.")]},
        )
    return Cut(
        prefixes=scope_prefixes(user=user, place=place),
        start=month_of_date(start),
        end=month_of_date(end),
        place_id=place.pk if place is not None else None,
        **dims,
    )


def month_of_date(day: dt.date) -> dt.date:
    return day.replace(day=1)


def kpi_summary(
    *, user: Any, place: Place | None = None, start: dt.date, end: dt.date, **dims: Any
) -> dict[str, Figure]:
    """Every key figure over the orders registered from ``start``'s month to ``end``'s month
    in the user's scope (narrowed to ``place``): two queries (the sums, the residents)."""
    cut = make_cut(user=user, place=place, start=start, end=end, **dims)
    qs, _place = _source(cut, detail=False)
    totals = _totals(qs.aggregate(**SUMS))
    return figures_from(totals, _residents(cut), cut)


def _add_months(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class TrendPoint:
    month: dt.date
    figures: dict[str, Figure]
    totals: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


def kpi_trend(
    *, user: Any, place: Place | None = None, months: int = 12, end: dt.date | None = None
) -> list[TrendPoint]:
    """The key figures month by month, the last ``months`` months up to ``end`` (this month
    by default), oldest first: two queries."""
    if not 1 <= months <= 120:
        raise DomainError(
            "insights.bad_months",
            _("Ask for 1 to 120 months."),
            fields={"months": [_("Choose a number from 1 to 120.")]},
        )
    last = month_of_date(end or clock.today())
    first = _add_months(last, -(months - 1))
    cut = make_cut(user=user, place=place, start=first, end=last)
    qs, _place = _source(cut, detail=False)
    by_month = {row["month"]: _totals(row) for row in qs.values("month").annotate(**SUMS)}
    residents = _residents(cut)
    points = []
    for i in range(months):
        month = _add_months(first, i)
        month_cut = cut.with_(start=month, end=month)
        totals = by_month.get(month) or dict.fromkeys(COUNTERS, 0)
        points.append(TrendPoint(month, figures_from(totals, residents, month_cut), totals))
    return points


# --- breakdowns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    figures: dict[str, Figure]
    totals: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def orders(self) -> int:
        return int(self.figures["orders_per_1000_residents"].numerator)


def _place_names(paths: Iterable[str]) -> dict[str, str]:
    paths = [p for p in paths if p]
    if not paths:
        return {}
    return dict(Place.objects.filter(path__in=paths).values_list("path", "name"))


def _population(paths: list[str], grain: int) -> dict[str, int]:
    if not paths:
        return {}
    return dict(
        PlacePopulation.objects.filter(grain=grain, place_path__in=paths).values_list(
            "place_path", "residents"
        )
    )


def _by_place(cut: Cut, *, depth_len: int | None) -> list[BreakdownRow]:
    """Rows per courtyard (``depth_len`` None) or per child of the scope (paths cut to
    ``depth_len`` characters)."""
    outside = str(_("Outside the courtyards"))
    if depth_len is None:
        qs, field_name = _source(cut, detail=False, by_place=True)
        grouped = qs.values(field_name).annotate(**SUMS)
        rows = {r[field_name]: _totals(r) for r in grouped}
        grain = Grain.COURTYARD
    else:
        # Children above the communities come from the community rows; areas (below a
        # community) need the courtyard rows.
        qs, field_name = _source(cut, detail=False, by_place=depth_len > COMMUNITY_LEN)
        grouped = qs.annotate(part=Substr(field_name, 1, depth_len)).values("part").annotate(**SUMS)
        rows = {r["part"]: _totals(r) for r in grouped}
        grain = Grain.COMMUNITY if depth_len <= COMMUNITY_LEN else Grain.COURTYARD
    names = _place_names(rows)
    if depth_len is None:
        population = _population(list(rows), grain)
    else:
        # Residents of each child: the population rows of the scope, added up by prefix.
        population = defaultdict(int)
        scope = Q()
        for prefix in cut.prefixes:
            scope |= under(prefix)
        for path, n in (
            PlacePopulation.objects.filter(scope, grain=grain)
            .values_list("place_path", "residents")
        ):  # fmt: skip
            population[path[:depth_len]] += n
    out = []
    for path, totals in rows.items():
        # Orders registered above the rows' level (a community as a whole) form a row of
        # their own, whose orders lie exactly at that path.
        exact = len(path) < (COURTYARD_LEN if depth_len is None else depth_len)
        row_cut = cut.with_(area_exact=path) if exact else cut.with_(area=path)
        label = names.get(path, "") if not exact else f"{names.get(path, '')} · {outside}"
        out.append(
            BreakdownRow(
                path,
                label or outside,
                figures_from(totals, population.get(path, 0), row_cut),
                totals,
            )
        )
    out.sort(key=lambda r: r.key)
    return out


def _by_commissioner(cut: Cut) -> list[BreakdownRow]:
    courtyards = {r.key: r for r in _by_place(cut, depth_len=None)}
    posts = (
        Post.objects.current()
        .filter(post_type__covers_courtyards=True, place__kind=PlaceKind.COURTYARD)
        .filter(Q(*[under(p, "place__path") for p in cut.prefixes], _connector=Q.OR))
        .select_related("holder", "place")
        .order_by("holder_id")
    )
    covered: dict[int, tuple[str, list[str]]] = {}
    for post in posts:
        name, paths = covered.setdefault(post.holder_id, (str(post.holder), []))
        if post.place.path not in paths:
            paths.append(post.place.path)
    residents = _population([p for _, ps in covered.values() for p in ps], Grain.COURTYARD)
    out = []
    for holder_id, (name, paths) in covered.items():
        totals = dict.fromkeys(COUNTERS, 0)
        for path in paths:
            row = courtyards.get(path)
            if row is not None:
                for c in COUNTERS:
                    totals[c] += row.totals.get(c, 0)
        people = sum(residents.get(p, 0) for p in paths)
        out.append(
            BreakdownRow(
                str(holder_id),
                name,
                figures_from(totals, people, cut.with_(commissioner=holder_id)),
                totals,
            )
        )
    out.sort(key=lambda r: r.label)
    return out


def _by_field(cut: Cut, field_name: str) -> dict[Any, dict[str, int]]:
    qs, _place = _source(cut, detail=True)
    return {r[field_name]: _totals(r) for r in qs.values(field_name).annotate(**SUMS)}


def _by_organisation(cut: Cut, kind: str) -> list[BreakdownRow]:
    rows = _by_field(cut, "organisation_id")
    orgs = {o.pk: o for o in Organisation.objects.filter(pk__in=[k for k in rows if k], kind=kind)}
    residents = _residents(cut)
    out = [
        BreakdownRow(
            str(pk), orgs[pk].name, figures_from(t, residents, cut.with_(organisation=pk)), t
        )
        for pk, t in rows.items()
        if pk in orgs
    ]
    out.sort(key=lambda r: r.label)
    return out


def _by_category(cut: Cut) -> list[BreakdownRow]:
    rows = _by_field(cut, "category_id")
    categories = {c.pk: c for c in Category.objects.filter(pk__in=list(rows))}
    residents = _residents(cut)
    out = [
        BreakdownRow(
            categories[pk].code,
            categories[pk].name,
            figures_from(t, residents, cut.with_(category=pk)),
            t,
        )
        for pk, t in rows.items()
        if pk in categories
    ]
    out.sort(key=lambda r: categories_order(r.key, categories))
    return out


def categories_order(code: str, categories: dict[int, Category]) -> str:
    for c in categories.values():
        if c.code == code:
            return c.path
    return code


def _by_channel(cut: Cut) -> list[BreakdownRow]:
    rows = _by_field(cut, "channel")
    residents = _residents(cut)
    labels = dict(Channel.choices)
    return [
        BreakdownRow(
            code,
            str(labels.get(code, code)),
            figures_from(rows[code], residents, cut.with_(channel=code)),
            rows[code],
        )
        for code in Channel.values
        if code in rows
    ]


def _by_campaign(cut: Cut) -> list[BreakdownRow]:
    """Rows per campaign (``campaigns.CampaignOrder``, the links that count): the facts of
    the linked orders in the cut, summed per campaign in one query. Campaigns link a bounded
    number of orders, so this reads the links, not the rollups."""
    from sanan.campaigns.models import Campaign

    fact = "order__insight_fact__"
    scope = Q()
    for prefix in cut.prefixes:
        scope |= under(prefix, f"{fact}place_path")
    rows = _facts_by_campaign(
        scope & Q(**{f"{fact}month__gte": cut.start, f"{fact}month__lte": cut.end})
    )
    titles = dict(Campaign.objects.filter(pk__in=list(rows)).values_list("pk", "title"))
    residents = _residents(cut)
    out = [
        BreakdownRow(str(pk), titles.get(pk, str(pk)),
                     figures_from(t, residents, cut.with_(campaign=pk)), t)
        for pk, t in rows.items()
    ]  # fmt: skip
    out.sort(key=lambda r: r.label)
    return out


def kpi_breakdown(
    *, user: Any, by: str, place: Place | None = None, start: dt.date, end: dt.date
) -> list[BreakdownRow]:
    """The key figures cut by one dimension: ``place`` (the places one level below the
    scope), ``courtyard``, ``commissioner`` (the courtyards each covers), ``department`` and
    ``unit`` (the lead organisation, by its kind), ``category`` (level 1), ``channel``,
    ``month`` or ``campaign`` (the orders linked to each campaign). A fixed number of queries
    whatever the number of rows."""
    if by not in BREAKDOWNS:
        raise DomainError(
            "insights.bad_dimension",
            _("Figures can be cut by: %(choices)s.") % {"choices": ", ".join(BREAKDOWNS)},
            fields={"by": [_("Unknown dimension.")]},
        )
    cut = make_cut(user=user, place=place, start=start, end=end)
    if by == "campaign":
        return _by_campaign(cut)
    if by == "courtyard":
        return _by_place(cut, depth_len=None)
    if by == "place":
        shortest = min(len(p) for p in cut.prefixes)
        return _by_place(cut, depth_len=min(shortest + STEP, COURTYARD_LEN))
    if by == "commissioner":
        return _by_commissioner(cut)
    if by == "department":
        return _by_organisation(cut, OrganisationKind.DEPARTMENT)
    if by == "unit":
        return _by_organisation(cut, OrganisationKind.UNIT)
    if by == "category":
        return _by_category(cut)
    if by == "channel":
        return _by_channel(cut)
    points = kpi_trend(
        user=user, place=place, months=_months_between(cut.start, cut.end), end=cut.end
    )
    return [
        BreakdownRow(p.month.strftime("%Y-%m"), p.month.strftime("%Y-%m"), p.figures, p.totals)
        for p in points
    ]


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


# --- red and black lists -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    row: BreakdownRow
    score: float


@dataclass(frozen=True)
class RedBlack:
    month: dt.date
    by: str
    kpi: str  # "" for the three rates together
    min_orders: int
    qualifying: int  # rows with at least ``min_orders`` orders and a score
    red: list[Ranked]  # the best first
    black: list[Ranked]  # the worst first


def _score(row: BreakdownRow, kpi: str) -> float | None:
    if kpi:
        value = row.figures[kpi].value
        if value is None:
            return None
        return value if KPIS[kpi].higher_is_better else -value
    values = [row.figures[code].value for code in THREE_RATES]
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def red_black_lists(
    *,
    user: Any,
    month: dt.date,
    by: str = "courtyard",
    place: Place | None = None,
    kpi: str = "",
    size: int = LIST_SIZE,
) -> RedBlack:
    """The month's red list (红榜, the best) and black list (黑榜, the worst) of courtyards,
    commissioners, departments or units. Ranked by ``kpi``, or by the mean of the three rates
    (response, resolution, satisfaction) that have a denominator; only rows with at least
    ``MIN_ORDERS_FOR_LISTS`` orders registered in the month qualify. Ties: more orders first,
    then the name. A row is never on both lists."""
    if by not in RED_BLACK_BY:
        raise DomainError(
            "insights.bad_dimension",
            _("Red and black lists rank: %(choices)s.") % {"choices": ", ".join(RED_BLACK_BY)},
            fields={"by": [_("Unknown dimension.")]},
        )
    if kpi and kpi not in KPIS:
        raise DomainError(
            "insights.bad_kpi", _("No such figure."), fields={"kpi": [_("Unknown figure.")]}
        )
    rows = kpi_breakdown(user=user, by=by, place=place, start=month, end=month)
    scored = []
    for row in rows:
        score = _score(row, kpi)
        if score is not None and row.orders >= MIN_ORDERS_FOR_LISTS:
            scored.append(Ranked(row, score))
    scored.sort(key=lambda r: (-r.score, -r.row.orders, r.row.label))
    n = len(scored)
    red = scored[: min(size, (n + 1) // 2)]
    black = list(reversed(scored))[: min(size, n // 2)]
    return RedBlack(month_of_date(month), by, kpi, MIN_ORDERS_FOR_LISTS, n, red, black)


# --- the orders behind a figure ----------------------------------------------------------------

PARTS: tuple[str, ...] = ("numerator", "denominator")


def kpi_orders(
    *,
    user: Any,
    kpi: str,
    part: str,
    place: Place | None = None,
    start: dt.date,
    end: dt.date,
    **dims: Any,
) -> QuerySet[WorkOrder]:
    """The orders counted in the numerator or the denominator of a figure (the same cut as
    the figure's link), as the work-order list shows them to ``user``."""
    spec = KPIS.get(kpi)
    if spec is None:
        raise DomainError(
            "insights.bad_kpi", _("No such figure."), fields={"kpi": [_("Unknown figure.")]}
        )
    if part not in PARTS:
        raise DomainError(
            "insights.bad_part",
            _("Ask for the numerator or the denominator."),
            fields={"part": [_("Choose numerator or denominator.")]},
        )
    if part == "denominator" and spec.denominator == "residents":
        raise DomainError(
            "insights.not_orders",
            _("The residents of a place are not orders: see the registry."),
            fields={"part": [_("Only the numerator lists orders.")]},
        )
    cut = make_cut(user=user, place=place, start=start, end=end, **dims)
    facts, _place = _source(cut, detail=True, facts=True)
    counter = spec.numerator_list if part == "numerator" else spec.denominator
    facts = facts.filter(**{f"{counter}__gt": 0})
    if part == "numerator" and spec.kind == "p90_hours":
        qs, _p = _source(cut, detail=False)
        totals = _totals(qs.aggregate(**SUMS))
        edge, _within = p90_hours([totals[b] for b in BUCKET_FIELDS], totals["finished"])
        facts = facts.filter(handling_minutes__lte=int((edge or 0) * 60))
    return work_order_list(user=user).filter(pk__in=facts.values("order_id"))


# --- the figures for other apps: the dashboard, the public page, campaigns ---------------------
#
# The callers below have decided which places they show (the dashboard's scope, checked
# against the user's roles by ``dashboard.selectors.dashboard_scope``; a community's public
# page), so these take place paths rather than a user. The counts are the rollups' (or, for
# campaigns, the order facts'), so "registered", "finished" and "solved" mean the same on every
# page: the counters of ``kpis.FLAGS`` as ``docs/kpis.md`` defines them.


@dataclass(frozen=True)
class Summary:
    """The counters and the key figures of the orders registered in some places over some
    months, with the links to the orders behind each count."""

    totals: dict[str, int]
    figures: dict[str, Figure]

    @property
    def registered(self) -> int:
        """Orders registered (merged duplicates not counted)."""
        return self.totals["orders"]

    @property
    def finished(self) -> int:
        """Of those, the orders finished at least once."""
        return self.totals["finished"]

    @property
    def solved(self) -> int:
        """Of those, the complaints whose latest call-back says solved (the numerator of the
        resolution rate)."""
        return self.totals["solved"]

    @property
    def registered_url(self) -> str:
        return self.figures["orders_per_1000_residents"].numerator_url

    @property
    def finished_url(self) -> str:
        return self.figures["on_time_finishing"].denominator_url

    @property
    def solved_url(self) -> str:
        return self.figures["resolution_rate"].numerator_url


def _paths_cut(paths: Iterable[str], start: dt.date, end: dt.date, place_id: int | None) -> Cut:
    prefixes = tuple(paths) or ("",)
    return Cut(prefixes, month_of_date(start), month_of_date(end), place_id=place_id)


def figures_summary(
    *,
    paths: Iterable[str],
    start: dt.date,
    end: dt.date,
    place_id: int | None = None,
    residents: bool = True,
) -> Summary:
    """The figures of the orders registered from ``start``'s month to ``end``'s month inside
    the subtrees ``paths``: one query on the rollups (and one for the residents, unless
    ``residents`` is False: then orders per 1,000 residents has no value). ``place_id`` is the
    place the links to the orders name (the dashboard's place filter)."""
    cut = _paths_cut(paths, start, end, place_id)
    qs, _place = _source(cut, detail=False)
    totals = _totals(qs.aggregate(**SUMS))
    return Summary(totals, figures_from(totals, _residents(cut) if residents else 0, cut))


PLACE_LEVELS = {"courtyard": COURTYARD_LEN, "community": COMMUNITY_LEN}


def figures_by_place(
    *, paths: Iterable[str], start: dt.date, end: dt.date, level: str, place_id: int | None = None
) -> dict[str, Summary]:
    """The figures of each courtyard (``level`` "courtyard") or community ("community")
    inside ``paths``, keyed by its path, in one grouped query on the rollups. Orders registered
    above that level (a community as a whole, an area) are under their own, shorter path.
    Orders per 1,000 residents has no value here."""
    length = PLACE_LEVELS[level]
    cut = _paths_cut(paths, start, end, place_id)
    qs, field_name = _source(cut, detail=False, by_place=level == "courtyard")
    grouped = (
        qs.annotate(part=Substr(field_name, 1, length)).values("part").annotate(**SUMS).order_by()
    )
    out: dict[str, Summary] = {}
    for row in grouped:
        path = row["part"]
        totals = _totals(row)
        row_cut = cut.with_(area_exact=path) if len(path) < length else cut.with_(area=path)
        out[path] = Summary(totals, figures_from(totals, 0, row_cut))
    return out


def fact_sums(*, via: str, counters: Iterable[str] = COUNTERS) -> dict[str, Any]:
    """Aggregates summing the order facts' ``counters`` from a model that reaches the order
    through ``via`` (``"order__"`` from a campaign link): 0 where no order has a fact."""
    return {c: Coalesce(Sum(f"{via}insight_fact__{c}"), 0) for c in counters}


def _facts_by_campaign(cond: Q) -> dict[int, dict[str, int]]:
    from sanan.campaigns.models import CampaignOrder

    grouped = (
        CampaignOrder.objects.filter(cond, active=True, order__insight_fact__isnull=False)
        .order_by()
        .values("campaign_id")
        .annotate(**fact_sums(via="order__"))
    )
    return {r["campaign_id"]: _totals(dict(r)) for r in grouped}


def counting_q(counter: str, *, via: str = "") -> Q:
    """The orders a counter of ``kpis.FLAGS`` counts ("solved", "finished", …), as a
    condition on the work orders (``via``: the path from the queried model to the order, such
    as ``"order__"``), read from the order facts."""
    if counter not in COUNTERS:
        raise ValueError(counter)
    return Q(**{f"{via}insight_fact__{counter}__gt": 0})
