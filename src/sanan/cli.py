"""The ``sanan`` command: Django's management commands with Sanan's settings, from any folder."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["sanan", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
