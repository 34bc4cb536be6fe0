"""API of the triage app (mounted under /api/v1/)."""

from django.urls import path

from sanan.triage.api import TriageHotspotsApi, TriageSuggestApi, TriageTopicProposeApi

urlpatterns = [
    path("triage/suggest/", TriageSuggestApi.as_view(), name="triage-suggest"),
    path("triage/hotspots/", TriageHotspotsApi.as_view(), name="triage-hotspots"),
    path("triage/hotspots/propose/", TriageTopicProposeApi.as_view(), name="triage-topic-propose"),
]
