"""Request-scoped context (client address, request id) for audit records and logs."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str | None
    user_agent: str


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "sanan_request", default=None
)


def current_request() -> RequestContext | None:
    return _current.get()


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind our proxy (``SANAN_BEHIND_PROXY``) it is the last entry of
    ``X-Forwarded-For``, the one the proxy appended: the entries before it are whatever the
    client sent, and would let anyone forge the address in the audit log or dodge a rate
    limit."""
    if settings.SECURE_PROXY_SSL_HEADER:  # behind a trusted proxy that sets X-Forwarded-For
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.META.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
        token = _current.set(
            RequestContext(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response


class HtmxLoginRedirectMiddleware:
    """An HTMX request whose session ended would swap the whole sign-in page into a fragment:
    tell HTMX to load the sign-in page as a full page instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        login_url = resolve_url(settings.LOGIN_URL)
        if (
            getattr(request, "htmx", False)
            and response.status_code in (301, 302)
            and response.get("Location", "").startswith(login_url)
        ):
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response


class ContentSecurityPolicyMiddleware:
    """Sends ``Content-Security-Policy`` (``settings.CONTENT_SECURITY_POLICY``) on every answer
    that does not set its own (photos are served with ``default-src 'none'; sandbox``): scripts
    only from our own files, never inline, no plugins, no framing, forms post only to us. With
    ``CONTENT_SECURITY_POLICY_REPORT_ONLY`` the browser reports instead of blocking."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", {})
        self.value = "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())
        self.header = (
            "Content-Security-Policy-Report-Only"
            if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", False)
            else "Content-Security-Policy"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.value and "Content-Security-Policy" not in response:
            response[self.header] = self.value
        return response
