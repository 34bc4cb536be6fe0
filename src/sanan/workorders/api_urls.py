"""API of the workorders app (mounted under /api/v1/)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from sanan.workorders.api import (
    ACTION_APIS,
    CallerLookupApi,
    CategoryViewSet,
    RoutingRuleViewSet,
    WorkCalendarStatusApi,
    WorkOrderAttachmentFileApi,
    WorkOrderAttachmentsApi,
    WorkOrderAttachmentThumbnailApi,
    WorkOrderDuplicatesApi,
    WorkOrderFollowApi,
    WorkOrderRouteApi,
    WorkOrderUnfollowApi,
    WorkOrderViewSet,
)

router = DefaultRouter()
router.register("order-categories", CategoryViewSet, basename="order-category")
router.register("orders", WorkOrderViewSet, basename="order")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")

urlpatterns: list = [
    *[
        path(f"orders/<int:pk>/{name}/", view.as_view(), name=f"order-{name}")
        for name, view in ACTION_APIS.items()
    ],
    path("orders/<int:pk>/route/", WorkOrderRouteApi.as_view(), name="order-route"),
    path(
        "orders/<int:pk>/attachments/",
        WorkOrderAttachmentsApi.as_view(),
        name="order-attachments",
    ),
    path(
        "orders/<int:pk>/attachments/<int:attachment_id>/",
        WorkOrderAttachmentFileApi.as_view(),
        name="order-attachment",
    ),
    path(
        "orders/<int:pk>/attachments/<int:attachment_id>/thumbnail/",
        WorkOrderAttachmentThumbnailApi.as_view(),
        name="order-attachment-thumbnail",
    ),
    path("orders/duplicates/", WorkOrderDuplicatesApi.as_view(), name="order-duplicates"),
    path("orders/<int:pk>/follow/", WorkOrderFollowApi.as_view(), name="order-follow"),
    path("orders/<int:pk>/unfollow/", WorkOrderUnfollowApi.as_view(), name="order-unfollow"),
    path("callers/lookup/", CallerLookupApi.as_view(), name="caller-lookup"),
    path("work-calendar/status/", WorkCalendarStatusApi.as_view(), name="work-calendar-status"),
    *router.urls,
]
