from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_importjob"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="resident",
            name="resident_place_status",
        ),
        migrations.AddIndex(
            model_name="resident",
            index=models.Index(
                fields=["place", "status", "household", "id"], name="resident_place_order"
            ),
        ),
    ]
