"""Who sees which registrations, tasks and claims of dual-reporting.

- Community staff (``dual.view``: dispatcher, leader, committee, administrator) see everything
  under the places of their scope.
- A unit member (``dual.claim``, held for an organisation over a community) sees the tasks of
  that community and only their own unit's registration and claims.
- An in-service Party member registered in person sees the tasks of the communities they
  registered with, and their own registration and claims.
- A resident (``dual.rate`` over their home) sees the published tasks of their community and
  the finished claims they may rate; never a unit's contact or capacity.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import Role
from sanan.places.models import KIND_ORDER, Place, PlaceKind

COMMUNITY_LEN = (KIND_ORDER.index(PlaceKind.COMMUNITY) + 1) * Place.steplen
PUBLISHED = ("open", "closed")


def _under(field: str, roots: list[str]) -> Q:
    cond = Q(pk__in=[])
    for root in roots:
        cond |= Q(**{f"{field}__path__startswith": root})
    return cond


def staff_roots(user: Any) -> list[str]:
    return permissions_for(user).scope_paths("dual.view")


def unit_ids(user: Any) -> set[int]:
    return permissions_for(user).organisation_ids(Role.UNIT_MEMBER)


def resident_communities(user: Any) -> list[str]:
    """The paths of the communities the user lives in (where they hold ``dual.rate``)."""
    roots = permissions_for(user).scope_paths("dual.rate")
    return sorted({p[:COMMUNITY_LEN] for p in roots if len(p) >= COMMUNITY_LEN})


def _member_registrations(user: Any) -> Any:
    from sanan.dualreport.models import Registration

    return Registration.objects.filter(member_id=user.pk, state="active")


def registrations_q(user: Any) -> Q:
    perms = permissions_for(user)
    if perms.is_superuser:
        return Q()
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    cond = _under("place", staff_roots(user)) | Q(member_id=user.pk)
    units = unit_ids(user)
    if units:
        cond |= Q(organisation_id__in=units) & _under("place", perms.scope_paths("dual.claim"))
    return cond


def tasks_q(user: Any) -> Q:
    perms = permissions_for(user)
    if perms.is_superuser:
        return Q()
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    cond = _under("place", staff_roots(user)) | _under("community", perms.scope_paths("dual.claim"))
    cond |= Q(community__in=_member_registrations(user).values("place"))
    communities = [c for c in resident_communities(user) if c]
    if communities:
        cond |= Q(community__path__in=communities, state__in=PUBLISHED)
    return cond


def claims_q(user: Any) -> Q:
    perms = permissions_for(user)
    if perms.is_superuser:
        return Q()
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    cond = _under("task__place", staff_roots(user)) | Q(registration__member_id=user.pk)
    units = unit_ids(user)
    if units:
        cond |= Q(registration__organisation_id__in=units)
    communities = [c for c in resident_communities(user) if c]
    if communities:
        cond |= Q(task__community__path__in=communities, state="done")
    return cond


def can_manage(user: Any, obj: Any) -> bool:
    return permissions_for(user).can("dual.manage", obj)


def can_claim_for(user: Any, registration: Any) -> bool:
    """May ``user`` claim tasks for ``registration``: a member of the unit holding
    ``dual.claim`` over its community, or the registered Party member themselves."""
    if registration.member_id is not None:
        return bool(registration.member_id == getattr(user, "pk", None))
    perms = permissions_for(user)
    return registration.organisation_id in unit_ids(user) and perms.can(
        "dual.claim", registration.place
    )
