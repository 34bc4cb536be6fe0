"""Roles and what each may do, as data. A role is always held over a subtree of places."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    COMMISSIONER = "commissioner", _("Courtyard commissioner")
    RED_BUTLER = "red_butler", _("Red Butler")
    DISPATCHER = "dispatcher", _("Community staff (dispatcher)")
    HANDLER = "handler", _("Department handler")
    UNIT_MEMBER = "unit_member", _("Dual-reporting unit member")
    COMMITTEE = "committee", _("Committee member")
    LEADER = "leader", _("Community leader")
    ADMIN = "admin", _("Administrator")
    # A client application's service account (``open311.ApiKey``): it posts requests and reads
    # back its own, nothing else.
    OPEN311_CLIENT = "open311_client", _("Open311 client application")
    PARTY_MEMBER = "party_member", _("Party member")


# Which role's home page a user with several roles sees first.
ROLE_PRIORITY: list[str] = [
    Role.ADMIN,
    Role.LEADER,
    Role.DISPATCHER,
    Role.COMMITTEE,
    Role.HANDLER,
    Role.COMMISSIONER,
    Role.RED_BUTLER,
    Role.UNIT_MEMBER,
    Role.RESIDENT,
    Role.PARTY_MEMBER,  # a member who lives here keeps the resident's home page
    Role.OPEN311_CLIENT,
]

# Roles that must name the organisation they act for.
ORGANISATION_ROLES: frozenset[str] = frozenset({Role.HANDLER, Role.UNIT_MEMBER})

_VIEW = {"place.view"}
_STAFF = _VIEW | {"place.view_map"}

# Registry (people, houses, cars). Residents' scope is their own unit: their household.
_REGISTRY_READ = {"resident.view"}
_REGISTRY_WRITE = _REGISTRY_READ | {"resident.edit"}
_REGISTRY_DESK = _REGISTRY_WRITE | {"resident.import", "resident.export"}

# Work orders. A resident creates and rates their own orders; visibility of others' orders is
# decided by the work-order selectors (own orders, assigned organisation, place scope).
_ORDER_RESIDENT = {"work_order.create", "work_order.rate"}
_ORDER_FIELD = {"work_order.create", "work_order.view", "work_order.discover"}
_ORDER_HANDLER = {"work_order.view", "work_order.handle"}
_ORDER_DESK = {
    "work_order.create",
    "work_order.view",
    "work_order.dispatch",
    "work_order.rule",
    "work_order.supervise",
    "work_order.callback",
    "category.manage",
    "routing.manage",
}
_ORDER_LEAD = {"work_order.view", "work_order.supervise"}

# Organisation: posts and areas, members' cards, the contact ledger. Seeing the organisation
# chart and the coverage of courtyards needs only ``place.view``.
_ORG_FIELD = {"visit.record", "visit.view"}
_ORG_OVERSEE = {"visit.view"}
_ORG_MANAGE = {"visit.view", "organisation.manage"}
# A Party member (granted by a current membership of a Party branch or committee, over its
# place) publishes their own commitments there and sees the chart, cards and commitments.
_ORG_MEMBER = {"commitment.publish"}

# Hotline desk (连心热线): calls, call-backs, statistics and the knowledge base.
_HOTLINE_READ = {"hotline.view"}
_HOTLINE_DESK = _HOTLINE_READ | {"hotline.take", "knowledge.manage"}

# Triage: category suggestions for everyone who registers orders (residents on their phone
# form too: a suggestion is a category name, nothing more); the routing suggestion and the
# clusters of possible repeats for the desk.
_TRIAGE_FIELD = {"triage.suggest"}
_TRIAGE_DESK = {"triage.suggest", "triage.review"}

# Campaigns (百日攻坚, topic of the month): the desk and the leaders run them, the committee
# follows them. Dual-reporting (双报到): the community publishes tasks and registers units,
# unit members claim for their own unit, residents rate finished tasks in their community.
_CAMPAIGN_READ = {"campaign.view"}
_CAMPAIGN_RUN = {"campaign.view", "campaign.manage"}
_DUAL_READ = {"dual.view"}
_DUAL_RUN = {"dual.view", "dual.manage"}
_DUAL_UNIT = {"dual.claim"}  # their own unit only: see ``dualreport.access``
_DUAL_RESIDENT = {"dual.rate"}

# The leader's dashboard, its big screen and the monthly report: figures over a place scope.
_DASHBOARD = {"dashboard.view"}

# Actions: "<entity>.<verb>". Each domain adds its actions above and grants them here.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.RESIDENT: frozenset(
        _VIEW | _REGISTRY_READ | _ORDER_RESIDENT | _TRIAGE_FIELD | _DUAL_RESIDENT
    ),
    Role.COMMISSIONER: frozenset(
        _STAFF
        | _REGISTRY_WRITE
        | {"resident.export"}
        | _ORDER_FIELD
        | _ORG_FIELD
        | _ORG_MEMBER
        | _TRIAGE_FIELD
    ),
    Role.RED_BUTLER: frozenset(_STAFF | _REGISTRY_READ | _ORDER_FIELD | _TRIAGE_FIELD),
    Role.UNIT_MEMBER: frozenset(_VIEW | _ORDER_HANDLER | _DUAL_UNIT),
    Role.PARTY_MEMBER: frozenset(_ORG_MEMBER),
    Role.HANDLER: frozenset(_STAFF | _ORDER_HANDLER),
    Role.COMMITTEE: frozenset(
        _STAFF
        | _REGISTRY_READ
        | {"work_order.view"}
        | _ORG_MANAGE
        | _DASHBOARD
        | _CAMPAIGN_READ
        | _DUAL_READ
    ),
    Role.DISPATCHER: frozenset(
        _STAFF
        | _REGISTRY_DESK
        | _ORDER_DESK
        | _ORG_OVERSEE
        | _HOTLINE_DESK
        | _TRIAGE_DESK
        | _DASHBOARD
        | _CAMPAIGN_RUN
        | _DUAL_RUN
        | {"place.edit", "user.view", "pii.reveal"}
    ),
    Role.LEADER: frozenset(
        _STAFF
        | _REGISTRY_READ
        | {"resident.export"}
        | _ORDER_LEAD
        | _ORG_MANAGE
        | _HOTLINE_READ
        | _TRIAGE_DESK
        | _DASHBOARD
        | _CAMPAIGN_RUN
        | _DUAL_RUN
        | {"user.view", "audit.view", "pii.reveal"}
    ),
    Role.ADMIN: frozenset(
        _STAFF
        | _REGISTRY_DESK
        | _ORDER_DESK
        | _ORG_MANAGE
        | _ORG_FIELD
        | _HOTLINE_DESK
        | _TRIAGE_DESK
        | _DASHBOARD
        | _CAMPAIGN_RUN
        | _DUAL_RUN
        | {"place.edit", "user.view", "user.manage", "role.grant", "audit.view", "pii.reveal"}
    ),
    Role.OPEN311_CLIENT: frozenset({"work_order.create"}),
}

ALL_ACTIONS: frozenset[str] = frozenset().union(*ROLE_ACTIONS.values())
