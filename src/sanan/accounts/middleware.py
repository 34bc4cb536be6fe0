"""End a signed-in session after a configurable time without requests."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from sanan.accounts.signals import LOGOUT_REASON_ATTR

SESSION_KEY = "sanan_last_seen"
TOUCH_EVERY_SECONDS = 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            last = request.session.get(SESSION_KEY)
            limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
            if last is not None and now - int(last) > limit:
                setattr(request, LOGOUT_REASON_ATTR, "idle")
                logout(request)
                messages.info(request, _("You were signed out after a period of inactivity."))
            elif last is None or now - int(last) >= TOUCH_EVERY_SECONDS:
                request.session[SESSION_KEY] = now  # not on every request: fewer session writes
        return self.get_response(request)
