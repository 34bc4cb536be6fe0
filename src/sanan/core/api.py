"""API plumbing shared by every app: one error shape ``{code, message, fields}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from sanan.core.errors import DomainError

_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "auth.not_authenticated",
    exceptions.AuthenticationFailed: "auth.failed",
    exceptions.PermissionDenied: "auth.forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "request.method_not_allowed",
    exceptions.NotAcceptable: "request.not_acceptable",
    exceptions.UnsupportedMediaType: "request.unsupported_media_type",
    exceptions.Throttled: "request.throttled",
    exceptions.ParseError: "request.malformed",
    exceptions.ValidationError: "validation.invalid",
}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF validation details (nested dicts and lists) as ``{"a.b": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for sub, msgs in _flatten(value, name).items():
                out.setdefault(sub, []).extend(msgs)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                name = f"{prefix}.{index}" if prefix else str(index)
                for sub, msgs in _flatten(value, name).items():
                    out.setdefault(sub, []).extend(msgs)
            else:
                out.setdefault(prefix or "non_field_errors", []).append(str(value))
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, str(exc.message), exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = next((c for klass, c in _DRF_CODES.items() if isinstance(exc, klass)), "request.error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        response.data = error_body(code, _("Some fields need correcting."), fields)
    elif isinstance(exc, exceptions.ParseError):  # the parser's own words go in "fields"
        response.data = error_body(
            code,
            _("The request body could not be read: check that it is valid JSON or form data."),
            {"body": [str(exc.detail)]},
        )
    else:
        detail = exc.detail if not isinstance(exc.detail, list | dict) else exc.default_detail
        response.data = error_body(code, str(detail))
    return response


def json_error_response(code: str, message: str, status_code: int) -> Response:
    return Response(error_body(code, message), status=status_code)


__all__ = ["error_body", "exception_handler", "json_error_response", "status"]
