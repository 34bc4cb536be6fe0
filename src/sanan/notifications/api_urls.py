"""API of notifications (mounted under /api/v1/)."""

from django.urls import path

from sanan.notifications import api

urlpatterns: list = [
    path("inbox/", api.InboxListApi.as_view(), name="inbox"),
    path("inbox/unread-count/", api.InboxUnreadCountApi.as_view(), name="inbox-unread-count"),
    path("inbox/read-all/", api.InboxReadAllApi.as_view(), name="inbox-read-all"),
    path("inbox/<int:pk>/read/", api.InboxReadApi.as_view(), name="inbox-read"),
    path("webhook-endpoints/", api.WebhookEndpointListApi.as_view(), name="webhook-endpoints"),
    path(
        "webhook-endpoints/<int:pk>/",
        api.WebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "webhook-endpoints/<int:pk>/rotate-secret/",
        api.WebhookEndpointRotateApi.as_view(),
        name="webhook-endpoint-rotate",
    ),
]
