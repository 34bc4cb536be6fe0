"""Rate limits per client address, counted in Django's cache.

Fixed one-minute windows: the first request of a window adds its counter with a timeout, the
next ones increment it. The default cache is each process's memory (nothing to install; with
several worker processes each counts its own share, so the limit is per process); set
``SANAN_CACHE_URL=redis://…`` to count across processes and servers.

What is limited (``RateLimitMiddleware``):

- sign-in attempts (``POST`` to the sign-in page or ``/api/v1/auth/token/``) per address:
  ``SANAN_RATE_SIGN_IN_PER_MINUTE`` (default 20). django-axes pauses one account after its
  failures; this stops one address from trying many accounts (password spraying);
- any other ``POST``, ``PUT``, ``PATCH`` or ``DELETE`` without a signed-in user or an API token
  (Open311 posts, public forms) per address: ``SANAN_RATE_PUBLIC_WRITES_PER_MINUTE`` (default
  60). Open311 keys have their own per-key limit on top.

Over the limit the answer is 429 with ``Retry-After``: the API's error shape
(``request.throttled``), Open311's error list, or a page.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from sanan.core.api import error_body
from sanan.core.middleware import client_ip

WINDOW_SECONDS = 60
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def window_count(bucket: str, key: str, *, window_seconds: int = WINDOW_SECONDS) -> int:
    """Count one request of ``key`` in ``bucket`` in the current fixed window of
    ``window_seconds``; the window's count so far, this request included."""
    window = int(time.time() // window_seconds)
    name = f"sanan:rate:{bucket}:{key}:{window}"
    if cache.add(name, 1, timeout=window_seconds + 5):
        return 1
    try:
        return int(cache.incr(name))
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=window_seconds + 5)
        return 1


def hit(bucket: str, key: str, limit: int) -> int:
    """Count one request of ``key`` in ``bucket``; the seconds to wait when over ``limit``,
    else 0."""
    now = time.time()
    if window_count(bucket, key) <= limit:
        return 0
    window = int(now // WINDOW_SECONDS)
    return max(1, int((window + 1) * WINDOW_SECONDS - now))


def _sign_in_paths() -> frozenset[str]:
    return frozenset({reverse(settings.LOGIN_URL), reverse("api:token")})


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in WRITES:
            wait = self._check(request)
            if wait:
                return self._refuse(request, wait)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> int:
        address = client_ip(request) or "unknown"
        if request.path in _sign_in_paths():
            return hit("sign-in", address, int(settings.RATE_SIGN_IN_PER_MINUTE))
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return 0
        if request.headers.get("Authorization", "").startswith("Token "):
            # An API client: the API authenticates the token after this middleware (a wrong
            # token is a 401 that writes nothing), so it is not an anonymous writer.
            return 0
        return hit("public", address, int(settings.RATE_PUBLIC_WRITES_PER_MINUTE))

    def _refuse(self, request: HttpRequest, wait: int) -> HttpResponse:
        message = _("Too many attempts from your address. Please wait %(s)d seconds.") % {"s": wait}
        response: HttpResponse
        if request.path.startswith("/open311/"):
            response = JsonResponse(
                [{"code": 429, "description": message}],
                safe=False,
                status=429,
                json_dumps_params={"ensure_ascii": False},
            )
        elif request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
            response = JsonResponse(
                error_body("request.throttled", message),
                status=429,
                json_dumps_params={"ensure_ascii": False},
            )
        else:
            response = render(request, "429.html", {"message": message}, status=429)
        response["Retry-After"] = str(wait)
        return response
