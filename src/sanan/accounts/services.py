"""Writes for accounts: users, phones, roles. Each is atomic and audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from sanan.accounts.models import PHONE_PURPOSE, RoleAssignment, User
from sanan.accounts.roles import ORGANISATION_ROLES, Role
from sanan.audit.services import audit_record
from sanan.core import crypto
from sanan.core.errors import DomainError
from sanan.core.phone import mask_mobile, normalise_mobile
from sanan.organisation.models import Organisation
from sanan.places.models import Place


def _apply_phone(user: User, phone: str) -> None:
    digits = normalise_mobile(phone)
    index = crypto.blind_index(digits, purpose=PHONE_PURPOSE)
    if User.objects.filter(phone_index=index).exclude(pk=user.pk).exists():
        raise DomainError(
            "user.phone_taken",
            _("This mobile number already belongs to another account."),
            fields={"phone": [_("Already in use.")]},
        )
    user.phone_encrypted = crypto.encrypt(digits, purpose=PHONE_PURPOSE)
    user.phone_index = index
    user.phone_masked = mask_mobile(digits)


def user_create(
    *,
    actor: Any,
    username: str,
    password: str = "",
    password_hash: str = "",
    display_name: str = "",
    phone: str = "",
    validate: bool = True,
    superuser: bool = False,
) -> User:
    """A new account. ``superuser`` makes an administrator who may use the admin site.

    ``password_hash`` (an encoded hash, as ``make_password`` gives) instead of ``password``
    lets many accounts that share one password be created without hashing it each time."""
    if bool(password) == bool(password_hash):
        raise TypeError("user_create needs a password or a password_hash, not both")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(
            "user.username_taken",
            _("This username is taken."),
            fields={"username": [_("Choose another username.")]},
        )
    user = User(
        username=username, display_name=display_name, is_staff=superuser, is_superuser=superuser
    )
    if validate and password:  # a ready-made hash cannot be checked
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(
                "user.weak_password",
                _("The password is too weak."),
                fields={"password": list(exc.messages)},
            ) from None
    if password_hash:
        identify_hasher(password_hash)  # refuses anything that is not an encoded hash
        user.password = password_hash
    else:
        user.set_password(password)
    with transaction.atomic():
        if phone:
            _apply_phone(user, phone)
        try:
            user.save()
        except IntegrityError:
            raise DomainError("user.conflict", _("This user already exists.")) from None
        audit_record(actor=actor, action="user.created", target=user)
    return user


def user_set_phone(*, actor: Any, user: User, phone: str) -> User:
    with transaction.atomic():
        _apply_phone(user, phone)
        user.save(update_fields=["phone_encrypted", "phone_index", "phone_masked"])
        audit_record(actor=actor, action="user.phone_changed", target=user)
    return user


def role_grant(
    *,
    actor: Any,
    user: User,
    role: str,
    place: Place,
    organisation: Organisation | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    reason: str = "",
) -> RoleAssignment:
    """Give ``user`` the ``role`` over ``place``'s subtree (idempotent)."""
    role = Role(role)
    if role in ORGANISATION_ROLES and organisation is None:
        raise DomainError(
            "role.organisation_required",
            _("This role acts for an organisation: choose the department or unit."),
            fields={"organisation": [_("Required for this role.")]},
        )
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user,
            role=role,
            place=place,
            organisation=organisation,
            defaults={"starts_on": starts_on, "ends_on": ends_on},
        )
        if created:
            audit_record(
                actor=actor,
                action="role.granted",
                target=user,
                reason=reason,
                data={
                    "role": role.value,
                    "place": place.code,
                    "organisation": organisation.code if organisation else None,
                },
            )
    if hasattr(user, "_sanan_permissions"):
        del user._sanan_permissions
    return assignment


def role_revoke(*, actor: Any, assignment: RoleAssignment, reason: str = "") -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="role.revoked",
            target=assignment.user,
            reason=reason,
            data={"role": assignment.role, "place": assignment.place.code},
        )
        assignment.delete()


def user_phone_reveal(*, actor: Any, user: User, reason: str) -> str:
    """The plain mobile number, for someone allowed to see it who says why; always audited."""
    shown = crypto.pii_reveal(
        actor=actor, target=user, reason=reason, values={"phone": user.phone_reveal}
    )
    return shown["phone"]
