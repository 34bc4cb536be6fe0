"""Domain errors with stable codes, rendered alike by pages and the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise


class DomainError(Exception):
    """A rule of the domain refused the action.

    ``code`` is stable (``<entity>.<reason>``) for API clients; ``message`` is for people and is
    usually a lazy translation; ``fields`` maps field names to their messages.
    """

    status_code = 400

    def __init__(
        self,
        code: str,
        message: str | Promise,
        *,
        fields: Mapping[str, Sequence[str | Promise]] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.fields = {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()}
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(DomainError):
    """The object does not exist, or the user may not know that it does."""

    status_code = 404


class PermissionDenied(DomainError):
    """The user may see the object but not do this to it."""

    status_code = 403


class Conflict(DomainError):
    """Somebody else changed the object first."""

    status_code = 409
