"""Integer lookups that a number past the column's range cannot break.

Django (5.0+) answers ``filter(pk=2**70)`` with nothing, but not ``pk__in=[2**70]`` nor a
foreign key's ``household_id=2**70``: SQLite cannot even bind such a number
(``OverflowError``, a 500), PostgreSQL compares it as a numeric. Identifiers arrive from
people and programs (lists in request bodies, filters in query strings), so these lookups drop
a value no column of that type can hold: an ``in`` keeps the others (none left: no rows), an
``exact`` matches nothing, exactly as Django's own integer ``exact`` does. Registered by
``CoreConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import ForeignObject, IntegerField
from django.db.models.fields.related_lookups import RelatedExact, RelatedIn
from django.db.models.lookups import In


def _holds(field: Any, connection: Any, value: Any) -> bool:
    """Whether a column of ``field``'s type can hold ``value`` (anything but an int: yes)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return True
    target = getattr(field, "target_field", field)
    try:
        low, high = connection.ops.integer_field_range(target.get_internal_type())
    except (KeyError, AttributeError):
        return True
    return (low is None or value >= low) and (high is None or value <= high)


class _InRange:
    """For ``in``: leave out the values the column cannot hold."""

    def process_rhs(self, compiler: Any, connection: Any) -> Any:
        lookup: Any = self
        if lookup.rhs_is_direct_value():
            field = lookup.lhs.output_field
            lookup.rhs = [v for v in lookup.rhs if _holds(field, connection, v)]
        return super().process_rhs(compiler, connection)  # type: ignore[misc]


class IntegerFieldIn(_InRange, In):
    pass


class SafeRelatedIn(_InRange, RelatedIn):
    pass


class SafeRelatedExact(RelatedExact):
    def process_rhs(self, compiler: Any, connection: Any) -> Any:
        if not _holds(self.lhs.output_field, connection, self.rhs):
            raise EmptyResultSet
        return super().process_rhs(compiler, connection)


def register() -> None:
    IntegerField.register_lookup(IntegerFieldIn)
    ForeignObject.register_lookup(SafeRelatedIn)
    ForeignObject.register_lookup(SafeRelatedExact)
