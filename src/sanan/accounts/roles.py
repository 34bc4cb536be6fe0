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
]

# Roles that must name the organisation they act for.
ORGANISATION_ROLES: frozenset[str] = frozenset({Role.HANDLER, Role.UNIT_MEMBER})

_VIEW = {"place.view"}
_STAFF = _VIEW | {"place.view_map", "person.view"}

# Actions: "<entity>.<verb>". Later domains add their actions here.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.RESIDENT: frozenset(_VIEW),
    Role.COMMISSIONER: frozenset(_STAFF),
    Role.RED_BUTLER: frozenset(_STAFF),
    Role.UNIT_MEMBER: frozenset(_VIEW),
    Role.HANDLER: frozenset(_STAFF),
    Role.COMMITTEE: frozenset(_STAFF),
    Role.DISPATCHER: frozenset(_STAFF | {"place.edit", "user.view", "pii.reveal"}),
    Role.LEADER: frozenset(_STAFF | {"user.view", "audit.view", "pii.reveal"}),
    Role.ADMIN: frozenset(
        _STAFF
        | {"place.edit", "user.view", "user.manage", "role.grant", "audit.view", "pii.reveal"}
    ),
}

ALL_ACTIONS: frozenset[str] = frozenset().union(*ROLE_ACTIONS.values())
