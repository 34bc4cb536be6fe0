"""Every URL pattern of Sanan, found by walking the resolver, and how to fill its parameters
from the security world."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

# DRF's router adds a ``.json`` twin for each route (``^orders\.(?P<format>…)``) and the root
# view's format suffix: the same view as the route they double, so they are checked with it.
_FORMAT_TWIN = re.compile(r"\\\.\(\?P<format>|<drf_format_suffix:format>")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def all_routes() -> list[str]:
    """Every route of the project (the admin site counted as one: ``admin/``), without the
    format twins, in resolver order."""
    seen: dict[str, None] = {}
    for route in _walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            route = "admin/"
        if _FORMAT_TWIN.search(route):
            continue
        seen.setdefault(route, None)
    return list(seen)


# Which object a parameter names, by the route it appears in: the first matching prefix wins.
_OBJECT_OF: list[tuple[str, dict[str, str]]] = [
    ("accounts/reset/", {"uidb64": "reset_uid", "token": "reset_token"}),
    ("accounts/users/", {"pk": "user"}),
    ("places/", {"pk": "place"}),
    ("registry/residents/", {"pk": "resident", "code": "tag"}),
    ("registry/households/", {"pk": "household"}),
    ("registry/houses/", {"pk": "house"}),
    ("registry/rentals/", {"pk": "rental"}),
    ("registry/vehicles/", {"pk": "vehicle"}),
    ("registry/places/", {"pk": "courtyard"}),
    ("registry/import", {"pk": "import_job"}),
    ("orders/", {"pk": "order", "attachment_id": "attachment", "action": "act"}),
    ("inbox/", {"pk": "inbox_item"}),
    ("org/organisations/", {"pk": "organisation"}),
    ("org/posts/", {"pk": "post"}),
    ("org/ledger/visits/", {"pk": "visit"}),
    ("org/visits/", {"pk": "visit"}),
    ("org/ledger/problems/", {"pk": "visit_problem"}),
    ("org/visit-problems/", {"pk": "visit_problem"}),
    ("org/commitments/", {"pk": "commitment"}),
    ("org/card", {"token": "card"}),
    ("org/events/", {"pk": "event", "token": "event_token"}),
    ("org/butlers/", {"pk": "butler"}),
    ("hotline/calls/", {"pk": "call"}),
    ("hotline/knowledge/", {"pk": "knowledge"}),
    ("hotline/orders/", {"pk": "order"}),
    ("campaigns/tasks/", {"pk": "campaign_task"}),
    ("campaigns/", {"pk": "campaign"}),
    ("dual/tasks/", {"pk": "dual_task"}),
    ("dualreport/tasks/", {"pk": "dual_task"}),
    ("dual/claims/", {"pk": "claim"}),
    ("dualreport/claims/", {"pk": "claim"}),
    ("dualreport/registrations/", {"pk": "registration"}),
    ("public/figures/", {"code": "community_code"}),
    ("open311/", {"code": "service_code", "request_id": "order_request",
                  "attachment_id": "attachment", "token": "open311_token"}),
    ("webhook-endpoints/", {"pk": "webhook"}),
    ("audit/events/", {"pk": "audit_event"}),
    ("order-categories/", {"pk": "category"}),
    ("routing-rules/", {"pk": "routing_rule"}),
    ("users/", {"pk": "user"}),
    ("dashboard/report/", {"year": "year", "month": "month"}),
]  # fmt: skip
_FIXED = {"fmt": "json", "ext": "png", "rest": "nothing-here"}
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


MISSING_ID = 987654321


def url_of(route: str, ids: dict[str, Any], *, missing: bool = False) -> str:
    """The URL of ``route`` with its parameters filled from ``ids`` (``ids["order"]`` …);
    with ``missing``, every object it names is one that does not exist."""
    bare = route.removeprefix("api/v1/").removeprefix("^")
    objects: dict[str, str] = {}
    for prefix, mapping in _OBJECT_OF:
        if bare.startswith(prefix):
            objects = mapping
            break

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in _FIXED:
            return _FIXED[name]
        key = objects.get(name)
        if key is None:
            raise KeyError(f"{route}: no object for parameter {name!r}")
        value = ids[key]
        if missing:
            return str(MISSING_ID) if isinstance(value, int) else "no-such-thing"
        return str(value)

    prefix = route[: len(route) - len(route.removeprefix("api/v1/"))]
    path = _PARAM.sub(fill, bare).removesuffix("$")
    return "/" + prefix + path.replace("\\.", ".").replace("\\", "")
