"""The figures' background work on the ``sanan worker`` queue: bring the rollups up to date
with the work-order event log every minute (``services.insights_refresh``, incremental).

As the triage app does, :func:`install` (called from ``InsightsConfig.ready``) wraps
``notifications.worker.build_queue`` so that every queue a process builds carries this task.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from huey import crontab
from huey.exceptions import TaskLockedException

logger = logging.getLogger("sanan.insights")

TASK_NAME = "sanan.insights.refresh"


def refresh() -> str:
    from sanan.insights.services import insights_refresh

    summary = insights_refresh().summary()
    logger.info(summary)
    return summary


def register(queue: Any) -> Any:
    """Add the minute's refresh to a ``notifications.worker.Queue``. Under a queue lock, so
    several workers do not queue up behind the refresh's row lock."""

    def locked_refresh() -> str:
        try:
            with queue.huey.lock_task(TASK_NAME):
                return refresh()
        except TaskLockedException:
            return "figures: another worker is refreshing"

    task = queue.huey.periodic_task(crontab(minute="*"), name=TASK_NAME)(locked_refresh)
    queue.insights_refresh = task
    return task


def install() -> None:
    from sanan.notifications import worker

    if getattr(worker.build_queue, "_insights_installed", False):
        return
    original = worker.build_queue

    @functools.wraps(original)
    def build_queue(*args: Any, **kwargs: Any) -> Any:
        queue = original(*args, **kwargs)
        register(queue)
        return queue

    build_queue._insights_installed = True  # type: ignore[attr-defined]
    worker.build_queue = build_queue
