"""Pages of the campaigns app (mounted at /campaigns/)."""

from django.urls import path

from sanan.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/start/", views.campaign_start, name="start"),
    path("<int:pk>/close/", views.campaign_close, name="close"),
    path("<int:pk>/link/", views.campaign_link, name="link"),
    path("<int:pk>/tasks/", views.campaign_task_add, name="task-add"),
    path("tasks/<int:pk>/done/", views.campaign_task_done, name="task-done"),
    path("<int:pk>/report/", views.campaign_report, name="report"),
    path("<int:pk>/report.xlsx", views.campaign_report_xlsx, name="report-xlsx"),
]
