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
    """Signing out is a POST; a bookmarked or typed GET gets a page with the button."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "accounts/logout_confirm.html")


def locked_out_body() -> dict[str, Any]:
    minutes = settings.LOGIN_COOLOFF_MINUTES
    return error_body(
        "auth.locked_out",
        ngettext(
            "Too many failed sign-ins. Try again in %(minutes)d minute.",
            "Too many failed sign-ins. Try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
    )


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """Shown instead of signing in while an account is paused after repeated failures."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            locked_out_body(), status=429, json_dumps_params={"ensure_ascii": False}
        )
    return render(
        request,
        "accounts/locked_out.html",
        {"cooloff_minutes": settings.LOGIN_COOLOFF_MINUTES},
        status=429,
    )
