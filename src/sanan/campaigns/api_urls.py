"""API of the campaigns app (mounted under /api/v1/): everything lives under ``campaigns/``."""

from django.urls import path

from sanan.campaigns import api

urlpatterns: list = [
    path("campaigns/", api.CampaignListApi.as_view(), name="campaigns"),
    path("campaigns/<int:pk>/", api.CampaignDetailApi.as_view(), name="campaign"),
    path("campaigns/<int:pk>/start/", api.CampaignStartApi.as_view(), name="campaign-start"),
    path("campaigns/<int:pk>/close/", api.CampaignCloseApi.as_view(), name="campaign-close"),
    path(
        "campaigns/<int:pk>/burndown/", api.CampaignBurndownApi.as_view(), name="campaign-burndown"
    ),
    path("campaigns/<int:pk>/orders/", api.CampaignOrdersApi.as_view(), name="campaign-orders"),
    path("campaigns/<int:pk>/orders/link/", api.CampaignLinkApi.as_view(), name="campaign-link"),
    path(
        "campaigns/<int:pk>/orders/unlink/", api.CampaignUnlinkApi.as_view(), name="campaign-unlink"
    ),
    path("campaigns/<int:pk>/tasks/", api.CampaignTasksApi.as_view(), name="campaign-tasks"),
    path(
        "campaigns/tasks/<int:pk>/done/",
        api.CampaignTaskDoneApi.as_view(),
        name="campaign-task-done",
    ),
]
