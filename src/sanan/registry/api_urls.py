"""API of the registry app (mounted under /api/v1/)."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
urlpatterns: list = [*router.urls]
