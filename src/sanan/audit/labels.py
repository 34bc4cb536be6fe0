"""People-readable names for audit action codes (the codes themselves stay stable)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Promise] = {
    "place.created": _("Place created"),
    "place.updated": _("Place changed"),
    "user.created": _("Account created"),
    "user.phone_changed": _("Mobile number changed"),
    "role.granted": _("Role given"),
    "role.revoked": _("Role taken away"),
    "organisation.created": _("Organisation created"),
    "membership.added": _("Member added"),
    "pii.revealed": _("Personal data viewed"),
    "pii.rotated": _("Personal data re-encrypted (key rotation)"),
    "household.created": _("Household created"),
    "household.head_set": _("Head of household changed"),
    "resident.registered": _("Resident registered"),
    "resident.updated": _("Resident's record changed"),
    "resident.moved_in": _("Resident moved in"),
    "resident.moved_out": _("Resident moved out"),
    "resident.household_changed": _("Resident changed household"),
    "resident.tag_added": _("Care tag added"),
    "resident.tag_removed": _("Care tag removed"),
    "care_tag.created": _("Care tag defined"),
    "house.profile_set": _("House details changed"),
    "rental.created": _("Rental recorded"),
    "rental.updated": _("Rental changed"),
    "rental.inspected": _("Rental inspected"),
    "vehicle.registered": _("Vehicle registered"),
    "vehicle.updated": _("Vehicle changed"),
    "vehicle.removed": _("Vehicle removed"),
    "registry.imported": _("Registry imported from a file"),
    "registry.exported": _("Registry exported (numbers masked)"),
    "audit.pruned": _("Old audit records removed (retention)"),
}

SYSTEM_ACTORS: dict[str, Promise] = {
    "system": _("System"),
    "demo": _("Demo data"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def actor_label(label: str) -> str:
    system = SYSTEM_ACTORS.get(label)
    return str(system) if system is not None else label
