from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "sanan.triage"
    label = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        from sanan.triage.tasks import install

        install()
