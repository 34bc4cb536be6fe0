from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_after_migrate(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Reference data (categories, SLA policies, working hours, holidays) after every
    ``migrate``, like Django's own content types: idempotent, never undoes an edit.

    Not after ``flush`` (which sends the signal without a migration plan): a flush empties the
    database on purpose, and tests that flush restore what they need themselves."""
    from sanan.workorders.models import WorkOrder
    from sanan.workorders.seed import seed_all

    if using != "default" or kwargs.get("plan") is None:
        return
    if WorkOrder._meta.db_table not in connections[using].introspection.table_names():
        return  # migrated backwards past the app's tables
    seed_all()


class WorkOrdersConfig(AppConfig):
    name = "sanan.workorders"
    label = "workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        post_migrate.connect(_seed_after_migrate, sender=self, dispatch_uid="workorders-seed")
