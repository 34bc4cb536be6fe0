"""Pages of the leader's dashboard (mounted at /dashboard/)."""

from django.urls import path, register_converter

from sanan.dashboard import views


class _Year:
    regex = r"\d{4}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return f"{value:04d}"


class _Month:
    regex = r"\d{2}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return f"{value:02d}"


register_converter(_Year, "yyyy")
register_converter(_Month, "mm")

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("screen/", views.screen, name="screen"),
    path("orders/", views.orders, name="orders"),
    path("report/<yyyy:year>-<mm:month>/", views.report_page, name="report"),
    path("report/<yyyy:year>-<mm:month>.xlsx", views.report_xlsx, name="report_xlsx"),
]
