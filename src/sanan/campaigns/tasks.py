"""The campaigns app's background work on the ``sanan worker`` queue: every ten minutes, link
the orders registered in the scope of each running campaign (``services.campaign_links_sync_all``).
Intake never waits for it; a campaign's figures are at most ten minutes behind its orders.

The worker's queue is built by ``notifications.worker.build_queue``; :func:`install` (called
from ``CampaignsConfig.ready``) wraps that builder so every queue a process builds carries
this task too, as the triage app does for its nightly retraining.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from huey import crontab

logger = logging.getLogger("sanan.campaigns")

SYNC_SCHEDULE = {"minute": "*/10"}
TASK_NAME = "sanan.campaigns.link"


def link_orders() -> str:
    from sanan.campaigns.services import campaign_links_sync_all

    linked = campaign_links_sync_all()
    summary = f"campaigns: {linked} orders linked"
    logger.info(summary)
    return summary


def register(queue: Any) -> Any:
    """Add the periodic linking to a ``notifications.worker.Queue``."""
    task = queue.huey.periodic_task(crontab(**SYNC_SCHEDULE), name=TASK_NAME)(link_orders)
    queue.campaigns_link = task
    return task


def install() -> None:
    from sanan.notifications import worker

    if getattr(worker.build_queue, "_campaigns_installed", False):
        return
    original = worker.build_queue

    @functools.wraps(original)
    def build_queue(*args: Any, **kwargs: Any) -> Any:
        queue = original(*args, **kwargs)
        register(queue)
        return queue

    build_queue._campaigns_installed = True  # type: ignore[attr-defined]
    worker.build_queue = build_queue
