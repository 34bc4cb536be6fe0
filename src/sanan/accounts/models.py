"""Users (login by phone or username) and the roles they hold over places."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import ScopedQuerySet
from sanan.accounts.roles import Role
from sanan.core import crypto
from sanan.organisation.models import Organisation
from sanan.places.models import Place

PHONE_PURPOSE = "user.phone"


class ScopedUserManager(UserManager["User"]):
    def visible_to(self, user: Any, action: str = "user.view") -> models.QuerySet[User]:
        """People holding a role inside the acting user's scope for ``action``."""
        from sanan.accounts.selectors import user_list

        return user_list(user=user, action=action)


class User(AbstractUser):
    """A person who signs in. The phone number is stored encrypted, found by a blind index."""

    display_name = models.CharField(_("name"), max_length=60, blank=True)
    phone_encrypted = models.TextField(blank=True, default="")
    phone_index = models.CharField(max_length=64, null=True, blank=True, unique=True)
    phone_masked = models.CharField(_("phone"), max_length=16, blank=True, default="")
    preferred_language = models.CharField(_("language"), max_length=8, blank=True, default="")

    objects: ClassVar[ScopedUserManager] = ScopedUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def scope_place_path(self) -> str | None:
        """The smallest subtree holding all of this user's roles (their audit events belong
        there, so the leaders of that place see them)."""
        paths = list(self.role_assignments.values_list("place__path", flat=True))
        if not paths:
            return None
        common = min(paths, key=len)
        while common and not all(path.startswith(common) for path in paths):
            common = common[: -Place.steplen]
        return common or None

    def phone_reveal(self) -> str:
        """The plain number; callers must have checked permission and audited the reveal."""
        if not self.phone_encrypted:
            return ""
        return crypto.decrypt(self.phone_encrypted, purpose=PHONE_PURPOSE)


class RoleAssignment(models.Model):
    """``user`` holds ``role`` over the subtree of ``place`` (for ``organisation`` if any)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="role_assignments", verbose_name=_("scope")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
    )
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "place"],
                condition=models.Q(organisation__isnull=True),
                name="role_assignment_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "place", "organisation"],
                name="role_assignment_unique_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.place}"
