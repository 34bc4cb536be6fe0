from django.urls import path, re_path

from sanan.open311 import views

app_name = "open311"

urlpatterns = [
    path("", views.discovery_root, name="discovery-root"),
    path("discovery.<str:fmt>", views.discovery, name="discovery-top"),
    path("v2", views.discovery_root),
    path("v2/", views.discovery_root, name="root"),
    path("v2/discovery.<str:fmt>", views.discovery, name="discovery"),
    path("v2/services.<str:fmt>", views.service_list, name="services"),
    path("v2/services/<str:code>.<str:fmt>", views.service_definition, name="service"),
    # The 2011 Python client asks for /service/<code>: answered the same way.
    path("v2/service/<str:code>.<str:fmt>", views.service_definition),
    path("v2/requests.<str:fmt>", views.requests_, name="requests"),
    path("v2/requests/<str:request_id>.<str:fmt>", views.request_one, name="request"),
    path("v2/tokens/<str:token>.<str:fmt>", views.token, name="token"),
    path("v2/servicerequestupdates.<str:fmt>", views.request_updates, name="updates"),
    path("v2/media/<int:attachment_id>.<str:ext>", views.media, name="media"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
