from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from sanan import __version__


def sanan(request: HttpRequest) -> dict[str, Any]:
    return {"SANAN_VERSION": __version__, "HELP_PHONE": settings.HELP_PHONE}
