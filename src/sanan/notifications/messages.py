"""What a notification says: a title and a body for each outbox template, written in the
recipient's language at delivery time from the payload's ids and codes (the payload itself
never holds names, phones or free text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sanan.workorders.models import Category
from sanan.workorders.state import State

TITLES: dict[str, Promise] = {
    "work_order.registered": _("Your request %(ref)s has been received"),
    "work_order.awaiting_dispatch": _("New request %(ref)s is waiting to be dispatched"),
    "work_order.dispatched": _("Request %(ref)s has been dispatched to you"),
    "work_order.co_dispatched": _("You are co-handling request %(ref)s"),
    "work_order.transferred_away": _("Request %(ref)s was transferred to another organisation"),
    "work_order.status_changed": _("Your request %(ref)s is now “%(state)s”"),
    "work_order.contacted": _("The handler has contacted you about request %(ref)s"),
    "work_order.returned": _("Request %(ref)s was returned and needs a ruling"),
    "work_order.extension_requested": _("More time is requested for request %(ref)s"),
    "work_order.extension_decided": _("The request for more time on %(ref)s was decided"),
    "work_order.deadline_near": _("Request %(ref)s is nearly due"),
    "work_order.chased": _("Request %(ref)s is overdue and has been chased"),
    "work_order.supervised": _("Request %(ref)s is now under supervision"),
    "work_order.finished_please_rate": _("Your request %(ref)s is finished: please rate it"),
    "work_order.rated": _("Request %(ref)s has been rated"),
    "work_order.rehandle": _("Request %(ref)s must be handled again"),
    "work_order.reply": _("There is a new reply on your request %(ref)s"),
    "work_order.reporter_note": _("The resident added a note to request %(ref)s"),
    "work_order.merged": _("Request %(ref)s was merged with a similar request"),
}
FALLBACK_TITLE = _("Update on request %(ref)s")
BODY = _("%(category)s · now “%(state)s”")


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    link: str  # path inside Sanan


def order_link(order_id: int | None) -> str:
    if not order_id:
        return ""
    for name in ("workorders:detail", "workorders:order"):
        try:
            return reverse(name, args=[order_id])
        except NoReverseMatch:
            continue
    return f"/orders/{order_id}/"


def _category_name(category_id: Any, cache: dict[int, Category]) -> str:
    if not category_id:
        return ""
    category = cache.get(int(category_id))
    if category is None:
        category = Category.objects.filter(pk=category_id).first()
        if category is None:
            return ""
        cache[int(category_id)] = category
    return str(category.name)


def _state_label(code: str) -> str:
    try:
        return str(State(code).label)
    except ValueError:
        return code


def render(
    template: str,
    payload: dict[str, Any],
    *,
    language: str = "",
    categories: dict[int, Category] | None = None,
) -> Rendered:
    """The title, body and link of ``template`` in ``language`` (the site's default when the
    person chose none)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        values = {
            "ref": payload.get("reference") or f"#{payload.get('order', '')}",
            "state": _state_label(str(payload.get("state", ""))),
            "category": _category_name(payload.get("category"), categories or {}),
        }
        title = str(TITLES.get(template, FALLBACK_TITLE)) % values
        body = str(BODY) % values if values["category"] else values["state"]
    return Rendered(title=title[:200], body=body, link=order_link(payload.get("order")))
