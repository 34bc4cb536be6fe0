"""What must hold in a Sanan database after a crash or a restore, read through ``sanan shell``:
each idempotency key names at most one order, every order has its intake event, every event
its audit record (and no audit record names an event that is not there), no event or outbox
row points at an order or event that is not there."""

from __future__ import annotations

import json
from typing import Any

from tests.reliability.site import Site

CONSISTENCY_CODE = """
import io, json
from django.core.management import CommandError, call_command
from sanan.accounts.models import User
from sanan.audit.models import AuditEvent
from sanan.workorders.models import OutboxMessage, WorkOrder, WorkOrderEvent
keys = json.loads(KEYS)
user = User.objects.get(username="resident")
by_key = {}
for pk, key in WorkOrder.objects.filter(created_by=user, idempotency_key__in=keys).values_list(
    "pk", "idempotency_key"
):
    by_key.setdefault(key, []).append(pk)
order_ids = set(WorkOrder.objects.values_list("pk", flat=True))
events = list(WorkOrderEvent.objects.values_list("pk", "order_id", "action"))
event_ids = {pk for pk, _, _ in events}
with_submit = {order for _, order, action in events if action == "submit"}
audited = [
    d["event"]
    for d in AuditEvent.objects.filter(action__startswith="work_order.").values_list(
        "data", flat=True
    )
    if isinstance(d, dict) and "event" in d
]
outbox = list(OutboxMessage.objects.values_list("pk", "order_id", "event_id"))
verify = io.StringIO()
try:  # the operator's command, which fails (exit status 1) on any break
    call_command("audit", "verify", stdout=verify, stderr=verify)
except CommandError as exc:
    verify.write(str(exc))
print("RESULT=" + json.dumps({
    "by_key": by_key,
    "orders": len(order_ids),
    "audit_verify": verify.getvalue().strip(),
    "events": len(events),
    "orders_without_intake_event": sorted(order_ids - with_submit),
    "events_without_order": sorted(pk for pk, order, _ in events if order not in order_ids),
    "events_without_audit": sorted(event_ids - set(audited)),
    "events_audited_twice": sorted({e for e in audited if audited.count(e) > 1}),
    "audit_without_event": sorted(set(audited) - event_ids),
    "outbox_orphans": [
        pk for pk, order, event in outbox
        if (order is not None and order not in order_ids)
        or (event is not None and event not in event_ids)
    ],
}))
"""


def consistency(site: Site, keys: list[str]) -> dict[str, Any]:
    """The database's answers (see the module) and ``sanan audit verify``'s; asserts what
    holds for any database."""
    found: dict[str, Any] = site.shell_json(f"KEYS = {json.dumps(keys)!r}\n{CONSISTENCY_CODE}")
    for problem in (
        "orders_without_intake_event",
        "events_without_order",
        "events_without_audit",
        "events_audited_twice",
        "audit_without_event",
        "outbox_orphans",
    ):
        assert found[problem] == [], f"{problem}: {found[problem][:20]}"
    doubled = {k: v for k, v in found["by_key"].items() if len(v) != 1}
    assert doubled == {}, f"keys with more than one order: {doubled}"
    assert found["audit_verify"].startswith("audit chain OK"), found["audit_verify"]
    return found
