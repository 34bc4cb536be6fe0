"""API of the registry app (mounted under /api/v1/): everything lives under ``registry/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from sanan.registry import api

router = SimpleRouter()
router.register("registry/residents", api.ResidentViewSet, basename="registry-resident")
router.register("registry/households", api.HouseholdViewSet, basename="registry-household")
router.register("registry/houses", api.HouseViewSet, basename="registry-house")
router.register("registry/rentals", api.RentalViewSet, basename="registry-rental")
router.register("registry/vehicles", api.VehicleViewSet, basename="registry-vehicle")
router.register("registry/care-tags", api.CareTagViewSet, basename="registry-care-tag")

urlpatterns: list = [
    path(
        "registry/places/<int:pk>/overview/",
        api.PlaceOverviewApi.as_view(),
        name="registry-place-overview",
    ),
    *router.urls,
]

# Import and export (registry/imports/, registry/exports/): see api_io.py.
from sanan.registry import api_io  # noqa: E402

urlpatterns += api_io.urlpatterns
