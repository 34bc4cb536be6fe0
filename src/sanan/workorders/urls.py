"""Pages of the workorders app (mounted at /orders/)."""

from django.urls import path

from sanan.workorders import views

app_name = "workorders"
urlpatterns = [
    path("", views.order_mine, name="mine"),
    path("new/", views.order_new, name="new"),
    path("discover/", views.order_discover, name="discover"),
    path("hotline/", views.order_hotline, name="hotline"),
    path("houses/", views.order_houses, name="houses"),
    path("questions/", views.order_questions, name="questions"),
    path("hints/duplicates/", views.order_hint_duplicates, name="hint-duplicates"),
    path("hints/caller/", views.order_hint_caller, name="hint-caller"),
    path("board/", views.board, name="board"),
    path("board/dispatch/", views.board_dispatch, name="board-dispatch"),
    path("queue/", views.queue, name="queue"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/follow/", views.order_follow, name="follow"),
    path("<int:pk>/act/<slug:action>/", views.order_act, name="act"),
]
