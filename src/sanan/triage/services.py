"""Writes of the triage app: training the category model; a hotspot proposed as the topic
of the month (a draft campaign through ``campaigns.services.campaign_create``).

Training reads the seed set and the community's categorised orders, fits the model and
stores it under the var dir (``model.save``: a temporary file renamed into place, so a
running server keeps answering with the old model until the new one is complete). The
audit log records who trained it, from how many examples, with which method.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext as _

from sanan.accounts.permissions import permissions_for
from sanan.audit.services import audit_record
from sanan.campaigns.models import MANAGE, Campaign, CampaignKind, CampaignState
from sanan.campaigns.services import campaign_create
from sanan.core import clock
from sanan.core.errors import Conflict, DomainError, NotFound
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.places.models import Place, PlaceKind
from sanan.triage import model as triage_model
from sanan.triage.dataset import order_examples, seed_examples
from sanan.triage.selectors import COMMUNITY_LEN, triage_hotspots
from sanan.workorders.models import Category


def triage_model_train(
    *,
    actor: Any = None,
    method: str = triage_model.DEFAULT_METHOD,
    include_orders: bool = True,
    progress: Callable[[str], None] | None = None,
) -> triage_model.TriageModel:
    """Train on the seed set plus (with ``include_orders``) the community's orders, store it
    and return it. ``actor`` is None when the worker retrains on its schedule."""
    say = progress or (lambda _msg: None)
    seed = seed_examples()
    orders = order_examples() if include_orders else []
    say(f"{len(seed)} seed examples, {len(orders)} categorised orders; training ({method})…")
    model = triage_model.fit([*seed, *orders], method=method)
    model.meta["sources"] = {"seed": len(seed), "orders": len(orders)}
    path = triage_model.save(model)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="triage.model_trained",
            data={
                "method": method,
                "seed": len(seed),
                "orders": len(orders),
                "categories": model.meta["categories"],
            },
        )
    say(f"stored {path} in {model.meta['seconds']} s")
    return model


# --- the topic of the month ------------------------------------------------------------------

# Who owns a topic of the month by default: the community's Party committee, else its
# residents' committee, else its self-management committee.
_OWNER_KINDS = (
    OrganisationKind.PARTY_COMMITTEE,
    OrganisationKind.RESIDENTS_COMMITTEE,
    OrganisationKind.SELF_MANAGEMENT,
)


def next_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and the last day of the month after ``today``'s."""
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _owner_for(community: Place) -> Organisation:
    order = Case(
        *[When(kind=kind, then=Value(i)) for i, kind in enumerate(_OWNER_KINDS)],
        output_field=IntegerField(),
    )
    owner = (
        Organisation.objects.filter(place=community, kind__in=_OWNER_KINDS)
        .order_by(order, "pk")
        .first()
    )
    if owner is None:
        raise DomainError(
            "topic.no_owner",
            _(
                "This community has no Party or residents' committee to own the campaign; "
                "create the campaign on the campaigns page instead."
            ),
        )
    return owner


def triage_topic_propose(
    *,
    actor: Any,
    category: Category,
    courtyards: Sequence[Place],
    orders: int,
) -> Campaign:
    """Turn a hotspot into a draft topic of the month 每月一题 in one step: scope = the
    level-1 ``category`` in ``courtyards`` (one community's), run by that community, owned by
    its Party committee (else residents' committee) and the actor, from the first to the last
    day of next month, with the hotspot's ``orders`` as the number of problems to solve.

    The same topic (community, category, next month) is proposed once: a second press while
    the first campaign is a draft or running is a conflict naming it."""
    yards = sorted({c.pk: c for c in courtyards}.values(), key=lambda p: p.path)
    if not yards or any(p.kind != PlaceKind.COURTYARD for p in yards):
        raise DomainError(
            "topic.courtyard_required",
            _("Choose the courtyards of the hotspot."),
            fields={"courtyards": [_("Courtyards only.")]},
        )
    community_path = yards[0].path[:COMMUNITY_LEN]
    if any(p.path[:COMMUNITY_LEN] != community_path for p in yards):
        raise DomainError(
            "topic.one_community",
            _("A topic of the month covers the courtyards of one community."),
            fields={"courtyards": [_("Choose courtyards of one community.")]},
        )
    if category.depth != 1:
        raise DomainError(
            "topic.category_level",
            _("A topic of the month is proposed for a level-1 category."),
            fields={"category": [_("Choose a level-1 category.")]},
        )
    community = Place.objects.filter(path=community_path).first()
    if community is None:  # pragma: no cover - every courtyard lies in a community
        raise NotFound("topic.not_found", _("Not found."))
    perms = permissions_for(actor)
    for yard in yards:
        perms.require("triage.review", yard)
    perms.require(MANAGE, community)
    starts_on, ends_on = next_month(clock.today())
    existing = (
        Campaign.objects.filter(
            place=community,
            kind=CampaignKind.MONTHLY_TOPIC,
            categories=category,
            starts_on=starts_on,
            state__in=(CampaignState.DRAFT, CampaignState.RUNNING),
        )
        .order_by("pk")
        .first()
    )
    if existing is not None:
        raise Conflict(
            "topic.already_proposed",
            _("This topic is already proposed for next month: %(title)s.")
            % {"title": existing.title},
            fields={"campaign": [str(existing.pk)]},
        )
    names = "、".join(p.name for p in yards[:3]) + ("…" if len(yards) > 3 else "")
    title = _("Topic of the month %(month)s: %(category)s in %(courtyards)s") % {
        "month": f"{starts_on:%Y-%m}",
        "category": category.name,
        "courtyards": names,
    }
    description = _(
        "Proposed from the hotspots: %(orders)s orders of %(category)s in the last weeks in "
        "%(courtyards)s."
    ) % {"orders": orders, "category": category.name, "courtyards": names}
    with transaction.atomic():
        return campaign_create(
            actor=actor,
            place=community,
            kind=CampaignKind.MONTHLY_TOPIC,
            title=title,
            description=description,
            starts_on=starts_on,
            ends_on=ends_on,
            target_solved=max(1, orders),
            owner_organisation=_owner_for(community),
            owner=actor,
            categories=[category],
            places=yards,
        )


def triage_topic_propose_hotspot(
    *, actor: Any, code: str, courtyard_ids: Sequence[int], weeks: int
) -> Campaign:
    """The proposal of the hotspots page named by ``code`` and ``courtyard_ids`` (page and
    API), as a draft campaign: the hotspots are computed again, so the orders counted are
    the ones the page showed, not a number sent by the client."""
    spots = [
        h
        for h in triage_hotspots(user=actor, weeks=weeks)
        if h.category.code == code and h.courtyard.pk in courtyard_ids
    ]
    if not spots:
        raise DomainError(
            "topic.not_a_hotspot",
            _("That is no longer among the hotspots: reload the page."),
        )
    return triage_topic_propose(
        actor=actor,
        category=spots[0].category,
        courtyards=[h.courtyard for h in spots],
        orders=sum(h.count for h in spots),
    )
