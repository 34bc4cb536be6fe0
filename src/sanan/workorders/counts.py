"""The board's maintained counts (``BoardCount``): what changes them, and the recount.

An order counts in one ``BoardCount`` row while it is in ``BOARD_STATES``: the row of its
:data:`Key` — the place path cut at the courtyard, the courtyard, the lead organisation, the
state, emergency, under supervision, past the warning point of a running deadline, chased
(the sweep's mark at the deadline). A write that creates an order or changes one of those
columns moves it between rows, ``n - 1`` on the old and ``n + 1`` on the new, in its own
transaction:

- the services claim an order with :func:`claim` (the conditional UPDATE of the version, or
  of the state for the steps that keep it), which also reads the counted columns of the row
  it has just locked: the key *before*;
- the sweep claims with its own conditional UPDATE and hands the key before to
  :func:`remember`;
- ``services._Batch.flush`` calls :func:`apply` for the orders of its events: it reads their
  keys *after* (one query), a new order's key from the order itself, and writes the
  differences in one statement (an upsert), just before the audit chain's append, which
  stays the last write of the transaction. The rows are written in the order of their keys,
  so two transactions never wait on each other's counter rows in a cycle.

A path that changes those columns without a claim and a flush makes the board lie: the loop
tests compare the counters with :func:`recount_rows` after every test, and
``sanan workorders recount`` (:func:`recount`) repairs them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Value
from django.db.models.functions import Coalesce, Substr

from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.workorders.models import BOARD_STATES, BoardCount, EscalationLevel, WorkOrder

# Paths are cut at the courtyard: a role scoped to a courtyard or above reads whole rows.
COURTYARD_PATH_LEN = (KIND_ORDER.index(PlaceKind.COURTYARD) + 1) * Place.steplen
KEY_FIELDS = (
    "path", "courtyard", "lead", "state", "emergency", "supervised", "warned", "chased",
)  # fmt: skip
# The order's columns a key is made of, in the order :func:`key_of` takes them.
COUNTED_COLUMNS = (
    "place_path", "courtyard_id", "lead_organisation_id", "state", "emergency",
    "supervision_level", "escalation_level", "due_at",
)  # fmt: skip
Key = tuple[str, int, int, str, bool, bool, bool, bool]
_BOARD = frozenset(BOARD_STATES)
_BEFORE = "_board_count_before"  # on a claimed order: its key when claimed (None: not counted)
_NEW = "_board_count_new"  # on an order inserted in this transaction


def key_of(
    place_path: str,
    courtyard_id: int | None,
    lead_id: int | None,
    state: str,
    emergency: bool,
    supervision_level: int,
    escalation_level: int,
    due_at: dt.datetime | None,
) -> Key | None:
    """The row an order with these columns counts in; ``None`` outside the board's states."""
    if state not in _BOARD:
        return None
    return (
        place_path[:COURTYARD_PATH_LEN],
        courtyard_id or 0,
        lead_id or 0,
        str(state),
        bool(emergency),
        supervision_level > 0,
        escalation_level >= EscalationLevel.WARNED and due_at is not None,
        escalation_level >= EscalationLevel.CHASED and due_at is not None,
    )


def key_of_order(order: WorkOrder) -> Key | None:
    return key_of(*(getattr(order, c) for c in COUNTED_COLUMNS))


# --- the writers' side ---------------------------------------------------------------------------


def claim(order: WorkOrder, *, version: int | None, now: dt.datetime) -> bool:
    """The services' claim: ``UPDATE … SET version = version + 1`` where the version is still
    ``version`` (or, with ``None``, ``SET updated_at`` where the state is still the one seen),
    returning the counted columns of the row now locked by this transaction, which become the
    order's key before. False when another transaction changed the order first."""
    table = WorkOrder._meta.db_table
    qn = connection.ops.quote_name
    at = connection.ops.adapt_datetimefield_value(now)
    version_col, updated, state = qn("version"), qn("updated_at"), qn("state")
    if version is not None:
        sets = f"{version_col} = %s, {updated} = %s"
        where = f"id = %s AND {version_col} = %s"
        params: list[Any] = [version + 1, at, order.pk, version]
    else:
        sets, where = f"{updated} = %s", f"id = %s AND {state} = %s"
        params = [at, order.pk, order.state]
    returning = ", ".join(qn(c) for c in COUNTED_COLUMNS)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} SET {sets} WHERE {where} RETURNING {returning}",  # noqa: S608 (names of this model)
            params,
        )
        row = cur.fetchone()
    if row is None:
        return False
    remember(order, key_of(*row))  # due_at only as NULL or not
    return True


def remember(order: WorkOrder, before: Key | None) -> None:
    """Record the key ``order`` had when this transaction claimed it. Every writer flushes
    its events (and so the counters) before it claims the same order again; a key left by
    a claim whose transaction rolled back is replaced by the next claim."""
    setattr(order, _BEFORE, before)


def created(order: WorkOrder) -> None:
    """``order`` was inserted by this transaction (it had no key before)."""
    setattr(order, _NEW, True)


def apply(orders: Iterable[WorkOrder]) -> None:
    """Move the claimed or created ``orders`` between their rows: the key before (from the
    claim) against the key now (read here, one query, under the claim's lock)."""
    claimed: dict[int, Key | None] = {}
    deltas: Counter[Key] = Counter()
    for order in orders:
        if getattr(order, _NEW, False):
            delattr(order, _NEW)
            if hasattr(order, _BEFORE):
                delattr(order, _BEFORE)
            key = key_of_order(order)
            if key is not None:
                deltas[key] += 1
        elif hasattr(order, _BEFORE) and order.pk not in claimed:
            claimed[order.pk] = getattr(order, _BEFORE)
            delattr(order, _BEFORE)
    if claimed:
        rows = WorkOrder.objects.filter(pk__in=list(claimed)).values_list("pk", *COUNTED_COLUMNS)
        for pk, *values in rows:
            before, after = claimed[pk], key_of(*values)
            if before == after:
                continue
            if before is not None:
                deltas[before] -= 1
            if after is not None:
                deltas[after] += 1
    write(deltas)


def write(deltas: Counter[Key] | dict[Key, int]) -> None:
    """``n = n + delta`` for each key (a row made when missing), in one statement, in the
    order of the keys."""
    items = sorted((k, d) for k, d in deltas.items() if d)
    if not items:
        return
    table = BoardCount._meta.db_table
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in (*KEY_FIELDS, "n"))
    values = ", ".join(["(" + ", ".join(["%s"] * (len(KEY_FIELDS) + 1)) + ")"] * len(items))
    params: list[Any] = [v for key, d in items for v in (*key, d)]
    target = ", ".join(qn(c) for c in KEY_FIELDS)
    n = qn("n")
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} ({cols}) VALUES {values} "  # noqa: S608 (names of this model)
            f"ON CONFLICT ({target}) DO UPDATE SET {n} = {table}.{n} + excluded.{n}",
            params,
        )


# --- the recount ---------------------------------------------------------------------------------


def recount_rows() -> dict[Key, int]:
    """The counts computed from the orders themselves (a scan of the board's index)."""
    rows = (
        WorkOrder.objects.filter(state__in=BOARD_STATES)
        .order_by()
        .values_list(
            Substr("place_path", 1, COURTYARD_PATH_LEN),
            Coalesce("courtyard_id", Value(0)),
            Coalesce("lead_organisation_id", Value(0)),
            "state",
            "emergency",
            ExpressionWrapper(Q(supervision_level__gt=0), output_field=BooleanField()),
            ExpressionWrapper(
                Q(escalation_level__gte=EscalationLevel.WARNED, due_at__isnull=False),
                output_field=BooleanField(),
            ),
            ExpressionWrapper(
                Q(escalation_level__gte=EscalationLevel.CHASED, due_at__isnull=False),
                output_field=BooleanField(),
            ),
        )
        .annotate(n=Count("pk"))
    )
    return {
        (path, courtyard, lead, state, bool(em), bool(sup), bool(warned), bool(chased)): n
        for path, courtyard, lead, state, em, sup, warned, chased, n in rows
    }


def stored_rows() -> dict[Key, int]:
    """The maintained counts (rows at zero left out)."""
    return {
        tuple(row[:-1]): row[-1]
        for row in BoardCount.objects.exclude(n=0).values_list(*KEY_FIELDS, "n")
    }


def differences() -> dict[Key, tuple[int, int]]:
    """``{key: (stored, recounted)}`` where they differ; empty when the counters are right."""
    stored, counted = stored_rows(), recount_rows()
    return {
        k: (stored.get(k, 0), counted.get(k, 0))
        for k in stored.keys() | counted.keys()
        if stored.get(k, 0) != counted.get(k, 0)
    }


def recount() -> int:
    """Replace the counters by a recount, in one transaction that locks the counter table
    against writers (they wait, then add their differences to the recounted rows). Returns
    the number of rows that were wrong."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(f"LOCK TABLE {BoardCount._meta.db_table} IN EXCLUSIVE MODE")
        wrong = len(differences())
        BoardCount.objects.all().delete()
        BoardCount.objects.bulk_create(
            [
                BoardCount(**dict(zip(KEY_FIELDS, key, strict=True)), n=n)
                for key, n in sorted(recount_rows().items())
            ],
            batch_size=500,
        )
    return wrong


__all__ = [
    "COURTYARD_PATH_LEN",
    "Key",
    "apply",
    "claim",
    "created",
    "differences",
    "key_of",
    "recount",
    "recount_rows",
    "remember",
    "write",
]
