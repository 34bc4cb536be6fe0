from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "sanan.places"
    label = "places"
    verbose_name = _("Places")

    def ready(self) -> None:
        from sanan.places import signals  # noqa: F401
