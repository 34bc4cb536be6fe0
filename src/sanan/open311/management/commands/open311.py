"""``sanan open311 keys ...``: the API keys of Open311 client applications.

    sanan open311 keys create --name 城管通 --jurisdiction <community code> [--rate 60]
    sanan open311 keys list
    sanan open311 keys rotate <name or prefix>
    sanan open311 keys revoke <name or prefix> [--reason ...]
    sanan open311 keys rate <name or prefix> <requests per minute>

A key is printed once, when it is created or rotated; only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from sanan.core.errors import DomainError
from sanan.open311.models import ApiKey
from sanan.open311.services import (
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    api_key_update,
)
from sanan.places.models import Place

ACTOR = "sanan open311"


def _key(ref: str) -> ApiKey:
    row = ApiKey.objects.filter(Q(name=ref) | Q(prefix=ref)).first()
    if row is None:
        raise CommandError(f"no Open311 key named or prefixed {ref!r}")
    return row


class Command(BaseCommand):
    help = "Manage the API keys of Open311 client applications."

    def add_arguments(self, parser: CommandParser) -> None:
        area = parser.add_subparsers(dest="area", required=True)
        keys = area.add_parser("keys", help="API keys of client applications")
        sub = keys.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a key (printed once)")
        create.add_argument("--name", required=True, help="channel name shown on the orders")
        create.add_argument("--jurisdiction", required=True, help="community place code")
        create.add_argument("--rate", type=int, default=60, help="requests per minute")
        create.add_argument("--note", default="")
        sub.add_parser("list", help="list the keys (never the secrets)")
        rotate = sub.add_parser("rotate", help="replace a key's secret (printed once)")
        rotate.add_argument("key", help="name or prefix")
        revoke = sub.add_parser("revoke", help="stop a key for good")
        revoke.add_argument("key", help="name or prefix")
        revoke.add_argument("--reason", default="")
        rate = sub.add_parser("rate", help="change a key's rate limit")
        rate.add_argument("key", help="name or prefix")
        rate.add_argument("per_minute", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None

    def _create(self, options: dict[str, Any]) -> None:
        place = Place.objects.filter(code=options["jurisdiction"]).first()
        if place is None:
            raise CommandError(f"no place with code {options['jurisdiction']!r}")
        issued = api_key_create(
            actor=ACTOR,
            name=options["name"],
            jurisdiction=place,
            rate_per_minute=options["rate"],
            note=options["note"],
        )
        self.stdout.write(f"created {issued.api_key.name} ({issued.api_key.prefix})")
        self.stdout.write(f"api_key: {issued.key}")
        self.stdout.write("This key is shown once; give it to the client application now.")

    def _list(self, options: dict[str, Any]) -> None:
        rows = ApiKey.objects.select_related("jurisdiction").order_by("name")
        for row in rows:
            state = "revoked" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            self.stdout.write(
                f"{row.prefix}  {row.name}  {row.jurisdiction.code}  {state}  "
                f"{row.rate_per_minute}/min  last used {used}"
            )
        if not rows:
            self.stdout.write("no Open311 keys")

    def _rotate(self, options: dict[str, Any]) -> None:
        issued = api_key_rotate(actor=ACTOR, api_key=_key(options["key"]))
        self.stdout.write(f"rotated {issued.api_key.name} ({issued.api_key.prefix})")
        self.stdout.write(f"api_key: {issued.key}")

    def _revoke(self, options: dict[str, Any]) -> None:
        row = api_key_revoke(actor=ACTOR, api_key=_key(options["key"]), reason=options["reason"])
        self.stdout.write(f"revoked {row.name} ({row.prefix})")

    def _rate(self, options: dict[str, Any]) -> None:
        row = api_key_update(
            actor=ACTOR, api_key=_key(options["key"]), rate_per_minute=options["per_minute"]
        )
        self.stdout.write(f"{row.name}: {row.rate_per_minute} requests a minute")
