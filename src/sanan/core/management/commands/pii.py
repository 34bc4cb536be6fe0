"""``sanan pii status`` counts encrypted personal values per cipher and key id;
``sanan pii rotate`` re-encrypts every value not under the current key and cipher.

Rotating a key: put the new key first in ``SANAN_PII_KEYS`` (it encrypts; the old ones still
decrypt), run ``sanan pii rotate``, check ``sanan pii status`` shows nothing under the old key,
then remove it. Changing ``SANAN_PII_CIPHER`` (AES-256-GCM ↔ SM4-GCM) works the same way.

Rotation runs in batches, each in its own transaction, and can be stopped and started again at
any time: it only touches values that are not current. A value written meanwhile by the
application is already current; a batch only replaces a value that is still the one it read.
The blind indexes do not change (they use ``SANAN_PII_INDEX_KEY``, which does not rotate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When

from sanan.audit.services import audit_record
from sanan.core import crypto

CIPHERS = ("aes-256-gcm", "sm4-gcm")


@dataclass
class FieldCounts:
    spec: crypto.EncryptedField
    total: int = 0
    by_key: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def unknown(self) -> int:
        return self.total - sum(self.by_key.values())

    @property
    def stale(self) -> int:
        current = (settings.PII_CIPHER, settings.PII_CURRENT_KEY_ID)
        return self.total - self.by_key.get(current, 0)


def _has_table(spec: crypto.EncryptedField) -> bool:
    """A model whose table is not created yet (migrations pending) holds nothing to rotate."""
    table = apps.get_model(spec.model)._meta.db_table
    return table in connection.introspection.table_names()


def _fields() -> list[crypto.EncryptedField]:
    return [spec for spec in crypto.encrypted_fields() if _has_table(spec)]


def _queryset(spec: crypto.EncryptedField) -> Any:
    model = apps.get_model(spec.model)
    return model._base_manager.exclude(**{spec.field: ""})


def field_counts(spec: crypto.EncryptedField) -> FieldCounts:
    qs = _queryset(spec)
    counts = FieldCounts(spec=spec, total=qs.count())
    for cipher in CIPHERS:
        for key_id in settings.PII_KEYS:
            n = qs.filter(**{f"{spec.field}__startswith": f"v1:{cipher}:{key_id}:"}).count()
            if n:
                counts.by_key[(cipher, key_id)] = n
    return counts


@dataclass
class RotateResult:
    rotated: int = 0
    failed: int = 0


def rotate_field(
    spec: crypto.EncryptedField,
    *,
    batch_size: int = 500,
    progress: Any = None,
) -> RotateResult:
    """Re-encrypt the stale values of one column, ``batch_size`` rows per transaction."""
    model = apps.get_model(spec.model)
    stale = _queryset(spec).exclude(**{f"{spec.field}__startswith": crypto.current_prefix()})
    total = stale.count()
    model_field = model._meta.get_field(spec.field)
    result = RotateResult()
    last_pk: Any = None
    while True:
        batch = stale.order_by("pk")
        if last_pk is not None:
            batch = batch.filter(pk__gt=last_pk)
        rows = list(batch.values_list("pk", spec.field)[:batch_size])
        if not rows:
            break
        last_pk = rows[-1][0]
        whens = []
        for pk, token in rows:
            try:
                new = crypto.reencrypt(token, purpose=spec.purpose)
            except crypto.DecryptionError:
                result.failed += 1
                continue
            # only if the value is still the one read: a concurrent write wins
            whens.append(When(Q(pk=pk) & Q(**{spec.field: token}), then=Value(new)))
        if whens:
            with transaction.atomic():
                model._base_manager.filter(pk__in=[pk for pk, _ in rows]).update(
                    **{spec.field: Case(*whens, default=F(spec.field), output_field=model_field)}
                )
        result.rotated += len(whens)
        if progress is not None:
            progress(result.rotated + result.failed, total)
    return result


class Command(BaseCommand):
    help = "Show or rotate the keys and cipher of encrypted personal data (ID numbers, phones)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="count encrypted values per cipher and key id")
        rotate = sub.add_parser("rotate", help="re-encrypt values not under the current key")
        rotate.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            self._status()
        else:
            self._rotate(batch_size=max(1, options["batch_size"]))

    def _status(self) -> None:
        current = (settings.PII_CIPHER, settings.PII_CURRENT_KEY_ID)
        self.stdout.write(f"current: cipher {current[0]}, key {current[1]}")
        stale_total = unknown_total = 0
        for spec in _fields():
            counts = field_counts(spec)
            self.stdout.write(f"{spec.model}.{spec.field}: {counts.total} value(s)")
            for (cipher, key_id), n in sorted(counts.by_key.items()):
                mark = "current" if (cipher, key_id) == current else "to rotate"
                self.stdout.write(f"  {cipher} {key_id}: {n} ({mark})")
            if counts.unknown:
                self.stdout.write(
                    self.style.ERROR(f"  unknown key or format: {counts.unknown} (cannot decrypt)")
                )
            stale_total += counts.stale - counts.unknown
            unknown_total += counts.unknown
        if stale_total:
            self.stdout.write(f"{stale_total} value(s) to rotate: run `sanan pii rotate`")
        else:
            old = [k for k in settings.PII_KEYS if k != settings.PII_CURRENT_KEY_ID]
            hint = f"; keys no longer used: {', '.join(old)}" if old and not unknown_total else ""
            self.stdout.write(self.style.SUCCESS(f"every value is current{hint}"))

    def _rotate(self, *, batch_size: int) -> None:
        summary: dict[str, int] = {}
        failed = 0
        for spec in _fields():
            name = f"{spec.model}.{spec.field}"

            def show(done: int, total: int, name: str = name) -> None:
                width = 30
                filled = width * done // total if total else width
                bar = "#" * filled + "." * (width - filled)
                self.stdout.write(f"  {name} [{bar}] {done}/{total}")
                self.stdout.flush()

            result = rotate_field(spec, batch_size=batch_size, progress=show)
            self.stdout.write(f"{name}: {result.rotated} re-encrypted")
            if result.rotated:
                summary[name] = result.rotated
            if result.failed:
                failed += result.failed
                self.stderr.write(
                    self.style.ERROR(f"{name}: {result.failed} value(s) cannot be decrypted")
                )
        if summary:
            with transaction.atomic():
                audit_record(
                    actor="system",
                    action="pii.rotated",
                    data={
                        "cipher": settings.PII_CIPHER,
                        "key": settings.PII_CURRENT_KEY_ID,
                        "values": summary,
                    },
                )
        if failed:
            raise CommandError(
                f"{failed} value(s) could not be decrypted with any key in SANAN_PII_KEYS"
            )
        total = sum(summary.values())
        cipher, key_id = settings.PII_CIPHER, settings.PII_CURRENT_KEY_ID
        self.stdout.write(self.style.SUCCESS(f"{total} value(s) now under {cipher} key {key_id}"))
