"""Open311 documents built from Sanan's objects: services, definitions, requests, notes.

Status is ``open`` while the order waits for or is in the hands of a department, ``closed``
once it is finished (or closed as a duplicate); ``status_notes`` tells Sanan's own state
(``已派单``, ``已办结 · 待评价``…) and the public reply that led to it. ``agency_responsible``
is the lead department, ``expected_datetime`` the finish deadline, ``address`` the courtyard
and the places above it (never the house or the flat), ``address_id`` that place's code.
Free text passes through :func:`sanan.open311.privacy.mask_personal`.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.geometry import shape

from sanan.core.privacy import mask_personal
from sanan.open311.selectors import Service
from sanan.places.coords import LatLng, from_wgs84
from sanan.places.models import Place
from sanan.workorders.models import Attachment, CategoryQuestion, QuestionType, WorkOrder
from sanan.workorders.state import CLOSED_STATES, Action, State

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# The date this endpoint's behaviour last changed (Service Discovery's "changeset").
CHANGESET = "2026-11-26T00:00:00+08:00"

# mySociety update statuses for Sanan's states (``servicerequestupdates``).
UPDATE_STATUS: dict[str, str] = {
    State.REGISTERED: "open",
    State.DISPATCHED: "action_scheduled",
    State.RETURNED: "internal_referral",
    State.SIGNED: "action_scheduled",
    State.CONTACTED: "investigating",
    State.IN_PROGRESS: "in_progress",
    State.FINISHED: "fixed",
    State.CALLBACK: "fixed",
    State.ARCHIVED: "closed",
}


def status_of(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def absolute(request: Any, path: str) -> str:
    return str(request.build_absolute_uri(path))


# --- discovery and services -------------------------------------------------------------------


def discovery(request: Any) -> dict[str, Any]:
    from django.conf import settings

    return {
        "changeset": CHANGESET,
        "contact": str(getattr(settings, "OPEN311_CONTACT", "") or ""),
        "key_service": str(
            getattr(settings, "OPEN311_KEY_SERVICE", "")
            or _("Ask the community's administrator for an api_key.")
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": absolute(request, reverse("open311:root")).rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service(item: Service) -> dict[str, Any]:
    category, group = item.category, item.group
    names = dict.fromkeys(
        [category.name_zh, category.name_en, group.name_zh, group.name_en, category.code]
    )
    description = category.name if group.pk == category.pk else f"{group.name} › {category.name}"
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": description,
        "metadata": item.metadata,
        "type": "realtime",
        "keywords": ", ".join(n for n in names if n),
        "group": group.name,
    }


_DATATYPE_HELP = {
    QuestionType.STRING: gettext_lazy("A line of text."),
    QuestionType.NUMBER: gettext_lazy("A number, e.g. 12 or 3.5."),
    QuestionType.DATETIME: gettext_lazy(
        "A date and time in ISO 8601, e.g. 2026-11-26T08:30:00+08:00."
    ),
    QuestionType.TEXT: gettext_lazy("Text; line breaks are allowed."),
    QuestionType.SINGLE: gettext_lazy("One of the keys below."),
    QuestionType.MULTI: gettext_lazy(
        "One or more of the keys below: attribute[code][]=key for each."
    ),
}


def _choice_name(value: dict[str, Any]) -> str:
    """The choice's name in the active language (Chinese unless English is asked for)."""
    zh, en = str(value.get("name_zh", "")), str(value.get("name_en", ""))
    language = translation.get_language() or "zh-hans"
    return (en or zh) if language.startswith("en") else (zh or en)


def service_definition(item: Service, questions: list[CategoryQuestion]) -> dict[str, Any]:
    attributes = []
    for position, question in enumerate(questions, start=1):
        attribute: dict[str, Any] = {
            "variable": True,
            "code": question.code,
            "datatype": question.datatype,
            "required": question.required,
            "datatype_description": str(_DATATYPE_HELP[QuestionType(question.datatype)]),
            "order": position,
            "description": question.label,
        }
        if question.datatype in (QuestionType.SINGLE, QuestionType.MULTI):
            attribute["values"] = [
                {"key": str(v["key"]), "name": _choice_name(v)} for v in question.values or []
            ]
        attributes.append(attribute)
    return {"service_code": item.category.code, "attributes": attributes}


# --- requests -------------------------------------------------------------------------------


def _address_place(order: WorkOrder) -> Place:
    return order.courtyard or order.place


def address_paths(orders: list[WorkOrder]) -> set[str]:
    """Paths of the places an address is written from (the courtyard and those above it)."""
    paths: set[str] = set()
    for order in orders:
        place = _address_place(order)
        paths.update(place.ancestor_paths())
        paths.add(place.path)
    return paths


def _address(order: WorkOrder, places: dict[str, Place]) -> str:
    place = _address_place(order)
    chain = [place.path, *reversed(place.ancestor_paths())]
    return ", ".join(places[p].name for p in chain if p in places)


def _point(order: WorkOrder) -> tuple[float | None, float | None]:
    if order.latitude is not None and order.longitude is not None:
        return float(order.latitude), float(order.longitude)
    place = _address_place(order)
    if place.latitude is not None and place.longitude is not None:
        return float(place.latitude), float(place.longitude)
    if place.boundary:  # a courtyard drawn on the map: the middle of it
        try:
            middle = shape(place.boundary).representative_point()
        except (TypeError, ValueError, KeyError, AttributeError):
            return None, None
        return round(middle.y, 7), round(middle.x, 7)
    return None, None


def media_url(request: Any, attachment: Attachment) -> str:
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(
        attachment.content_type, "jpg"
    )
    return absolute(request, reverse("open311:media", args=[attachment.pk, ext]))


def _open311_row(order: WorkOrder) -> Any:
    try:
        return order.open311
    except WorkOrder.open311.RelatedObjectDoesNotExist:
        return None


def _last_public_note(order: WorkOrder) -> str:
    events = getattr(order, "public_events", None)
    if events is None:
        return ""
    for event in reversed(events):
        if event.public_note:
            return event.public_note
    return ""


def status_notes(order: WorkOrder) -> str:
    label = str(State(order.state).label)
    if order.parent_id is not None:
        label = _("Closed as a duplicate of request %(id)s") % {"id": order.parent_id}
    note = _last_public_note(order)
    return mask_personal(f"{label}: {note}" if note else label)


def service_notice(order: WorkOrder) -> str | None:
    if order.sla_policy is None:
        return None
    return _("Handled under the “%(policy)s” deadline policy.") % {"policy": order.sla_policy.name}


def _updated(order: WorkOrder) -> Any:
    if order.state in CLOSED_STATES:
        return order.finished_at or order.archived_at or order.updated_at
    return order.updated_at


def service_request(
    request: Any,
    order: WorkOrder,
    places: dict[str, Place],
    *,
    extensions: bool = False,
    viewer: Any = None,
    questions: list[CategoryQuestion] | None = None,
    system: str = "wgs84",
) -> dict[str, Any]:
    """One request document. ``viewer`` is the calling client's key: the token of a request
    is shown to the client that posted it only."""
    lat, lng = _point(order)
    if lat is not None and lng is not None and system != "wgs84":  # asked for a map's system
        moved = from_wgs84(LatLng(lat, lng), system)
        lat, lng = round(moved.lat, 7), round(moved.lng, 7)
    place = _address_place(order)
    link = _open311_row(order)
    photos = list(order.attachments.all())
    own_media = link.media_url if link is not None and link.media_url else ""
    row: dict[str, Any] = {
        "service_request_id": str(order.pk),
        "status": status_of(order.state),
        "status_notes": status_notes(order),
        "service_name": order.category.name,
        "service_code": order.category.code,
        "description": mask_personal(order.description),
        "agency_responsible": order.lead_organisation.name if order.lead_organisation else None,
        "service_notice": service_notice(order),
        "requested_datetime": order.created_at,
        "updated_datetime": _updated(order),
        "expected_datetime": order.finish_due_at,
        "address": _address(order, places),
        "address_id": place.code,
        "zipcode": None,
        "lat": lat,
        "long": lng,
        "media_url": own_media or (media_url(request, photos[0]) if photos else None),
    }
    if extensions:
        row["attributes"] = answers(order, questions)
        row["extended_attributes"] = {
            "reference": order.reference,
            "state": order.state,
            "state_label": str(State(order.state).label),
            "channel": link.channel_name if link is not None else order.get_channel_display(),
            "emergency": order.emergency,
            "token": (
                link.token
                if link is not None and viewer is not None and link.api_key_id == viewer.pk
                else None
            ),
            "photos": [
                {
                    "media_url": media_url(request, a),
                    "width": a.width,
                    "height": a.height,
                    "created_at": a.uploaded_at,
                }
                for a in photos
            ],
        }
        row["notes"] = notes(request, order)
    return row


def answers(
    order: WorkOrder, questions: list[CategoryQuestion] | None = None
) -> list[dict[str, Any]]:
    from sanan.workorders.catalogue import questions_for

    rows = []
    for question in questions if questions is not None else questions_for(order.category):
        if question.code not in (order.answers or {}):
            continue
        value = order.answers[question.code]
        if isinstance(value, str):
            value = mask_personal(value)
        rows.append({"code": question.code, "name": question.label, "value": value})
    return rows


def notes(request: Any, order: WorkOrder) -> list[dict[str, Any]]:
    rows = []
    for event in getattr(order, "public_events", []):
        label = str(Action(event.action).label)
        if event.from_state != event.to_state and event.to_state:
            label = f"{label} → {State(event.to_state).label}"
        rows.append(
            {
                "datetime": event.at,
                "type": event.action,
                "status": status_of(event.to_state),
                "description": mask_personal(
                    f"{label}: {event.public_note}" if event.public_note else label
                ),
            }
        )
    return rows


def update(request: Any, event: Any, order: WorkOrder) -> dict[str, Any]:
    label = str(Action(event.action).label)
    status = UPDATE_STATUS.get(event.to_state, "open")
    if event.action == Action.MERGE:
        status = "duplicate"
    attachment_ids = [a for a in (event.attachments or []) if isinstance(a, int)]
    media = (
        absolute(request, reverse("open311:media", args=[attachment_ids[0], "jpg"]))
        if attachment_ids
        else ""
    )
    return {
        "update_id": str(event.pk),
        "service_request_id": str(order.pk),
        "status": status,
        "updated_datetime": event.at,
        "description": mask_personal(event.public_note or label),
        "media_url": media,
    }
