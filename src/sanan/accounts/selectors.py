"""Reads for accounts, on behalf of a user."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for


def user_list(*, user: Any, action: str = "user.view") -> QuerySet[User]:
    """Users holding a role somewhere inside the acting user's scope for ``action``."""
    roots = permissions_for(user).scope_paths(action)
    if roots == [""]:
        return User.objects.all()
    if not roots:
        return User.objects.none()
    cond = Q()
    for root in roots:
        cond |= Q(role_assignments__place__path__startswith=root)
    return User.objects.filter(cond).distinct()


def user_get_for(*, user: Any, pk: int, action: str = "user.view") -> User:
    """One user the acting user may see; anyone else is not found."""
    found = user_list(user=user, action=action).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found
