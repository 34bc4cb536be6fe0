"""The routing directory (派单目录): which organisation takes an order of a category in a place.

A rule covers a category subtree in a place subtree. Of the matching rules the most specific
wins: the deepest category first (ownership follows the kind of problem, 职能), then the deepest
place. A match dispatches the order at intake. Without one, the order waits on the dispatcher's
board, with the backstop owner of the nearest place (if any) as the suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.audit.services import audit_record
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.organisation.models import Organisation
from sanan.places.models import Place
from sanan.workorders.catalogue import Catalogue, catalogue, catalogue_changed
from sanan.workorders.models import Category, RoutingKind, RoutingRule


@dataclass(frozen=True)
class Route:
    """What the directory says for an order: dispatch automatically, or suggest."""

    rule: RoutingRule | None
    lead: Organisation | None
    co_handlers: list[Organisation] = field(default_factory=list)
    automatic: bool = False

    @property
    def reason(self) -> str:
        if self.rule is None:
            return "no_rule"
        return "rule" if self.automatic else "backstop"


def _prefixes(path: str, steplen: int = 4) -> list[str]:
    return [path[:i] for i in range(steplen, len(path) + 1, steplen)]


def route_for(*, category: Category, place: Place, snapshot: Catalogue | None = None) -> Route:
    """The most specific active rule for (category, place), or the nearest backstop (read
    from the directory kept in memory, see ``catalogue``)."""
    rules = (snapshot or catalogue()).rules_for(category, place.path, Place.steplen)
    matching = [r for r in rules if r.kind == RoutingKind.RULE]
    if matching:
        best = max(matching, key=lambda r: (r.category.depth if r.category else 0, r.place.depth))
        return Route(best, best.lead_organisation, list(best.co_handlers.all()), automatic=True)
    backstops = [r for r in rules if r.kind == RoutingKind.BACKSTOP]
    if not backstops:
        return Route(None, None)
    best = max(backstops, key=lambda r: r.place.depth)
    return Route(best, best.lead_organisation, list(best.co_handlers.all()), automatic=False)


def organisation_serves(organisation: Organisation, place: Place) -> bool:
    """An organisation takes orders inside the place it serves."""
    served = organisation.place
    return place.path.startswith(served.path)


# --- managing the directory ------------------------------------------------------------------


def _require_manage(actor: Any, place: Place) -> None:
    perms = permissions_for(actor)
    if not perms.can_see(place):
        raise NotFound("not_found", _("No such place."))
    if not perms.can("routing.manage", place):
        raise PermissionDenied("routing.forbidden", _("You may not change the routing here."))


def routing_rule_create(
    *,
    actor: Any,
    place: Place,
    lead_organisation: Organisation,
    category: Category | None = None,
    co_handlers: list[Organisation] | None = None,
    backstop: bool = False,
    note: str = "",
) -> RoutingRule:
    """Add a rule (or, with ``backstop``, the owner of last resort for ``place``)."""
    _require_manage(actor, place)
    if backstop == (category is not None):
        raise DomainError(
            "routing.category",
            _("A rule names a category; a backstop owner takes every category."),
            fields={"category": [_("Give a category for a rule, none for a backstop.")]},
        )
    co = [o for o in (co_handlers or []) if o.pk != lead_organisation.pk]
    for org in [lead_organisation, *co]:
        if not organisation_serves(org, place):
            raise DomainError(
                "routing.organisation_elsewhere",
                _("%(org)s does not serve this place.") % {"org": org.name},
                fields={"lead_organisation": [_("Choose an organisation of this area.")]},
            )
    kind = RoutingKind.BACKSTOP if backstop else RoutingKind.RULE
    try:
        with transaction.atomic():
            rule = RoutingRule.objects.create(
                kind=kind,
                category=category,
                place=place,
                lead_organisation=lead_organisation,
                note=note,
            )
            rule.co_handlers.set(co)
            audit_record(
                actor=actor,
                action="routing.rule_created",
                target=rule,
                data={
                    "kind": kind,
                    "category": category.code if category else None,
                    "lead": lead_organisation.pk,
                    "co": [o.pk for o in co],
                },
            )
    except IntegrityError:
        raise DomainError(
            "routing.duplicate",
            _("An active rule for this category and place exists already; retire it first."),
        ) from None
    return rule


def routing_rule_retire(*, actor: Any, rule: RoutingRule, reason: str = "") -> RoutingRule:
    _require_manage(actor, rule.place)
    with transaction.atomic():
        RoutingRule.objects.filter(pk=rule.pk).update(active=False)
        catalogue_changed()  # an update() sends no signal
        rule.active = False
        audit_record(actor=actor, action="routing.rule_retired", target=rule, reason=reason)
    return rule
