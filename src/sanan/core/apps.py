from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sanan.core"
    label = "core"
    verbose_name = "Sanan core"

    def ready(self) -> None:
        from sanan.core import lookups

        lookups.register()  # identifiers past the column's range find nothing, never a 500
