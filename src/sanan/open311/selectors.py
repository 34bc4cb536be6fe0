"""Reads of the Open311 adapter: jurisdictions, services, and the requests a client may see.

What an Open311 client sees is public data only:

- any client, with or without a key, sees the *public* orders of the served communities: not
  anonymous, and not in a category whose problems are about people rather than places
  (:data:`PRIVATE_GROUPS`: disputes, assistance, care, security, rentals, health — settable
  as ``OPEN311_PRIVATE_GROUPS``);
- a client with a key also sees the orders it posted itself, whatever their category, through
  ``workorders.selectors.work_order_list`` acting as its service account.

No Open311 document carries a name, phone, email or ID number (free text through ``core.privacy``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.core.errors import NotFound
from sanan.open311.models import ApiKey, Open311Request
from sanan.places.models import Place, PlaceKind
from sanan.workorders.catalogue import questions_for
from sanan.workorders.models import (
    Attachment,
    Category,
    CategoryQuestion,
    WorkOrder,
    WorkOrderEvent,
)
from sanan.workorders.selectors import category_list, with_relations, work_order_list
from sanan.workorders.state import Action

PRIVATE_GROUPS: tuple[str, ...] = (
    "public_security",
    "rental_housing",
    "neighbour_dispute",
    "social_assistance",
    "elderly_children",
    "health_epidemic",
)
# Timeline rows that stay inside Sanan (as for a resident looking at an order).
INTERNAL_ACTIONS = frozenset({Action.WARN, Action.REQUEST_EXTENSION, Action.DECIDE_EXTENSION})


def private_groups() -> tuple[str, ...]:
    return tuple(getattr(settings, "OPEN311_PRIVATE_GROUPS", PRIVATE_GROUPS))


# --- jurisdictions ---------------------------------------------------------------------------


def jurisdiction_list() -> QuerySet[Place]:
    """The communities this endpoint serves."""
    return Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("path")


def jurisdiction_get(*, jurisdiction_id: str | None) -> Place | None:
    """The community named by ``jurisdiction_id`` (its place code, any case); ``None`` when
    none was given; 404 ``open311.jurisdiction_not_found`` for an unknown one."""
    if not jurisdiction_id:
        return None
    place = jurisdiction_list().filter(code__iexact=jurisdiction_id.strip()).first()
    if place is None:
        raise NotFound(
            "open311.jurisdiction_not_found",
            _("jurisdiction_id “%(id)s” was not found.") % {"id": jurisdiction_id[:80]},
        )
    return place


# --- services ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    category: Category
    group: Category
    metadata: bool


def service_list() -> list[Service]:
    """Every active category without active children (the leaves people report in), with its
    level-1 group and whether it asks questions (its own or inherited). Two queries."""
    categories = list(category_list())
    by_path = {c.path: c for c in categories}
    asking = {c.path for c in categories if list(c.questions.all())}
    services = []
    for category in categories:
        if any(p != category.path and p.startswith(category.path) for p in by_path):
            continue
        group = by_path.get(category.path[: Category.steplen], category)
        metadata = any(path in asking for path in category.ancestor_paths())
        services.append(Service(category, group, metadata))
    return services


def service_get(*, code: str) -> Service:
    for service in service_list():
        if service.category.code == code:
            return service
    raise NotFound(
        "open311.service_not_found",
        _("service_code “%(code)s” was not found.") % {"code": (code or "")[:80]},
    )


def service_questions(*, category: Category) -> list[CategoryQuestion]:
    return questions_for(category)


def questions_by_category(categories: Iterable[Category]) -> dict[int, list[CategoryQuestion]]:
    """The questions each category asks (its own after its ancestors'), for many categories
    in one query — what ``questions_for`` gives for one."""
    wanted = {c.pk: c for c in categories}
    paths = {p for c in wanted.values() for p in c.ancestor_paths()}
    rows = list(
        CategoryQuestion.objects.filter(category__path__in=paths).select_related("category")
    )
    result: dict[int, list[CategoryQuestion]] = {}
    for pk, category in wanted.items():
        depth = {p: i for i, p in enumerate(category.ancestor_paths())}
        mine = [q for q in rows if q.category.path in depth]
        result[pk] = sorted(mine, key=lambda q: (depth[q.category.path], q.order, q.pk))
    return result


# --- requests ----------------------------------------------------------------------------------


def _public_q() -> Q:
    cond = Q(anonymous=False)
    private = Category.objects.filter(depth=1, code__in=private_groups()).values_list(
        "path", flat=True
    )
    for path in private:
        cond &= ~Q(category__path__startswith=path)
    return cond


def _within(jurisdictions: Iterable[Place]) -> Q:
    cond = Q(pk__in=[])
    for place in jurisdictions:
        cond |= Q(place__path__startswith=place.path)
    return cond


def request_list(*, api_key: ApiKey | None, jurisdiction: Place | None) -> QuerySet[WorkOrder]:
    """The orders an Open311 client may see (see the module's docstring), newest first, with
    everything a request document shows selected up front: the number of queries does not
    grow with the number of requests."""
    places = [jurisdiction] if jurisdiction is not None else list(jurisdiction_list())
    cond = _public_q()
    if api_key is not None:
        own = work_order_list(user=api_key.user).order_by().values("pk")
        cond |= Q(pk__in=own)
    qs = (
        with_relations(WorkOrder.objects.filter(_within(places) & cond))
        .select_related("sla_policy", "open311", "category__sla_policy")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("uploaded_at", "id"))
        )
        .order_by("-created_at", "-id")
    )
    return with_public_events(qs)


def request_get(
    *, api_key: ApiKey | None, jurisdiction: Place | None, request_id: str
) -> WorkOrder:
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        pk = None
    order = (
        request_list(api_key=api_key, jurisdiction=jurisdiction).filter(pk=pk).first()
        if pk is not None
        else None
    )
    if order is None:
        raise NotFound(
            "open311.request_not_found",
            _("service_request_id “%(id)s” was not found.") % {"id": (request_id or "")[:40]},
        )
    return order


def with_public_events(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    """Orders with their timeline rows that may leave Sanan (``public_events``)."""
    events = (
        WorkOrderEvent.objects.exclude(action__in=INTERNAL_ACTIONS)
        .exclude(Q(action=Action.NOTE) & Q(public_note="") & Q(attachments=[]))
        .order_by("at", "id")
    )
    return qs.prefetch_related(Prefetch("events", queryset=events, to_attr="public_events"))


def token_get(*, token: str) -> Open311Request:
    row = Open311Request.objects.filter(token=token).first() if token else None
    if row is None:
        raise NotFound(
            "open311.token_not_found",
            _("token “%(token)s” was not found.") % {"token": (token or "")[:40]},
        )
    return row


def update_list(
    *,
    api_key: ApiKey | None,
    jurisdiction: Place | None,
    start: dt.datetime,
    end: dt.datetime,
    limit: int,
) -> list[tuple[WorkOrderEvent, WorkOrder]]:
    """Public timeline rows of the visible orders between ``start`` and ``end``, oldest first."""
    visible = request_list(api_key=api_key, jurisdiction=jurisdiction).prefetch_related(None)
    events = (
        WorkOrderEvent.objects.filter(order__in=visible.order_by().values("pk"), at__gte=start)
        .filter(at__lte=end)
        .exclude(action__in=INTERNAL_ACTIONS)
        .exclude(Q(action=Action.NOTE) & Q(public_note="") & Q(attachments=[]))
        .select_related("order")
        .order_by("at", "id")[:limit]
    )
    return [(e, e.order) for e in events]


def place_names(paths: Iterable[str]) -> dict[str, Place]:
    """The places at ``paths`` (one query), to write addresses without a query per row."""
    wanted = set(paths)
    if not wanted:
        return {}
    return {p.path: p for p in Place.objects.filter(path__in=wanted)}


def attachment_get_public(*, attachment_id: int) -> Attachment:
    """A photo of an order any client may see (public orders only)."""
    visible = (
        request_list(api_key=None, jurisdiction=None).prefetch_related(None).order_by().values("pk")
    )
    attachment = Attachment.objects.filter(pk=attachment_id, order__in=visible).first()
    if attachment is None:
        raise NotFound("open311.media_not_found", _("No such media."))
    return attachment


__all__ = [
    "PRIVATE_GROUPS",
    "Service",
    "attachment_get_public",
    "jurisdiction_get",
    "jurisdiction_list",
    "place_names",
    "request_get",
    "request_list",
    "service_get",
    "service_list",
    "service_questions",
    "token_get",
    "update_list",
]
