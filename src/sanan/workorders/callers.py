"""Caller recognition for the call-taker (hotline desk): who is calling, from the number alone.

The number is normalised (mobile or landline, +86 and full-width digits accepted) and looked
up by its keyed blind index — never decrypted, never compared in plain text — in:

- the registry's residents (``registry.selectors.resident_search``: only the residents the
  call-taker may see, ``resident.view``), with household, dwelling, courtyard and care tags;
- user accounts with that phone, and earlier orders whose contact phone it was, for the
  caller's open and past orders (only orders the call-taker may see).

Only masked values leave this module (``138****1234``, ``511***…``); the number itself never
appears in a URL (the API is a POST), a log line or an error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sanan.core import crypto
from sanan.core.errors import PermissionDenied
from sanan.core.validators import mask_phone, validate_phone
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.registry.models import Resident
from sanan.registry.selectors import resident_search
from sanan.workorders.access import order_access
from sanan.workorders.models import WorkOrder
from sanan.workorders.selectors import with_relations
from sanan.workorders.state import OPEN_STATES

MAX_RESIDENTS = 10
MAX_ORDERS = 10
CALL_TAKER_ACTION = "work_order.dispatch"  # the hotline desk enters orders for callers
_COURTYARD_LEN = (KIND_ORDER.index(PlaceKind.COURTYARD) + 1) * Place.steplen


def contact_phone_index(digits: str) -> str:
    """Blind index of an order's contact phone (normalised as ``validate_phone`` does)."""
    from sanan.workorders.models import CONTACT_PHONE_PURPOSE

    return crypto.blind_index(digits, purpose=CONTACT_PHONE_PURPOSE)


@dataclass
class CallerResident:
    resident: Resident
    courtyard: Place | None
    care_tags: list[str]


@dataclass
class CallerLookup:
    phone_masked: str
    residents: list[CallerResident] = field(default_factory=list)
    open_orders: list[WorkOrder] = field(default_factory=list)
    past_orders: list[WorkOrder] = field(default_factory=list)

    @property
    def recognised(self) -> bool:
        return bool(self.residents or self.open_orders or self.past_orders)


def caller_lookup(*, user: Any, phone: str) -> CallerLookup:
    """The residents with this phone and the caller's orders, as far as ``user`` (a call-taker:
    ``work_order.dispatch`` somewhere) may see them. 400 ``phone.invalid`` for a number that
    is neither a mobile nor a landline (without repeating it), 403 for other roles."""
    grants = order_access(user)
    if not grants.superuser and not grants.place_roots(CALL_TAKER_ACTION):
        raise PermissionDenied(
            "caller.forbidden", _("Only the call-takers of the desk may look callers up.")
        )
    number, _kind = validate_phone(phone, field="phone")
    result = CallerLookup(phone_masked=mask_phone(number))

    residents = list(
        resident_search(user=user, phone=number).select_related("household")[:MAX_RESIDENTS]
    )
    courtyard_paths = {r.place.path[:_COURTYARD_LEN] for r in residents}
    courtyards = {
        p.path: p for p in Place.objects.filter(path__in=courtyard_paths, kind=PlaceKind.COURTYARD)
    }
    for resident in residents:
        result.residents.append(
            CallerResident(
                resident=resident,
                courtyard=courtyards.get(resident.place.path[:_COURTYARD_LEN]),
                care_tags=[t.tag.display_label for t in resident.tags.all()],
            )
        )

    from sanan.accounts.models import PHONE_PURPOSE, User

    users = User.objects.filter(
        phone_index=crypto.blind_index(number, purpose=PHONE_PURPOSE)
    ).values("pk")
    mine = Q(reporter__in=users) | Q(contact_phone_index=contact_phone_index(number))
    orders = with_relations(WorkOrder.objects.visible_to(user)).filter(mine)
    result.open_orders = list(
        orders.filter(state__in=OPEN_STATES).order_by("-created_at", "-id")[:MAX_ORDERS]
    )
    result.past_orders = list(
        orders.exclude(state__in=OPEN_STATES).order_by("-created_at", "-id")[:MAX_ORDERS]
    )
    return result


__all__ = ["CallerLookup", "CallerResident", "caller_lookup", "contact_phone_index"]
