"""The reference data that migrations write, written again after a flush."""

from __future__ import annotations


def ensure_migration_seeds() -> None:
    """Write the reference data that migrations write (work-order catalogue, SLA policies and
    calendar; the standard post types) when a flush has removed it."""
    from sanan.organisation.models import PostType
    from sanan.organisation.seed import post_types_ensure_standard
    from sanan.workorders.models import Category
    from sanan.workorders.seed import seed_all

    if not Category.objects.exists():
        seed_all()
    if not PostType.objects.exists():
        post_types_ensure_standard()
