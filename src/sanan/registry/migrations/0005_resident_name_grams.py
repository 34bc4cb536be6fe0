import django.db.models.deletion
from django.db import migrations, models

NAME_MAX = 60  # Resident.name's max_length


def write_grams(apps, schema_editor):
    """Every pair of neighbouring characters of every name, once per resident, in one
    statement (a million residents: seconds): what ``models.name_grams`` gives."""
    resident = apps.get_model("registry", "Resident")
    gram = apps.get_model("registry", "ResidentNameGram")
    qn = schema_editor.connection.ops.quote_name
    positions = " UNION ALL ".join(f"SELECT {i} AS i" for i in range(1, NAME_MAX))
    schema_editor.execute(
        f"INSERT INTO {qn(gram._meta.db_table)} ({qn('resident_id')}, {qn('gram')}) "
        f"SELECT DISTINCT r.{qn('id')}, substr(r.{qn('name')}, p.i, 2) "
        f"FROM {qn(resident._meta.db_table)} r JOIN ({positions}) p "
        f"ON p.i < length(r.{qn('name')})"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_resident_list_order"),
    ]

    operations = [
        migrations.CreateModel(
            name="ResidentNameGram",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("gram", models.CharField(max_length=2)),
                (
                    "resident",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="name_grams",
                        to="registry.resident",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("resident", "gram"), name="resident_name_gram_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(write_grams, migrations.RunPython.noop),
        # The lookup index after the rows: one build instead of two million inserts into it.
        migrations.AddIndex(
            model_name="residentnamegram",
            index=models.Index(fields=["gram", "resident"], name="resident_name_gram"),
        ),
    ]
