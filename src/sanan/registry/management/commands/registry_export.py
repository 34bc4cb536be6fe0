"""``sanan registry_export --kind residents --actor USERNAME -o FILE [--reveal --reason ...]``

Exports residents, houses, rentals or vehicles in the user's export scope to XLSX or CSV (from
the file name, or ``--format``), with Chinese headers. ID numbers and phones are masked unless
``--reveal`` is given with a ``--reason`` by a user allowed to see them for every record
(audited). ``--filter place=12 --filter residence_type=migrant`` narrows the export with the
registry list filters.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanan.core.errors import DomainError
from sanan.registry import exports
from sanan.registry.management.commands.registry_import import ProgressBar, find_actor
from sanan.registry.models_io import ImportKind


class Command(BaseCommand):
    help = "Export residents, houses, rentals or vehicles to an XLSX or CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=[k.value for k in ImportKind])
        parser.add_argument("--actor", required=True, help="the user the export is done as")
        parser.add_argument("-o", "--output", required=True, help="the file to write")
        parser.add_argument("--format", choices=exports.FORMATS, help="default: from -o")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a list filter (place, residence_type, tag, status...); repeatable",
        )
        parser.add_argument(
            "--reveal", action="store_true", help="full ID numbers and phones (audited)"
        )
        parser.add_argument("--reason", default="", help="why the full numbers are needed")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = find_actor(options["actor"])
        output = options["output"]
        fmt = options["format"] or os.path.splitext(output)[1].lstrip(".").lower() or "xlsx"
        if fmt not in exports.FORMATS:
            raise CommandError("write to a .xlsx or .csv file, or give --format")
        filters: dict[str, Any] = {}
        for item in options["filter"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--filter {item!r}: write NAME=VALUE")
            if name in filters:  # repeated: several values (tags)
                previous = filters[name]
                filters[name] = (
                    [*previous, value] if isinstance(previous, list) else [previous, value]
                )
            else:
                filters[name] = value
        if "tag" in filters and not isinstance(filters["tag"], list):
            filters["tag"] = [filters["tag"]]
        bar = ProgressBar(self.stderr, unit="records")
        partial = f"{output}.part"
        try:
            result = exports.export_write(
                partial,
                kind=options["kind"],
                actor=actor,
                fmt=fmt,
                filters=filters,
                reveal=options["reveal"],
                reason=options["reason"],
                progress=bar,
            )
            os.replace(partial, output)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        finally:
            bar.close()
            if os.path.exists(partial):
                os.remove(partial)
        shown = "in full (audited)" if result.revealed else "masked"
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.count:,} {result.kind} written to {output}; ID numbers and phones "
                f"{shown}."
            )
        )
