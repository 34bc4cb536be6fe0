from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from sanan.accounts.forms import LoginForm
from sanan.core.api import error_body


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """Shown instead of signing in while an account is paused after repeated failures."""
    minutes = settings.LOGIN_COOLOFF_MINUTES
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(
                "auth.locked_out",
                ngettext(
                    "Too many failed sign-ins. Try again in %(minutes)d minute.",
                    "Too many failed sign-ins. Try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
            ),
            status=429,
        )
    return render(request, "accounts/locked_out.html", {"cooloff_minutes": minutes}, status=429)
