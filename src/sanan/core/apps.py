from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sanan.core"
    label = "core"
    verbose_name = "Sanan core"
