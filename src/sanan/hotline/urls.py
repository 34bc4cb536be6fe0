"""Pages of the hotline desk (mounted at /hotline/)."""

from django.urls import path

from sanan.hotline import views

app_name = "hotline"
urlpatterns = [
    path("", views.desk, name="desk"),
    path("caller/", views.desk_caller, name="caller"),
    path("answers/", views.desk_knowledge, name="answers"),
    path("repeats/", views.desk_duplicates, name="repeats"),
    path("houses/", views.desk_houses, name="houses"),
    path("orders/<int:pk>/dispatch/", views.desk_dispatch, name="dispatch"),
    path("callbacks/", views.callbacks, name="callbacks"),
    path("calls/", views.calls, name="calls"),
    path("calls/<int:pk>/", views.call_detail, name="call"),
    path("calls/<int:pk>/called-back/", views.call_called_back, name="called-back"),
    path("statistics/", views.statistics, name="statistics"),
    path("knowledge/", views.knowledge, name="knowledge"),
    path("knowledge/new/", views.knowledge_edit, name="knowledge-new"),
    path("knowledge/<int:pk>/", views.knowledge_edit, name="knowledge-edit"),
    path("knowledge/<int:pk>/retire/", views.knowledge_retire, name="knowledge-retire"),
]
