"""API of the workorders app (mounted under /api/v1/)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from sanan.workorders.api import (
    ACTION_APIS,
    CategoryViewSet,
    RoutingRuleViewSet,
    WorkCalendarStatusApi,
    WorkOrderRouteApi,
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
    path("work-calendar/status/", WorkCalendarStatusApi.as_view(), name="work-calendar-status"),
    *router.urls,
]
