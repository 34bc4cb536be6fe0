"""Who gets what, for every route of Sanan (``routes.all_routes``): the table the permission
test (``test_permission_matrix.py``) holds the running application to.

For each route:

- ``ok``: the roles whose GET answers 200 (every other role: not 200, never a server error);
  ``POST`` for routes that only take a POST (or another write): those are checked for the
  outsiders and the anonymous visitor;
- ``outsiders``: for routes about one object (courtyard A's order, resident, visit …), who
  must get 404 for it: ``COURT`` (the commissioner and a resident of courtyard B next door,
  and the staff of another community) or ``COMMUNITY`` (only the staff of another community:
  the object is the persona community's, which courtyard B belongs to as well);
- ``anon``: ``LOGIN`` (pages: the sign-in page, with the way back), ``API`` (401 or 403),
  ``ADMIN`` (the admin site's sign-in), ``SIGN_IN`` (a step of signing in or out: a page, or
  back to the sign-in page) or ``PUBLIC`` (answered to anyone).

A route missing from this table fails the test: whoever adds a URL says here who may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sanan.accounts.roles import Role

R, C, B = Role.RESIDENT, Role.COMMISSIONER, Role.RED_BUTLER
D, H, U = Role.DISPATCHER, Role.HANDLER, Role.UNIT_MEMBER
M, L, A = Role.COMMITTEE, Role.LEADER, Role.ADMIN
P, O311 = Role.PARTY_MEMBER, Role.OPEN311_CLIENT
INSIDERS: tuple[str, ...] = (R, C, B, D, H, U, M, L, A, P, O311)
ALL = frozenset(INSIDERS)
NONE: frozenset[str] = frozenset()
POST = "POST"

COURT = ("commissioner_b", "resident_b", "dispatcher_x", "leader_x", "commissioner_x")
COMMUNITY = ("dispatcher_x", "leader_x", "commissioner_x")

LOGIN, API, ADMIN, PUBLIC = "login", "api", "admin", "public"
SIGN_IN = "sign-in"  # part of signing in and out: a page, or back to the sign-in page

DESK = frozenset({D, L, A})  # the community's desk and leaders
FIGURES = frozenset({D, M, L, A})  # dashboard.view
PEOPLE = frozenset({R, C, B, D, M, L, A})  # resident.view
REGISTRY_EDIT = frozenset({C, D, A})  # resident.edit
LEDGER = frozenset({C, D, M, L, A})  # visit.view
ORDER_SEE = frozenset({R, C, B, D, H, M, L, A})  # an order in courtyard A, for the housing dept
PLACE_SEE = frozenset({R, C, B, D, H, U, M, L, A})  # place.view over courtyard A


@dataclass(frozen=True)
class Rule:
    ok: frozenset[str] | str
    outsiders: tuple[str, ...] = ()
    anon: str = ""

    @property
    def post_only(self) -> bool:
        return self.ok == POST


def _r(ok: frozenset[str] | str, outsiders: tuple[str, ...] = (), anon: str = "") -> Rule:
    return Rule(ok, outsiders, anon)


def post(outsiders: tuple[str, ...] = COURT, anon: str = "") -> Rule:
    return Rule(POST, outsiders, anon)


SPEC: dict[str, Rule] = {
    "": _r(ALL),
    "healthz": _r(ALL, anon=PUBLIC),
    "healthz/": _r(ALL, anon=PUBLIC),
    # accounts
    "accounts/login/": _r(NONE, anon=PUBLIC),  # signed in: sent on to the home page
    "accounts/login/code/": _r(NONE, anon=SIGN_IN),  # only between password and code
    "accounts/logout/": _r(ALL, anon=SIGN_IN),
    "accounts/account/": _r(ALL),
    "accounts/two-step/": _r(ALL),
    "accounts/two-step/off/": post(()),
    "accounts/two-step/recovery-codes/": post(()),
    "accounts/password-reset/": _r(NONE, anon=PUBLIC),  # only with email configured
    "accounts/password-reset/sent/": _r(ALL, anon=PUBLIC),
    "accounts/reset/<uidb64>/<token>/": _r(ALL, anon=PUBLIC),
    "accounts/reset/done/": _r(ALL, anon=PUBLIC),
    "accounts/users/<int:pk>/reset-link/": post(COURT),
    # places, audit
    "places/<int:pk>/": _r(PLACE_SEE, COURT),
    "audit/": _r(frozenset({L, A})),
    # registry pages
    "registry/": _r(PEOPLE),
    "registry/expiring/": _r(PEOPLE),
    "registry/export/": post(()),
    "registry/nav/": _r(ALL),
    "registry/residents/new/": _r(REGISTRY_EDIT),
    "registry/residents/<int:pk>/": _r(PEOPLE, COURT),
    "registry/residents/<int:pk>/edit/": _r(REGISTRY_EDIT, COURT),
    "registry/residents/<int:pk>/reveal/": _r(NONE, COURT),  # a POST with a reason
    "registry/residents/<int:pk>/move-out/": _r(REGISTRY_EDIT, COURT),
    "registry/residents/<int:pk>/move-in/": _r(REGISTRY_EDIT, COURT),
    "registry/residents/<int:pk>/change-household/": _r(REGISTRY_EDIT, COURT),
    "registry/residents/<int:pk>/tags/": post(COURT),
    "registry/residents/<int:pk>/tags/<slug:code>/remove/": post(COURT),
    "registry/households/new/": _r(REGISTRY_EDIT),
    "registry/households/<int:pk>/": _r(PEOPLE, COURT),
    "registry/households/<int:pk>/head/": post(COURT),
    "registry/houses/<int:pk>/edit/": _r(REGISTRY_EDIT, COURT),
    "registry/rentals/new/": _r(REGISTRY_EDIT),
    "registry/rentals/<int:pk>/edit/": _r(REGISTRY_EDIT, COURT),
    "registry/rentals/<int:pk>/inspect/": post(COURT),
    "registry/vehicles/new/": _r(REGISTRY_EDIT),
    "registry/vehicles/<int:pk>/edit/": _r(REGISTRY_EDIT, COURT),
    "registry/vehicles/<int:pk>/remove/": post(COURT),
    "registry/places/<int:pk>/": _r(PEOPLE, COURT),
    "registry/import/": _r(frozenset({D, A})),
    "registry/import/<int:pk>/": _r(frozenset({D, A}), COURT),
    "registry/import/<int:pk>/progress/": _r(frozenset({D, A}), COURT),
    # work orders
    "orders/": _r(ALL),
    "orders/new/": _r(frozenset({R, C, B, D, A, O311})),
    "orders/discover/": _r(frozenset({C, B, A})),
    "orders/hotline/": _r(NONE),  # sends the desk on to the hotline desk
    "orders/houses/": _r(ALL),
    "orders/questions/": _r(ALL),
    "orders/hints/duplicates/": post(()),
    "orders/hints/caller/": post(()),
    "orders/board/": _r(DESK),
    "orders/board/dispatch/": post(()),
    "orders/queue/": _r(frozenset({H, U, A})),
    "orders/<int:pk>/": _r(ORDER_SEE, COURT),
    "orders/<int:pk>/follow/": post(COURT),
    "orders/<int:pk>/act/<slug:action>/": _r(ORDER_SEE, COURT),
    "inbox/": _r(ALL),
    "inbox/read-all/": post(()),
    "inbox/<int:pk>/read/": post(COURT),  # the resident's own item
    # organisation
    "org/": _r(ALL),
    "org/nav/": _r(ALL),
    "org/coverage/": _r(frozenset({C, B, D, H, M, L, A})),
    "org/organisations/<int:pk>/": _r(PLACE_SEE, COMMUNITY),
    "org/posts/": _r(ALL),
    "org/post-types/": _r(frozenset({C, B, D, H, M, L, A})),
    "org/posts/assign/": post(()),
    "org/posts/<int:pk>/end/": post(COURT),
    "org/ledger/": _r(LEDGER),
    "org/ledger/not-visited/": _r(LEDGER),
    "org/ledger/visit/": _r(frozenset({C, A})),
    "org/ledger/visits/<int:pk>/": _r(LEDGER, COURT),
    "org/ledger/problems/<int:pk>/order/": post(COURT),
    "org/commitments/": _r(ALL),
    "org/commitments/<int:pk>/comment/": post(COURT),
    "org/card/<str:token>/": _r(ALL, anon=PUBLIC),  # a member's public card
    "org/card/<str:token>/qr.svg": _r(ALL, anon=PUBLIC),
    "org/overview/": _r(LEDGER),
    "org/butlers/": _r(ALL),
    "org/events/": _r(ALL),
    "org/events/<int:pk>/": _r(frozenset({R, C, B, D, H, U, M, L, A}), COURT),
    "org/events/<int:pk>/qr.svg": _r(frozenset({M, L, A}), COURT),
    "org/events/<int:pk>/checkin/<str:token>/": _r(PLACE_SEE, COURT),
    # Open311: public by the standard; personal data masked (tests/open311)
    "open311/": _r(ALL, anon=PUBLIC),
    "open311/discovery.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2": _r(ALL, anon=PUBLIC),
    "open311/v2/": _r(ALL, anon=PUBLIC),
    "open311/v2/discovery.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2/services.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2/services/<str:code>.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2/service/<str:code>.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2/requests.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2/requests/<str:request_id>.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2/tokens/<str:token>.<str:fmt>": _r(NONE, anon=PUBLIC),
    "open311/v2/servicerequestupdates.<str:fmt>": _r(ALL, anon=PUBLIC),
    "open311/v2/media/<int:attachment_id>.<str:ext>": _r(ALL, anon=PUBLIC),
    "open311/^(?P<rest>.*)$": _r(NONE, anon=PUBLIC),
    # hotline
    "hotline/": _r(frozenset({D, A})),
    "hotline/caller/": post(()),
    "hotline/houses/": _r(frozenset({D, A})),
    "hotline/orders/<int:pk>/dispatch/": post(COURT),
    "hotline/answers/": _r(DESK),
    "hotline/repeats/": post(()),
    "hotline/callbacks/": _r(DESK),
    "hotline/calls/": _r(DESK),
    "hotline/calls/<int:pk>/": _r(DESK, COURT),
    "hotline/calls/<int:pk>/called-back/": post(COURT),
    "hotline/statistics/": _r(DESK),
    "hotline/knowledge/": _r(DESK),
    "hotline/knowledge/new/": _r(frozenset({D, A})),
    "hotline/knowledge/<int:pk>/": _r(frozenset({D, A}), COURT),
    "hotline/knowledge/<int:pk>/retire/": post(COURT),
    # triage
    "triage/": _r(frozenset({R, C, B, D, L, A})),
    "triage/suggest/": post(()),
    "triage/route/": _r(ALL),
    "triage/duplicates/": _r(DESK),
    "triage/hotspots/": _r(DESK),
    "triage/hotspots/propose/": post(()),
    # campaigns
    "campaigns/": _r(FIGURES),
    "campaigns/new/": _r(DESK),
    "campaigns/<int:pk>/": _r(DESK, COURT),
    "campaigns/<int:pk>/start/": post(COURT),
    "campaigns/<int:pk>/close/": post(COURT),
    "campaigns/<int:pk>/link/": post(COURT),
    "campaigns/<int:pk>/tasks/": post(COURT),
    "campaigns/tasks/<int:pk>/done/": post(COURT),
    "campaigns/<int:pk>/report/": _r(DESK, COURT),
    "campaigns/<int:pk>/report.xlsx": _r(DESK, COURT),
    # dual-reporting: residents see the community's published tasks
    "dual/": _r(frozenset({R, D, U, M, L, A})),
    "dual/tasks/new/": _r(DESK),
    "dual/tasks/<int:pk>/": _r(frozenset({R, D, U, M, L, A}), COMMUNITY),
    "dual/tasks/<int:pk>/claim/": post(COMMUNITY),
    "dual/tasks/<int:pk>/close/": post(COURT),
    "dual/claims/<int:pk>/complete/": post(COURT),
    "dual/claims/<int:pk>/withdraw/": post(COURT),
    "dual/claims/<int:pk>/rate/": post(COURT),
    "dual/registrations/": _r(frozenset({D, U, M, L, A})),
    "dual/registrations/new/": _r(frozenset({D, U, L, A})),
    "dual/evaluation/": _r(frozenset({D, U, M, L, A})),
    "dual/evaluation.xlsx": _r(frozenset({D, U, M, L, A})),
    # dashboard, figures
    "dashboard/": _r(FIGURES),
    "dashboard/screen/": _r(FIGURES),
    "dashboard/orders/": _r(FIGURES),
    "dashboard/report/<yyyy:year>-<mm:month>/": _r(FIGURES),
    "dashboard/report/<yyyy:year>-<mm:month>.xlsx": _r(FIGURES),
    "public/figures/": _r(ALL, anon=PUBLIC),
    "public/figures/<slug:code>/": _r(ALL, anon=PUBLIC),
    "insights/": _r(FIGURES),
    "insights/orders/": _r(NONE),  # needs the figure's parameters (tests/insights)
    "i18n/setlang/": _r(NONE, anon=PUBLIC),
    "jsi18n/": _r(ALL, anon=PUBLIC),
    # the API
    "api/v1/me/": _r(ALL),
    "api/v1/users/<int:pk>/reveal-phone/": post(COURT),
    "api/v1/users/<int:pk>/reset-link/": post(COURT),
    "api/v1/auth/token/": post((), anon=PUBLIC),
    "api/v1/^places/$": _r(ALL),
    "api/v1/^places/locate/$": _r(NONE),  # needs a point (tests/test_locate.py)
    "api/v1/^places/(?P<pk>\\d+)/$": _r(PLACE_SEE, COURT),
    "api/v1/^places/(?P<pk>\\d+)/geojson/$": _r(PLACE_SEE, COURT),
    "api/v1/^audit/events/$": _r(frozenset({L, A})),
    "api/v1/^audit/events/(?P<pk>\\d+)/$": _r(frozenset({L, A}), COURT),
    "api/v1/": _r(ALL),
    "api/v1/registry/places/<int:pk>/overview/": _r(PEOPLE, COURT),
    "api/v1/^registry/residents/$": _r(PEOPLE),
    "api/v1/^registry/residents/expiring/$": _r(PEOPLE),
    "api/v1/^registry/residents/search/$": post(()),
    "api/v1/^registry/residents/(?P<pk>\\d+)/$": _r(PEOPLE, COURT),
    "api/v1/^registry/residents/(?P<pk>\\d+)/change-household/$": post(COURT),
    "api/v1/^registry/residents/(?P<pk>\\d+)/history/$": _r(PEOPLE, COURT),
    "api/v1/^registry/residents/(?P<pk>\\d+)/move-in/$": post(COURT),
    "api/v1/^registry/residents/(?P<pk>\\d+)/move-out/$": post(COURT),
    "api/v1/^registry/residents/(?P<pk>\\d+)/reveal/$": post(COURT),
    "api/v1/^registry/residents/(?P<pk>\\d+)/tags/$": post(COURT),
    "api/v1/^registry/residents/(?P<pk>\\d+)/tags/(?P<code>[\\w-]+)/$": post(COURT),
    "api/v1/^registry/households/$": _r(PEOPLE),
    "api/v1/^registry/households/(?P<pk>\\d+)/$": _r(PEOPLE, COURT),
    "api/v1/^registry/households/(?P<pk>\\d+)/set-head/$": post(COURT),
    "api/v1/^registry/houses/$": _r(PEOPLE),
    "api/v1/^registry/houses/(?P<pk>\\d+)/$": _r(PEOPLE - {R}, COURT),
    "api/v1/^registry/rentals/$": _r(PEOPLE),
    "api/v1/^registry/rentals/(?P<pk>\\d+)/$": _r(PEOPLE, COURT),  # the resident's own unit
    "api/v1/^registry/rentals/(?P<pk>\\d+)/inspect/$": post(COURT),
    "api/v1/^registry/vehicles/$": _r(PEOPLE),
    "api/v1/^registry/vehicles/(?P<pk>\\d+)/$": _r(PEOPLE - {R}, COURT),
    "api/v1/^registry/care-tags/$": _r(PEOPLE),
    "api/v1/registry/exports/": post(()),
    "api/v1/^registry/imports/$": post(()),
    "api/v1/^registry/imports/(?P<pk>\\d+)/$": _r(frozenset({D, A}), COURT),
    "api/v1/^registry/imports/(?P<pk>\\d+)/apply/$": post(COURT),
    "api/v1/^registry/imports/(?P<pk>\\d+)/check/$": post(COURT),
    "api/v1/^registry/imports/(?P<pk>\\d+)/columns/$": _r(frozenset({D, A}), COURT),
    **{
        f"api/v1/orders/<int:pk>/{step}/": post(COURT)
        for step in (
            "dispatch",
            "sign",
            "return",
            "rule",
            "transfer",
            "contact",
            "start",
            "request-extension",
            "decide-extension",
            "chase",
            "supervise",
            "finish",
            "callback",
            "rehandle",
            "archive",
            "close-unrated",
            "note",
            "merge",
            "follow",
            "unfollow",
        )
    },
    "api/v1/orders/<int:pk>/route/": _r(frozenset({D, H, L, A}), COURT),
    "api/v1/orders/<int:pk>/attachments/": _r(ORDER_SEE, COURT),
    "api/v1/orders/<int:pk>/attachments/<int:attachment_id>/": _r(ORDER_SEE, COURT),
    "api/v1/orders/<int:pk>/attachments/<int:attachment_id>/thumbnail/": _r(ORDER_SEE, COURT),
    "api/v1/orders/duplicates/": _r(NONE),  # needs a text and a place (tests/workorders)
    "api/v1/callers/lookup/": post(()),
    "api/v1/work-calendar/status/": _r(ALL),
    "api/v1/^order-categories/$": _r(ALL),
    "api/v1/^order-categories/(?P<pk>\\d+)/$": _r(ALL),  # the catalogue, the same for all
    "api/v1/^orders/$": _r(ALL),
    "api/v1/^orders/board/$": _r(ALL),
    "api/v1/^orders/queue/$": _r(ALL),
    "api/v1/^orders/(?P<pk>\\d+)/$": _r(ORDER_SEE, COURT),
    "api/v1/^orders/(?P<pk>\\d+)/events/$": _r(ORDER_SEE, COURT),
    "api/v1/^routing-rules/$": _r(ALL),
    "api/v1/^routing-rules/(?P<pk>\\d+)/$": post(COURT),  # PUT/PATCH by the desk
    "api/v1/inbox/": _r(ALL),
    "api/v1/inbox/unread-count/": _r(ALL),
    "api/v1/inbox/read-all/": post(()),
    "api/v1/inbox/<int:pk>/read/": post(COURT),
    "api/v1/webhook-endpoints/": _r(ALL),
    "api/v1/webhook-endpoints/<int:pk>/": _r(frozenset({D, A}), COURT),
    "api/v1/webhook-endpoints/<int:pk>/rotate-secret/": post(COURT),
    "api/v1/org/organisations/": _r(ALL),
    "api/v1/org/post-types/": _r(ALL),
    "api/v1/org/posts/": _r(ALL),
    "api/v1/org/posts/<int:pk>/end/": post(COURT),
    "api/v1/org/coverage/": _r(ALL),
    "api/v1/org/visits/": _r(LEDGER),
    "api/v1/org/visits/<int:pk>/": _r(LEDGER, COURT),
    "api/v1/org/visit-problems/<int:pk>/work-order/": post(COURT),
    "api/v1/org/ledger/": _r(LEDGER),
    "api/v1/org/ledger/not-visited/": _r(LEDGER),
    "api/v1/org/commitments/": _r(ALL),
    "api/v1/org/commitments/<int:pk>/fulfil/": post(COURT),
    "api/v1/org/commitments/<int:pk>/comments/": post(COURT),
    "api/v1/org/cards/<str:token>/": _r(ALL, anon=PUBLIC),
    "api/v1/org/overview/": _r(LEDGER),
    "api/v1/org/butlers/": _r(ALL),
    "api/v1/org/butlers/<int:pk>/activities/": post(COURT),
    "api/v1/org/events/": _r(ALL),
    "api/v1/org/events/<int:pk>/sign-up/": post(COURT),
    "api/v1/org/events/<int:pk>/check-in/": post(COURT),
    "api/v1/org/events/<int:pk>/attendance/": _r(PLACE_SEE, COURT),
    "api/v1/hotline/calls/": _r(DESK),
    "api/v1/hotline/calls/<int:pk>/": _r(DESK, COURT),
    "api/v1/hotline/calls/<int:pk>/called-back/": post(COURT),
    "api/v1/hotline/callbacks/": _r(DESK),
    "api/v1/hotline/trend/": _r(DESK),
    "api/v1/hotline/knowledge/": _r(DESK),
    "api/v1/hotline/knowledge/<int:pk>/": _r(DESK, COURT),
    "api/v1/triage/suggest/": post(()),
    "api/v1/triage/hotspots/": _r(DESK),
    "api/v1/triage/hotspots/propose/": post(()),
    "api/v1/campaigns/": _r(FIGURES),
    "api/v1/campaigns/<int:pk>/": _r(DESK, COURT),
    "api/v1/campaigns/<int:pk>/start/": post(COURT),
    "api/v1/campaigns/<int:pk>/close/": post(COURT),
    "api/v1/campaigns/<int:pk>/burndown/": _r(DESK, COURT),
    "api/v1/campaigns/<int:pk>/orders/": _r(DESK, COURT),
    "api/v1/campaigns/<int:pk>/orders/link/": post(COURT),
    "api/v1/campaigns/<int:pk>/orders/unlink/": post(COURT),
    "api/v1/campaigns/<int:pk>/tasks/": _r(DESK, COURT),
    "api/v1/campaigns/tasks/<int:pk>/done/": post(COURT),
    "api/v1/dualreport/registrations/": _r(ALL),
    "api/v1/dualreport/registrations/<int:pk>/": _r(frozenset({D, U, L, A}), COURT),
    "api/v1/dualreport/registrations/<int:pk>/end/": post(COURT),
    "api/v1/dualreport/tasks/": _r(ALL),
    "api/v1/dualreport/tasks/<int:pk>/": _r(frozenset({R, D, U, M, L, A}), COMMUNITY),
    "api/v1/dualreport/tasks/<int:pk>/claim/": post(COMMUNITY),
    "api/v1/dualreport/tasks/<int:pk>/close/": post(COURT),
    "api/v1/dualreport/claims/": _r(ALL),
    "api/v1/dualreport/claims/<int:pk>/complete/": post(COURT),
    "api/v1/dualreport/claims/<int:pk>/withdraw/": post(COURT),
    "api/v1/dualreport/claims/<int:pk>/rate/": post(COURT),
    "api/v1/dualreport/evaluation/": _r(frozenset({D, U, M, L, A})),
    "api/v1/insights/kpis/": _r(FIGURES),
    "api/v1/insights/breakdown/": _r(NONE),  # needs ?by= (tests/insights)
    "api/v1/insights/trend/": _r(FIGURES),
    "api/v1/insights/red-black/": _r(FIGURES),
    "api/schema/": _r(ALL, anon=PUBLIC),
    "api/docs/": _r(ALL, anon=PUBLIC),
    "admin/": _r(frozenset({A}), anon=ADMIN),
}
