"""``sanan registry_import FILE --kind residents --actor USERNAME [--map ...] [--dry-run]``

Imports a spreadsheet (XLSX, or CSV in UTF-8 or GBK) of residents, houses, rentals or vehicles
on behalf of a user, with that user's permissions and scope. The columns are recognised from
their headers (``姓名``, ``身份证号``, ``联系电话``, ``院落``, ``门牌号``...); ``--map`` corrects or
completes the proposal (``--map '电话=phone,C=id_number,备注='``: a column by its header or its
letter, an empty field to leave it out). ``--dry-run`` checks every row and writes nothing. A
file with a bad row imports nothing: the command lists each bad row with its reason and exits
with status 1.
"""

from __future__ import annotations

import time
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from sanan.accounts.models import User
from sanan.core.errors import DomainError
from sanan.registry import imports
from sanan.registry.models_io import ImportKind

PHASES = {
    "reading": "checking rows",
    "matching": "matching with the registry",
    "writing": "saving",
    "finished": "done",
}


class ProgressBar:
    """``[##########..........]  50%  50,000/100,000 rows  checking rows`` on one terminal
    line (a line per tenth when the output is not a terminal)."""

    width = 30

    def __init__(self, stream: OutputWrapper, unit: str = "rows") -> None:
        self.stream = stream
        self.unit = unit
        self.tty = stream.isatty()
        self.last_draw = 0.0
        self.last_tenth: tuple[str, int] = ("", -1)
        self.open_line = False

    def __call__(self, done: int, total: int, phase: str) -> None:
        total = max(total, done)
        percent = 100 * done // total if total else 100
        label = PHASES.get(phase, phase)
        if self.tty:
            now = time.monotonic()
            if now - self.last_draw < 0.1 and done < total:
                return
            self.last_draw = now
            filled = self.width * percent // 100
            bar = "#" * filled + "." * (self.width - filled)
            line = f"\r[{bar}] {percent:3d}%  {done:,}/{total:,} {self.unit}  {label}"
            self.stream.write(line.ljust(90), style_func=_plain, ending="")
            self.open_line = True
            if phase == "finished":
                self.stream.write("", style_func=_plain)
                self.open_line = False
        else:
            tenth = (phase, percent // 10)
            if tenth == self.last_tenth:
                return
            self.last_tenth = tenth
            self.stream.write(
                f"{percent:3d}%  {done:,}/{total:,} {self.unit}  {label}", style_func=_plain
            )
        self.stream.flush()

    def close(self) -> None:
        if self.open_line:
            self.stream.write("", style_func=_plain)
            self.open_line = False


def _plain(text: str) -> str:
    return text  # progress is not an error: no red


def _width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def find_actor(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user named {username!r}")
    return user


class Command(BaseCommand):
    help = "Import residents, houses, rentals or vehicles from an XLSX or CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the .xlsx or .csv file")
        parser.add_argument(
            "--kind", choices=[k.value for k in ImportKind], help="what the file holds"
        )
        parser.add_argument(
            "--map",
            dest="mapping",
            default="",
            help="column=field pairs, separated by commas (a column by header or letter)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--actor", required=True, help="the user the import is done as")
        parser.add_argument(
            "--problems", type=int, default=200, help="how many bad rows to list (default 200)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = find_actor(options["actor"])
        path = options["file"]
        try:
            parsed = imports.parse(path, kind=options["kind"])
            mapping = parsed.mapping
            if options["mapping"]:
                mapping = self._merge(
                    parsed, imports.parse_mapping(options["mapping"], kind=parsed.kind)
                )
            self._show_columns(parsed, mapping)
            bar = ProgressBar(self.stderr)
            run = imports.dry_run if options["dry_run"] else imports.apply
            try:
                report = run(path, mapping=mapping, kind=parsed.kind, actor=actor, progress=bar)
            finally:
                bar.close()
        except FileNotFoundError as exc:
            raise CommandError(f"no such file: {path}") from exc
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self._show_report(report, limit=max(0, options["problems"]))

    def _merge(self, parsed: imports.ParsedFile, given: dict[str, str]) -> dict[str, str]:
        by_letter = {c.letter: c.key for c in parsed.columns}
        mapping = dict(parsed.mapping)
        for column, field in given.items():
            key = column if column in {c.key for c in parsed.columns} else by_letter.get(column)
            if key is None:
                raise CommandError(f"--map: the file has no column {column!r}")
            for other in [k for k, f in mapping.items() if f and f == field and k != key]:
                del mapping[other]  # the field moves to the column named here
            mapping[key] = field
        return {k: f for k, f in mapping.items() if f}

    def _show_columns(self, parsed: imports.ParsedFile, mapping: dict[str, str]) -> None:
        where = f", sheet {parsed.sheet}" if parsed.sheet else ""
        encoding = f", {parsed.encoding}" if parsed.encoding else ""
        self.stdout.write(
            f"{parsed.kind}: {parsed.format}{encoding}{where}, header row {parsed.header_row}, "
            f"about {parsed.rows:,} rows"
        )
        for column in parsed.columns:
            field = mapping.get(column.key, "")
            target = field or "(not imported)"
            header = column.header[:24]
            pad = " " * max(0, 26 - _width(header))
            self.stdout.write(f"  {column.letter:>3}  {header}{pad}-> {target}")

    def _show_report(self, report: imports.ImportReport, *, limit: int) -> None:
        counts = ", ".join(f"{name} {n:,}" for name, n in report.counts.items())
        speed = f"{report.rows_per_second():,.0f} rows/s" if report.seconds else ""
        if report.problems:
            bad = len(report.bad_rows)
            self.stdout.write(
                self.style.ERROR(
                    f"{bad:,} bad row(s) of {report.rows:,}: nothing was imported. "
                    "Correct these rows and try again:"
                )
            )
            for problem in report.problems[:limit]:
                column = f" [{problem.column}]" if problem.column else ""
                self.stdout.write(f"  row {problem.row}{column}: {problem.message}")
            if len(report.problems) > limit:
                self.stdout.write(f"  ... and {len(report.problems) - limit:,} more")
            raise CommandError(f"{bad} bad row(s)", returncode=1)
        if report.dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"checked {report.rows:,} rows, no problems ({speed}). An import would: "
                    f"{counts}."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"imported {report.rows:,} rows ({speed}), import #{report.job_id}: {counts}."
                )
            )
