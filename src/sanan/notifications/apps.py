from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """The inbox, webhook endpoints, delivery of the outbox and the background worker."""

    name = "sanan.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from sanan.notifications import config, worker

        config.check()  # a bad SANAN_QUEUE_URL or SMS adapter stops start-up, naming it
        worker.install_wake()  # outbox rows wake the worker when their transaction commits
