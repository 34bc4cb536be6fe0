# The board's counters also count the chased orders (the sweep's mark at the deadline), so
# that the overdue count reads two small ranges instead of every overdue order: the index led
# by the deadline is split at the chase. The counters are counted again with their new key.

from django.conf import settings
from django.db import migrations, models

# As in 0005: workorders.counts.COURTYARD_PATH_LEN and BOARD_STATES when this was written.
COURTYARD_PATH_LEN = 24
BOARD_STATES = ("registered", "returned", "dispatched", "signed", "contacted", "in_progress",
                "finished")  # fmt: skip


def refill(apps, schema_editor):  # type: ignore[no-untyped-def]
    states = ", ".join(f"'{s}'" for s in BOARD_STATES)
    schema_editor.execute("DELETE FROM workorders_boardcount")
    schema_editor.execute(
        "INSERT INTO workorders_boardcount "
        "(path, courtyard, lead, state, emergency, supervised, warned, chased, n) "
        f"SELECT substr(place_path, 1, {COURTYARD_PATH_LEN}), COALESCE(courtyard_id, 0), "
        "COALESCE(lead_organisation_id, 0), state, emergency, supervision_level > 0, "
        "(escalation_level >= 1 AND due_at IS NOT NULL), "
        "(escalation_level >= 2 AND due_at IS NOT NULL), COUNT(*) "
        f"FROM workorders_workorder WHERE state IN ({states}) "  # noqa: S608 (constants)
        "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("organisation", "0004_butlers_events"),
        ("places", "0001_initial"),
        ("workorders", "0005_board_counts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="boardcount",
            name="board_count_key",
        ),
        migrations.RemoveIndex(
            model_name="workorder",
            name="work_order_board_due",
        ),
        migrations.AddField(
            model_name="boardcount",
            name="chased",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(
                condition=models.Q(
                    ("escalation_level__gte", 2),
                    (
                        "state__in",
                        (
                            "registered",
                            "returned",
                            "dispatched",
                            "signed",
                            "contacted",
                            "in_progress",
                            "finished",
                        ),
                    ),
                ),
                fields=[
                    "due_at",
                    "place_path",
                    "state",
                    "courtyard",
                    "escalation_level",
                    "lead_organisation",
                    "reporter",
                    "created_by",
                ],
                name="work_order_board_chased",
            ),
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(
                condition=models.Q(
                    ("escalation_level__lt", 2),
                    (
                        "state__in",
                        (
                            "registered",
                            "returned",
                            "dispatched",
                            "signed",
                            "contacted",
                            "in_progress",
                            "finished",
                        ),
                    ),
                ),
                fields=[
                    "due_at",
                    "place_path",
                    "state",
                    "courtyard",
                    "escalation_level",
                    "lead_organisation",
                    "reporter",
                    "created_by",
                ],
                name="work_order_board_unchased",
            ),
        ),
        migrations.AddConstraint(
            model_name="boardcount",
            constraint=models.UniqueConstraint(
                fields=(
                    "path",
                    "courtyard",
                    "lead",
                    "state",
                    "emergency",
                    "supervised",
                    "warned",
                    "chased",
                ),
                name="board_count_key",
            ),
        ),
        migrations.RunPython(refill, migrations.RunPython.noop, elidable=False),
    ]
