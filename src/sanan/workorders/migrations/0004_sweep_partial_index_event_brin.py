# Indexes only: the SLA sweep's partial index, and on PostgreSQL a BRIN index of the events'
# time. Events are appended in time order and never changed, so a block range index of a few
# pages answers "the events between two times" (Open311's updates, period scans) where a btree
# would grow with every event. Ranges filled since the last VACUUM are summarised as they fill
# (autosummarize): unsummarised ones would be read whole. SQLite has no BRIN: there the
# operation does nothing.

from django.conf import settings
from django.db import migrations, models

EVENT_BRIN = "work_order_event_at_brin"


def create_event_brin(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {EVENT_BRIN} ON workorders_workorderevent "
        "USING brin (at) WITH (pages_per_range = 32, autosummarize = on)"
    )


def drop_event_brin(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {EVENT_BRIN}")


class Migration(migrations.Migration):
    dependencies = [
        ("organisation", "0004_butlers_events"),
        ("places", "0001_initial"),
        ("workorders", "0003_perf_board_catalogue"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="workorder",
            name="work_order_escalation_at",
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(
                condition=models.Q(("escalation_at__isnull", False)),
                fields=["escalation_at"],
                name="work_order_escalating",
            ),
        ),
        migrations.RunPython(create_event_brin, drop_event_brin, elidable=False),
    ]
