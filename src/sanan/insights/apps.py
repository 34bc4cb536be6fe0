from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "sanan.insights"
    label = "insights"
    verbose_name = _("Figures")

    def ready(self) -> None:
        from sanan.insights.tasks import install

        install()
