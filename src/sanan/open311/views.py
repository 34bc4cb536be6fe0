"""The GeoReport v2 endpoint at ``/open311/v2/``: every call in ``.xml`` and ``.json``.

Tolerant of the clients found in the field: ``api_key`` and ``jurisdiction_id`` are read from
the form body or the query string; an empty parameter counts as absent; form-urlencoded,
multipart (a ``media`` photo) and JSON bodies are read alike; ``/service/<code>`` answers like
``/services/<code>``; a name without a space (a Chinese name) may come in ``first_name`` or
``last_name`` alone. Errors are the specification's list of ``{code, description}`` in the
requested format: 404 for an unknown service, request, token or jurisdiction, 403 for a
missing or bad ``api_key``, 429 past a key's rate limit, 400 for anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlparse

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from sanan.core import clock
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.core.phone import looks_like_mobile
from sanan.open311 import documents, selectors, services
from sanan.open311.models import ApiKey
from sanan.open311.render import FORMATS, respond
from sanan.places.coords import LatLng, parse_system, validate
from sanan.places.models import Place, PlaceKind
from sanan.workorders.models import Channel, QuestionType, WorkOrder
from sanan.workorders.services import DESCRIPTION_LIMITS
from sanan.workorders.state import CLOSED_STATES

DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
MAX_DESCRIPTION = DESCRIPTION_LIMITS[Channel.OPEN311]  # the specification's 4,000
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ORDER_PLACES = (PlaceKind.AREA, PlaceKind.COURTYARD, PlaceKind.HOUSE, PlaceKind.UNIT)


class BadRequest(DomainError):
    status_code = 400


# --- parameters ---------------------------------------------------------------------------


class Params:
    """The request's parameters: the body (form or JSON) first, then the query string. An
    empty value is no value."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.body: dict[str, list[str]] = {}
        if request.method == "POST":
            if (request.content_type or "").startswith("application/json"):
                try:
                    data = json.loads(request.body or b"{}")
                except ValueError:
                    raise BadRequest(
                        "open311.bad_json", _("The JSON body cannot be read.")
                    ) from None
                if isinstance(data, dict):
                    for key, value in data.items():
                        if key == "attribute" and isinstance(value, dict):  # {"attribute": {…}}
                            for code, answer in value.items():
                                self._put(f"attribute[{code}]", answer)
                        else:
                            self._put(key, value)
            else:
                self.body = {k: list(v) for k, v in request.POST.lists()}
        self.query = {k: list(v) for k, v in request.GET.lists()}

    def _put(self, key: str, value: Any) -> None:
        values = value if isinstance(value, list) else [value]
        self.body[key] = ["" if v is None else str(v) for v in values]

    def all(self, name: str) -> list[str]:
        values = [v.strip() for v in [*self.body.get(name, []), *self.query.get(name, [])]]
        if any("\x00" in v for v in values):  # PostgreSQL cannot store it; nobody types it
            raise BadRequest(
                "open311.null_character",
                _("%(name)s contains a null character, which is not allowed.") % {"name": name},
            )
        return [v for v in values if v]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def items(self) -> list[tuple[str, list[str]]]:
        merged: dict[str, list[str]] = {}
        for source in (self.body, self.query):
            for key, values in source.items():
                merged.setdefault(key, []).extend(values)
        return list(merged.items())

    def comma_list(self, name: str) -> list[str]:
        return [p.strip() for v in self.all(name) for p in v.split(",") if p.strip()]


def _when(params: Params, name: str, *, end_of_day: bool = False) -> dt.datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:  # well formed but no such moment (2026-13-01, 2026-02-30, past year 9999 in UTC)
        value = parse_datetime(
            raw.replace(" ", "+", 1) if re.search(r"T.* \d\d:?\d\d$", raw) else raw
        )
        if value is None:
            day = parse_date(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
            if day is not None:
                value = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        if value is not None:
            if timezone.is_naive(value):
                value = timezone.make_aware(value, timezone.get_current_timezone())
            value.astimezone(dt.UTC)  # what the database compares
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise BadRequest(
            "open311.bad_datetime",
            _("%(name)s must be a W3C date and time, e.g. 2026-11-01T00:00:00+08:00.")
            % {"name": name},
        )
    return value


def _positive(params: Params, name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise BadRequest(
            "open311.bad_number",
            _("%(name)s must be a whole number from 1 to %(max)d.")
            % {"name": name, "max": maximum},
        )
    return int(raw)


def _flag(params: Params, name: str) -> bool:
    return (params.get(name) or "").lower() in ("true", "1", "yes")


def _client(params: Params, *, required: bool) -> ApiKey | None:
    """The key of the call (403 when required and missing, or when given and bad), counted
    against its rate limit."""
    raw = params.get("api_key")
    if raw is None and not required:
        return None
    api_key = services.api_key_for(raw)
    services.api_key_hit(api_key=api_key)
    return api_key


def _jurisdiction(params: Params, api_key: ApiKey | None) -> Place | None:
    place = selectors.jurisdiction_get(jurisdiction_id=params.get("jurisdiction_id"))
    if api_key is not None and place is not None and place.pk != api_key.jurisdiction_id:
        raise PermissionDenied(
            "open311.api_key_jurisdiction",
            _("This api_key is not valid for jurisdiction “%(id)s”.") % {"id": place.code},
        )
    return place


# --- responses -----------------------------------------------------------------------------


def _errors(fmt: str, status: int, messages: list[str]) -> HttpResponse:
    rows = [{"code": status, "description": m} for m in messages]
    return respond(fmt, "errors", rows, status=status)


def _error_messages(exc: DomainError) -> list[str]:
    messages = [str(exc.message)]
    for name, problems in exc.fields.items():
        if name.startswith("answers."):  # the work-order intake's name for an attribute
            name = f"attribute[{name[len('answers.') :]}]"
        messages.extend(f"{name}: {p}" for p in problems)
    return messages


def endpoint(*methods: str) -> Callable[..., Callable[..., HttpResponse]]:
    """A view answering in the format named by its URL, with errors as the specification
    says; other methods get 405."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
            fmt = fmt.lower()
            if fmt not in FORMATS:
                return _errors(
                    "xml",
                    400,
                    [_("Unknown format “%(fmt)s”: use xml or json.") % {"fmt": fmt[:10]}],
                )
            if request.method not in methods:
                response = _errors(fmt, 405, [_("This method is not allowed here.")])
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, fmt, *args, **kwargs)
            except DomainError as exc:
                return _errors(fmt, exc.status_code, _error_messages(exc))

        return wrapper

    return decorate


def _negotiated(request: HttpRequest) -> str:
    fmt = (request.GET.get("format") or "").lower()
    if fmt in FORMATS:
        return fmt
    return "json" if "json" in request.headers.get("Accept", "") else "xml"


# --- discovery and services -----------------------------------------------------------------


@endpoint("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    return respond(fmt, "discovery", documents.discovery(request))


@csrf_exempt
def discovery_root(request: HttpRequest) -> HttpResponse:
    """The endpoint's root answers with the discovery document (``?format=json`` or an
    ``Accept: application/json`` header for JSON, XML otherwise)."""
    return discovery(request, fmt=_negotiated(request))


@endpoint("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    params = Params(request)
    _jurisdiction(params, _client(params, required=False))
    rows = [documents.service(s) for s in selectors.service_list()]
    return respond(fmt, "services", rows)


@endpoint("GET", "HEAD")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    params = Params(request)
    _jurisdiction(params, _client(params, required=False))
    item = selectors.service_get(code=code)
    questions = selectors.service_questions(category=item.category)
    return respond(fmt, "service_definition", documents.service_definition(item, questions))


# --- requests -------------------------------------------------------------------------------


def _request_rows(
    request: HttpRequest,
    orders: list[WorkOrder],
    *,
    extensions: bool,
    viewer: ApiKey | None,
    system: str = "wgs84",
) -> list[dict[str, Any]]:
    places = selectors.place_names(documents.address_paths(orders))
    questions = selectors.questions_by_category(o.category for o in orders) if extensions else {}
    return [
        documents.service_request(
            request,
            o,
            places,
            extensions=extensions,
            viewer=viewer,
            system=system,
            questions=questions.get(o.category_id),
        )
        for o in orders
    ]


def _filtered(params: Params, qs: Any) -> Any:
    ids = params.comma_list("service_request_id")
    if ids:  # overrides every other filter
        return qs.filter(pk__in=[int(i) for i in ids if i.isdigit()])
    codes = params.comma_list("service_code")
    if codes:
        qs = qs.filter(category__code__in=codes)
    statuses = {s.lower() for s in params.comma_list("status")}
    if statuses - {"open", "closed"}:
        raise BadRequest("open311.bad_status", _("status is open, closed or both (open,closed)."))
    if statuses == {"open"}:
        qs = qs.exclude(state__in=CLOSED_STATES)
    elif statuses == {"closed"}:
        qs = qs.filter(state__in=CLOSED_STATES)
    start, end = _when(params, "start_date"), _when(params, "end_date", end_of_day=True)
    after, before = _when(params, "updated_after"), _when(params, "updated_before", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise BadRequest("open311.bad_date_range", _("start_date is after end_date."))
    if start is None and end is None and after is None and before is None:
        start = clock.now() - dt.timedelta(days=DEFAULT_DAYS)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lte=end)
    if after is not None:
        qs = qs.filter(updated_at__gt=after)
    if before is not None:
        qs = qs.filter(updated_at__lt=before)
    return qs


@endpoint("GET", "HEAD", "POST")
def requests_(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    params = Params(request)
    api_key = _client(params, required=False)
    jurisdiction = _jurisdiction(params, api_key)
    extensions = _flag(params, "extensions")
    qs = _filtered(params, selectors.request_list(api_key=api_key, jurisdiction=jurisdiction))
    page = _positive(params, "page", 1, 1_000_000)
    size = _positive(params, "page_size", MAX_REQUESTS, MAX_REQUESTS)
    orders = list(qs[(page - 1) * size : page * size])
    system = parse_system(params.get("coordinate_system") or "wgs84").value
    rows = _request_rows(request, orders, extensions=extensions, viewer=api_key, system=system)
    return respond(fmt, "service_requests", rows)


@endpoint("GET", "HEAD")
def request_one(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    params = Params(request)
    api_key = _client(params, required=False)
    jurisdiction = _jurisdiction(params, api_key)
    order = selectors.request_get(api_key=api_key, jurisdiction=jurisdiction, request_id=request_id)
    extensions = _flag(params, "extensions")
    system = parse_system(params.get("coordinate_system") or "wgs84").value
    rows = _request_rows(request, [order], extensions=extensions, viewer=api_key, system=system)
    return respond(fmt, "service_requests", rows)


def _place_from_address(params: Params, jurisdiction: Place) -> Place | None:
    address_id = params.get("address_id")
    scope = Place.objects.filter(path__startswith=jurisdiction.path, kind__in=_ORDER_PLACES)
    if address_id is not None:
        place = scope.filter(code=address_id).first()
        if place is None:
            raise BadRequest(
                "open311.address_id_not_found",
                _("address_id “%(id)s” is not a place of this jurisdiction.")
                % {"id": address_id[:80]},
            )
        return place
    text = params.get("address_string")
    if text is None:
        return None
    compact = re.sub(r"\s+", "", text)
    found = [
        p
        for p in scope.exclude(kind=PlaceKind.UNIT)
        if p.name and p.name.replace(" ", "") in compact
    ]
    if not found:
        raise BadRequest(
            "open311.address_not_found",
            _(
                "This address could not be found in the jurisdiction; send lat and long, or an "
                "address_id."
            ),
        )
    # The most specific place named (a house before its courtyard), then the longest name.
    return max(found, key=lambda p: (p.depth, len(p.name)))


def _point(params: Params) -> tuple[LatLng | None, str]:
    lat, lng = params.get("lat"), params.get("long") or params.get("lng") or params.get("lon")
    system = params.get("coordinate_system") or "wgs84"
    if lat is None and lng is None:
        return None, system
    if lat is None or lng is None:
        raise BadRequest("open311.incomplete_point", _("lat and long must both be sent."))
    try:
        point = validate(LatLng(float(lat), float(lng)))
    except ValueError:
        raise BadRequest("open311.bad_point", _("lat and long must be numbers.")) from None
    return point, parse_system(system).value


def _attributes(params: Params, questions: dict[str, Any]) -> dict[str, Any]:
    """``attribute[code]=v`` answers, ``attribute[code][]=v`` (or repeated, or comma-separated)
    for a multivaluelist. Codes the service does not ask are left out."""
    answers: dict[str, Any] = {}
    for key, values in params.items():
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        values = [v.strip() for v in values if v.strip()]
        if not values:
            continue
        code = match.group(1)
        question = questions.get(code)
        if question is None:
            continue  # clients add their own (FixMyStreet: report_url, title…): not ours to refuse
        if question.datatype == QuestionType.MULTI:
            answers[code] = [p.strip() for v in values for p in v.split(",") if p.strip()]
        else:
            answers[code] = values[-1]
    return answers


def _contact_name(params: Params) -> str:
    first, last = params.get("first_name") or "", params.get("last_name") or ""
    if _CJK.search(first + last):
        return (last + first)[:60]  # 王 + 阿姨: family name first, no space
    return " ".join(p for p in (first, last) if p)[:60]


def _media_url(params: Params) -> str:
    url = params.get("media_url") or ""
    if not url:
        return ""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > 500:
        raise BadRequest("open311.bad_media_url", _("media_url must be an http(s) URL."))
    return url


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    params = Params(request)
    api_key = _client(params, required=True)
    assert api_key is not None
    _jurisdiction(params, api_key)
    code = params.get("service_code")
    if code is None:
        raise BadRequest("open311.service_code_required", _("service_code was not provided."))
    item = selectors.service_get(code=code)
    point, system = _point(params)
    place = None if point is not None else _place_from_address(params, api_key.jurisdiction)
    if point is None and place is None:
        raise BadRequest(
            "open311.location_required",
            _("A location is required: lat and long, address_string or address_id."),
        )
    description = params.get("description") or item.category.name
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(
            "open311.description_too_long",
            _("description has at most %(n)d characters.") % {"n": MAX_DESCRIPTION},
        )
    questions = {q.code: q for q in selectors.service_questions(category=item.category)}
    phone = params.get("phone") or ""
    uploads = [*request.FILES.getlist("media"), *request.FILES.getlist("media[]")]
    try:
        row = services.open311_request_submit(
            api_key=api_key,
            category=item.category,
            description=description,
            place=place,
            point=point,
            point_system=system,
            contact_name=_contact_name(params),
            contact_phone=phone if looks_like_mobile(phone) else "",
            answers=_attributes(params, questions),
            media_url=_media_url(params),
            uploads=uploads,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
    except NotFound as exc:  # a place outside the key's community is a bad location
        raise BadRequest(exc.code, exc.message, fields=exc.fields) from None
    order = row.order
    body = [
        {
            "service_request_id": str(order.pk),
            "service_notice": documents.service_notice(order),
            "account_id": None,
        }
    ]
    return respond(fmt, "service_requests", body)


# --- tokens, updates, media -------------------------------------------------------------------


@endpoint("GET", "HEAD")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    params = Params(request)
    _jurisdiction(params, _client(params, required=False))
    row = selectors.token_get(token=token)
    return respond(
        fmt, "service_requests", [{"service_request_id": str(row.order_id), "token": row.token}]
    )


@endpoint("GET", "HEAD", "POST")
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    params = Params(request)
    if request.method == "POST":
        return _post_update(request, fmt, params)
    api_key = _client(params, required=False)
    jurisdiction = _jurisdiction(params, api_key)
    end = _when(params, "end_date", end_of_day=True) or clock.now()
    start = _when(params, "start_date") or end - dt.timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise BadRequest("open311.bad_date_range", _("start_date is after end_date."))
    size = _positive(params, "page_size", MAX_REQUESTS, MAX_REQUESTS)
    rows = selectors.update_list(
        api_key=api_key, jurisdiction=jurisdiction, start=start, end=end, limit=size
    )
    return respond(
        fmt, "service_request_updates", [documents.update(request, e, o) for e, o in rows]
    )


def _post_update(request: HttpRequest, fmt: str, params: Params) -> HttpResponse:
    api_key = _client(params, required=True)
    assert api_key is not None
    jurisdiction = _jurisdiction(params, api_key)
    request_id = params.get("service_request_id")
    if request_id is None:
        raise BadRequest(
            "open311.service_request_id_required", _("service_request_id was not provided.")
        )
    order = selectors.request_get(api_key=api_key, jurisdiction=jurisdiction, request_id=request_id)
    description = params.get("description") or ""
    media = params.get("media_url")
    if media:
        description = f"{description}\n{_media_url(params)}".strip()
    files = request.FILES.getlist("media")
    upload = files[0] if files else None
    posted = services.open311_update_post(
        api_key=api_key,
        order=order,
        external_id=params.get("update_id") or "",
        description=description,
        upload=upload,
    )
    return respond(fmt, "service_request_updates", [{"update_id": str(posted.update.event_id)}])


def media(request: HttpRequest, attachment_id: int, ext: str) -> HttpResponseBase:
    """A photo of a public order, as uploaded (re-encoded without its metadata)."""
    try:
        attachment = selectors.attachment_get_public(attachment_id=attachment_id)
    except DomainError as exc:
        return _errors("xml", exc.status_code, _error_messages(exc))
    try:
        handle = default_storage.open(attachment.file)
    except OSError:  # the row outlived its file (a restore without the media folder)
        return _errors("xml", 404, [_("No such media.")])
    response = FileResponse(handle, content_type=attachment.content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    fmt = "json" if request.path.endswith(".json") else "xml"
    return _errors(
        fmt, 404, [_("There is no such Open311 resource: %(path)s") % {"path": request.path[:200]}]
    )
