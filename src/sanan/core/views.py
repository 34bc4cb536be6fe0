from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

import sanan
from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import Role
from sanan.core.api import error_body
from sanan.organisation.models import Organisation
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.places.selectors import place_ancestors, place_list


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database state, for load balancers and the CI smoke test."""
    started = time.perf_counter()
    database: dict[str, object] = {"vendor": connection.vendor}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database["ok"] = True
    except Exception as exc:  # the point is to report it, not to crash
        database.update(ok=False, error=exc.__class__.__name__)
    database["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    ok = bool(database["ok"])
    return JsonResponse(
        {"status": "ok" if ok else "error", "version": sanan.__version__, "database": database},
        status=200 if ok else 503,
    )


def _within(place: Place) -> str:
    """Where a place lies, from its residential area down: "红旗小区 › 1号院 › 红旗巷1号"."""
    names = [a.name for a in place_ancestors(place) if KIND_ORDER.index(a.kind) >= _AREA_LEVEL]
    return " › ".join(names)


_AREA_LEVEL = KIND_ORDER.index(PlaceKind.AREA)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role's start page: what is theirs to look after, and where to go from here."""
    perms = permissions_for(request.user)
    role = perms.primary_role or (Role.ADMIN if request.user.is_superuser else None)
    roots = perms.scope_paths("place.view")
    scope = list(
        Place.objects.filter(path__in=roots) if roots != [""] else Place.objects.filter(depth=1)
    )
    return render(
        request,
        "core/home.html",
        {
            "role": role,
            "role_label": Role(role).label if role else "",
            "roles": [Role(r).label for r in perms.roles],
            "scope": [(place, _within(place)) for place in scope],
            "areas": [
                area
                for area in place_list(user=request.user, kind=PlaceKind.AREA)[:24]
                if area not in scope
            ]
            if perms.has("place.view_map")
            else [],
            "organisations": list(
                Organisation.objects.filter(pk__in=perms.organisation_ids()).order_by("name")
            ),
            "can_audit": perms.has("audit.view"),
            "can_dashboard": perms.has("dashboard.view"),
            "can_map": perms.has("place.view_map"),
        },
    )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            error_body("not_found", _("Not found.")),
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            error_body("server.error", _("Something went wrong on our side; nothing was saved.")),
            status=500,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent from a page that has expired (an old tab, a signed-out session)."""
    if _wants_json(request):
        return JsonResponse(
            error_body(
                "auth.csrf_failed", _("The request could not be verified; reload and try again.")
            ),
            status=403,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "csrf_failure.html", status=403)
