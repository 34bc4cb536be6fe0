"""Pages of the workorders app (mounted at /workorders/)."""

from django.urls import path  # noqa: F401

app_name = "workorders"
urlpatterns: list = []
