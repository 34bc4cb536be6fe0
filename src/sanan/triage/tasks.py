"""The triage app's background work on the ``sanan worker`` queue: retrain the category model
every night (03:30 Asia/Shanghai, 19:30 UTC: the queue keeps its schedule in UTC) from the
seed set and the orders categorised since.

The worker's queue is built by ``notifications.worker.build_queue``; :func:`install` (called
from ``TriageConfig.ready``) wraps that builder so every queue a process builds carries this
task too, the way the notifications app registers its own tick on it.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from huey import crontab

logger = logging.getLogger("sanan.triage")

RETRAIN_SCHEDULE = {"minute": "30", "hour": "19"}  # UTC
TASK_NAME = "sanan.triage.retrain"


def retrain() -> str:
    """Retrain with the method of the stored model (``sanan triage train --method`` chooses
    it once; the nightly run keeps it)."""
    from sanan.triage import model as triage_model
    from sanan.triage.services import triage_model_train

    method = triage_model.current_model().method
    model = triage_model_train(actor=None, method=method)
    sources = model.meta.get("sources", {})
    summary = (
        f"triage model retrained: {sources.get('seed', 0)} seed examples, "
        f"{sources.get('orders', 0)} orders"
    )
    logger.info(summary)
    return summary


def register(queue: Any) -> Any:
    """Add the nightly retraining to a ``notifications.worker.Queue``."""
    task = queue.huey.periodic_task(crontab(**RETRAIN_SCHEDULE), name=TASK_NAME)(retrain)
    queue.triage_retrain = task
    return task


def install() -> None:
    from sanan.notifications import worker

    if getattr(worker.build_queue, "_triage_installed", False):
        return
    original = worker.build_queue

    @functools.wraps(original)
    def build_queue(*args: Any, **kwargs: Any) -> Any:
        queue = original(*args, **kwargs)
        register(queue)
        return queue

    build_queue._triage_installed = True  # type: ignore[attr-defined]
    worker.build_queue = build_queue
