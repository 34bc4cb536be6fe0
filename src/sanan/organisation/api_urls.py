"""API of the organisation app (mounted under /api/v1/): everything lives under ``org/``."""

from django.urls import path

from sanan.organisation import api

urlpatterns: list = [
    path("org/organisations/", api.OrganisationChartApi.as_view(), name="org-chart"),
    path("org/post-types/", api.PostTypeListApi.as_view(), name="org-post-types"),
    path("org/posts/", api.PostListApi.as_view(), name="org-posts"),
    path("org/posts/<int:pk>/end/", api.PostEndApi.as_view(), name="org-post-end"),
    path("org/coverage/", api.CoverageApi.as_view(), name="org-coverage"),
    path("org/visits/", api.VisitListApi.as_view(), name="org-visits"),
    path("org/visits/<int:pk>/", api.VisitDetailApi.as_view(), name="org-visit"),
    path(
        "org/visit-problems/<int:pk>/work-order/",
        api.ProblemWorkOrderApi.as_view(),
        name="org-problem-work-order",
    ),
    path("org/ledger/", api.LedgerFiguresApi.as_view(), name="org-ledger"),
    path("org/ledger/not-visited/", api.NotVisitedApi.as_view(), name="org-not-visited"),
    path("org/commitments/", api.CommitmentListApi.as_view(), name="org-commitments"),
    path(
        "org/commitments/<int:pk>/fulfil/",
        api.CommitmentFulfilApi.as_view(),
        name="org-commitment-fulfil",
    ),
    path(
        "org/commitments/<int:pk>/comments/",
        api.CommitmentCommentApi.as_view(),
        name="org-commitment-comments",
    ),
    path("org/cards/<str:token>/", api.MemberCardApi.as_view(), name="org-card"),
    path("org/overview/", api.OverviewApi.as_view(), name="org-overview"),
    path("org/butlers/", api.ButlerListApi.as_view(), name="org-butlers"),
    path(
        "org/butlers/<int:pk>/activities/",
        api.ButlerActivityApi.as_view(),
        name="org-butler-activities",
    ),
    path("org/events/", api.EventListApi.as_view(), name="org-events"),
    path("org/events/<int:pk>/sign-up/", api.EventSignUpApi.as_view(), name="org-event-sign-up"),
    path("org/events/<int:pk>/check-in/", api.EventCheckInApi.as_view(), name="org-event-check-in"),
    path(
        "org/events/<int:pk>/attendance/",
        api.EventAttendanceApi.as_view(),
        name="org-event-attendance",
    ),
]
