"""API of the hotline app (mounted under /api/v1/): everything lives under ``hotline/``."""

from django.urls import path

from sanan.hotline import api

urlpatterns: list = [
    path("hotline/calls/", api.CallListApi.as_view(), name="hotline-calls"),
    path("hotline/calls/<int:pk>/", api.CallDetailApi.as_view(), name="hotline-call"),
    path(
        "hotline/calls/<int:pk>/called-back/",
        api.CalledBackApi.as_view(),
        name="hotline-called-back",
    ),
    path("hotline/callbacks/", api.CallbackListApi.as_view(), name="hotline-callbacks"),
    path("hotline/trend/", api.TrendApi.as_view(), name="hotline-trend"),
    path("hotline/knowledge/", api.KnowledgeListApi.as_view(), name="hotline-knowledge"),
    path(
        "hotline/knowledge/<int:pk>/", api.KnowledgeDetailApi.as_view(), name="hotline-knowledge-1"
    ),
]
