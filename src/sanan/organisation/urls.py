"""Pages of the organisation app (mounted at /org/)."""

from django.urls import path

from sanan.organisation import desk, views

app_name = "organisation"
urlpatterns = [
    path("", views.chart, name="chart"),
    path("nav/", views.nav, name="nav"),
    path("coverage/", views.coverage, name="coverage"),
    path("organisations/<int:pk>/", desk.organisation_detail, name="organisation"),
    path("posts/", desk.posts, name="posts"),
    path("post-types/", desk.post_types, name="post_types"),
    path("posts/assign/", views.post_assign, name="post_assign"),
    path("posts/<int:pk>/end/", views.post_end, name="post_end"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/not-visited/", views.not_visited, name="not_visited"),
    path("ledger/visit/", views.visit_new, name="visit_new"),
    path("ledger/visits/<int:pk>/", views.visit_detail, name="visit"),
    path("ledger/problems/<int:pk>/order/", views.problem_order, name="problem_order"),
    path("commitments/", views.commitments, name="commitments"),
    path("commitments/<int:pk>/comment/", views.commitment_comment, name="commitment_comment"),
    path("card/<str:token>/", views.card, name="card"),
    path("card/<str:token>/qr.svg", views.card_qr, name="card_qr"),
    path("overview/", views.overview, name="overview"),
    path("butlers/", views.butlers, name="butlers"),
    path("events/", views.events, name="events"),
    path("events/<int:pk>/", views.event_detail, name="event"),
    path("events/<int:pk>/qr.svg", views.event_qr, name="event_qr"),
    path("events/<int:pk>/checkin/<str:token>/", views.event_checkin, name="event_checkin"),
]
