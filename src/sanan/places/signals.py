from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from sanan.places.locate import courtyard_index
from sanan.places.models import Place, PlaceKind


@receiver(post_save, sender=Place)
@receiver(post_delete, sender=Place)
def _courtyard_changed(sender: type[Place], instance: Place, **kwargs: Any) -> None:
    if instance.kind == PlaceKind.COURTYARD:
        courtyard_index.invalidate()
