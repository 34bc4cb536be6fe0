"""The seven standard care tags. Labels here are the English source strings; pages show the
translated label of a standard tag from its code (``CareTag.display_label``)."""

from django.db import migrations

STANDARD = [
    ("elderly_alone", "Elderly, living alone"),
    ("left_behind_child", "Left-behind child"),
    ("migrant_child", "Migrant child"),
    ("disability", "Disability"),
    ("low_income", "Low income (dibao)"),
    ("veteran", "Veteran"),
    ("serious_illness", "Serious illness"),
]


def add_tags(apps, schema_editor):
    CareTag = apps.get_model("registry", "CareTag")
    for order, (code, label) in enumerate(STANDARD, start=1):
        CareTag.objects.get_or_create(code=code, defaults={"label": label, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
