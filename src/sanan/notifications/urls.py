"""Pages of notifications (mounted at /inbox/)."""

from django.urls import path

from sanan.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all/", views.inbox_read_all, name="read_all"),
    path("<int:pk>/read/", views.inbox_read, name="read"),
]
