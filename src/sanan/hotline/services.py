"""Writes of the hotline desk: calls, call-backs and the knowledge base.

Every write is one transaction with its audit record. Free texts (summaries, answers,
call-back notes) have phone and ID numbers masked before they are stored
(``open311.privacy.mask_personal``, the masking Sanan shows everywhere); the caller's number
is kept only encrypted, with a keyed blind index and a mask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from sanan.accounts.permissions import permissions_for
from sanan.audit.services import AuditEntry, audit_record, audit_record_many
from sanan.core import clock, crypto
from sanan.core.errors import DomainError, PermissionDenied
from sanan.core.privacy import mask_personal
from sanan.core.validators import mask_phone, validate_phone
from sanan.hotline.models import (
    CALLER_PHONE_PURPOSE,
    MANAGE_KNOWLEDGE,
    TAKE,
    CallRecord,
    CallType,
    KnowledgeEntry,
    Outcome,
)
from sanan.places.models import KIND_ORDER, Place, PlaceKind

MAX_SUMMARY = 2000
MAX_ANSWER = 4000
MAX_DURATION = 6 * 3600
_COURTYARD_LEN = (KIND_ORDER.index(PlaceKind.COURTYARD) + 1) * Place.steplen


def _is_person(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _require(actor: Any, action: str, obj: Any) -> None:
    """404 out of sight, 403 in sight but not allowed; Sanan itself (the demo) may do all."""
    if _is_person(actor):
        permissions_for(actor).require(action, obj)


def courtyard_of(place: Place | None) -> Place | None:
    """The courtyard ``place`` lies in (itself when it is one), or None above courtyards."""
    if place is None or len(place.path) < _COURTYARD_LEN:
        return None
    if place.kind == PlaceKind.COURTYARD:
        return place
    return Place.objects.filter(path=place.path[:_COURTYARD_LEN]).first()


def mask_text(text: str | None, *, limit: int) -> str:
    """The stripped text, cut to ``limit``, with phone, ID and plate numbers masked."""
    return mask_personal((text or "").strip()[:limit]).strip()


@dataclass(frozen=True)
class CallerPhone:
    encrypted: str = ""
    masked: str = ""
    index: str = ""
    mobile: str = ""  # normalised mobile for a work order's contact phone, "" for a landline

    @classmethod
    def of(cls, phone: str) -> CallerPhone:
        if not (phone or "").strip():
            return cls()
        number, kind = validate_phone(phone, field="phone")
        return cls(
            encrypted=crypto.encrypt(number, purpose=CALLER_PHONE_PURPOSE),
            masked=mask_phone(number),
            index=caller_phone_index(number),
            mobile=number if kind == "mobile" else "",
        )


def caller_phone_index(number: str) -> str:
    """Blind index of a normalised caller number (as ``validate_phone`` returns it)."""
    return crypto.blind_index(number, purpose=CALLER_PHONE_PURPOSE)


def _check_call(
    *,
    call_type: str,
    outcome: str,
    summary: str,
    duration_seconds: int,
    knowledge: KnowledgeEntry | None,
    category: Any,
    callback_due_at: dt.datetime | None,
) -> None:
    if call_type not in CallType.values:
        raise DomainError(
            "call.unknown_type",
            _("Choose the kind of call."),
            fields={"call_type": [_("Choose a listed kind of call.")]},
        )
    if outcome not in Outcome.values:
        raise DomainError(
            "call.unknown_outcome",
            _("Choose how the call ended."),
            fields={"outcome": [_("Choose a listed outcome.")]},
        )
    if not summary:
        raise DomainError(
            "call.summary_required",
            _("Note in a few words what the caller said."),
            fields={"summary": [_("Required.")]},
        )
    if not 0 <= duration_seconds <= MAX_DURATION:
        raise DomainError(
            "call.duration_invalid",
            _("A call lasts between 0 seconds and 6 hours."),
            fields={"duration_seconds": [_("Give the length of the call in seconds.")]},
        )
    if outcome == Outcome.ANSWERED and knowledge is None:
        raise DomainError(
            "call.knowledge_required",
            _("A call answered on the spot names the knowledge-base answer given."),
            fields={"knowledge": [_("Choose the answer you gave.")]},
        )
    if knowledge is not None and not knowledge.active:
        raise DomainError(
            "call.knowledge_retired",
            _("This answer has been retired; choose one in use."),
            fields={"knowledge": [_("Choose an answer in use.")]},
        )
    if outcome == Outcome.WORK_ORDER and category is None:
        raise DomainError(
            "call.category_required",
            _("A work order needs the kind of problem."),
            fields={"category": [_("Choose a category.")]},
        )
    if outcome == Outcome.CALLBACK and callback_due_at is None:
        raise DomainError(
            "call.callback_due_required",
            _("Say by when the caller is to be called back."),
            fields={"callback_due_at": [_("Required.")]},
        )


def call_record(
    *,
    actor: Any,
    call_type: str,
    summary: str,
    outcome: str,
    place: Place,
    phone: str = "",
    resident: Any = None,
    category: Any = None,
    knowledge: KnowledgeEntry | None = None,
    started_at: dt.datetime | None = None,
    duration_seconds: int = 0,
    callback_due_at: dt.datetime | None = None,
    order_place: Place | None = None,
    idempotency_key: str = "",
    contact_name: str = "",
    answers: dict[str, Any] | None = None,
) -> CallRecord:
    """Record a call taken at the desk over ``place`` (a courtyard, or the community when the
    caller's courtyard is not known).

    ``answered`` names the knowledge entry given (resolved at first contact); ``work_order``
    registers an order through ``workorders.services.work_order_submit`` (channel hotline,
    the summary as description, the caller's mobile as contact phone, at ``order_place`` — a
    house — or the courtyard) in the same transaction: if the order is refused nothing is
    written; the call-taker acts for the caller: ``contact_name`` (or the recognised
    resident's name) and the answers to the category's questions go on the order.
    ``callback`` needs ``callback_due_at``."""
    if not _is_person(actor):
        raise PermissionDenied("auth.forbidden", _("Calls are recorded by the call-taker."))
    _require(actor, TAKE, place)
    summary = mask_text(summary, limit=MAX_SUMMARY)
    now = clock.now()
    started_at = started_at or now
    if started_at > now + dt.timedelta(minutes=5):
        raise DomainError(
            "call.in_future",
            _("A call cannot start in the future."),
            fields={"started_at": [_("Choose a time that has passed.")]},
        )
    _check_call(
        call_type=call_type,
        outcome=outcome,
        summary=summary,
        duration_seconds=duration_seconds,
        knowledge=knowledge,
        category=category,
        callback_due_at=callback_due_at,
    )
    if knowledge is not None:
        _require(actor, "hotline.view", knowledge)
    if resident is not None and not permissions_for(actor).can("resident.view", resident):
        raise DomainError(
            "call.resident_out_of_scope",
            _("This resident is not in your registry."),
            fields={"resident": [_("Look the caller up by their number.")]},
        )
    courtyard = courtyard_of(place)
    if order_place is not None:
        _require(actor, TAKE, order_place)
        if courtyard is None or not order_place.path.startswith(courtyard.path):
            raise DomainError(
                "call.house_elsewhere",
                _("That building is not in the chosen courtyard."),
                fields={"house": [_("Choose a building of the courtyard, or none.")]},
            )
    caller = CallerPhone.of(phone)
    key = (idempotency_key or "").strip()[:64]
    if key and (found := CallRecord.objects.filter(code=key, taker=actor).first()) is not None:
        return found
    with transaction.atomic():
        order = None
        if outcome == Outcome.WORK_ORDER:
            from sanan.workorders.models import Channel
            from sanan.workorders.services import work_order_submit

            target = order_place or courtyard or place
            order = work_order_submit(
                actor=actor,
                channel=Channel.HOTLINE,
                category=category,
                description=summary,
                place=target,
                contact_name=(contact_name or "").strip()[:60]
                or (resident.name if resident is not None else ""),
                contact_phone=caller.mobile,
                answers=answers,
                idempotency_key=f"hotline-{key}" if key else None,
                duplicate_hints=False,
            ).order
        call = CallRecord.objects.create(
            place=place,
            courtyard=courtyard,
            started_at=started_at,
            duration_seconds=duration_seconds,
            call_type=call_type,
            category=category,
            summary=summary,
            taker=actor,
            resident=resident,
            caller_phone_encrypted=caller.encrypted,
            caller_phone_masked=caller.masked,
            caller_phone_index=caller.index,
            outcome=outcome,
            resolved_first_contact=outcome == Outcome.ANSWERED,
            knowledge=knowledge if outcome == Outcome.ANSWERED else None,
            work_order=order,
            callback_due_at=callback_due_at if outcome == Outcome.CALLBACK else None,
            code=key,
        )
        audit_record(
            actor=actor,
            action="call.recorded",
            target=call,
            data={
                "type": call_type,
                "outcome": outcome,
                "knowledge": getattr(knowledge, "pk", None),
                "work_order": getattr(order, "pk", None),
            },
        )
    return call


def call_callback_done(*, actor: Any, call: CallRecord, note: str = "") -> CallRecord:
    """The caller has been called back: the call-back leaves the list of those due."""
    _require(actor, TAKE, call)
    if not call.callback_open:
        raise DomainError(
            "call.no_callback_due",
            _("No call-back is due for this call."),
        )
    with transaction.atomic():
        call.callback_done_at = clock.now()
        call.callback_note = mask_text(note, limit=MAX_SUMMARY)
        call.save(update_fields=["callback_done_at", "callback_note"])
        audit_record(actor=actor, action="call.called_back", target=call)
    return call


@dataclass(frozen=True)
class CallInput:
    """One call of a bulk import (the demo): already decided, already scoped."""

    place: Place
    courtyard: Place | None
    started_at: dt.datetime
    duration_seconds: int
    call_type: str
    summary: str
    taker: Any
    outcome: str
    code: str
    category: Any = None
    resident: Any = None
    phone: str = ""
    knowledge: KnowledgeEntry | None = None
    work_order: Any = None
    callback_due_at: dt.datetime | None = None
    callback_done_at: dt.datetime | None = None


def call_bulk_record(*, actor: Any, calls: Sequence[CallInput]) -> int:
    """Record many past calls at once (the demo's simulated year): one insert, one audit
    insert; calls whose ``code`` is already stored are skipped, so it can be run again.
    Sanan itself only: people record calls one by one at the desk."""
    if _is_person(actor):
        raise PermissionDenied("auth.forbidden", _("Calls are recorded one by one at the desk."))
    codes = [c.code for c in calls]
    stored = set(CallRecord.objects.filter(code__in=codes).values_list("code", flat=True))
    rows = []
    for c in calls:
        if c.code in stored or not c.code:
            continue
        caller = CallerPhone.of(c.phone)
        rows.append(
            CallRecord(
                place=c.place,
                courtyard=c.courtyard,
                started_at=c.started_at,
                duration_seconds=c.duration_seconds,
                call_type=c.call_type,
                category=c.category,
                summary=mask_text(c.summary, limit=MAX_SUMMARY),
                taker=c.taker,
                resident=c.resident,
                caller_phone_encrypted=caller.encrypted,
                caller_phone_masked=caller.masked,
                caller_phone_index=caller.index,
                outcome=c.outcome,
                resolved_first_contact=c.outcome == Outcome.ANSWERED,
                knowledge=c.knowledge,
                work_order=c.work_order,
                callback_due_at=c.callback_due_at,
                callback_done_at=c.callback_done_at,
                code=c.code,
            )
        )
    if not rows:
        return 0
    with transaction.atomic():
        CallRecord.objects.bulk_create(rows, batch_size=500)
        audit_record_many(
            entries=[
                AuditEntry(
                    actor=actor,
                    action="call.imported",
                    target=None,
                    data={"calls": len(rows), "first": rows[0].code, "last": rows[-1].code},
                )
            ]
        )
    return len(rows)


# --- knowledge base ---------------------------------------------------------------------------


def _check_knowledge(question: str, answer: str) -> None:
    fields = {}
    if not question:
        fields["question"] = [_("Required.")]
    if not answer:
        fields["answer"] = [_("Required.")]
    if fields:
        raise DomainError(
            "knowledge.incomplete",
            _("A knowledge entry needs a question and its answer."),
            fields=fields,
        )


def knowledge_save(
    *,
    actor: Any,
    place: Place,
    question: str,
    answer: str,
    keywords: str = "",
    category: Any = None,
    entry: KnowledgeEntry | None = None,
    code: str = "",
) -> KnowledgeEntry:
    """Create (``entry`` None) or edit a question and its answer for ``place``'s callers."""
    _require(actor, MANAGE_KNOWLEDGE, place)
    if entry is not None:
        _require(actor, MANAGE_KNOWLEDGE, entry)
    question = mask_text(question, limit=200)
    answer = mask_text(answer, limit=MAX_ANSWER)
    keywords = (keywords or "").strip()[:200]
    _check_knowledge(question, answer)
    if entry is None and code and (found := KnowledgeEntry.objects.filter(code=code).first()):
        return found
    with transaction.atomic():
        created = entry is None
        if entry is None:
            entry = KnowledgeEntry(created_by=actor if _is_person(actor) else None, code=code)
        entry.place = place
        entry.question = question
        entry.answer = answer
        entry.keywords = keywords
        entry.category = category
        entry.save()
        audit_record(
            actor=actor,
            action="knowledge.created" if created else "knowledge.edited",
            target=entry,
        )
    return entry


def knowledge_retire(*, actor: Any, entry: KnowledgeEntry, active: bool = False) -> KnowledgeEntry:
    """Take an answer out of use (``active=False``) or back into use; never deleted, so the
    calls answered from it keep their link."""
    _require(actor, MANAGE_KNOWLEDGE, entry)
    if entry.active == active:
        return entry
    with transaction.atomic():
        entry.active = active
        entry.save(update_fields=["active", "updated_at"])
        audit_record(
            actor=actor,
            action="knowledge.restored" if active else "knowledge.retired",
            target=entry,
        )
    return entry
