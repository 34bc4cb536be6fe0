"""Who sees which order and who may do what to it.

Visibility (everything else is a 404):
- the reporter, and whoever entered the order, see it;
- roles held without an organisation see the orders in their place scope for
  ``work_order.view`` (commissioners their courtyards, dispatchers and leaders the community);
- roles held for an organisation (department handlers, unit members) see the orders assigned
  to that organisation, as lead or co-handler, inside the place scope of the role;
- a follower of an order sees its *public view* (:func:`follows`, :func:`public_only`):
  typically the reporter of a duplicate merged into it (合并), who follows the parent from
  then on. The public view has the problem, the state, the organisation's public replies;
  never internal notes, reasons, the other reporters' names or photos. Followers are not in
  :func:`visible_orders_q` (lists and the board stay one scoped query): a follower opens the
  order from the merged report's page or a notification.

What a person may do is the ``TRANSITIONS`` table's grants (``state.Party``), checked here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import Permissions, permissions_for
from sanan.accounts.roles import ROLE_ACTIONS
from sanan.core.errors import NotFound, PermissionDenied
from sanan.workorders.state import TRANSITIONS, Action, Grant, Party, Transition


@dataclass(frozen=True)
class OrgGrant:
    organisation_id: int
    root: str  # place path prefix
    actions: frozenset[str]


@dataclass(frozen=True)
class OrderAccess:
    """The parts of a user's roles that matter for work orders, computed once per request."""

    user_id: int | None
    superuser: bool
    place_grants: tuple[tuple[str, frozenset[str]], ...]  # (root path, actions), no organisation
    org_grants: tuple[OrgGrant, ...]
    held: frozenset[str]  # every action held anywhere

    def place_roots(self, action: str) -> list[str]:
        return sorted({root for root, actions in self.place_grants if action in actions})

    def organisations(self, action: str = "work_order.view") -> set[int]:
        return {g.organisation_id for g in self.org_grants if action in g.actions}


def _grants(perms: Permissions) -> list[tuple[str, str, int | None]]:
    # (role, place path, organisation id), already limited to assignments in force today.
    return list(perms._grants)


def order_access(user: Any) -> OrderAccess:
    cached = getattr(user, "_sanan_order_access", None)
    if cached is not None:
        return cached
    perms = permissions_for(user)
    place: list[tuple[str, frozenset[str]]] = []
    orgs: list[OrgGrant] = []
    for role, path, org in _grants(perms):
        actions = ROLE_ACTIONS[role]
        if org is None:
            place.append((path, actions))
        else:
            orgs.append(OrgGrant(org, path, actions))
    held = frozenset().union(*(a for _, a in place), *(g.actions for g in orgs))
    access = OrderAccess(
        user_id=getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None,
        superuser=perms.is_superuser,
        place_grants=tuple(place),
        org_grants=tuple(orgs),
        held=held,
    )
    with contextlib.suppress(AttributeError):  # objects that refuse new attributes
        user._sanan_order_access = access
    return access


def visible_orders_q(user: Any) -> Q:
    """The condition on ``WorkOrder`` rows the user may see."""
    from sanan.workorders.models import WorkOrder

    access = order_access(user)
    if access.superuser:
        return Q()
    if access.user_id is None:
        return Q(pk__in=[])
    cond = Q(reporter_id=access.user_id) | Q(created_by_id=access.user_id)
    for root in access.place_roots("work_order.view"):
        cond |= Q(place__path__startswith=root)
    by_root: dict[str, set[int]] = {}
    for grant in access.org_grants:
        if "work_order.view" in grant.actions:
            by_root.setdefault(grant.root, set()).add(grant.organisation_id)
    through = WorkOrder.co_handlers.through
    for root, org_ids in sorted(by_root.items()):
        co = through.objects.filter(workorder_id=OuterRef("pk"), organisation_id__in=org_ids)
        assigned = Q(lead_organisation_id__in=org_ids) | Q(Exists(co))
        cond |= Q(place__path__startswith=root) & assigned
    return cond


# --- one order --------------------------------------------------------------------------------


def _path(order: Any) -> str:
    return str(order.place.path)


def _co_handler_ids(order: Any) -> set[int]:
    cached = getattr(order, "_prefetched_objects_cache", {}).get("co_handlers")
    if cached is not None:
        return {o.pk for o in cached}
    return set(order.co_handlers.values_list("pk", flat=True))


def _sees_by_role(user: Any, order: Any) -> bool:
    access = order_access(user)
    if access.superuser:
        return True
    if access.user_id is None:
        return False
    if access.user_id in (order.reporter_id, order.created_by_id):
        return True
    path = _path(order)
    if any(path.startswith(root) for root in access.place_roots("work_order.view")):
        return True
    assigned = {order.lead_organisation_id} | _co_handler_ids(order)
    return any(
        g.organisation_id in assigned and path.startswith(g.root)
        for g in access.org_grants
        if "work_order.view" in g.actions
    )


def follows(user: Any, order: Any) -> bool:
    """Whether ``user`` follows ``order`` (chose to, or reported a duplicate merged into it)."""
    from sanan.workorders.models import WorkOrderFollower

    user_id = order_access(user).user_id
    if user_id is None:
        return False
    return WorkOrderFollower.objects.filter(order_id=order.pk, user_id=user_id).exists()


def can_see(user: Any, order: Any) -> bool:
    """The order's reporter, the one who entered it, the roles over it, and its followers
    (who see its public view only: :func:`public_only`)."""
    return _sees_by_role(user, order) or follows(user, order)


def public_only(user: Any, order: Any) -> bool:
    """``user`` sees ``order`` only because they follow it: the public view, without anyone's
    personal data (the reporter's name, photos the reporter took) and without any button."""
    return not _sees_by_role(user, order) and follows(user, order)


def acting_organisation(user: Any, order: Any, grant: Grant) -> tuple[bool, int | None]:
    """Whether ``grant`` applies to ``user`` on ``order``, and the organisation acted for."""
    access = order_access(user)
    path = _path(order)
    if grant.party is Party.SCOPE:
        if access.superuser:
            return True, None
        ok = any(
            grant.permission in actions and path.startswith(root)
            for root, actions in access.place_grants
        )
        return ok, None
    if grant.party is Party.REPORTER:
        ok = access.user_id is not None and order.reporter_id == access.user_id
        return ok and (access.superuser or grant.permission in access.held), None
    assigned = {order.lead_organisation_id}
    if grant.party is Party.ASSIGNED:
        assigned |= _co_handler_ids(order)
    if access.superuser:
        return order.lead_organisation_id is not None, order.lead_organisation_id
    for g in access.org_grants:
        if (
            g.organisation_id in assigned
            and grant.permission in g.actions
            and path.startswith(g.root)
        ):
            return True, g.organisation_id
    return False, None


@dataclass(frozen=True)
class Authorised:
    spec: Transition
    grant: Grant | None  # None: Sanan itself
    organisation_id: int | None


def authorise(user: Any, order: Any, spec: Transition) -> Authorised:
    """The grant under which ``user`` may do ``spec`` to ``order``: 404 when the order is out
    of sight, 403 when seen but no grant of the table's row applies."""
    if not can_see(user, order):
        raise NotFound("not_found", _("No such order."))
    for grant in spec.grants:
        ok, org = acting_organisation(user, order, grant)
        if ok:
            return Authorised(spec, grant, org)
    raise PermissionDenied(
        "work_order.forbidden",
        _("You may not “%(action)s” this order.") % {"action": spec.label},
    )


def allowed_actions(user: Any, order: Any) -> list[str]:
    """The actions the state allows now and this user may do: the buttons to show."""
    if not _sees_by_role(user, order):
        return []
    allowed: list[str] = []
    for action, spec in TRANSITIONS.items():
        if order.state not in spec.sources:
            continue
        if any(acting_organisation(user, order, g)[0] for g in spec.grants):
            allowed.append(action.value)
    return allowed


def may_see_reporter(user: Any, order: Any) -> bool:
    """An anonymous order hides its reporter from everybody but the reporter, the desk and
    the organisations handling it."""
    if public_only(user, order):
        return False  # a follower: the other reporters' names are not theirs to see
    if not order.anonymous:
        return True
    access = order_access(user)
    if access.superuser or access.user_id in (order.reporter_id, order.created_by_id):
        return True
    for grant in (
        Grant("work_order.dispatch", Party.SCOPE),
        Grant("work_order.handle", Party.ASSIGNED),
    ):
        if acting_organisation(user, order, grant)[0]:
            return True
    return False


def is_staff_for(user: Any, order: Any) -> bool:
    """Desk, supervisors and handling organisations: they see internal notes."""
    for grant in (
        Grant("work_order.dispatch", Party.SCOPE),
        Grant("work_order.supervise", Party.SCOPE),
        Grant("work_order.handle", Party.ASSIGNED),
    ):
        if acting_organisation(user, order, grant)[0]:
            return True
    return False


__all__ = [
    "Action",
    "OrderAccess",
    "acting_organisation",
    "allowed_actions",
    "authorise",
    "can_see",
    "follows",
    "is_staff_for",
    "may_see_reporter",
    "order_access",
    "public_only",
    "visible_orders_q",
]
