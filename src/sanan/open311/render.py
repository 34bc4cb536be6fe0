"""Open311 documents in XML and JSON from one Python structure.

JSON follows the Spark convention the specification names: a list of requests is an array
(a single request too), a service definition and the discovery document are objects. XML is
built with ``xml.etree.ElementTree`` — never by joining strings — without a namespace, and
starts with the declaration ``<?xml version="1.0" encoding="utf-8"?>``. A list becomes one
child per item, named by :data:`ITEM_TAG` (``services`` → ``service``); a list under a key
not named there (an answer with several values) repeats that key's element.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
CONTENT_TYPES = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
FORMATS = tuple(CONTENT_TYPES)

# The element name of one item of each list, as the specification and its extensions use.
ITEM_TAG: dict[str, str] = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "photos": "photo",
}


def w3c(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the zone, in the community's local time: 2026-11-25T10:00:00+08:00."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return w3c(value)
    if isinstance(value, float | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else repr(value)
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _append(element, key, child)
    else:
        element.text = _text(value)


def _append(parent: ET.Element, key: str, value: Any) -> None:
    if isinstance(value, list | tuple):
        item_tag = ITEM_TAG.get(key)
        if item_tag is None:  # several values of one field: repeat the element
            for item in value:
                _fill(ET.SubElement(parent, key), item)
            return
        holder = ET.SubElement(parent, key)
        for item in value:
            _fill(ET.SubElement(holder, item_tag), item)
        return
    _fill(ET.SubElement(parent, key), value)


def to_xml(root: str, data: Any) -> bytes:
    """``data`` (a list for list roots, a dict otherwise) under the element ``root``."""
    element = ET.Element(root)
    if isinstance(data, list | tuple):
        item_tag = ITEM_TAG[root]
        for item in data:
            _fill(ET.SubElement(element, item_tag), item)
    else:
        _fill(element, data)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return w3c(value)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=_json_default).encode("utf-8")


def respond(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    """The document in ``fmt`` (``xml`` or ``json``) with the specification's content type."""
    body = to_json(data) if fmt == "json" else to_xml(root, data)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    response["Access-Control-Allow-Origin"] = "*"  # any city app may read from a browser
    return response
