# The board's maintained counts (decision 0003), filled from the orders already there, and
# the partial index of the board's orders led by their deadline (the overdue range).

from django.conf import settings
from django.db import migrations, models

# workorders.counts.COURTYARD_PATH_LEN when this was written: six levels of four characters.
COURTYARD_PATH_LEN = 24
BOARD_STATES = ("registered", "returned", "dispatched", "signed", "contacted", "in_progress",
                "finished")  # fmt: skip


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    states = ", ".join(f"'{s}'" for s in BOARD_STATES)
    schema_editor.execute(
        "INSERT INTO workorders_boardcount "
        "(path, courtyard, lead, state, emergency, supervised, warned, n) "
        f"SELECT substr(place_path, 1, {COURTYARD_PATH_LEN}), COALESCE(courtyard_id, 0), "
        "COALESCE(lead_organisation_id, 0), state, emergency, supervision_level > 0, "
        "(escalation_level >= 1 AND due_at IS NOT NULL), COUNT(*) "
        f"FROM workorders_workorder WHERE state IN ({states}) "  # noqa: S608 (constants)
        "GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("organisation", "0004_butlers_events"),
        ("places", "0001_initial"),
        ("workorders", "0004_sweep_partial_index_event_brin"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BoardCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("path", models.CharField(max_length=255)),
                ("courtyard", models.IntegerField(default=0)),
                ("lead", models.IntegerField(default=0)),
                ("state", models.CharField(max_length=16)),
                ("emergency", models.BooleanField(default=False)),
                ("supervised", models.BooleanField(default=False)),
                ("warned", models.BooleanField(default=False)),
                ("n", models.IntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(
                condition=models.Q(
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
                    )
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
                name="work_order_board_due",
            ),
        ),
        migrations.AddConstraint(
            model_name="boardcount",
            constraint=models.UniqueConstraint(
                fields=("path", "courtyard", "lead", "state", "emergency", "supervised", "warned"),
                name="board_count_key",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
