"""Reading Open311 answers as a client would: XML parsed with ElementTree, JSON decoded."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse

BASE = "/open311/v2"


def xml_of(response: HttpResponse) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(body)  # noqa: S314 - our own server's answer, not untrusted input


def json_of(response: HttpResponse) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def errors_of(response: HttpResponse, fmt: str) -> list[dict[str, str]]:
    """The specification's error list, from either format, as dicts of strings."""
    if fmt == "json":
        return [{k: str(v) for k, v in e.items()} for e in json_of(response)]
    root = xml_of(response)
    assert root.tag == "errors"
    return [{child.tag: child.text or "" for child in error} for error in root.findall("error")]


def fields(element: ET.Element) -> dict[str, str | None]:
    return {child.tag: child.text for child in element}
