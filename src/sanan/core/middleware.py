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
    if settings.SECURE_PROXY_SSL_HEADER:  # behind a trusted proxy that sets X-Forwarded-For
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
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
