"""What every hostile input is checked against: no 500, a clear refusal (status, stable code,
a sentence a person understands) with nothing written, or the text stored as sent and shown
escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.html import escape

# The models whose rows a refused input must leave alone: every table of Sanan's apps.
_APP_PREFIX = "sanan."


def _counted_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if model.__module__.startswith(_APP_PREFIX) and not model._meta.proxy
    ]


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in _counted_models()}


@contextmanager
def nothing_written() -> Iterator[None]:
    """Fails if any table of Sanan's apps gained or lost a row inside the block."""
    before = row_counts()
    yield
    after = row_counts()
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"a refused input changed rows: {changed}"


def assert_refused(
    response: Any, status: int, code: str, *, field: str | None = None, says: str = ""
) -> dict[str, Any]:
    """An API refusal: the status, the stable code, a message for people (``says`` in it), the
    field named; never a stack trace or a Python repr."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["code"] == code, body
    message = body["message"]
    assert isinstance(message, str), body
    assert len(message) >= 8, body
    assert not re.search(r"Traceback|Exception|object at 0x|\bNone\b", message), message
    if says:
        text = " ".join([message, *(m for msgs in body["fields"].values() for m in msgs)])
        assert says in text, body
    if field is not None:
        assert field in body["fields"], body
        assert all(len(m) >= 4 for m in body["fields"][field]), body
    return body


def assert_shown_escaped(html: str, value: str) -> None:
    """``value`` appears on the page as text: escaped, never as markup."""
    assert escape(value) in html, f"{value!r} is not shown (escaped) on the page"
    for tag in re.findall(r"<\s*(script|img|svg|iframe)\b[^>]*>", value, re.I):
        raw = re.search(rf"<\s*{tag}\b[^>]*>", value, re.I)
        assert raw is not None
        assert raw.group(0) not in html, f"{raw.group(0)!r} reached the page as markup"


__all__ = ["assert_refused", "assert_shown_escaped", "nothing_written", "row_counts"]
