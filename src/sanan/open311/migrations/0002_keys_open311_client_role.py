"""The service accounts of existing keys held the resident role over their community; they
hold the tighter ``open311_client`` role from now on (posting and reading their own requests)."""

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    ApiKey = apps.get_model("open311", "ApiKey")
    RoleAssignment = apps.get_model("accounts", "RoleAssignment")
    for key in ApiKey.objects.all():
        RoleAssignment.objects.filter(
            user_id=key.user_id, place_id=key.jurisdiction_id, role="resident"
        ).update(role="open311_client")


def backwards(apps: Any, schema_editor: Any) -> None:
    ApiKey = apps.get_model("open311", "ApiKey")
    RoleAssignment = apps.get_model("accounts", "RoleAssignment")
    for key in ApiKey.objects.all():
        RoleAssignment.objects.filter(
            user_id=key.user_id, place_id=key.jurisdiction_id, role="open311_client"
        ).update(role="resident")


class Migration(migrations.Migration):
    dependencies = [
        ("open311", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
