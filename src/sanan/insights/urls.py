"""Pages of the figures (mounted at /insights/)."""

from django.urls import path

from sanan.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.insights_page, name="page"),
    path("orders/", views.insights_orders, name="orders"),
]
