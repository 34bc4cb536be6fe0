"""Writes for work orders: intake from every channel and each action of the state machine.

Every service takes keyword-only arguments, checks in this order — the order is visible
(404), the state allows the action (409 ``work_order.illegal_transition``), a grant of the
``TRANSITIONS`` row applies to the actor (403), the input is valid (400) — and then, in one
transaction, claims the order (a conditional UPDATE on ``version``: of two people acting at
once exactly one wins, the other gets 409 ``work_order.conflict``), changes it, writes an
immutable ``WorkOrderEvent``, an audit record and the outbox messages.

``actor`` is a user, or a short label (``"sanan"``) for what Sanan does by itself: routing at
intake, re-handling after a bad call-back, the sweeps. Sanan may only do the table's
``system`` rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from sanan.audit.services import AuditEntry, audit_record, audit_record_many
from sanan.core import clock, crypto, hotpath
from sanan.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from sanan.core.phone import mask_mobile, normalise_mobile
from sanan.organisation.models import Organisation
from sanan.places.coords import LatLng, parse_system, to_wgs84
from sanan.places.locate import locate
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.workorders import access, counts
from sanan.workorders import attachments as photos
from sanan.workorders.catalogue import Catalogue, catalogue, clean_answers, effective_policy
from sanan.workorders.models import (
    CONTACT_PHONE_PURPOSE,
    Attachment,
    Category,
    Channel,
    ExtensionRequest,
    ExtensionStatus,
    OutboxChannel,
    OutboxMessage,
    SlaPolicy,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderFollower,
)
from sanan.workorders.routing import organisation_serves, route_for
from sanan.workorders.sla import (
    apply_stage,
    clock_add,
    clock_day_minutes,
    deadlines_for,
    escalation_time,
    local_zone,
)
from sanan.workorders.state import (
    INTAKE,
    MERGEABLE,
    STAGE_OF_STATE,
    TRANSITIONS,
    Action,
    Grant,
    Party,
    Resolution,
    ReturnReason,
    Ruling,
    Satisfaction,
    State,
    Transition,
    ensure_transition,
)

SYSTEM = "sanan"
MAX_DESCRIPTION = 2000
# Open311 GeoReport v2 lets a description run to 4,000 characters; its clients may send them.
DESCRIPTION_LIMITS: dict[str, int] = {Channel.OPEN311: 4000}
MAX_NOTE = 4000
MAX_EXTENSION_DAYS = 30
_COURTYARD_DEPTH = KIND_ORDER.index(PlaceKind.COURTYARD) + 1
_COMMUNITY_DEPTH = KIND_ORDER.index(PlaceKind.COMMUNITY) + 1
_ORDER_PLACE_KINDS = {PlaceKind.AREA, PlaceKind.COURTYARD, PlaceKind.HOUSE, PlaceKind.UNIT}


def rating_days() -> int:
    """Days a finished order waits for its rating before closing as "not rated"."""
    return int(getattr(settings, "WORK_ORDER_RATING_DAYS", 7))


def archive_days() -> int:
    """Days a rated order stays visible as "rated" before Sanan archives it."""
    return int(getattr(settings, "WORK_ORDER_ARCHIVE_DAYS", 3))


# --- plumbing -----------------------------------------------------------------------------------


def _is_system(actor: Any) -> bool:
    return actor is None or isinstance(actor, str)


def _actor_label(actor: Any) -> str:
    if _is_system(actor):
        return str(actor or SYSTEM)[:150]
    return str(actor.display_name or actor.get_username())[:150]


@dataclass(frozen=True)
class Act:
    """Who does an action, under which grant of the table, for which organisation."""

    actor: Any
    spec: Transition
    grant: Grant | None  # None: Sanan itself
    organisation_id: int | None

    @property
    def user(self) -> Any:
        return None if _is_system(self.actor) else self.actor

    @property
    def as_lead(self) -> bool:
        return self.grant is not None and self.grant.party is Party.LEAD


def _begin(actor: Any, order: WorkOrder, action: Action) -> Act:
    """404 out of sight → 409 not from this state → 403 no grant applies."""
    if not _is_system(actor) and not access.can_see(actor, order):
        raise NotFound("not_found", _("No such order."))
    spec = ensure_transition(order.state, action)
    if _is_system(actor):
        if not spec.system:
            raise PermissionDenied(
                "work_order.forbidden", _("Only a person may “%(a)s”.") % {"a": spec.label}
            )
        return Act(actor, spec, None, None)
    authorised = access.authorise(actor, order, spec)
    return Act(actor, spec, authorised.grant, authorised.organisation_id)


def _claim(
    order: WorkOrder, spec: Transition, expected_version: int | None, now: dt.datetime
) -> None:
    """Make this transaction the only one changing ``order`` now, or raise 409. The claim
    also reads the columns the board's counters count (``counts.claim``), for the flush."""
    if spec.versioned:
        expected = order.version if expected_version is None else expected_version
        if expected == order.version and counts.claim(order, version=expected, now=now):
            order.version = expected + 1
            return
    elif counts.claim(order, version=None, now=now):
        return
    current = WorkOrder.objects.filter(pk=order.pk).values_list("state", flat=True).first()
    label = State(current).label if current else _("deleted")
    raise Conflict(
        "work_order.conflict",
        _(
            "Someone else changed this order a moment ago (it is now “%(state)s”). "
            "Reload it to see what happened, then try again if it still applies."
        )
        % {"state": label},
        fields={"version": [_("The order has changed since you opened it.")]},
    )


@dataclass(frozen=True)
class Notice:
    """An outbox message to write: to a user, an organisation, or the holders of a role action
    over the order's place. ``channel`` SMS with no user goes to the order's contact phone."""

    template: str
    user_id: int | None = None
    organisation_id: int | None = None
    holders_of: str = ""
    channel: str = OutboxChannel.INBOX

    @property
    def key(self) -> str:
        if self.user_id:
            return f"u{self.user_id}"
        if self.organisation_id:
            return f"o{self.organisation_id}"
        return self.holders_of or "contact"


def _to_reporter(order: WorkOrder, template: str) -> list[Notice]:
    if order.reporter_id:
        return [Notice(template, user_id=order.reporter_id)]
    if order.contact_phone_encrypted:
        return [Notice(template, channel=OutboxChannel.SMS)]
    return []


def _to_handlers(order: WorkOrder, template: str, *, co: Iterable[int] = ()) -> list[Notice]:
    ids = [order.lead_organisation_id, *co] if order.lead_organisation_id else list(co)
    return [Notice(template, organisation_id=org) for org in dict.fromkeys(ids) if org]


def _outbox_rows(
    order: WorkOrder, event: WorkOrderEvent, notices: Iterable[Notice], now: dt.datetime
) -> list[OutboxMessage]:
    rows: dict[str, OutboxMessage] = {}
    for n in notices:
        key = f"wo:{order.pk}:e{event.pk}:{n.template}:{n.key}:{n.channel}"
        rows[key] = OutboxMessage(
            created_at=now,
            channel=n.channel,
            template=n.template,
            payload={
                "order": order.pk,
                "reference": order.reference,
                "action": event.action,
                "state": event.to_state,
                "category": order.category_id,
                "event": event.pk,
            },
            recipient_user_id=n.user_id,
            recipient_organisation_id=n.organisation_id,
            recipient_action=n.holders_of,
            recipient_place_id=order.place_id if n.holders_of else None,
            order=order,
            event=event,
            dedupe_key=key[:160],
            next_attempt_at=now,
        )
    return list(rows.values())


@dataclass
class _Entry:
    order: WorkOrder
    event: WorkOrderEvent
    audit: AuditEntry | None  # its data gets the event's id once the event is stored
    notices: list[Notice]
    followers: bool


@dataclass
class _Batch:
    """The events of one transaction with their audit records and outbox rows, written
    together: every event in one INSERT, their audit records in one append to the chain, every
    outbox row in one INSERT — instead of about six statements per event."""

    now: dt.datetime
    entries: list[_Entry] = dataclass_field(default_factory=list)

    def add(
        self,
        act: Act,
        order: WorkOrder,
        from_state: str,
        *,
        to_state: str | None = None,
        action: Action | None = None,
        reason_code: str = "",
        reason: str = "",
        public_note: str = "",
        internal_note: str = "",
        attachments: Sequence[Any] = (),
        data: dict[str, Any] | None = None,
        notices: Iterable[Notice] = (),
        audit: bool = True,
        followers: bool = True,
    ) -> WorkOrderEvent:
        name = action or act.spec.action
        target = order.state if to_state is None else to_state
        event = WorkOrderEvent(
            order=order,
            at=self.now,
            actor=act.user,
            actor_label=_actor_label(act.actor),
            acting_organisation_id=act.organisation_id,
            action=name,
            from_state=from_state,
            to_state=target,
            reason_code=reason_code,
            reason=reason,
            public_note=public_note,
            internal_note=internal_note,
            data=data or {},
            attachments=list(attachments),
        )
        entry = None
        if audit:
            entry = AuditEntry(
                actor=act.user if act.user is not None else act.actor or SYSTEM,
                action=f"work_order.{name}",
                target=order,
                reason=reason,
                data={"from": from_state, "to": target, **(data or {})},
            )
        self.entries.append(
            _Entry(
                order,
                event,
                entry,
                list(notices),
                followers and bool(public_note or target != from_state),
            )
        )
        return event

    def flush(self) -> None:
        if not self.entries:
            return
        events = [e.event for e in self.entries]
        hotpath.insert(events)
        rows: list[OutboxMessage] = []
        followed = [e for e in self.entries if e.followers]
        by_order: dict[int, list[WorkOrderFollower]] = {}
        if followed:
            for follower in WorkOrderFollower.objects.filter(
                order_id__in={e.order.pk for e in followed}
            ).order_by("pk"):
                by_order.setdefault(follower.order_id, []).append(follower)
        for e in self.entries:
            rows += _outbox_rows(e.order, e.event, e.notices, self.now)
            if e.followers:
                rows += _follower_rows(e.order, e.event, by_order.get(e.order.pk, []), self.now)
        hotpath.insert(rows)
        # The board's counters as late as possible (their rows are shared by every writer in
        # a courtyard), before the audit chain.
        counts.apply(e.order for e in self.entries)
        # The audit chain last: its head is one row every write transaction locks (on
        # PostgreSQL), so it is held from here to the commit, not across the other inserts.
        audits = []
        for e in self.entries:
            if e.audit is not None:
                assert e.audit.data is not None
                e.audit.data["event"] = e.event.pk
                audits.append(e.audit)
        audit_record_many(entries=audits)
        self.entries = []


def _record(
    act: Act,
    order: WorkOrder,
    from_state: str,
    now: dt.datetime,
    **kwargs: Any,
) -> WorkOrderEvent:
    """The event, the audit record and the outbox rows of one transition (followers of the
    order are told of its public updates: a new state or a reply). Keyword arguments as
    ``_Batch.add``."""
    batch = _Batch(now)
    event = batch.add(act, order, from_state, **kwargs)
    batch.flush()
    return event


FOLLOWED_UPDATE = "work_order.followed_update"


def _follower_rows(
    order: WorkOrder,
    event: WorkOrderEvent,
    followers: Iterable[WorkOrderFollower],
    now: dt.datetime,
) -> list[OutboxMessage]:
    """One message per follower of ``order`` for a public update: to the user's inbox, or by
    text message to the contact phone of the duplicate an account-less caller reported
    (``order`` of the message is that duplicate; ``payload["order"]`` the followed one). The
    reporter following their own order hears of it once, as the reporter."""
    rows = []
    for follower in followers:
        if follower.user_id is not None and follower.user_id == (order.reporter_id or 0):
            continue
        sms = follower.user_id is None
        recipient = f"c{follower.via_order_id}" if sms else f"u{follower.user_id}"
        channel = OutboxChannel.SMS if sms else OutboxChannel.INBOX
        rows.append(
            OutboxMessage(
                created_at=now,
                channel=channel,
                template=FOLLOWED_UPDATE,
                payload={
                    "order": order.pk,
                    "reference": order.reference,
                    "action": event.action,
                    "state": event.to_state,
                    "category": order.category_id,
                    "event": event.pk,
                    "via_order": follower.via_order_id,
                },
                recipient_user_id=follower.user_id,
                order_id=follower.via_order_id if sms else order.pk,
                event=event,
                dedupe_key=f"wo:{order.pk}:e{event.pk}:{FOLLOWED_UPDATE}:{recipient}:{channel}"[
                    :160
                ],
                next_attempt_at=now,
            )
        )
    return rows


def _enter(order: WorkOrder, state: State) -> list[str]:
    """Move ``order`` to ``state`` and, when the stage changes, start that stage's clock
    (contacted → in progress keeps the finish clock and its escalation level)."""
    order.state = state
    stage = STAGE_OF_STATE.get(state, "")
    if stage and stage == order.due_stage:
        return ["state"]
    return ["state", *apply_stage(order, stage)]


def _save(order: WorkOrder, fields: Iterable[str]) -> None:
    order.save(update_fields=sorted({*fields, "updated_at"}))


def _iso(value: dt.datetime | None) -> str | None:
    """A moment in event data, in local time (what people read in the timeline)."""
    return value.astimezone(local_zone()).isoformat() if value is not None else None


def _text(value: str, *, limit: int = MAX_NOTE) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise DomainError(
            "work_order.text_too_long",
            _("At most %(n)d characters, please.") % {"n": limit},
        )
    return value


def _withdraw_pending_extension(order: WorkOrder, now: dt.datetime) -> None:
    ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.WITHDRAWN, decided_at=now
    )


# --- assignment (dispatch, ruling, transfer, re-handling) -----------------------------------


def _organisations(value: Iterable[Organisation | int] | None) -> list[Organisation]:
    items = list(value or [])
    ids = [o.pk if isinstance(o, Organisation) else int(o) for o in items]
    found = {o.pk: o for o in Organisation.objects.filter(pk__in=ids).select_related("place")}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DomainError(
            "work_order.unknown_organisation",
            _("There is no such organisation."),
            fields={"co_handlers": [_("Choose among the listed organisations.")]},
        )
    return [found[i] for i in dict.fromkeys(ids)]


def _check_assignees(order: WorkOrder, lead: Organisation, co: list[Organisation]) -> None:
    for org, field in [(lead, "lead_organisation"), *((o, "co_handlers") for o in co)]:
        if not organisation_serves(org, order.place):
            raise DomainError(
                "work_order.organisation_elsewhere",
                _("%(org)s does not serve the place of this order.") % {"org": org.name},
                fields={field: [_("Choose an organisation that serves this place.")]},
            )


def _set_assignment(
    order: WorkOrder, lead: Organisation, policy: SlaPolicy, now: dt.datetime
) -> list[str]:
    """Give the order to ``lead`` under ``policy`` with a fresh clock from ``now``, in the
    dispatched state (not saved); the fields set."""
    deadlines = deadlines_for(policy, now)
    order.lead_organisation = lead
    order.sla_policy = policy
    order.sla_clock = policy.clock
    order.emergency = policy.emergency
    order.dispatched_at = now
    order.clock_started_at = now
    order.sign_due_at = deadlines.sign
    order.contact_due_at = deadlines.contact
    order.finish_due_at = deadlines.finish
    order.paused_minutes = 0
    order.signed_at = order.contacted_at = order.started_at = order.finished_at = None
    order.suggested_organisation = None
    fields = [
        "lead_organisation",
        "sla_policy",
        "sla_clock",
        "emergency",
        "dispatched_at",
        "clock_started_at",
        "sign_due_at",
        "contact_due_at",
        "finish_due_at",
        "paused_minutes",
        "signed_at",
        "contacted_at",
        "started_at",
        "finished_at",
        "suggested_organisation",
    ]
    return fields + _enter(order, State.DISPATCHED)


def _assign(
    order: WorkOrder, lead: Organisation, co: list[Organisation], now: dt.datetime
) -> list[str]:
    """Give the order to ``lead`` (and ``co``) and start a fresh clock from ``now``."""
    fields = _set_assignment(order, lead, effective_policy(order.category), now)
    _save(order, fields)
    order.co_handlers.set([o for o in co if o.pk != lead.pk])
    return fields


def _assignment_data(order: WorkOrder, co: list[Organisation]) -> dict[str, Any]:
    return {
        "lead": order.lead_organisation_id,
        "co": [o.pk for o in co if o.pk != order.lead_organisation_id],
        "policy": order.sla_policy.code if order.sla_policy else None,
        "sign_due_at": _iso(order.sign_due_at),
        "finish_due_at": _iso(order.finish_due_at),
    }


# --- intake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    order: WorkOrder
    created: bool  # False: the idempotency key returned the order of the first submission
    # Open orders that may report the same problem (``duplicates.DuplicateHint``), offered to
    # the person who submitted: the desk may merge them.
    duplicates: list[Any] = dataclass_field(default_factory=list)


_CHANNEL_ACTION = {
    Channel.RESIDENT_FORM: "work_order.create",
    Channel.API: "work_order.create",
    Channel.OPEN311: "work_order.create",
    Channel.DISCOVERY: "work_order.discover",
    Channel.HOTLINE: "work_order.dispatch",
    Channel.COUNCIL: "work_order.dispatch",
}
_ON_BEHALF = {Channel.HOTLINE, Channel.COUNCIL}


def _intake_roots(actor: Any, action: str) -> list[str]:
    """Where ``actor`` may report with ``action``: the whole community around each scope
    (a resident reports the broken lamp in the next courtyard, not only at home)."""
    grants = access.order_access(actor)
    if grants.superuser:
        return [""]
    return sorted({r[: _COMMUNITY_DEPTH * Place.steplen] for r in grants.place_roots(action)})


def _courtyard_of(place: Place) -> Place | None:
    if place.depth < _COURTYARD_DEPTH:
        return None
    if place.kind == PlaceKind.COURTYARD:
        return place
    prefix = place.path[: _COURTYARD_DEPTH * Place.steplen]
    read = getattr(place, "_intake_courtyard", None)  # read with it by intake_place()
    if read is not None and read.path == prefix:
        return read
    return Place.objects.get(path=prefix)


def intake_place(pk: int) -> Place | None:
    """The place of a submission and, in the same statement, the courtyard above it (which the
    order records). Runs on every submission: ``core.hotpath``."""
    if not -(2**63) <= pk < 2**63:  # no such key; the ORM finds nothing for it too
        return None
    rows = hotpath.instances(
        Place,
        "FROM {0} m WHERE m.id = %s OR m.path = (SELECT substr(path, 1, %s) FROM {0} "
        "WHERE id = %s)",
        [pk, _COURTYARD_DEPTH * Place.steplen, pk],
    )
    place = next((p for p in rows if p.pk == pk), None)
    if place is not None:
        place._intake_courtyard = next((p for p in rows if p.depth == _COURTYARD_DEPTH), None)
    return place


def _fingerprint(**parts: Any) -> str:
    canonical = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(actor: Any, key: str, fingerprint: str) -> Submitted | None:
    first = WorkOrder.objects.filter(created_by=actor, idempotency_key=key).first()
    if first is None:
        return None
    if first.request_fingerprint != fingerprint:
        raise DomainError(
            "work_order.idempotency_key_reused",
            _("This Idempotency-Key was used for a different request; use a new key."),
            status_code=422,
        )
    return Submitted(first, created=False)


def _locate(
    place: Place | None, point: LatLng | None, point_system: str
) -> tuple[Place, Decimal | None, Decimal | None, str]:
    lat = lng = None
    system = ""
    if point is not None:
        system = parse_system(point_system).value  # 400 on an unknown system
        wgs = to_wgs84(point, system)
        lat, lng = Decimal(f"{wgs.lat:.7f}"), Decimal(f"{wgs.lng:.7f}")
        if place is None:
            place = locate(point, system)
            if place is None:
                raise DomainError(
                    "work_order.outside_courtyards",
                    _(
                        "This point is not inside any courtyard. Check the map point, or "
                        "choose the courtyard from the list."
                    ),
                    fields={"point": [_("Not inside a courtyard.")]},
                )
    if place is None:
        raise DomainError(
            "work_order.place_required",
            _("Say where the problem is: choose a courtyard or house, or put a point on the map."),
            fields={"place": [_("Choose a place or a map point.")]},
        )
    if place.kind not in _ORDER_PLACE_KINDS:
        raise DomainError(
            "work_order.place_too_large",
            _("Choose a residential area, courtyard, house or flat."),
            fields={"place": [_("Too large a place.")]},
        )
    return place, lat, lng, system


def work_order_submit(
    *,
    actor: Any,
    channel: str,
    category: Category,
    description: str,
    title: str = "",
    place: Place | None = None,
    point: LatLng | None = None,
    point_system: str = "wgs84",
    anonymous: bool = False,
    reporter: Any = None,
    contact_name: str = "",
    contact_phone: str = "",
    answers: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    attachments: Sequence[Any] = (),
    duplicate_hints: bool = True,
    snapshot: Catalogue | None = None,
) -> Submitted:
    """Register an order from any channel, and dispatch it when the routing directory has a
    rule for it. A repeated ``idempotency_key`` returns the first order (``created=False``).

    ``snapshot`` is the catalogue the caller read earlier in the same request (the category
    came from it), so that its stamp is read once; by default it is read here.

    ``attachments`` are uploaded photos (file objects or bytes; checked and re-encoded by
    ``workorders.attachments`` before anything is written: a bad one is a 400 and nothing is
    stored) or ids of attachments stored earlier. With ``duplicate_hints`` the result lists
    open orders of the courtyard that may report the same problem."""
    if _is_system(actor) or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("auth.forbidden", _("Sign in to report a problem."))
    try:
        channel = Channel(channel)
    except ValueError:
        raise DomainError(
            "work_order.unknown_channel",
            _("Unknown channel."),
            fields={"channel": [_("Choose a listed channel.")]},
        ) from None
    key = (idempotency_key or "").strip()[:80]
    fingerprint = _fingerprint(
        channel=channel,
        category=category.pk,
        description=description,
        place=place.pk if place else None,
        point=[point.lat, point.lng, point_system] if point else None,
        answers=answers,
        anonymous=anonymous,
        reporter=getattr(reporter, "pk", None),
    )
    # A retry is recognised by the unique (created_by, idempotency_key) when the order is
    # written, not by a read before: the first submission costs no extra query. A retry
    # that would now fail validation (a category withdrawn since) still gets its first order.
    try:
        return _register(
            actor=actor,
            channel=channel,
            category=category,
            description=description,
            title=title,
            place=place,
            point=point,
            point_system=point_system,
            anonymous=anonymous,
            reporter=reporter,
            contact_name=contact_name,
            contact_phone=contact_phone,
            answers=answers,
            key=key,
            fingerprint=fingerprint,
            attachments=attachments,
            duplicate_hints=duplicate_hints,
            snapshot=snapshot,
        )
    except (DomainError, IntegrityError):
        if key and (replay := _replay(actor, key, fingerprint)) is not None:
            return replay
        raise


def _register(
    *,
    actor: Any,
    channel: Channel,
    category: Category,
    description: str,
    title: str,
    place: Place | None,
    point: LatLng | None,
    point_system: str,
    anonymous: bool,
    reporter: Any,
    contact_name: str,
    contact_phone: str,
    answers: dict[str, Any] | None,
    key: str,
    fingerprint: str,
    attachments: Sequence[Any],
    duplicate_hints: bool,
    snapshot: Catalogue | None,
) -> Submitted:
    action = _CHANNEL_ACTION[channel]
    roots = _intake_roots(actor, action)
    if not roots:
        raise PermissionDenied(
            "work_order.forbidden", _("Your role may not report through this channel.")
        )
    description = _text(description, limit=DESCRIPTION_LIMITS.get(channel, MAX_DESCRIPTION))
    if not description:
        raise DomainError(
            "work_order.description_required",
            _("Describe the problem in a few words."),
            fields={"description": [_("Please describe the problem.")]},
        )
    if not category.active:
        raise DomainError(
            "work_order.category_inactive",
            _("This category is no longer used; choose another."),
            fields={"category": [_("Choose another category.")]},
        )
    place, lat, lng, sent_system = _locate(place, point, point_system)
    if not any(place.path.startswith(root) for root in roots):
        raise NotFound(
            "work_order.place_out_of_scope",
            _("This place is outside the community you may report for."),
            fields={"place": [_("Choose a place in your community.")]},
        )
    if channel in _ON_BEHALF:
        if reporter is None and contact_phone:
            reporter = _user_by_phone(contact_phone)
    elif reporter is not None and reporter.pk != actor.pk:
        raise PermissionDenied(
            "work_order.forbidden", _("Only the desk may report on someone else's behalf.")
        )
    else:
        reporter = actor
    phone_encrypted = phone_masked = phone_index = ""
    if contact_phone:
        digits = normalise_mobile(contact_phone, field="contact_phone")
        phone_encrypted = crypto.encrypt(digits, purpose=CONTACT_PHONE_PURPOSE)
        phone_masked = mask_mobile(digits)
        phone_index = crypto.blind_index(digits, purpose=CONTACT_PHONE_PURPOSE)
    uploads = [a for a in attachments if photos.is_upload(a)]
    if len(uploads) > photos.MAX_PER_ORDER:
        raise DomainError(
            "attachment.too_many",
            _("At most %(n)d photos, please.") % {"n": photos.MAX_PER_ORDER},
            fields={"photos": [_("Too many photos.")]},
        )
    prepared = [photos.prepare(u) for u in uploads]  # 400 before anything is written
    attachment_ids = [a for a in attachments if not photos.is_upload(a)]
    if snapshot is None:
        snapshot = catalogue()
    cleaned = clean_answers(category, answers, snapshot=snapshot)
    policy = snapshot.policy_for(category)
    route = route_for(category=category, place=place, snapshot=snapshot)
    now = clock.now()
    order = WorkOrder(
        category=category,
        place=place,
        place_path=place.path,
        courtyard=_courtyard_of(place),
        title=_text(title, limit=80) or _title_from(description),
        description=description,
        answers=cleaned,
        latitude=lat,
        longitude=lng,
        point_system=sent_system,
        channel=channel,
        is_discovery=channel == Channel.DISCOVERY,
        anonymous=anonymous,
        reporter=reporter,
        created_by=actor,
        contact_name=_text(contact_name, limit=60),
        contact_phone_encrypted=phone_encrypted,
        contact_phone_masked=phone_masked,
        contact_phone_index=phone_index,
        idempotency_key=key,
        request_fingerprint=fingerprint if key else "",
        state=State.REGISTERED,
        emergency=policy.emergency,
        sla_policy=policy,
        sla_clock=policy.clock,
        suggested_organisation=route.lead if not route.automatic else None,
        routing_rule=route.rule,
        created_at=now,
    )
    dispatched = route.automatic and route.lead is not None
    co: list[Organisation] = []
    if dispatched:
        # Registered and dispatched by the rule in the same moment: the row is written once,
        # already dispatched (version 2, as after the claim of a dispatch), and both steps are
        # recorded as events.
        assert route.lead is not None
        _set_assignment(order, route.lead, policy, now)
        order.version = 2
        co = [o for o in route.co_handlers if o.pk != route.lead.pk]
    stored: list[photos.StoredFiles] = []
    try:
        with transaction.atomic():
            hotpath.insert([order])
            counts.created(order)
            if co:
                through = WorkOrder.co_handlers.through
                through.objects.bulk_create(
                    [through(workorder_id=order.pk, organisation_id=o.pk) for o in co]
                )
            new_files = _store_photos(order, prepared, actor, now, stored)
            notices = _to_reporter(order, "work_order.registered")
            if not route.automatic:
                notices.append(
                    Notice("work_order.awaiting_dispatch", holders_of="work_order.dispatch")
                )
            batch = _Batch(now)
            event = batch.add(
                Act(actor, INTAKE, None, None),
                order,
                "",
                to_state=State.REGISTERED,
                action=Action.SUBMIT,
                attachments=[*attachment_ids, *(a.pk for a in new_files)],
                data={
                    "channel": channel,
                    "route": route.reason,
                    "suggested": route.lead.pk if route.lead else None,
                },
                notices=notices,
                followers=False,
            )
            if dispatched:
                batch.add(
                    Act(SYSTEM, ensure_transition(State.REGISTERED, Action.DISPATCH), None, None),
                    order,
                    State.REGISTERED,
                    data={
                        **_assignment_data(order, route.co_handlers),
                        "automatic": True,
                        "rule": route.rule.pk if route.rule else None,
                    },
                    notices=[
                        *_to_handlers(order, "work_order.dispatched"),
                        *(
                            Notice("work_order.co_dispatched", organisation_id=o.pk)
                            for o in route.co_handlers
                        ),
                    ],
                    followers=False,  # a new order has none
                )
            batch.flush()
            if new_files:
                Attachment.objects.filter(pk__in=[a.pk for a in new_files]).update(event=event)
    except BaseException:
        for files in stored:
            photos.discard(files)
        raise
    _prefetched(order, "co_handlers", co)
    hints: list[Any] = []
    if duplicate_hints:
        from sanan.workorders.duplicates import work_order_duplicates

        hints = work_order_duplicates(
            user=actor,
            courtyard=order.courtyard,
            category=category,
            text=f"{order.title} {description}",
            exclude=order.pk,
        )
    return Submitted(order, created=True, duplicates=hints)


def _prefetched(order: WorkOrder, name: str, objects: list[Any]) -> None:
    """Tell ``order`` the rows of a relation it was just given (no read to list them)."""
    related = getattr(order, name).all()  # an unevaluated queryset: no query yet
    related._result_cache = list(objects)
    related._prefetch_done = True
    cache = {**getattr(order, "_prefetched_objects_cache", {}), name: related}
    order._prefetched_objects_cache = cache  # type: ignore[attr-defined]


def _store_photos(
    order: WorkOrder,
    prepared: Sequence[photos.PreparedImage],
    actor: Any,
    now: dt.datetime,
    stored: list[photos.StoredFiles],
) -> list[Attachment]:
    """Write the files and their rows; ``stored`` collects the files written so far, so the
    caller can remove them when the transaction fails."""
    rows = []
    for image in prepared:
        files = photos.store(image)
        stored.append(files)
        rows.append(
            Attachment.objects.create(
                order=order,
                file=files.file,
                thumbnail=files.thumbnail,
                original_name=image.original_name,
                content_type=image.content_type,
                thumbnail_content_type="image/jpeg",
                size=image.size,
                width=image.width,
                height=image.height,
                sha256=image.sha256,
                uploaded_by=None if _is_system(actor) else actor,
                uploaded_at=now,
            )
        )
    return rows


def _title_from(description: str) -> str:
    line = " ".join(description.split())
    return line if len(line) <= 30 else line[:29] + "…"


def _user_by_phone(phone: str) -> Any:
    from sanan.accounts.models import PHONE_PURPOSE, User

    try:
        digits = normalise_mobile(phone, field="contact_phone")
    except DomainError:
        return None
    return User.objects.filter(
        phone_index=crypto.blind_index(digits, purpose=PHONE_PURPOSE), is_active=True
    ).first()


# --- the desk ---------------------------------------------------------------------------------


def work_order_dispatch(
    *,
    actor: Any,
    order: WorkOrder,
    lead_organisation: Organisation,
    co_handlers: Iterable[Organisation | int] = (),
    reason: str = "",
    internal_note: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    """Give a registered order to a lead organisation (and co-handlers). Choosing another
    organisation than the routing directory suggests needs a reason."""
    act = _begin(actor, order, Action.DISPATCH)
    co = _organisations(co_handlers)
    _check_assignees(order, lead_organisation, co)
    reason = _text(reason)
    route = route_for(category=order.category, place=order.place)
    overridden = route.lead is not None and route.lead.pk != lead_organisation.pk
    if overridden and not reason:
        raise DomainError(
            "work_order.override_needs_reason",
            _("The routing directory suggests %(org)s. Say why you choose another.")
            % {"org": route.lead.name if route.lead else ""},
            fields={"reason": [_("A reason is required to override the suggestion.")]},
        )
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        _assign(order, lead_organisation, co, now)
        _record(
            act,
            order,
            from_state,
            now,
            reason=reason,
            internal_note=_text(internal_note),
            data={
                **_assignment_data(order, co),
                "automatic": False,
                "suggested": route.lead.pk if route.lead else None,
                "overridden": overridden,
            },
            notices=[
                *_to_handlers(order, "work_order.dispatched"),
                *(Notice("work_order.co_dispatched", organisation_id=o.pk) for o in co),
                *_to_reporter(order, "work_order.status_changed"),
            ],
        )
    return order


def work_order_rule(
    *,
    actor: Any,
    order: WorkOrder,
    decision: str,
    reason: str,
    lead_organisation: Organisation | None = None,
    co_handlers: Iterable[Organisation | int] | None = None,
    expected_version: int | None = None,
) -> WorkOrder:
    """The community's ruling 审定 on a returned order: dispatch it to another organisation,
    or send it back to the same one (which may then not return it again)."""
    act = _begin(actor, order, Action.RULE)
    try:
        decision = Ruling(decision)
    except ValueError:
        raise DomainError(
            "work_order.ruling_invalid",
            _("Rule either “dispatch to another organisation” or “send back”."),
            fields={"decision": [_("Choose a ruling.")]},
        ) from None
    reason = _text(reason)
    if not reason:
        raise DomainError(
            "work_order.ruling_needs_reason",
            _("Say why: the organisation will read it."),
            fields={"reason": [_("A reason is required.")]},
        )
    previous = order.lead_organisation
    if decision == Ruling.FORCE:
        if previous is None:  # pragma: no cover - a returned order always has had a lead
            raise DomainError("work_order.ruling_invalid", _("Nobody to send it back to."))
        lead = previous
        co = list(order.co_handlers.all()) if co_handlers is None else _organisations(co_handlers)
    else:
        if lead_organisation is None:
            raise DomainError(
                "work_order.ruling_needs_organisation",
                _("Choose the organisation that takes the order now."),
                fields={"lead_organisation": [_("Required.")]},
            )
        if previous is not None and lead_organisation.pk == previous.pk:
            raise DomainError(
                "work_order.ruling_same_organisation",
                _("That is the organisation that returned it; choose “send back” instead."),
                fields={"lead_organisation": [_("Choose another organisation.")]},
            )
        lead = lead_organisation
        co = _organisations(co_handlers)
    _check_assignees(order, lead, co)
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        order.return_locked = decision == Ruling.FORCE
        _assign(order, lead, co, now)
        _save(order, ["return_locked"])
        _record(
            act,
            order,
            from_state,
            now,
            reason_code=decision,
            reason=reason,
            data={
                **_assignment_data(order, co),
                "decision": decision,
                "previous_lead": previous.pk if previous else None,
            },
            notices=[
                *_to_handlers(order, "work_order.dispatched"),
                *(Notice("work_order.co_dispatched", organisation_id=o.pk) for o in co),
            ],
        )
    return order


def work_order_transfer(
    *,
    actor: Any,
    order: WorkOrder,
    lead_organisation: Organisation,
    reason: str,
    co_handlers: Iterable[Organisation | int] | None = None,
    expected_version: int | None = None,
) -> WorkOrder:
    """转派: the desk gives an open order to another organisation; the lead organisation may
    pass it down to one of its own units. The new organisation signs for it on a fresh clock."""
    act = _begin(actor, order, Action.TRANSFER)
    reason = _text(reason)
    if not reason:
        raise DomainError(
            "work_order.transfer_needs_reason",
            _("Say why the order moves to another organisation."),
            fields={"reason": [_("A reason is required.")]},
        )
    previous = order.lead_organisation
    if previous is not None and lead_organisation.pk == previous.pk:
        raise DomainError(
            "work_order.transfer_same_organisation",
            _("The order is already with this organisation."),
            fields={"lead_organisation": [_("Choose another organisation.")]},
        )
    if act.as_lead and not _is_unit_of(lead_organisation, previous):
        raise PermissionDenied(
            "work_order.transfer_outside_organisation",
            _("You may pass an order only to a unit of your own organisation; ask the desk."),
        )
    co = list(order.co_handlers.all()) if co_handlers is None else _organisations(co_handlers)
    _check_assignees(order, lead_organisation, co)
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        _withdraw_pending_extension(order, now)
        order.return_locked = False
        _assign(order, lead_organisation, co, now)
        _save(order, ["return_locked"])
        _record(
            act,
            order,
            from_state,
            now,
            reason=reason,
            data={
                **_assignment_data(order, co),
                "previous_lead": previous.pk if previous else None,
            },
            notices=[
                *_to_handlers(order, "work_order.dispatched"),
                *(
                    [Notice("work_order.transferred_away", organisation_id=previous.pk)]
                    if previous
                    else []
                ),
            ],
        )
    return order


def _is_unit_of(org: Organisation, parent: Organisation | None) -> bool:
    if parent is None:
        return False
    seen: set[int] = set()
    current = org.parent
    while current is not None and current.pk not in seen:
        if current.pk == parent.pk:
            return True
        seen.add(current.pk)
        current = current.parent
    return False


# --- the handling organisation ----------------------------------------------------------------


def work_order_sign(
    *, actor: Any, order: WorkOrder, note: str = "", expected_version: int | None = None
) -> WorkOrder:
    """签收: the lead organisation takes the order; the first-contact clock runs."""
    act = _begin(actor, order, Action.SIGN)
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        due = order.sign_due_at
        order.signed_at = now
        _save(order, ["signed_at", *_enter(order, State.SIGNED)])
        _record(
            act,
            order,
            from_state,
            now,
            internal_note=_text(note),
            data={"due_at": _iso(due), "on_time": due is None or now <= due},
            notices=_to_reporter(order, "work_order.status_changed"),
        )
    return order


def work_order_contact(
    *,
    actor: Any,
    order: WorkOrder,
    public_note: str = "",
    internal_note: str = "",
    method: str = "phone",
    expected_version: int | None = None,
) -> WorkOrder:
    """先行联系: the handler has reached the reporter (or visited the place)."""
    act = _begin(actor, order, Action.CONTACT)
    if method not in ("phone", "visit", "message"):
        raise DomainError(
            "work_order.contact_method",
            _("Say how you made contact: phone, visit or message."),
            fields={"method": [_("Choose phone, visit or message.")]},
        )
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        due = order.contact_due_at
        order.contacted_at = now
        _save(order, ["contacted_at", *_enter(order, State.CONTACTED)])
        _record(
            act,
            order,
            from_state,
            now,
            public_note=_text(public_note),
            internal_note=_text(internal_note),
            data={"method": method, "due_at": _iso(due), "on_time": due is None or now <= due},
            notices=_to_reporter(order, "work_order.contacted"),
        )
    return order


def work_order_start(
    *, actor: Any, order: WorkOrder, public_note: str = "", expected_version: int | None = None
) -> WorkOrder:
    act = _begin(actor, order, Action.START)
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        order.started_at = now
        _save(order, ["started_at", *_enter(order, State.IN_PROGRESS)])
        _record(
            act,
            order,
            from_state,
            now,
            public_note=_text(public_note),
            notices=_to_reporter(order, "work_order.status_changed") if public_note else [],
        )
    return order


def work_order_finish(
    *,
    actor: Any,
    order: WorkOrder,
    public_note: str,
    internal_note: str = "",
    attachments: Sequence[Any] = (),
    expected_version: int | None = None,
) -> WorkOrder:
    """办结: the handler says what was done (the reporter reads it) and the rating window opens."""
    act = _begin(actor, order, Action.FINISH)
    public_note = _text(public_note)
    if not public_note:
        raise DomainError(
            "work_order.finish_needs_reply",
            _("Tell the reporter what was done: the reply is shown to them."),
            fields={"public_note": [_("A reply is required.")]},
        )
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        due = order.finish_due_at
        _withdraw_pending_extension(order, now)
        order.finished_at = now
        _save(order, ["finished_at", *_enter(order, State.FINISHED)])
        _record(
            act,
            order,
            from_state,
            now,
            public_note=public_note,
            internal_note=_text(internal_note),
            attachments=attachments,
            data={"due_at": _iso(due), "on_time": due is None or now <= due},
            notices=_to_reporter(order, "work_order.finished_please_rate"),
        )
    return order


def work_order_return(
    *,
    actor: Any,
    order: WorkOrder,
    reason_code: str,
    reason: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    """退单: the lead organisation says the order is not theirs, with a reason code; the
    community rules on it."""
    act = _begin(actor, order, Action.RETURN)
    if reason_code not in ReturnReason.values:
        raise DomainError(
            "work_order.return_needs_reason",
            _("Choose why you return the order: wrong place, unclear ownership or overlapping "
              "mandates."),
            fields={"reason_code": [_("Choose a reason.")]},
        )  # fmt: skip
    if order.return_locked:
        raise Conflict(
            "work_order.return_refused",
            _("The community has ruled that this order is yours; it cannot be returned again."),
        )
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        _withdraw_pending_extension(order, now)
        _save(order, _enter(order, State.RETURNED))
        _record(
            act,
            order,
            from_state,
            now,
            reason_code=reason_code,
            reason=_text(reason),
            data={"returned_by": order.lead_organisation_id},
            notices=[Notice("work_order.returned", holders_of="work_order.rule")],
        )
    return order


def work_order_request_extension(
    *,
    actor: Any,
    order: WorkOrder,
    days: int,
    reason: str,
    expected_version: int | None = None,
) -> ExtensionRequest:
    """延期申请, before the finish deadline, for a number of working days."""
    act = _begin(actor, order, Action.REQUEST_EXTENSION)
    reason = _text(reason)
    if not reason:
        raise DomainError(
            "work_order.extension_needs_reason",
            _("Say why more time is needed."),
            fields={"reason": [_("A reason is required.")]},
        )
    if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise DomainError(
            "work_order.extension_days",
            _("Ask for 1 to %(n)d working days.") % {"n": MAX_EXTENSION_DAYS},
            fields={"days": [_("Between 1 and %(n)d.") % {"n": MAX_EXTENSION_DAYS}]},
        )
    now = clock.now()
    if order.finish_due_at is not None and now > order.finish_due_at:
        raise Conflict(
            "work_order.extension_too_late",
            _("The deadline has passed: an extension must be asked for before it."),
        )
    if ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING).exists():
        raise Conflict(
            "work_order.extension_pending", _("An extension request is already waiting.")
        )
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        extension = ExtensionRequest.objects.create(
            order=order, requested_by=act.user, requested_at=now, days=days, reason=reason
        )
        _record(
            act,
            order,
            order.state,
            now,
            reason=reason,
            data={"extension": extension.pk, "days": days},
            notices=[Notice("work_order.extension_requested", holders_of="work_order.dispatch")],
        )
    return extension


def work_order_decide_extension(
    *,
    actor: Any,
    order: WorkOrder,
    approve: bool,
    granted_days: int | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> ExtensionRequest:
    """Approve (pausing the finish clock for the granted working days) or refuse."""
    act = _begin(actor, order, Action.DECIDE_EXTENSION)
    extension = ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING).first()
    if extension is None:
        raise Conflict(
            "work_order.no_pending_extension", _("No extension request is waiting here.")
        )
    granted = extension.days if granted_days is None else granted_days
    if approve and (not isinstance(granted, int) or not 1 <= granted <= extension.days):
        raise DomainError(
            "work_order.extension_days",
            _("Grant between 1 and %(n)d working days.") % {"n": extension.days},
            fields={"granted_days": [_("Between 1 and %(n)d.") % {"n": extension.days}]},
        )
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        decided = ExtensionRequest.objects.filter(
            pk=extension.pk, status=ExtensionStatus.PENDING
        ).update(
            status=ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED,
            decided_by=act.user,
            decided_at=now,
            granted_days=granted if approve else 0,
            decision_note=_text(note),
        )
        if decided != 1:  # pragma: no cover - the version claim already serialised deciders
            raise Conflict("work_order.conflict", _("Someone else decided a moment ago."))
        data: dict[str, Any] = {"extension": extension.pk, "approved": approve}
        if approve:
            minutes = granted * clock_day_minutes(order.sla_clock)
            previous = order.finish_due_at
            if previous is not None:
                order.finish_due_at = clock_add(order.sla_clock, previous, minutes)
            order.paused_minutes += minutes
            fields = ["finish_due_at", "paused_minutes"]
            if order.due_stage == "finish":
                order.due_at = order.finish_due_at
                order.escalation_at = escalation_time(order, order.escalation_level)
                fields += ["due_at", "escalation_at"]
            _save(order, fields)
            data |= {
                "granted_days": granted,
                "paused_minutes": minutes,
                "previous_due_at": _iso(previous),
                "finish_due_at": _iso(order.finish_due_at),
            }
        _record(
            act,
            order,
            order.state,
            now,
            reason=_text(note),
            reason_code="approved" if approve else "refused",
            data=data,
            notices=_to_handlers(order, "work_order.extension_decided"),
        )
    extension.refresh_from_db()
    return extension


# --- supervision ---------------------------------------------------------------------------------


def work_order_chase(*, actor: Any, order: WorkOrder, note: str = "") -> WorkOrder:
    """催办: remind the handling organisation (a flag and an event; the state stays)."""
    act = _begin(actor, order, Action.CHASE)
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, None, now)
        WorkOrder.objects.filter(pk=order.pk).update(chase_count=F("chase_count") + 1)
        order.chase_count += 1
        _record(
            act,
            order,
            order.state,
            now,
            internal_note=_text(note),
            data={"chase_count": order.chase_count, "automatic": False},
            notices=_to_handlers(order, "work_order.chased"),
        )
    return order


def work_order_supervise(*, actor: Any, order: WorkOrder, note: str = "") -> WorkOrder:
    """督办: raise the order's supervision level; the leaders are told too."""
    act = _begin(actor, order, Action.SUPERVISE)
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, None, now)
        WorkOrder.objects.filter(pk=order.pk).update(supervision_level=F("supervision_level") + 1)
        order.supervision_level += 1
        _record(
            act,
            order,
            order.state,
            now,
            internal_note=_text(note),
            data={"supervision_level": order.supervision_level, "automatic": False},
            notices=[
                *_to_handlers(order, "work_order.supervised"),
                Notice("work_order.supervised", holders_of="work_order.supervise"),
            ],
        )
    return order


# --- rating and closing ------------------------------------------------------------------------


def is_bad_callback(resolution: str, satisfaction: str) -> bool:
    return resolution == Resolution.NOT_SOLVED or satisfaction == Satisfaction.DISSATISFIED


def work_order_callback(
    *,
    actor: Any,
    order: WorkOrder,
    resolution: str,
    satisfaction: str,
    comment: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    """回访: the reporter (or the desk on the phone) says whether it was solved and how
    satisfied they are. "Not solved" or "dissatisfied" re-opens the order to the same
    organisation (重办) and tells the supervisors."""
    act = _begin(actor, order, Action.CALLBACK)
    problems: dict[str, list[Any]] = {}
    if resolution not in Resolution.values:
        problems["resolution"] = [_("Choose solved, partly solved or not solved.")]
    if satisfaction not in Satisfaction.values or satisfaction == Satisfaction.NOT_RATED:
        problems["satisfaction"] = [_("Choose satisfied, fairly satisfied or dissatisfied.")]
    if problems:
        raise DomainError(
            "work_order.rating_invalid", _("Please answer both questions."), fields=problems
        )
    now = clock.now()
    bad = is_bad_callback(resolution, satisfaction)
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        order.resolution = resolution
        order.satisfaction = satisfaction
        order.rated_at = now
        _save(order, ["resolution", "satisfaction", "rated_at", *_enter(order, State.CALLBACK)])
        _record(
            act,
            order,
            from_state,
            now,
            public_note=_text(comment),
            data={
                "resolution": resolution,
                "satisfaction": satisfaction,
                "by_reporter": act.grant is not None and act.grant.party is Party.REPORTER,
            },
            notices=_to_handlers(order, "work_order.rated"),
        )
        if bad:
            _rehandle(
                Act(SYSTEM, ensure_transition(State.CALLBACK, Action.REHANDLE), None, None),
                order,
                now,
                reason_code="callback",
                reason="",
            )
    return order


def _rehandle(
    act: Act,
    order: WorkOrder,
    now: dt.datetime,
    *,
    reason_code: str,
    reason: str,
    expected_version: int | None = None,
) -> None:
    _claim(order, act.spec, expected_version, now)
    from_state = order.state
    lead = order.lead_organisation
    if lead is None:  # pragma: no cover - a finished order always had a lead
        raise DomainError("work_order.no_lead", _("Nobody handled this order."))
    co = list(order.co_handlers.all())
    order.rehandle_count += 1
    order.resolution = order.satisfaction = ""
    order.return_locked = True  # it was theirs; re-handling is not a new assignment
    _assign(order, lead, co, now)
    _save(order, ["rehandle_count", "resolution", "satisfaction", "return_locked"])
    _record(
        act,
        order,
        from_state,
        now,
        reason_code=reason_code,
        reason=reason,
        data={**_assignment_data(order, co), "rehandle_count": order.rehandle_count},
        notices=[
            *_to_handlers(order, "work_order.rehandle", co=(o.pk for o in co)),
            Notice("work_order.rehandle", holders_of="work_order.supervise"),
            *_to_reporter(order, "work_order.status_changed"),
        ],
    )


def work_order_rehandle(
    *, actor: Any, order: WorkOrder, reason: str, expected_version: int | None = None
) -> WorkOrder:
    """重办 by the desk: re-open a rated order to the same organisation, with a reason."""
    act = _begin(actor, order, Action.REHANDLE)
    reason = _text(reason)
    if not reason and not _is_system(actor):
        raise DomainError(
            "work_order.rehandle_needs_reason",
            _("Say why the order must be handled again."),
            fields={"reason": [_("A reason is required.")]},
        )
    now = clock.now()
    with transaction.atomic():
        _rehandle(
            act, order, now, reason_code="desk", reason=reason, expected_version=expected_version
        )
    return order


def work_order_archive(
    *, actor: Any, order: WorkOrder, note: str = "", expected_version: int | None = None
) -> WorkOrder:
    act = _begin(actor, order, Action.ARCHIVE)
    now = clock.now()
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        order.archived_at = now
        _save(order, ["archived_at", *_enter(order, State.ARCHIVED)])
        _record(act, order, from_state, now, internal_note=_text(note))
    return order


def work_order_close_unrated(
    *, actor: Any, order: WorkOrder, expected_version: int | None = None
) -> WorkOrder:
    """Close a finished order nobody rated within the rating window: "not rated", never
    "satisfied"."""
    act = _begin(actor, order, Action.CLOSE_UNRATED)
    now = clock.now()
    if order.finished_at is not None and now < order.finished_at + dt.timedelta(days=rating_days()):
        raise Conflict(
            "work_order.rating_window_open",
            _("The reporter may still rate this order (for %(n)d days after it was finished).")
            % {"n": rating_days()},
        )
    with transaction.atomic():
        _claim(order, act.spec, expected_version, now)
        from_state = order.state
        order.satisfaction = Satisfaction.NOT_RATED
        order.resolution = ""
        order.archived_at = now
        _save(order, ["satisfaction", "resolution", "archived_at", *_enter(order, State.ARCHIVED)])
        _record(act, order, from_state, now, data={"satisfaction": Satisfaction.NOT_RATED})
    return order


def work_order_note(
    *,
    actor: Any,
    order: WorkOrder,
    public_note: str = "",
    internal_note: str = "",
    attachments: Sequence[Any] = (),
) -> WorkOrderEvent:
    """A reply to the reporter and/or an internal note, without changing the state. The
    reporter's own notes are always public (they go to the handlers)."""
    act = _begin(actor, order, Action.NOTE)
    public_note, internal_note = _text(public_note), _text(internal_note)
    reporter = act.grant is not None and act.grant.party is Party.REPORTER
    if reporter and internal_note:
        raise DomainError(
            "work_order.note_internal_forbidden",
            _("Your note is sent to the people handling the order; write it as a public note."),
            fields={"internal_note": [_("Not available to you.")]},
        )
    if not public_note and not internal_note and not attachments:
        raise DomainError(
            "work_order.note_empty",
            _("Write a note first."),
            fields={"public_note": [_("Write something.")]},
        )
    now = clock.now()
    notices: list[Notice] = []
    if reporter:
        notices = _to_handlers(order, "work_order.reporter_note")
    elif public_note:
        notices = _to_reporter(order, "work_order.reply")
    with transaction.atomic():
        _claim(order, act.spec, None, now)
        return _record(
            act,
            order,
            order.state,
            now,
            public_note=public_note,
            internal_note=internal_note,
            attachments=attachments,
            notices=notices,
        )


# --- photos ------------------------------------------------------------------------------------

MAX_ATTACHMENTS_PER_ORDER = 30


def work_order_attach(
    *,
    actor: Any,
    order: WorkOrder,
    upload: Any,
    name: str = "",
    public_note: str = "",
) -> Attachment:
    """Add a photo to an order, as a note with an attachment: whoever may add a note (the
    reporter, the desk, the handling organisations) may add a photo. The photo is checked by
    its content and re-encoded first (400 ``attachment.*``); a failure anywhere after the
    files are written removes them again, so nothing is left behind."""
    act = _begin(actor, order, Action.NOTE)
    reporter = act.grant is not None and act.grant.party is Party.REPORTER
    public_note = _text(public_note)
    if Attachment.objects.filter(order=order).count() >= MAX_ATTACHMENTS_PER_ORDER:
        raise Conflict(
            "attachment.too_many",
            _("This order has %(n)d photos already; no more can be added.")
            % {"n": MAX_ATTACHMENTS_PER_ORDER},
        )
    prepared = photos.prepare(upload, name=name)
    now = clock.now()
    stored: list[photos.StoredFiles] = []
    notices: list[Notice] = []
    if reporter:
        notices = _to_handlers(order, "work_order.reporter_note")
    elif public_note:
        notices = _to_reporter(order, "work_order.reply")
    try:
        with transaction.atomic():
            _claim(order, act.spec, None, now)
            (row,) = _store_photos(order, [prepared], actor, now, stored)
            event = _record(
                act,
                order,
                order.state,
                now,
                action=Action.NOTE,
                public_note=public_note,
                attachments=[row.pk],
                data={"attachment": row.pk, "content_type": row.content_type},
                notices=notices,
            )
            Attachment.objects.filter(pk=row.pk).update(event=event)
            row.event = event
    except BaseException:
        for files in stored:
            photos.discard(files)
        raise
    return row


# --- duplicates: merging and following ----------------------------------------------------------


def work_order_merge(
    *,
    actor: Any,
    parent: WorkOrder,
    children: Sequence[WorkOrder],
    reason: str = "",
) -> WorkOrder:
    """合并: close duplicates into ``parent``. Each child must be open and merged by the desk
    (``work_order.dispatch`` over it, the ``merge`` row of ``TRANSITIONS``); it is archived with
    ``parent`` set, its own followers and merged children move to the parent, and its
    reporter (or, for a caller without an account, its contact phone) follows the parent."""
    spec = TRANSITIONS[Action.MERGE]
    if _is_system(actor) or not access.can_see(actor, parent):
        raise NotFound("not_found", _("No such order."))
    access.authorise(actor, parent, spec)  # the desk over the parent too (403)
    if parent.state not in MERGEABLE or parent.parent_id is not None:
        raise Conflict(
            "work_order.merge_parent_closed",
            _("Orders can only be merged into an order that is still open."),
        )
    unique = list({c.pk: c for c in children}.values())
    if not unique:
        raise DomainError(
            "work_order.merge_needs_children",
            _("Choose the orders to merge into this one."),
            fields={"children": [_("Choose at least one order.")]},
        )
    if any(c.pk == parent.pk for c in unique):
        raise DomainError(
            "work_order.merge_into_itself",
            _("An order cannot be merged into itself."),
            fields={"children": [_("Remove this order from the list.")]},
        )
    acts = [_begin(actor, child, Action.MERGE) for child in unique]  # 404 → 409 → 403
    reason = _text(reason)
    now = clock.now()
    with transaction.atomic():
        for act, child in zip(acts, unique, strict=True):
            _claim(child, act.spec, None, now)
            from_state = child.state
            _withdraw_pending_extension(child, now)
            WorkOrder.objects.filter(parent=child).update(parent=parent)
            _move_followers(child, parent, now)
            child.parent = parent
            child.archived_at = now
            _save(child, ["parent", "archived_at", *_enter(child, State.ARCHIVED)])
            _record(
                act,
                child,
                from_state,
                now,
                reason=reason,
                data={"parent": parent.pk, "parent_reference": parent.reference},
                notices=[
                    *_to_reporter(child, "work_order.merged"),
                    *_to_handlers(child, "work_order.merged"),
                ],
                followers=False,
            )
        note_act = Act(actor, TRANSITIONS[Action.NOTE], DESK_GRANT, None)
        _claim(parent, note_act.spec, None, now)
        _record(
            note_act,
            parent,
            parent.state,
            now,
            action=Action.NOTE,
            reason=reason,
            internal_note=_text(
                str(_("Merged in: %(refs)s")) % {"refs": ", ".join(c.reference for c in unique)}
            ),
            data={"merged": [c.pk for c in unique]},
            followers=False,
        )
    return parent


DESK_GRANT = Grant("work_order.dispatch", Party.SCOPE)


def _move_followers(child: WorkOrder, parent: WorkOrder, now: dt.datetime) -> None:
    """The child's reporter and followers follow the parent (once each)."""
    existing = set(
        WorkOrderFollower.objects.filter(order=parent, user__isnull=False).values_list(
            "user_id", flat=True
        )
    )
    existing.add(parent.reporter_id or 0)
    rows: list[WorkOrderFollower] = []
    if child.reporter_id and child.reporter_id not in existing:
        existing.add(child.reporter_id)
        rows.append(
            WorkOrderFollower(
                order=parent, user_id=child.reporter_id, reason="merged", created_at=now
            )
        )
    elif not child.reporter_id and child.contact_phone_encrypted:
        rows.append(
            WorkOrderFollower(order=parent, via_order=child, reason="merged", created_at=now)
        )
    for follower in WorkOrderFollower.objects.filter(order=child):
        if follower.user_id is None or follower.user_id not in existing:
            if follower.user_id:
                existing.add(follower.user_id)
            rows.append(
                WorkOrderFollower(
                    order=parent,
                    user_id=follower.user_id,
                    via_order_id=follower.via_order_id,
                    reason=follower.reason,
                    created_at=now,
                )
            )
    WorkOrderFollower.objects.filter(order=child).delete()
    WorkOrderFollower.objects.bulk_create(rows, ignore_conflicts=True)


def work_order_follow(*, actor: Any, order: WorkOrder) -> WorkOrderFollower:
    """Follow an order one may see: its public updates reach one's inbox. Idempotent."""
    if _is_system(actor) or not access.can_see(actor, order):
        raise NotFound("not_found", _("No such order."))
    if order.state == State.ARCHIVED:
        raise Conflict("work_order.follow_closed", _("This order is closed; nothing will follow."))
    now = clock.now()
    with transaction.atomic():
        follower, created = WorkOrderFollower.objects.get_or_create(
            order=order, user=actor, defaults={"reason": "chosen", "created_at": now}
        )
        if created:
            audit_record(actor=actor, action="work_order.followed", target=order)
    return follower


def work_order_unfollow(*, actor: Any, order: WorkOrder) -> bool:
    """Stop following; ``False`` when one did not follow it."""
    if _is_system(actor) or not access.can_see(actor, order):
        raise NotFound("not_found", _("No such order."))
    with transaction.atomic():
        deleted, _rows = WorkOrderFollower.objects.filter(order=order, user=actor).delete()
        if deleted:
            audit_record(actor=actor, action="work_order.unfollowed", target=order)
    return bool(deleted)
