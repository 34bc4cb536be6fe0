"""API of the triage app (mounted under /api/v1/)."""

from django.urls import path

from sanan.triage.api import TriageSuggestApi

urlpatterns = [
    path("triage/suggest/", TriageSuggestApi.as_view(), name="triage-suggest"),
]
