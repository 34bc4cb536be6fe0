"""The public figures (mounted at /public/, no sign-in)."""

from django.urls import path

from sanan.dashboard import views

app_name = "public"
urlpatterns = [
    path("figures/", views.public_index, name="figures"),
    path("figures/<slug:code>/", views.public_figures, name="community"),
]
