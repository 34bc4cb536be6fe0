"""Pages of dual-reporting (mounted at /dual/)."""

from django.urls import path

from sanan.dualreport import views

app_name = "dualreport"
urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/new/", views.task_new, name="task-new"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/claim/", views.task_claim, name="task-claim"),
    path("tasks/<int:pk>/close/", views.task_close, name="task-close"),
    path("claims/<int:pk>/complete/", views.claim_complete, name="claim-complete"),
    path("claims/<int:pk>/withdraw/", views.claim_withdraw, name="claim-withdraw"),
    path("claims/<int:pk>/rate/", views.claim_rate, name="claim-rate"),
    path("registrations/", views.registrations, name="registrations"),
    path("registrations/new/", views.registration_new, name="registration-new"),
    path("evaluation/", views.evaluation, name="evaluation"),
    path("evaluation.xlsx", views.evaluation_download, name="evaluation-xlsx"),
]
