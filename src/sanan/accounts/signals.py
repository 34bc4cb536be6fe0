"""Sign-ins, failures, lockouts and sign-outs in the audit log (MLPS 2.0: security events with
who, when, what and the outcome). The records name the account, never what was typed: no
password, and no login text (a mobile number) when it names no account."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from sanan.accounts.backends import find_account
from sanan.audit.services import audit_record

UNKNOWN_ACTOR = "unknown"

# Why a session ended, when not by the button (``request.sanan_logout_reason``).
LOGOUT_REASON_ATTR = "sanan_logout_reason"


def _typed_login(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    login = (credentials or {}).get("username")
    if not login and request is not None and request.method == "POST":
        login = request.POST.get("username", "")
    return str(login or "")[:150]


def _channel(request: HttpRequest | None) -> str:
    if request is None:
        return "other"
    return "api" if request.path.startswith("/api/") else "web"


def audit_auth_event(
    *, action: str, account: Any = None, actor: Any = None, data: dict[str, Any] | None = None
) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor if actor is not None else (account or UNKNOWN_ACTOR),
            action=action,
            target=account,
            data=data or {},
        )


def audit_signed_in(request: HttpRequest, user: Any, *, second_factor: str = "") -> None:
    """Called by the sign-in views once the person is in (not on Django's ``user_logged_in``,
    which also fires for sessions opened without a sign-in, as the tests' ``force_login``)."""
    data = {"channel": _channel(request)}
    if second_factor:
        data["second_factor"] = second_factor
    audit_auth_event(action="auth.signed_in", account=user, data=data)


@receiver(user_login_failed, dispatch_uid="sanan.accounts.audit_sign_in_failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    _audit_attempt("auth.sign_in_failed", request, credentials)


@receiver(user_logged_out, dispatch_uid="sanan.accounts.audit_signed_out")
def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    reason = getattr(request, LOGOUT_REASON_ATTR, "") if request is not None else ""
    audit_auth_event(action="auth.signed_out", account=user, data={"reason": reason or "button"})


def _locked_out(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    credentials = getattr(request, "axes_credentials", None) if request is not None else None
    _audit_attempt("auth.locked_out", request, credentials)


def _audit_attempt(action: str, request: HttpRequest | None, credentials: Any) -> None:
    """A sign-in that did not get in: by an unknown actor, naming the account the login typed
    when there is one (never the password)."""
    login = _typed_login(request, credentials)
    account = find_account(login) if login else None
    audit_auth_event(
        action=action,
        account=account,
        actor=UNKNOWN_ACTOR,
        data={"channel": _channel(request), "known_account": account is not None},
    )


def connect() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="sanan.accounts.audit_locked_out")
