"""The API schema's error answers, documented once for every operation.

Every API view answers errors in one shape, ``{"code", "message", "fields"}``
(``core.api.exception_handler``): 400 for input that is refused, 401 without credentials on
an operation that needs them, 403 when the object is seen but the action is not allowed, 404
when it is out of sight or does not exist, 405 for a method the path does not have, 415 for a
body in a media type the operation does not read, 429 for a write over the rate limit of the
client's address (``core.ratelimit``). Views document what is particular to them
(a 409 with the existing record, for instance); this drf-spectacular post-processing hook adds
the answers every operation can give, so clients and the schema fuzzing test
(``tests/fuzz``) can rely on the schema.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable: <entity>.<reason>"},
        "message": {"type": "string", "description": "For people, in their language"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message", "fields"],
}
DESCRIPTIONS = {
    "400": "Refused: the input is not valid (see `fields`) or breaks a rule (see `code`).",
    "401": "No or wrong credentials: sign in or send `Authorization: Token …`.",
    "403": "The object is visible to you but you may not do this.",
    "404": "Not found, or not visible to you.",
    "405": "This path does not take this method.",
    "415": "The body's media type is not one this operation reads.",
    "429": "Too many requests from this address: wait for `Retry-After` seconds.",
}
METHODS = ("get", "post", "put", "patch", "delete")


def _public(operation: dict[str, Any]) -> bool:
    """An operation anyone may call: its security requirements include the empty one."""
    return {} in operation.get("security", [{}])


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: Any) -> Any:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            codes = ["400", "403", "404", "405"]
            if not _public(operation):
                codes.append("401")
            if "requestBody" in operation:
                codes.append("415")
            if method != "get":
                codes.append("429")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result
