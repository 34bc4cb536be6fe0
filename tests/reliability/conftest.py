"""The work-order fixtures (``wo``, the stopped clock, a fresh calendar) for the races."""

from tests.workorders.conftest import _fresh_calendar, clock, wo

__all__ = ["_fresh_calendar", "clock", "wo"]
