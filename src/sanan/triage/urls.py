"""Pages of the triage app (mounted at /triage/)."""

from django.urls import path

from sanan.triage import views

app_name = "triage"
urlpatterns = [
    path("", views.desk, name="desk"),
    path("suggest/", views.suggest, name="suggest"),
    path("route/", views.route, name="route"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("hotspots/", views.hotspots, name="hotspots"),
    path("hotspots/propose/", views.hotspots_propose, name="hotspots-propose"),
]
