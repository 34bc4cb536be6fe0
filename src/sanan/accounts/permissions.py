"""The one permission resolver: "may this user do X to this object?"

Every role is held over a subtree of places (a materialised-path prefix). An object belongs to
a place; the user may act on it when one of their roles granting the action covers that place.
Objects outside every scope are reported as not found (404), never as forbidden.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from sanan.accounts.roles import ROLE_ACTIONS, ROLE_PRIORITY
from sanan.core import clock, hotpath
from sanan.core.errors import PermissionDenied

M = TypeVar("M", bound=Model)


def _minimal(paths: set[str]) -> list[str]:
    """Drop paths already covered by a shorter one."""
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(path.startswith(k) for k in kept):
            kept.append(path)
    return sorted(kept)


def _ancestors(path: str, steplen: int = 4) -> set[str]:
    return {path[:i] for i in range(steplen, len(path), steplen)}


def place_path_of(obj: Any) -> str | None:
    """The materialised path of the place an object belongs to."""
    from sanan.places.models import Place

    if isinstance(obj, Place):
        return obj.path
    place = getattr(obj, "place", None)
    if place is not None:
        return str(place.path)
    scope_path = getattr(obj, "scope_place_path", None)  # e.g. a user: where their roles lie
    return scope_path() if callable(scope_path) else None


def _grants_of(user_id: int, today: date) -> list[tuple[str, str, int | None]]:
    """(role, place path, organisation id) of each of the user's roles in force ``today``
    (read on every request of a signed-in user: ``core.hotpath``)."""
    from sanan.accounts.models import RoleAssignment
    from sanan.places.models import Place

    return [
        (role, path, organisation_id)
        for role, path, organisation_id in hotpath.fetch(
            "SELECT a.role, p.path, a.organisation_id FROM {0} a JOIN {1} p ON p.id = a.place_id "
            "WHERE a.user_id = %s AND (a.starts_on IS NULL OR a.starts_on <= %s) "
            "AND (a.ends_on IS NULL OR a.ends_on >= %s) ORDER BY a.id",
            [user_id, today, today],
            RoleAssignment,
            Place,
        )
    ]


class Permissions:
    def __init__(self, user: Any) -> None:
        self.user = user
        self.is_superuser = bool(getattr(user, "is_superuser", False))
        self._grants: list[tuple[str, str, int | None]] = []  # (role, place path, org id)
        if getattr(user, "is_authenticated", False) and user.is_active:
            self._grants = _grants_of(user.pk, clock.today())

    # --- questions -------------------------------------------------------------------------
    @property
    def roles(self) -> list[str]:
        held = {role for role, _, _ in self._grants}
        return [r for r in ROLE_PRIORITY if r in held]

    @property
    def primary_role(self) -> str | None:
        roles = self.roles
        return roles[0] if roles else None

    def organisation_ids(self, role: str | None = None) -> set[int]:
        return {o for r, _, o in self._grants if o is not None and (role is None or r == role)}

    def scope_paths(self, action: str) -> list[str]:
        """The roots of the subtrees where the user may do ``action``."""
        if self.is_superuser:
            return [""]
        return _minimal({p for role, p, _ in self._grants if action in ROLE_ACTIONS[role]})

    def has(self, action: str) -> bool:
        return bool(self.scope_paths(action))

    def can(self, action: str, obj: Any) -> bool:
        path = place_path_of(obj)
        if path is None:
            return self.is_superuser
        return any(path.startswith(root) for root in self.scope_paths(action))

    def can_see(self, obj: Any) -> bool:
        """Visible objects: in a viewing scope, or a place on the way down to one."""
        from sanan.places.models import Place

        if self.can("place.view", obj):
            return True
        if isinstance(obj, Place):
            return any(obj.path in _ancestors(root) for root in self.scope_paths("place.view"))
        return False

    def require(self, action: str, obj: Any) -> None:
        """404 when the object is out of sight; 403 when seen but the action is not allowed."""
        if not self.can_see(obj):
            raise Http404
        if not self.can(action, obj):
            raise PermissionDenied("auth.forbidden", _("You may not do this here."))

    # --- scoping querysets ---------------------------------------------------------------
    def filter(self, qs: QuerySet[M], action: str, place_field: str) -> QuerySet[M]:
        roots = self.scope_paths(action)
        if roots == [""]:
            return qs
        if not roots:
            return qs.none()
        prefix = f"{place_field}__path__startswith" if place_field else "path__startswith"
        cond = Q()
        for root in roots:
            cond |= Q(**{prefix: root})
        return qs.filter(cond)

    def filter_places(self, qs: QuerySet[M], action: str) -> QuerySet[M]:
        roots = self.scope_paths(action)
        if roots == [""]:
            return qs
        if not roots:
            return qs.none()
        cond = Q(path__in=set().union(*(_ancestors(r) for r in roots)))
        for root in roots:
            cond |= Q(path__startswith=root)
        return qs.filter(cond)


def permissions_for(user: Any) -> Permissions:
    """The user's resolver, computed once per request (cached on the user object)."""
    cached = getattr(user, "_sanan_permissions", None)
    if cached is None:
        cached = Permissions(user)
        with contextlib.suppress(AttributeError):  # objects that refuse new attributes
            user._sanan_permissions = cached
    return cached


def get_visible_or_404(qs: QuerySet[M], user: Any, **lookup: Any) -> M:
    """Fetch one object the user can see; anything else (absent or out of scope) is a 404."""
    try:
        obj = qs.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not permissions_for(user).can_see(obj):
        raise Http404
    return obj


class ScopedQuerySet(QuerySet[M]):
    """Base queryset for models that belong to a place: ``.visible_to(user)`` scopes it."""

    place_field = "place"

    def visible_to(self, user: Any, action: str = "place.view") -> QuerySet[M]:
        return permissions_for(user).filter(self, action, self.place_field)
