"""Writes of the triage app: training the category model.

Training reads the seed set and the community's categorised orders, fits the model and
stores it under the var dir (``model.save``: a temporary file renamed into place, so a
running server keeps answering with the old model until the new one is complete). The
audit log records who trained it, from how many examples, with which method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from sanan.audit.services import audit_record
from sanan.triage import model as triage_model
from sanan.triage.dataset import order_examples, seed_examples


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
