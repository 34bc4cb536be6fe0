from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from sanan.accounts import reset, twostep
from sanan.accounts.forms import CodeForm, LoginForm, ResetRequestForm
from sanan.accounts.models import User
from sanan.accounts.signals import audit_signed_in
from sanan.core.api import error_body
from sanan.core.errors import DomainError
from sanan.core.middleware import client_ip

# The account that gave the right password and still owes its second step.
PENDING = "sanan_two_step_pending"
PENDING_SECONDS = 300


def _pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def _finish_sign_in(request: HttpRequest, user: User, device: Any) -> HttpResponse:
    pending = request.session.pop(PENDING, {})
    auth_login(request, user, backend=pending.get("backend"))
    otp_login(request, device)
    audit_signed_in(request, user, second_factor=twostep.method_of(device))
    return HttpResponseRedirect(pending.get("next") or reverse(settings.LOGIN_REDIRECT_URL))


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        enrolled = twostep.totp_enabled(user)
        if not enrolled and not twostep.totp_required(user):
            response = super().form_valid(form)
            audit_signed_in(self.request, user)
            return response
        self.request.session.cycle_key()
        self.request.session[PENDING] = {
            "user": user.pk,
            "at": int(time.time()),
            "backend": getattr(user, "backend", None),
            "next": self.get_success_url(),
        }
        return redirect("accounts:login_code" if enrolled else "accounts:two_step")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["reset_by_email"] = reset.email_configured()
        return context


def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or a recovery code."""
    user = _pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again."))
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if twostep.tries_exhausted(user):
            request.session.pop(PENDING, None)
            return _too_many_codes(request)
        device = twostep.verify_code(user=user, code=form.cleaned_data["code"])
        if device is not None:
            return _finish_sign_in(request, user, device)
        if twostep.tries_exhausted(user):
            request.session.pop(PENDING, None)
            return _too_many_codes(request)
        form.add_error("code", _("That code is not right. Try the newest code in your app."))
        status = 400
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


def _too_many_codes(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/locked_out.html",
        {"cooloff_minutes": settings.LOGIN_COOLOFF_MINUTES, "two_step": True},
        status=429,
    )


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    return render(
        request,
        "accounts/account.html",
        {
            "totp_enabled": twostep.totp_enabled(user),
            "totp_required": twostep.totp_required(user),
            "recovery_left": twostep.recovery_codes_left(user),
        },
    )


def two_step(request: HttpRequest) -> HttpResponse:
    """Turn on two-step sign-in: scan the QR code, confirm with a code. Also the page a person
    whose role requires it sees after their password, until they have set it up."""
    user: Any = request.user if request.user.is_authenticated else _pending_user(request)
    if user is None:
        return redirect(f"{reverse('accounts:login')}?next={reverse('accounts:two_step')}")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = twostep.totp_enrol_confirm(
                actor=user, user=user, code=form.cleaned_data["code"]
            )
        except DomainError as error:
            form.add_error("code", str(error.message))
            status = 400
        else:
            device = twostep.totp_device(user)
            if not request.user.is_authenticated:
                _finish_sign_in(request, user, device)
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
    device = twostep.totp_pending_device(user)
    if device is None or request.method == "GET":
        device = twostep.totp_enrol_start(user=user)
    context = {
        "form": form,
        "qr": twostep.qr_svg(device),
        "secret": twostep.secret_text(device),
        "required": twostep.totp_required(user),
    }
    return render(request, "accounts/two_step.html", context, status=status)


@login_required
@require_POST
def two_step_disable(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    try:
        twostep.totp_disable(actor=user, user=user, code=str(request.POST.get("code", "")))
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Two-step sign-in is off."))
    return redirect("accounts:account")


@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    try:
        codes = twostep.recovery_codes_renew(
            actor=user, user=user, code=str(request.POST.get("code", ""))
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("accounts:account")
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


def reset_request(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link by email. Only when email is configured; the answer is the same
    whether or not an account uses the address."""
    if not reset.email_configured():
        raise Http404
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST":
        if reset.address_over_limit(client_ip(request) or ""):
            return render(request, "429.html", status=429)
        if form.is_valid():
            reset.password_reset_request(email=form.cleaned_data["email"])
            return redirect("accounts:reset_sent")
    return render(request, "accounts/reset_request.html", {"form": form})


def reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/reset_sent.html")


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/reset_confirm.html"
    success_url = reverse_lazy("accounts:reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        reset.password_reset_done(user=form.user)
        return response


def reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/reset_done.html")


@login_required
@require_POST
def reset_link(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator issues a one-time link for someone who cannot sign in."""
    try:
        link = reset.password_reset_link_issue(actor=request.user, pk=pk)
    except DomainError as error:
        if error.status_code == 403:
            return render(request, "403.html", {"message": error.message}, status=403)
        raise
    target = User.objects.get(pk=pk)
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    return render(
        request, "accounts/reset_link.html", {"link": link, "target": target, "hours": hours}
    )


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


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin site signs in through Sanan's sign-in page, so two-step sign-in and the
    lockout hold there too; a signed-in person without admin rights is refused."""
    if request.user.is_authenticated:
        raise DjangoPermissionDenied
    target = request.GET.get("next") or reverse("admin:index")
    return redirect_to_login(target, reverse("accounts:login"))
