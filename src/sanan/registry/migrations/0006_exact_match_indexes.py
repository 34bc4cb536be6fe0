"""Indexes the registry's writes pay for and no read uses.

- On PostgreSQL, Django gives every ``unique``/``db_index`` CharField a second index for
  ``LIKE 'prefix%'`` (``varchar_pattern_ops``): the ID-number and phone blind indexes and the
  household code had one, as large as the first and written with every row; they are only ever
  matched exactly. Their uniqueness is now a named constraint (on PostgreSQL the existing one,
  renamed; on SQLite the column's own unique index, which is the same thing).
- The single-column indexes on a resident's place and on an event's resident: the composite
  indexes ``resident_place_order`` and ``residence_event_resident_on`` start with them.

The database side is done here by hand, dropping and renaming indexes: Django's own
operations would rebuild the resident table four times over on SQLite (a million rows each).
"""

import django.db.models.deletion
from django.db import migrations, models

RESIDENT, EVENT, HOUSEHOLD = "registry_resident", "registry_residenceevent", "registry_household"


def _indexes(schema_editor, table):
    conn = schema_editor.connection
    with conn.cursor() as cursor:
        return conn.introspection.get_constraints(cursor, table)


def _drop_plain_indexes(schema_editor, table, column):
    """Drop the non-unique indexes on exactly ``column`` (the plain one and, on PostgreSQL,
    its ``_like`` twin)."""
    qn = schema_editor.quote_name
    for name, info in _indexes(schema_editor, table).items():
        plain = info["index"] and not info["unique"] and not info["primary_key"]
        if plain and info["columns"] == [column]:
            schema_editor.execute(f"DROP INDEX {qn(name)}")


def _rename_unique(schema_editor, table, column, new_name):
    """PostgreSQL: the column's unique constraint under its new name (nothing rebuilt)."""
    qn = schema_editor.quote_name
    for name, info in _indexes(schema_editor, table).items():
        if info["unique"] and not info["primary_key"] and info["columns"] == [column]:
            schema_editor.execute(
                f"ALTER TABLE {qn(table)} RENAME CONSTRAINT {qn(name)} TO {qn(new_name)}"
            )
            return


def forwards(apps, schema_editor):
    qn = schema_editor.quote_name
    postgres = schema_editor.connection.vendor == "postgresql"
    for table, column in (
        (RESIDENT, "phone_index"),
        (RESIDENT, "phone2_index"),
        (RESIDENT, "place_id"),
        (EVENT, "resident_id"),
        (RESIDENT, "id_number_index"),  # PostgreSQL's _like twin; the unique one stays
        (HOUSEHOLD, "code"),  # the same
    ):
        _drop_plain_indexes(schema_editor, table, column)
    for name, column in (("resident_phone_index", "phone_index"),
                         ("resident_phone2_index", "phone2_index")):  # fmt: skip
        schema_editor.execute(f"CREATE INDEX {qn(name)} ON {qn(RESIDENT)} ({qn(column)})")
    if postgres:
        _rename_unique(schema_editor, RESIDENT, "id_number_index", "resident_id_number_unique")
        _rename_unique(schema_editor, HOUSEHOLD, "code", "household_code_unique")


def backwards(apps, schema_editor):
    qn = schema_editor.quote_name
    postgres = schema_editor.connection.vendor == "postgresql"
    for name in ("resident_phone_index", "resident_phone2_index"):
        schema_editor.execute(f"DROP INDEX {qn(name)}")
    for table, column in ((RESIDENT, "phone_index"), (RESIDENT, "phone2_index"),
                          (RESIDENT, "place_id"), (EVENT, "resident_id")):  # fmt: skip
        name = schema_editor._create_index_name(table, [column])
        schema_editor.execute(f"CREATE INDEX {qn(name)} ON {qn(table)} ({qn(column)})")
    if postgres:
        _rename_unique(
            schema_editor, RESIDENT, "id_number_index", f"{RESIDENT}_id_number_index_key"
        )
        _rename_unique(schema_editor, HOUSEHOLD, "code", f"{HOUSEHOLD}_code_key")


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0001_initial"),
        ("registry", "0005_resident_name_grams"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="household",
                    name="code",
                    field=models.CharField(max_length=64, verbose_name="household code"),
                ),
                migrations.AlterField(
                    model_name="residenceevent",
                    name="resident",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="registry.resident",
                    ),
                ),
                migrations.AlterField(
                    model_name="resident",
                    name="id_number_index",
                    field=models.CharField(blank=True, max_length=64, null=True),
                ),
                migrations.AlterField(
                    model_name="resident",
                    name="phone2_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="resident",
                    name="phone_index",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AlterField(
                    model_name="resident",
                    name="place",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="residents",
                        to="places.place",
                        verbose_name="dwelling",
                    ),
                ),
                migrations.AddIndex(
                    model_name="resident",
                    index=models.Index(fields=["phone_index"], name="resident_phone_index"),
                ),
                migrations.AddIndex(
                    model_name="resident",
                    index=models.Index(fields=["phone2_index"], name="resident_phone2_index"),
                ),
                migrations.AddConstraint(
                    model_name="household",
                    constraint=models.UniqueConstraint(
                        fields=("code",), name="household_code_unique"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="resident",
                    constraint=models.UniqueConstraint(
                        fields=("id_number_index",), name="resident_id_number_unique"
                    ),
                ),
            ],
        ),
    ]
