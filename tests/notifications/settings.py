"""Sanan's settings with the notifications app installed, exactly as the lead's diff to
``sanan/settings.py`` does it (used until that diff lands; then plain settings work too):

    pytest --ds tests.notifications.settings tests/notifications
"""

from sanan.settings import *  # noqa: F403
from sanan.settings import INSTALLED_APPS

if "sanan.notifications" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "sanan.notifications"]
    ROOT_URLCONF = "tests.notifications.urls"
