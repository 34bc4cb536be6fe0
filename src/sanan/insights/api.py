"""The figures over the API (``/api/v1/insights/...``): the same selectors as the page, the
same filters (``place``, ``from``, ``to``, ``by``...), 400 with a stable code on a bad filter,
404 for a user without figures (residents, outsiders)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.insights import selectors
from sanan.insights.kpis import KPIS, kpi_name
from sanan.insights.params import parse_month, parse_period, parse_place

PLACE = OpenApiParameter("place", int, description=_("A place id: its subtree (default: all mine)"))
FROM = OpenApiParameter("from", str, description=_("First month, YYYY-MM (default: 11 months ago)"))
TO = OpenApiParameter("to", str, description=_("Last month, YYYY-MM (default: this month)"))


class FigureOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    higher_is_better = serializers.BooleanField()
    numerator = serializers.FloatField()
    denominator = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True)
    numerator_url = serializers.CharField()
    denominator_url = serializers.CharField()


class RowOut(serializers.Serializer):
    key = serializers.CharField(help_text=_("place path, id or code of the row"))
    label = serializers.CharField()  # type: ignore[assignment]
    figures = FigureOut(many=True)


class BreakdownOut(serializers.Serializer):
    by = serializers.CharField()
    rows = RowOut(many=True)


class MonthOut(serializers.Serializer):
    month = serializers.CharField(help_text=_("YYYY-MM"))
    figures = FigureOut(many=True)


class TrendOut(serializers.Serializer):
    months = MonthOut(many=True)


class RankedOut(RowOut):
    score = serializers.FloatField(help_text=_("the ranking value (higher is better)"))
    orders = serializers.IntegerField(help_text=_("orders registered in the month"))


class RedBlackOut(serializers.Serializer):
    month = serializers.CharField()
    by = serializers.CharField()
    kpi = serializers.CharField(help_text=_("empty: the mean of the three rates"))
    min_orders = serializers.IntegerField(help_text=_("orders a row needs in the month to rank"))
    qualifying = serializers.IntegerField()
    red = RankedOut(many=True, help_text=_("the best first"))
    black = RankedOut(many=True, help_text=_("the worst first"))


def figure_json(f: selectors.Figure, request: Request) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": kpi_name(f.kpi),
        "unit": f.kpi.unit,
        "higher_is_better": f.kpi.higher_is_better,
        "numerator": f.numerator,
        "denominator": f.denominator,
        "value": None if f.value is None else round(f.value, 6),
        "numerator_url": request.build_absolute_uri(f.numerator_url),
        "denominator_url": request.build_absolute_uri(f.denominator_url)
        if f.denominator_url
        else "",
    }


def figures_json(figures: dict[str, selectors.Figure], request: Request) -> list[dict[str, Any]]:
    return [figure_json(figures[code], request) for code in KPIS]


def _period(request: Request) -> dict[str, Any]:
    start, end = parse_period(request.query_params)
    return {"place": parse_place(request.user, request.query_params), "start": start, "end": end}


class KpiSummaryApi(APIView):
    @extend_schema(
        summary="Every key figure over the orders registered in a period",
        parameters=[PLACE, FROM, TO],
        responses=inline_serializer(
            "InsightSummary",
            {
                "from": serializers.CharField(),
                "to": serializers.CharField(),
                "place": serializers.IntegerField(allow_null=True),
                "figures": FigureOut(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        period = _period(request)
        figures = selectors.kpi_summary(user=request.user, **period)
        return Response(
            {
                "from": period["start"].strftime("%Y-%m"),
                "to": period["end"].strftime("%Y-%m"),
                "place": period["place"].pk if period["place"] else None,
                "figures": figures_json(figures, request),
            }
        )


class KpiBreakdownApi(APIView):
    @extend_schema(
        summary="The key figures cut by one dimension",
        parameters=[
            OpenApiParameter("by", str, required=True, enum=list(selectors.BREAKDOWNS)),
            PLACE,
            FROM,
            TO,
        ],
        responses=BreakdownOut,
    )
    def get(self, request: Request) -> Response:
        period = _period(request)
        by = str(request.query_params.get("by") or "")
        rows = selectors.kpi_breakdown(user=request.user, by=by, **period)
        return Response(
            {
                "by": by,
                "from": period["start"].strftime("%Y-%m"),
                "to": period["end"].strftime("%Y-%m"),
                "rows": [
                    {"key": r.key, "label": r.label, "figures": figures_json(r.figures, request)}
                    for r in rows
                ],
            }
        )


class KpiTrendApi(APIView):
    @extend_schema(
        summary="The key figures month by month",
        parameters=[
            OpenApiParameter("months", int, description=_("How many months (1–120, default 12)")),
            TO,
            PLACE,
        ],
        responses=TrendOut,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        raw = str(params.get("months") or "12")
        months = int(raw) if raw.isdigit() else -1
        end = parse_month(params["to"], "to") if params.get("to") else None
        place = parse_place(request.user, params)
        points = selectors.kpi_trend(user=request.user, place=place, months=months, end=end)
        return Response(
            {
                "months": [
                    {
                        "month": p.month.strftime("%Y-%m"),
                        "figures": figures_json(p.figures, request),
                    }
                    for p in points
                ]
            }
        )


class RedBlackApi(APIView):
    @extend_schema(
        summary="The month's red list (best) and black list (worst)",
        parameters=[
            OpenApiParameter("month", str, description=_("YYYY-MM (default: last month)")),
            OpenApiParameter("by", str, enum=list(selectors.RED_BLACK_BY)),
            OpenApiParameter(
                "kpi",
                str,
                enum=list(KPIS),
                description=_("Rank by this figure (default: the mean of the three rates)"),
            ),
            PLACE,
        ],
        responses=RedBlackOut,
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        from sanan.core import clock
        from sanan.insights.params import add_months

        params = request.query_params
        month = (
            parse_month(params["month"], "month")
            if params.get("month")
            else add_months(clock.today().replace(day=1), -1)
        )
        lists = selectors.red_black_lists(
            user=request.user,
            month=month,
            by=str(params.get("by") or "courtyard"),
            kpi=str(params.get("kpi") or ""),
            place=parse_place(request.user, params),
        )

        def ranked(items: list[selectors.Ranked]) -> list[dict[str, Any]]:
            return [
                {
                    "key": r.row.key,
                    "label": r.row.label,
                    "score": round(r.score, 6),
                    "orders": r.row.orders,
                    "figures": figures_json(r.row.figures, request),
                }
                for r in items
            ]

        return Response(
            {
                "month": lists.month.strftime("%Y-%m"),
                "by": lists.by,
                "kpi": lists.kpi,
                "min_orders": lists.min_orders,
                "qualifying": lists.qualifying,
                "red": ranked(lists.red),
                "black": ranked(lists.black),
            }
        )
