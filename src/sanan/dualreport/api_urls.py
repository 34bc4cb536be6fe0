"""API of dual-reporting (mounted under /api/v1/): everything lives under ``dualreport/``."""

from django.urls import path

from sanan.dualreport import api

urlpatterns: list = [
    path("dualreport/registrations/", api.RegistrationListApi.as_view(), name="dual-registrations"),
    path(
        "dualreport/registrations/<int:pk>/",
        api.RegistrationDetailApi.as_view(),
        name="dual-registration",
    ),
    path(
        "dualreport/registrations/<int:pk>/end/",
        api.RegistrationEndApi.as_view(),
        name="dual-registration-end",
    ),
    path("dualreport/tasks/", api.TaskListApi.as_view(), name="dual-tasks"),
    path("dualreport/tasks/<int:pk>/", api.TaskDetailApi.as_view(), name="dual-task"),
    path("dualreport/tasks/<int:pk>/claim/", api.TaskClaimApi.as_view(), name="dual-task-claim"),
    path("dualreport/tasks/<int:pk>/close/", api.TaskCloseApi.as_view(), name="dual-task-close"),
    path("dualreport/claims/", api.ClaimListApi.as_view(), name="dual-claims"),
    path(
        "dualreport/claims/<int:pk>/complete/",
        api.ClaimCompleteApi.as_view(),
        name="dual-claim-complete",
    ),
    path(
        "dualreport/claims/<int:pk>/withdraw/",
        api.ClaimWithdrawApi.as_view(),
        name="dual-claim-withdraw",
    ),
    path("dualreport/claims/<int:pk>/rate/", api.ClaimRateApi.as_view(), name="dual-claim-rate"),
    path("dualreport/evaluation/", api.EvaluationApi.as_view(), name="dual-evaluation"),
]
