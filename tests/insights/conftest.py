"""Fixtures of the figures' tests: the work-order world (``tests/workorders``) with the clock
stopped, and ``scenario``: orders with known answers, driven through the services."""

from __future__ import annotations

from tests.workorders.conftest import _fresh_calendar, clock, wo  # noqa: F401
