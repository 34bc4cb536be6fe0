"""Pages of the registry app (mounted at /registry/). No ID number or phone is ever part of a
path or a query string here: they travel in POST bodies only."""

from django.urls import path

from sanan.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.resident_list, name="residents"),
    path("expiring/", views.expiring, name="expiring"),
    path("export/", views.resident_export, name="export"),
    path("nav/", views.nav, name="nav"),
    path("residents/new/", views.resident_create, name="resident_new"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/edit/", views.resident_edit, name="resident_edit"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("residents/<int:pk>/move-out/", views.resident_move_out, name="resident_move_out"),
    path("residents/<int:pk>/move-in/", views.resident_move_in, name="resident_move_in"),
    path(
        "residents/<int:pk>/change-household/",
        views.resident_change_household,
        name="resident_change_household",
    ),
    path("residents/<int:pk>/tags/", views.resident_tag_add, name="resident_tag_add"),
    path(
        "residents/<int:pk>/tags/<slug:code>/remove/",
        views.resident_tag_remove,
        name="resident_tag_remove",
    ),
    path("households/new/", views.household_create, name="household_new"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("households/<int:pk>/head/", views.household_set_head, name="household_set_head"),
    path("houses/<int:pk>/edit/", views.house_edit, name="house_edit"),
    path("rentals/new/", views.rental_create, name="rental_new"),
    path("rentals/<int:pk>/edit/", views.rental_edit, name="rental_edit"),
    path("rentals/<int:pk>/inspect/", views.rental_inspect, name="rental_inspect"),
    path("vehicles/new/", views.vehicle_create, name="vehicle_new"),
    path("vehicles/<int:pk>/edit/", views.vehicle_edit, name="vehicle_edit"),
    path("vehicles/<int:pk>/remove/", views.vehicle_remove, name="vehicle_remove"),
    path("places/<int:pk>/", views.place_overview, name="place"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_job, name="import_job"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
]
