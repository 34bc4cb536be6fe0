from django.urls import path

from sanan.insights.api import KpiBreakdownApi, KpiSummaryApi, KpiTrendApi, RedBlackApi

urlpatterns = [
    path("insights/kpis/", KpiSummaryApi.as_view(), name="insights-kpis"),
    path("insights/breakdown/", KpiBreakdownApi.as_view(), name="insights-breakdown"),
    path("insights/trend/", KpiTrendApi.as_view(), name="insights-trend"),
    path("insights/red-black/", RedBlackApi.as_view(), name="insights-red-black"),
]
