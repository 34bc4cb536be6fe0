"""Writes of campaigns: create, start, close; link orders (automatically by scope, or by hand
with a reason) and unlink them; the manual task list.

Every write is one transaction with its audit record. Orders are linked by
:func:`campaign_links_sync`, run when a campaign starts, when it closes and from the worker's
tick (``campaigns.tasks``): intake (``work_order_submit``) never waits for campaigns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.audit.services import audit_record
from sanan.campaigns.models import (
    MANAGE,
    TRANSITIONS,
    Campaign,
    CampaignKind,
    CampaignOrder,
    CampaignState,
    CampaignTask,
    LinkSource,
)
from sanan.core import clock
from sanan.core.errors import Conflict, DomainError, PermissionDenied
from sanan.organisation.models import Organisation
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.sla import local_zone

MAX_TITLE = 120
MAX_REASON = 200
MAX_DAYS = 366
_COMMUNITY_LEN = (KIND_ORDER.index(PlaceKind.COMMUNITY) + 1) * Place.steplen


def _is_person(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _require(actor: Any, action: str, obj: Any) -> None:
    """404 out of sight, 403 in sight but not allowed; Sanan itself (the demo, the worker)
    may do all."""
    if _is_person(actor):
        permissions_for(actor).require(action, obj)


def period_bounds(campaign: Campaign) -> tuple[dt.datetime, dt.datetime]:
    """The campaign's days as aware instants: [start of the first day, start of the day after
    the last) in Asia/Shanghai."""
    zone = local_zone()
    start = dt.datetime.combine(campaign.starts_on, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(campaign.ends_on + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def scope_orders(campaign: Campaign) -> QuerySet[WorkOrder]:
    """The orders inside the campaign's scope and period (merged duplicates left out): what
    :func:`campaign_links_sync` links."""
    start, end = period_bounds(campaign)
    qs = WorkOrder.objects.filter(
        place_path__startswith=campaign.place.path,
        created_at__gte=start,
        created_at__lt=end,
        parent__isnull=True,
    )
    cats = list(campaign.categories.values_list("path", flat=True))
    if cats:
        cond = Q()
        for path in cats:
            cond |= Q(category__path__startswith=path)
        qs = qs.filter(cond)
    places = list(campaign.places.values_list("path", flat=True))
    if places:
        cond = Q()
        for path in places:
            cond |= Q(place_path__startswith=path)
        qs = qs.filter(cond)
    return qs


def _check_fields(
    *,
    place: Place,
    kind: str,
    title: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_solved: int,
    target_resolution_percent: int | None,
    categories: Sequence[Category],
    places: Sequence[Place],
    owner_organisation: Organisation,
) -> None:
    if kind not in CampaignKind.values:
        raise DomainError(
            "campaign.unknown_kind",
            _("Choose the kind of campaign."),
            fields={"kind": [_("Choose a listed kind.")]},
        )
    if not title:
        raise DomainError(
            "campaign.title_required",
            _("Give the campaign a title."),
            fields={"title": [_("Required.")]},
        )
    if ends_on < starts_on:
        raise DomainError(
            "campaign.ends_before_start",
            _("A campaign cannot end before it starts."),
            fields={"ends_on": [_("Choose a later date.")]},
        )
    if (ends_on - starts_on).days >= MAX_DAYS:
        raise DomainError(
            "campaign.too_long",
            _("A campaign lasts at most a year."),
            fields={"ends_on": [_("Choose an earlier date.")]},
        )
    if target_solved < 1:
        raise DomainError(
            "campaign.target_required",
            _("Say how many problems the campaign is to solve."),
            fields={"target_solved": [_("At least 1.")]},
        )
    if target_resolution_percent is not None and not 1 <= target_resolution_percent <= 100:
        raise DomainError(
            "campaign.rate_invalid",
            _("A resolution rate is a percentage between 1 and 100."),
            fields={"target_resolution_percent": [_("Between 1 and 100.")]},
        )
    for category in categories:
        if category.depth > 2:
            raise DomainError(
                "campaign.category_level",
                _("Scope a campaign by level-1 or level-2 categories."),
                fields={"categories": [_("Choose a broader category.")]},
            )
    for p in places:
        if not p.path.startswith(place.path):
            raise DomainError(
                "campaign.place_outside",
                _("The places of a campaign lie inside the place that runs it."),
                fields={"places": [_("Choose places inside it.")]},
            )
    if not place.path.startswith(owner_organisation.place.path) and not (
        owner_organisation.place.path.startswith(place.path)
    ):
        raise DomainError(
            "campaign.owner_elsewhere",
            _("The owning organisation works somewhere else."),
            fields={"owner_organisation": [_("Choose an organisation of this community.")]},
        )


def campaign_create(
    *,
    actor: Any,
    place: Place,
    kind: str,
    title: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_solved: int,
    owner_organisation: Organisation,
    owner: Any,
    description: str = "",
    target_resolution_percent: int | None = None,
    categories: Sequence[Category] = (),
    places: Sequence[Place] = (),
    code: str = "",
) -> Campaign:
    """A campaign in draft: nothing is linked until it starts."""
    _require(actor, MANAGE, place)
    title = (title or "").strip()[:MAX_TITLE]
    _check_fields(
        place=place,
        kind=kind,
        title=title,
        starts_on=starts_on,
        ends_on=ends_on,
        target_solved=target_solved,
        target_resolution_percent=target_resolution_percent,
        categories=categories,
        places=places,
        owner_organisation=owner_organisation,
    )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            place=place,
            kind=kind,
            title=title,
            description=(description or "").strip()[:4000],
            starts_on=starts_on,
            ends_on=ends_on,
            target_solved=target_solved,
            target_resolution_percent=target_resolution_percent,
            owner_organisation=owner_organisation,
            owner=owner,
            code=code,
            created_by=actor if _is_person(actor) else None,
        )
        if categories:
            campaign.categories.set(categories)
        if places:
            campaign.places.set(places)
        audit_record(
            actor=actor,
            action="campaign.created",
            target=campaign,
            data={
                "kind": kind,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
                "target_solved": target_solved,
            },
        )
    return campaign


def _move(campaign: Campaign, target: str) -> None:
    """Move the campaign to ``target`` with a conditional UPDATE: of two people pressing the
    same button at once exactly one wins."""
    if target not in TRANSITIONS[campaign.state]:
        raise Conflict(
            "campaign.illegal_transition",
            _("This campaign is %(state)s; it cannot do that now.")
            % {"state": CampaignState(campaign.state).label},
        )
    now = clock.now()
    fields: dict[str, Any] = {"state": target}
    if target == CampaignState.RUNNING:
        fields["started_at"] = now
    if target == CampaignState.CLOSED:
        fields["closed_at"] = now
    won = Campaign.objects.filter(pk=campaign.pk, state=campaign.state).update(**fields)
    if not won:
        raise Conflict(
            "campaign.conflict", _("Somebody changed this campaign a moment ago; reload it.")
        )
    for name, value in fields.items():
        setattr(campaign, name, value)


def campaign_start(*, actor: Any, campaign: Campaign) -> Campaign:
    """Draft → running; links the orders already in scope."""
    _require(actor, MANAGE, campaign)
    with transaction.atomic():
        _move(campaign, CampaignState.RUNNING)
        audit_record(actor=actor, action="campaign.started", target=campaign)
        _sync(campaign)
    return campaign


def campaign_close(*, actor: Any, campaign: Campaign, note: str = "") -> Campaign:
    """Running → closed, with a closing summary; the last orders in scope are linked first,
    after that the links stay as they are."""
    _require(actor, MANAGE, campaign)
    note = (note or "").strip()[:4000]
    with transaction.atomic():
        _sync(campaign)
        _move(campaign, CampaignState.CLOSED)
        campaign.closing_note = note
        campaign.save(update_fields=["closing_note", "updated_at"])
        audit_record(actor=actor, action="campaign.closed", target=campaign)
    return campaign


def _sync(campaign: Campaign) -> int:
    now = clock.now()
    new = list(
        scope_orders(campaign)
        .exclude(campaign_links__campaign=campaign)
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    CampaignOrder.objects.bulk_create(
        [
            CampaignOrder(campaign=campaign, order_id=pk, source=LinkSource.SCOPE, linked_at=now)
            for pk in new
        ],
        batch_size=500,
        ignore_conflicts=True,  # a tick and a start racing: the unique row is enough
    )
    Campaign.objects.filter(pk=campaign.pk).update(linked_at=now)
    campaign.linked_at = now
    if new:
        audit_record(
            actor="system",
            action="campaign.orders_linked",
            target=campaign,
            data={"count": len(new)},
        )
    return len(new)


def campaign_links_sync(*, campaign: Campaign) -> int:
    """Link the orders in scope that are not linked yet (and were not unlinked by hand).
    Returns how many were linked. Idempotent; only running campaigns link."""
    if campaign.state != CampaignState.RUNNING:
        return 0
    with transaction.atomic():
        return _sync(campaign)


def campaign_links_sync_all() -> int:
    """What the worker runs: every running campaign, including those whose last day has
    passed (orders registered on the last day still arrive until it is closed)."""
    total = 0
    for campaign in Campaign.objects.filter(state=CampaignState.RUNNING).select_related("place"):
        total += campaign_links_sync(campaign=campaign)
    return total


def _reason(reason: str) -> str:
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise DomainError(
            "campaign.reason_required",
            _("Say why, in a few words."),
            fields={"reason": [_("Required.")]},
        )
    return reason


def _open_for_links(campaign: Campaign) -> None:
    if campaign.state == CampaignState.CLOSED:
        raise Conflict(
            "campaign.closed", _("This campaign is closed; its orders no longer change.")
        )


def campaign_order_link(
    *, actor: Any, campaign: Campaign, order: WorkOrder, reason: str
) -> CampaignOrder:
    """Count ``order`` for the campaign although it lies outside its scope (or link it again
    after it was unlinked)."""
    _require(actor, MANAGE, campaign)
    _open_for_links(campaign)
    reason = _reason(reason)
    if not order.place_path.startswith(campaign.place.path):
        raise DomainError(
            "campaign.order_elsewhere",
            _("This order is not in the campaign's community."),
            fields={"order": [_("Choose an order of this community.")]},
        )
    now = clock.now()
    user = actor if _is_person(actor) else None
    with transaction.atomic():
        link = (
            CampaignOrder.objects.select_for_update().filter(campaign=campaign, order=order).first()
        )
        if link is not None and link.active:
            raise DomainError(
                "campaign.order_already_linked",
                _("This order already counts for the campaign."),
                fields={"order": [_("Already linked.")]},
            )
        if link is None:
            try:
                with transaction.atomic():
                    link = CampaignOrder.objects.create(
                        campaign=campaign,
                        order=order,
                        source=LinkSource.MANUAL,
                        linked_at=now,
                        linked_by=user,
                        reason=reason,
                    )
            except IntegrityError:
                raise Conflict(
                    "campaign.conflict",
                    _("Somebody changed this campaign a moment ago; reload it."),
                ) from None
        else:
            link.active = True
            link.source = LinkSource.MANUAL
            link.linked_at, link.linked_by, link.reason = now, user, reason
            link.unlinked_at, link.unlinked_by, link.unlink_reason = None, None, ""
            link.save()
        audit_record(
            actor=actor,
            action="campaign.order_linked",
            target=campaign,
            reason=reason,
            data={"order": order.pk},
        )
    return link


def campaign_order_unlink(
    *, actor: Any, campaign: Campaign, order: WorkOrder, reason: str
) -> CampaignOrder:
    """Stop counting ``order`` for the campaign; the automatic linking will not bring it back."""
    _require(actor, MANAGE, campaign)
    _open_for_links(campaign)
    reason = _reason(reason)
    with transaction.atomic():
        link = (
            CampaignOrder.objects.select_for_update()
            .filter(campaign=campaign, order=order, active=True)
            .first()
        )
        if link is None:
            raise DomainError(
                "campaign.order_not_linked",
                _("This order does not count for the campaign."),
                fields={"order": [_("Not linked.")]},
            )
        link.active = False
        link.unlinked_at = clock.now()
        link.unlinked_by = actor if _is_person(actor) else None
        link.unlink_reason = reason
        link.save(update_fields=["active", "unlinked_at", "unlinked_by", "unlink_reason"])
        audit_record(
            actor=actor,
            action="campaign.order_unlinked",
            target=campaign,
            reason=reason,
            data={"order": order.pk},
        )
    return link


# --- manual tasks -------------------------------------------------------------------------------


def campaign_task_add(
    *,
    actor: Any,
    campaign: Campaign,
    title: str,
    due_on: dt.date,
    owner: Any = None,
    owner_organisation: Organisation | None = None,
) -> CampaignTask:
    """Add a step to the campaign's checklist, with who does it and by when."""
    _require(actor, MANAGE, campaign)
    _open_for_links(campaign)
    title = (title or "").strip()[:160]
    if not title:
        raise DomainError(
            "campaign_task.title_required",
            _("Say what is to be done."),
            fields={"title": [_("Required.")]},
        )
    if owner is None and owner_organisation is None:
        raise DomainError(
            "campaign_task.owner_required",
            _("Name who does it: a person or an organisation."),
            fields={"owner": [_("Required.")]},
        )
    if not campaign.starts_on <= due_on <= campaign.ends_on:
        raise DomainError(
            "campaign_task.due_outside",
            _("A task is due within the campaign's dates."),
            fields={"due_on": [_("Choose a day of the campaign.")]},
        )
    with transaction.atomic():
        task = CampaignTask.objects.create(
            campaign=campaign,
            title=title,
            due_on=due_on,
            owner=owner,
            owner_organisation=owner_organisation,
        )
        audit_record(
            actor=actor, action="campaign.task_added", target=campaign, data={"task": task.pk}
        )
    return task


def campaign_task_done(*, actor: Any, task: CampaignTask, note: str = "") -> CampaignTask:
    """Tick a task off: its owner, a member of its organisation, or whoever manages the
    campaign."""
    campaign = task.campaign
    if _is_person(actor):
        perms = permissions_for(actor)
        own = task.owner_id == actor.pk or (
            task.owner_organisation_id is not None
            and task.owner_organisation_id in perms.organisation_ids()
        )
        if not own:
            if not perms.can("campaign.view", campaign) and not perms.can(MANAGE, campaign):
                from django.http import Http404

                raise Http404
            if not perms.can(MANAGE, campaign):
                raise PermissionDenied("auth.forbidden", _("You may not do this here."))
    if task.done_at is not None:
        raise Conflict("campaign_task.already_done", _("This task is already done."))
    _open_for_links(campaign)
    now = clock.now()
    with transaction.atomic():
        won = CampaignTask.objects.filter(pk=task.pk, done_at__isnull=True).update(
            done_at=now,
            done_by=actor if _is_person(actor) else None,
            note=(note or "").strip()[:300],
        )
        if not won:
            raise Conflict("campaign_task.already_done", _("This task is already done."))
        task.refresh_from_db()
        audit_record(
            actor=actor, action="campaign.task_done", target=campaign, data={"task": task.pk}
        )
    return task
