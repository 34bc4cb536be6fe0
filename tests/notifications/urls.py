"""Sanan's URLs plus the notifications pages and API, as the lead's diff to ``sanan/urls.py``
mounts them (``/inbox/`` and ``/api/v1/inbox/``, ``/api/v1/webhook-endpoints/``)."""

from django.urls import include, path

from sanan import urls as root

api_v1 = [*root.api_v1, path("", include("sanan.notifications.api_urls"))]

urlpatterns = [
    path("inbox/", include("sanan.notifications.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    *[p for p in root.urlpatterns if str(p.pattern) != "api/v1/"],
]

handler404 = root.handler404
handler500 = root.handler500
