"""Writing to the audit log: append (inside the caller's transaction), verify, prune."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model

from sanan.accounts.permissions import place_path_of
from sanan.audit.models import AuditEvent, AuditHead
from sanan.core import clock, hotpath
from sanan.core.middleware import current_request

GENESIS = "0" * 64


def _content(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_label": event.object_label,
        "place_path": event.place_path,
        "reason": event.reason,
        "data": event.data,
        "ip": event.ip,
        "request_id": event.request_id,
    }


def compute_hash(event: AuditEvent) -> str:
    canonical = json.dumps(
        _content(event), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(f"{event.prev_hash}\n{canonical}".encode()).hexdigest()


def _label(target: Model) -> str:
    label = getattr(target, "audit_label", None)
    return str(label() if callable(label) else target)[:200]


def _actor_label(actor: Any, user: Any) -> str:
    if user is None:
        return str(actor or "system")[:150]
    name = str(getattr(user, "display_name", "") or "")
    username = str(user.get_username())
    return (f"{name} ({username})" if name else username)[:150]


@dataclass(frozen=True)
class AuditEntry:
    """One event to append with :func:`audit_record_many` (the arguments of ``audit_record``)."""

    actor: Any
    action: str
    target: Model | None = None
    reason: str = ""
    data: dict[str, Any] | None = None


def audit_record(
    *,
    actor: Any,
    action: str,
    target: Model | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the transaction of the change it records, so the
    change and its record commit or roll back together."""
    return audit_record_many(
        entries=[AuditEntry(actor=actor, action=action, target=target, reason=reason, data=data)]
    )[0]


def audit_record_many(*, entries: list[AuditEntry]) -> list[AuditEvent]:
    """Append several events in their order, as many ``audit_record`` calls would (same
    sequence numbers, same chain), with one read of the head, one insert and one update."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside transaction.atomic()")
    if not entries:
        return []
    seq, prev = _lock_head()
    ctx = current_request()
    at = clock.now()
    events = []
    for entry in entries:
        actor, target = entry.actor, entry.target
        user = actor if getattr(actor, "is_authenticated", False) else None
        seq += 1
        event = AuditEvent(
            seq=seq,
            at=at,
            actor=user,
            actor_label=_actor_label(actor, user),
            action=entry.action,
            object_type=target._meta.label_lower if target is not None else "",
            object_id=str(target.pk) if target is not None else "",
            object_label=_label(target) if target is not None else "",
            place_path=(place_path_of(target) or "") if target is not None else "",
            reason=entry.reason,
            data=entry.data or {},
            ip=ctx.ip if ctx else None,
            request_id=ctx.request_id if ctx else "",
            prev_hash=prev,
        )
        event.hash = prev = compute_hash(event)
        events.append(event)
    hotpath.insert(events)
    hotpath.execute(
        "UPDATE {0} SET last_seq = %s, last_hash = %s WHERE id = 1", [seq, prev], AuditHead
    )
    return events


def _lock_head() -> tuple[int, str]:
    """The chain's last sequence number and hash, the head row locked until the transaction
    ends. Every write of every app comes here: ``core.hotpath``."""
    sql = "SELECT last_seq, last_hash FROM {0} WHERE id = 1 FOR UPDATE"
    rows = hotpath.fetch(sql, [], AuditHead, for_write=True)
    if not rows:  # a new database: the head is made once
        AuditHead.objects.get_or_create(pk=1)
        rows = hotpath.fetch(sql, [], AuditHead, for_write=True)
    seq, last_hash = rows[0]
    return int(seq), str(last_hash)


@dataclass
class VerifyResult:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify(*, max_problems: int = 20) -> VerifyResult:
    """Walk the chain and report every row whose content, order or link was altered."""
    result = VerifyResult()
    head = AuditHead.objects.filter(pk=1).first() or AuditHead(pk=1)
    expected_seq, expected_prev = head.floor_seq + 1, head.floor_hash
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        result.checked += 1
        if event.seq > expected_seq:
            gap = (
                f"#{expected_seq}"
                if event.seq - 1 == expected_seq
                else f"#{expected_seq}-#{event.seq - 1}"
            )
            result.problems.append(f"row {gap} missing (deleted)")
        if event.prev_hash != expected_prev:
            result.problems.append(f"row #{event.seq}: link to the previous row is broken")
        if compute_hash(event) != event.hash:
            result.problems.append(f"row #{event.seq}: content was changed after it was written")
        expected_seq, expected_prev = event.seq + 1, event.hash
        if len(result.problems) >= max_problems:
            return result
    if head.last_seq != expected_seq - 1 or head.last_hash != expected_prev:
        result.problems.append(
            f"the chain should end at row #{head.last_seq}, but ends at #{expected_seq - 1}"
            " (rows removed from the end, or the head was changed)"
        )
    return result


def audit_prune(*, actor: Any = None, older_than_days: int | None = None) -> int:
    """Remove the oldest events beyond the retention period, keeping the chain verifiable."""
    days = settings.AUDIT_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = clock.now() - dt.timedelta(days=days)
    with transaction.atomic():
        AuditHead.objects.select_for_update().get_or_create(pk=1)
        last_old = (
            AuditEvent.objects.filter(at__lt=cutoff).order_by("-seq").values("seq", "hash").first()
        )
        if last_old is None:
            return 0
        doomed = AuditEvent.objects.filter(seq__lte=last_old["seq"])
        count = doomed._raw_delete(doomed.db)  # bypasses the append-only guard, on purpose
        AuditHead.objects.filter(pk=1).update(
            floor_seq=last_old["seq"], floor_hash=last_old["hash"]
        )
        audit_record(
            actor=actor,
            action="audit.pruned",
            data={"through_seq": last_old["seq"], "rows": count, "retention_days": days},
        )
    return count
