"""The work-order API under /api/v1/: categories, intake, lists, one endpoint per action.

Every action is ``POST /api/v1/orders/<id>/<action>/``; it answers the order as it is
afterwards. Optimistic concurrency: send the ``version`` you saw (``If-Match: "<version>"``
or ``"version"`` in the body) and a change someone made in between gives 409
``work_order.conflict`` instead of acting on a state you have not seen.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.core.errors import DomainError
from sanan.organisation.models import Organisation
from sanan.places.coords import CoordSystem, LatLng
from sanan.places.models import Place
from sanan.workorders import services
from sanan.workorders.access import (
    allowed_actions,
    is_staff_for,
    may_see_reporter,
)
from sanan.workorders.attachments import CONTENT_TYPES
from sanan.workorders.catalogue import Catalogue, catalogue
from sanan.workorders.filters import WorkOrderFilter
from sanan.workorders.models import (
    Attachment,
    Category,
    Channel,
    ExtensionRequest,
    ExtensionStatus,
    QuestionType,
    RoutingKind,
    RoutingRule,
    SlaClock,
    WorkOrder,
    WorkOrderEvent,
)
from sanan.workorders.routing import route_for
from sanan.workorders.routing import routing_rule_create as create_routing_rule
from sanan.workorders.routing import routing_rule_retire as retire_routing_rule
from sanan.workorders.selectors import (
    category_list,
    work_order_board,
    work_order_get_for,
    work_order_list,
    work_order_queue,
    work_order_timeline,
)
from sanan.workorders.sla import calendar_status
from sanan.workorders.state import (
    Action,
    Resolution,
    ReturnReason,
    Ruling,
    Satisfaction,
    State,
)

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The order\'s version you saw, e.g. "7" (or send "version" in the body).',
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string: a retried request with the same key returns the first "
    "order instead of creating a second one.",
)

# --- categories ---------------------------------------------------------------------------------


class SlaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    emergency = serializers.BooleanField()
    clock = serializers.ChoiceField(choices=SlaClock.choices)
    sign_minutes = serializers.IntegerField()
    contact_minutes = serializers.IntegerField()
    finish_minutes = serializers.IntegerField()


class QuestionValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class QuestionSerializer(serializers.Serializer):
    """An extra question, shaped like an Open311 attribute."""

    code = serializers.CharField()
    datatype = serializers.ChoiceField(choices=QuestionType.choices)
    description = serializers.CharField(help_text=_("The question to show."))
    # DRF takes declared fields off the class; the names only clash for the type checker.
    required = serializers.BooleanField()  # type: ignore[assignment]
    values = QuestionValueSerializer(many=True)


class CategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    icon = serializers.CharField()
    level = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    sla = SlaSerializer(allow_null=True)
    questions = QuestionSerializer(many=True, help_text=_("Including those of the parents."))


def _localised(item: dict[str, Any]) -> str:
    from django.utils import translation

    en = (translation.get_language() or "").startswith("en")
    return str(item.get("name_en") if en else item.get("name_zh")) or str(item.get("key", ""))


def _catalogue(categories: list[Category]) -> list[dict[str, Any]]:
    """Categories with their parent, inherited SLA policy and inherited questions, computed
    from one list (no query per category)."""
    by_path = {c.path: c for c in categories}
    rows = []
    for c in categories:
        chain = [by_path[p] for p in c.ancestor_paths() if p in by_path]
        policy = next((a.sla_policy for a in reversed(chain) if a.sla_policy), None)
        questions = [q for a in chain for q in a.questions.all()]
        parent = by_path.get(c.path[: -c.steplen]) if c.depth > 1 else None
        rows.append(
            {
                "id": c.pk,
                "code": c.code,
                "name": c.name,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "icon": c.icon,
                "level": c.depth,
                "parent_id": parent.pk if parent else None,
                "sla": None
                if policy is None
                else {
                    "code": policy.code,
                    "name": policy.name,
                    "emergency": policy.emergency,
                    "clock": policy.clock,
                    "sign_minutes": policy.sign_minutes,
                    "contact_minutes": policy.contact_minutes,
                    "finish_minutes": policy.finish_minutes,
                },
                "questions": [
                    {
                        "code": q.code,
                        "datatype": q.datatype,
                        "description": q.label,
                        "required": q.required,
                        "values": [
                            {"key": str(v["key"]), "name": _localised(v)} for v in q.values or []
                        ],
                    }
                    for q in questions
                ],
            }
        )
    return rows


class CategoryViewSet(viewsets.ViewSet):
    """The category tree (level 1 = the 15 stable codes), each with the deadlines that apply
    and the extra questions to ask."""

    lookup_value_regex = r"\d+"

    @extend_schema(responses=CategorySerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(CategorySerializer(_catalogue(list(category_list())), many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=CategorySerializer,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        categories = list(category_list())
        row = next((r for r in _catalogue(categories) if str(r["id"]) == str(pk)), None)
        if row is None:
            raise DomainError("not_found", _("No such category."), status_code=404)
        return Response(CategorySerializer(row).data)


# --- orders: output -----------------------------------------------------------------------------


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CategoryRefSerializer(RefSerializer):
    code = serializers.CharField()


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


class WorkOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    state_label = serializers.CharField()
    category = CategoryRefSerializer()
    place = RefSerializer()
    courtyard = RefSerializer(allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    is_discovery = serializers.BooleanField()
    emergency = serializers.BooleanField()
    anonymous = serializers.BooleanField()
    lead_organisation = RefSerializer(allow_null=True)
    due_stage = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    escalation_level = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField()


class ReporterSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    display_name = serializers.CharField()
    contact_name = serializers.CharField()
    contact_phone_masked = serializers.CharField()


class ExtensionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    days = serializers.IntegerField()
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=ExtensionStatus.choices)
    requested_at = serializers.DateTimeField()


class WorkOrderDetailSerializer(WorkOrderSerializer):
    description = serializers.CharField()
    answers = serializers.DictField()
    latitude = serializers.DecimalField(max_digits=10, decimal_places=7, allow_null=True)
    longitude = serializers.DecimalField(max_digits=10, decimal_places=7, allow_null=True)
    point_system = serializers.CharField()
    co_handlers = RefSerializer(many=True)
    suggested_organisation = RefSerializer(allow_null=True)
    reporter = ReporterSerializer(allow_null=True, help_text=_("Hidden on anonymous orders."))
    sign_due_at = serializers.DateTimeField(allow_null=True)
    contact_due_at = serializers.DateTimeField(allow_null=True)
    finish_due_at = serializers.DateTimeField(allow_null=True)
    paused_minutes = serializers.IntegerField()
    chase_count = serializers.IntegerField()
    supervision_level = serializers.IntegerField()
    rehandle_count = serializers.IntegerField()
    resolution = serializers.CharField()
    satisfaction = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    contacted_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    rated_at = serializers.DateTimeField(allow_null=True)
    archived_at = serializers.DateTimeField(allow_null=True)
    pending_extension = ExtensionSerializer(allow_null=True)
    allowed_actions = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("What you may do now: the buttons to show."),
    )


def _row(order: WorkOrder, now: Any) -> dict[str, Any]:
    return {
        "id": order.pk,
        "reference": order.reference,
        "title": order.title,
        "state": order.state,
        "state_label": str(State(order.state).label),
        "category": {
            "id": order.category.pk,
            "name": order.category.name,
            "code": order.category.code,
        },
        "place": _ref(order.place),
        "courtyard": _ref(order.courtyard),
        "channel": order.channel,
        "is_discovery": order.is_discovery,
        "emergency": order.emergency,
        "anonymous": order.anonymous,
        "lead_organisation": _ref(order.lead_organisation),
        "due_stage": order.due_stage,
        "due_at": order.due_at,
        "overdue": order.due_at is not None and order.due_at <= now,
        "escalation_level": order.escalation_level,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "version": order.version,
    }


_NOT_READ = object()
_BOUND: dict[type[serializers.Serializer], serializers.Serializer] = {}


def _bound(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One serializer per class and process: building one per request deep-copies its declared
    fields and those of every nested serializer (0.9 ms of CPU for an order's detail, against
    0.1 ms to use it; 0.3 ms for the intake form). These plain serializers (no context, no
    request, no ``validate`` reading ``self``) keep no state between uses: nested serializers
    are used exactly so by their parents."""
    bound = _BOUND.get(serializer_class)
    if bound is None:
        bound = _BOUND[serializer_class] = serializer_class()
    return bound


def _represent(serializer_class: type[serializers.Serializer], instance: Any) -> Any:
    """What ``serializer_class(instance).data`` gives (see ``_bound``)."""
    return _bound(serializer_class).to_representation(instance)


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """What ``serializer_class(data=data)`` validates to, or the same ``ValidationError`` that
    ``is_valid(raise_exception=True)`` raises (see ``_bound``)."""
    return dict(_bound(serializer_class).run_validation(data))


def _detail(order: WorkOrder, user: Any, *, pending: Any = _NOT_READ) -> dict[str, Any]:
    """The order as the detail view shows it; ``pending`` (the pending extension request) is
    read when not given."""
    from sanan.core import clock

    staff = is_staff_for(user, order)
    reporter = None
    if may_see_reporter(user, order):
        reporter = {
            "id": order.reporter_id,
            "display_name": str(order.reporter) if order.reporter else "",
            "contact_name": order.contact_name if staff else "",
            "contact_phone_masked": order.contact_phone_masked if staff else "",
        }
    if pending is _NOT_READ:
        pending = ExtensionRequest.objects.filter(
            order=order, status=ExtensionStatus.PENDING
        ).first()
    suggested = order.suggested_organisation if staff else None
    return {
        **_row(order, clock.now()),
        "description": order.description,
        "answers": order.answers,
        "latitude": order.latitude,
        "longitude": order.longitude,
        "point_system": order.point_system,
        "co_handlers": [_ref(o) for o in order.co_handlers.all()],
        "suggested_organisation": _ref(suggested),
        "reporter": reporter,
        **{
            f: getattr(order, f)
            for f in (
                "sign_due_at",
                "contact_due_at",
                "finish_due_at",
                "paused_minutes",
                "chase_count",
                "supervision_level",
                "rehandle_count",
                "resolution",
                "satisfaction",
                "dispatched_at",
                "signed_at",
                "contacted_at",
                "started_at",
                "finished_at",
                "rated_at",
                "archived_at",
            )
        },
        "pending_extension": pending,
        "allowed_actions": allowed_actions(user, order),
    }


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=Action.choices)
    action_label = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField(help_text=_("A state, as in the order's “state”."))
    who = serializers.CharField(help_text=_("A person for staff; the organisation for others."))
    organisation = RefSerializer(allow_null=True)
    reason_code = serializers.CharField()
    reason = serializers.CharField()
    public_note = serializers.CharField()
    internal_note = serializers.CharField()
    details = serializers.DictField()
    attachments = serializers.ListField(child=serializers.JSONField())


# --- orders: intake and lists -----------------------------------------------------------------


class PointSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    system = serializers.CharField(
        help_text=_("wgs84 (GPS), gcj02 (AMap, Tencent, WeChat) or bd09 (Baidu)")
    )


class SubmitSerializer(serializers.Serializer):
    category = serializers.IntegerField()
    description = serializers.CharField(max_length=services.MAX_DESCRIPTION)
    title = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    place = serializers.IntegerField(required=False, allow_null=True, default=None)
    point = PointSerializer(required=False, allow_null=True, default=None)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    anonymous = serializers.BooleanField(default=False)
    reporter = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text=_("Desk only: the caller.")
    )
    contact_name = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default=""
    )
    contact_phone = serializers.CharField(
        max_length=24, required=False, allow_blank=True, default=""
    )
    answers = serializers.DictField(required=False, default=dict)


def _category(pk: int, snapshot: Catalogue | None = None) -> Category:
    category = (snapshot or catalogue()).categories.get(pk)
    if category is None:
        raise DomainError(
            "work_order.unknown_category",
            _("There is no such category."),
            fields={"category": [_("Choose a listed category.")]},
        )
    return category


def _place(pk: int | None) -> Place | None:
    if pk is None:
        return None
    place = services.intake_place(pk)
    if place is None:
        raise DomainError(
            "work_order.unknown_place",
            _("There is no such place."),
            fields={"place": [_("Choose a listed place.")]},
        )
    return place


def _organisation(pk: int | None, field: str = "lead_organisation") -> Organisation | None:
    if pk is None:
        return None
    org = Organisation.objects.select_related("place").filter(pk=pk).first()
    if org is None:
        raise DomainError(
            "work_order.unknown_organisation",
            _("There is no such organisation."),
            fields={field: [_("Choose a listed organisation.")]},
        )
    return org


def _lead(pk: int) -> Organisation:
    org = _organisation(pk)
    if org is None:  # pragma: no cover - the field is required
        raise DomainError("work_order.unknown_organisation", _("There is no such organisation."))
    return org


class BucketSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class CourtyardLoadSerializer(serializers.Serializer):
    courtyard_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()


class BoardSerializer(serializers.Serializer):
    buckets = BucketSerializer(many=True)
    courtyards = CourtyardLoadSerializer(many=True)


class QueueSerializer(serializers.Serializer):
    buckets = BucketSerializer(many=True)


def _bucket(bucket: Any) -> dict[str, Any]:
    return {"code": bucket.code, "name": bucket.label, "count": bucket.count}


class WorkOrderViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Orders you may see: yours, those of your courtyards or community, those assigned to
    your organisation. Filter with the parameters below (the web lists use the same)."""

    filterset_class = WorkOrderFilter
    lookup_value_regex = r"\d+"
    serializer_class = WorkOrderSerializer

    def get_queryset(self) -> Any:
        return work_order_list(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from sanan.core import clock

        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        now = clock.now()
        rows = [_row(o, now) for o in (page if page is not None else queryset)]
        data = WorkOrderSerializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(responses=WorkOrderDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        order = work_order_get_for(user=request.user, pk=pk)
        response = Response(WorkOrderDetailSerializer(_detail(order, request.user)).data)
        response["ETag"] = f'"{order.version}"'
        return response

    @extend_schema(
        request=SubmitSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: WorkOrderDetailSerializer,
            200: OpenApiResponse(
                WorkOrderDetailSerializer, description="A retry: the first order, unchanged."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        """Report a problem. Give a place (courtyard, house, flat) or a map point with its
        coordinate system; a matching routing rule dispatches the order at once."""
        v = _validated(SubmitSerializer, request.data)
        snapshot = catalogue()  # one stamp read for the request: the service uses it too
        point = v["point"]
        reporter = None
        if v["reporter"] is not None:
            from sanan.accounts.models import User

            reporter = User.objects.filter(pk=v["reporter"]).first()
            if reporter is None:
                raise DomainError(
                    "work_order.unknown_reporter",
                    _("There is no such user."),
                    fields={"reporter": [_("Unknown user.")]},
                )
        submitted = services.work_order_submit(
            actor=request.user,
            channel=v["channel"],
            category=_category(v["category"], snapshot),
            description=v["description"],
            title=v["title"],
            place=_place(v["place"]),
            point=LatLng(point["lat"], point["lng"]) if point else None,
            point_system=point["system"] if point else CoordSystem.WGS84.value,
            anonymous=v["anonymous"],
            reporter=reporter,
            contact_name=v["contact_name"],
            contact_phone=v["contact_phone"],
            answers=v["answers"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            duplicate_hints=False,  # the answer does not list them (see /duplicates/)
            snapshot=snapshot,
        )
        if submitted.created:
            # The order in hand, with its relations, is what a read would return; a new order
            # has no extension request.
            order = submitted.order
            detail = _detail(order, request.user, pending=None)
        else:
            order = work_order_get_for(user=request.user, pk=submitted.order.pk)
            detail = _detail(order, request.user)
        response = Response(
            _represent(WorkOrderDetailSerializer, detail),
            status=status.HTTP_201_CREATED if submitted.created else status.HTTP_200_OK,
        )
        response["ETag"] = f'"{order.version}"'
        if not submitted.created:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str) -> Response:
        """The timeline. Internal notes, reasons and details only for the desk and the
        handling organisations."""
        order = work_order_get_for(user=request.user, pk=pk)
        timeline = work_order_timeline(user=request.user, order=order)
        return Response(EventSerializer(timeline, many=True).data)

    @extend_schema(responses=BoardSerializer)
    @action(detail=False, methods=["get"])
    def board(self, request: Request) -> Response:
        """The dispatcher's board: new, returned, overdue, due soon… and the load by courtyard.
        List a bucket with ``?bucket=<code>``."""
        board = work_order_board(user=request.user)
        return Response(
            BoardSerializer(
                {
                    "buckets": [_bucket(b) for b in board.buckets],
                    "courtyards": [c.__dict__ for c in board.courtyards],
                }
            ).data
        )

    @extend_schema(responses=QueueSerializer)
    @action(detail=False, methods=["get"])
    def queue(self, request: Request) -> Response:
        """The handler's queue: to sign for, in progress, due soon, overdue, co-handling."""
        buckets = work_order_queue(user=request.user)
        return Response(QueueSerializer({"buckets": [_bucket(b) for b in buckets]}).data)


# --- orders: one endpoint per action ----------------------------------------------------------


class VersionedSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, help_text=_("The version you saw (or send If-Match).")
    )


def _expected_version(request: Request, data: dict[str, Any]) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if header:
        token = header.removeprefix("W/").strip('"')
        if not token.isdigit():
            raise DomainError(
                "request.bad_if_match",
                _('If-Match must be the order\'s version in quotes, e.g. "7".'),
            )
        return int(token)
    value = data.get("version")
    return int(value) if value is not None else None


class _OrderActionApi(APIView):
    input_serializer: type[serializers.Serializer] = VersionedSerializer

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        order = work_order_get_for(user=request.user, pk=pk)
        data = _validated(self.input_serializer, request.data)
        self.perform(request, order, data, _expected_version(request, data))
        order.refresh_from_db()
        order._prefetched_objects_cache = {}  # type: ignore[attr-defined]
        response = Response(_represent(WorkOrderDetailSerializer, _detail(order, request.user)))
        response["ETag"] = f'"{order.version}"'
        return response


def _action_schema(input_serializer: type[serializers.Serializer], summary: str) -> Any:
    return extend_schema(
        summary=summary,
        request=input_serializer,
        parameters=[IF_MATCH],
        responses={
            200: WorkOrderDetailSerializer,
            400: OpenApiResponse(description="Invalid input (stable code in the body)."),
            403: OpenApiResponse(description="You may see the order but not do this."),
            404: OpenApiResponse(description="No such order, or not one you may see."),
            409: OpenApiResponse(
                description="work_order.illegal_transition (not from this state) or "
                "work_order.conflict (someone acted first)."
            ),
        },
    )


class DispatchInput(VersionedSerializer):
    lead_organisation = serializers.IntegerField()
    co_handlers = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required when overriding the routing suggestion."),
    )
    internal_note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderDispatchApi(_OrderActionApi):
    input_serializer = DispatchInput

    @_action_schema(DispatchInput, "Dispatch 派单")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_dispatch(
            actor=request.user,
            order=order,
            lead_organisation=_lead(data["lead_organisation"]),
            co_handlers=data["co_handlers"],
            reason=data["reason"],
            internal_note=data["internal_note"],
            expected_version=version,
        )


class NoteInput(VersionedSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderSignApi(_OrderActionApi):
    input_serializer = NoteInput

    @_action_schema(NoteInput, "Sign for 签收")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_sign(
            actor=request.user, order=order, note=data["note"], expected_version=version
        )


class ReturnInput(VersionedSerializer):
    reason_code = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=", ".join(ReturnReason.values),
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderReturnApi(_OrderActionApi):
    input_serializer = ReturnInput

    @_action_schema(ReturnInput, "Return 退单 (with a reason code)")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_return(
            actor=request.user,
            order=order,
            reason_code=data["reason_code"],
            reason=data["reason"],
            expected_version=version,
        )


class RuleInput(VersionedSerializer):
    decision = serializers.ChoiceField(choices=Ruling.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    lead_organisation = serializers.IntegerField(required=False, allow_null=True, default=None)
    co_handlers = serializers.ListField(
        child=serializers.IntegerField(), required=False, allow_null=True, default=None
    )


class WorkOrderRuleApi(_OrderActionApi):
    input_serializer = RuleInput

    @_action_schema(RuleInput, "Rule on a return 审定")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_rule(
            actor=request.user,
            order=order,
            decision=data["decision"],
            reason=data["reason"],
            lead_organisation=_organisation(data["lead_organisation"]),
            co_handlers=data["co_handlers"],
            expected_version=version,
        )


class TransferInput(VersionedSerializer):
    lead_organisation = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    co_handlers = serializers.ListField(
        child=serializers.IntegerField(), required=False, allow_null=True, default=None
    )


class WorkOrderTransferApi(_OrderActionApi):
    input_serializer = TransferInput

    @_action_schema(TransferInput, "Transfer 转派")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_transfer(
            actor=request.user,
            order=order,
            lead_organisation=_lead(data["lead_organisation"]),
            reason=data["reason"],
            co_handlers=data["co_handlers"],
            expected_version=version,
        )


class ContactInput(VersionedSerializer):
    method = serializers.ChoiceField(choices=["phone", "visit", "message"], default="phone")
    public_note = serializers.CharField(required=False, allow_blank=True, default="")
    internal_note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderContactApi(_OrderActionApi):
    input_serializer = ContactInput

    @_action_schema(ContactInput, "First contact 先行联系")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_contact(
            actor=request.user,
            order=order,
            method=data["method"],
            public_note=data["public_note"],
            internal_note=data["internal_note"],
            expected_version=version,
        )


class PublicNoteInput(VersionedSerializer):
    public_note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderStartApi(_OrderActionApi):
    input_serializer = PublicNoteInput

    @_action_schema(PublicNoteInput, "Start handling 办理")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_start(
            actor=request.user,
            order=order,
            public_note=data["public_note"],
            expected_version=version,
        )


class ExtensionRequestInput(VersionedSerializer):
    days = serializers.IntegerField(min_value=1, max_value=services.MAX_EXTENSION_DAYS)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderRequestExtensionApi(_OrderActionApi):
    input_serializer = ExtensionRequestInput

    @_action_schema(ExtensionRequestInput, "Request an extension 延期申请")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_request_extension(
            actor=request.user,
            order=order,
            days=data["days"],
            reason=data["reason"],
            expected_version=version,
        )


class ExtensionDecisionInput(VersionedSerializer):
    approve = serializers.BooleanField()
    granted_days = serializers.IntegerField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderDecideExtensionApi(_OrderActionApi):
    input_serializer = ExtensionDecisionInput

    @_action_schema(ExtensionDecisionInput, "Approve or refuse an extension")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_decide_extension(
            actor=request.user,
            order=order,
            approve=data["approve"],
            granted_days=data["granted_days"],
            note=data["note"],
            expected_version=version,
        )


class WorkOrderChaseApi(_OrderActionApi):
    input_serializer = NoteInput

    @_action_schema(NoteInput, "Chase 催办")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_chase(actor=request.user, order=order, note=data["note"])


class WorkOrderSuperviseApi(_OrderActionApi):
    input_serializer = NoteInput

    @_action_schema(NoteInput, "Supervise 督办")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_supervise(actor=request.user, order=order, note=data["note"])


class FinishInput(VersionedSerializer):
    public_note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required: what was done (the reporter reads it)."),
    )
    internal_note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderFinishApi(_OrderActionApi):
    input_serializer = FinishInput

    @_action_schema(FinishInput, "Finish 办结")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_finish(
            actor=request.user,
            order=order,
            public_note=data["public_note"],
            internal_note=data["internal_note"],
            expected_version=version,
        )


class CallbackInput(VersionedSerializer):
    resolution = serializers.ChoiceField(choices=Resolution.choices)
    satisfaction = serializers.ChoiceField(
        choices=[c for c in Satisfaction.choices if c[0] != Satisfaction.NOT_RATED]
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderCallbackApi(_OrderActionApi):
    input_serializer = CallbackInput

    @_action_schema(CallbackInput, "Call back and rate 回访 / 评价")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_callback(
            actor=request.user,
            order=order,
            resolution=data["resolution"],
            satisfaction=data["satisfaction"],
            comment=data["comment"],
            expected_version=version,
        )


class ReasonInput(VersionedSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderRehandleApi(_OrderActionApi):
    input_serializer = ReasonInput

    @_action_schema(ReasonInput, "Re-handle 重办")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_rehandle(
            actor=request.user, order=order, reason=data["reason"], expected_version=version
        )


class WorkOrderArchiveApi(_OrderActionApi):
    input_serializer = NoteInput

    @_action_schema(NoteInput, "Archive 归档")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_archive(
            actor=request.user, order=order, note=data["note"], expected_version=version
        )


class WorkOrderCloseUnratedApi(_OrderActionApi):
    input_serializer = VersionedSerializer

    @_action_schema(VersionedSerializer, "Close as not rated")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_close_unrated(actor=request.user, order=order, expected_version=version)


class NotesInput(serializers.Serializer):
    public_note = serializers.CharField(required=False, allow_blank=True, default="")
    internal_note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderNoteApi(_OrderActionApi):
    input_serializer = NotesInput

    @_action_schema(NotesInput, "Add a reply or an internal note")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        services.work_order_note(
            actor=request.user,
            order=order,
            public_note=data["public_note"],
            internal_note=data["internal_note"],
        )


ACTION_APIS: dict[str, type[_OrderActionApi]] = {
    "dispatch": WorkOrderDispatchApi,
    "sign": WorkOrderSignApi,
    "return": WorkOrderReturnApi,
    "rule": WorkOrderRuleApi,
    "transfer": WorkOrderTransferApi,
    "contact": WorkOrderContactApi,
    "start": WorkOrderStartApi,
    "request-extension": WorkOrderRequestExtensionApi,
    "decide-extension": WorkOrderDecideExtensionApi,
    "chase": WorkOrderChaseApi,
    "supervise": WorkOrderSuperviseApi,
    "finish": WorkOrderFinishApi,
    "callback": WorkOrderCallbackApi,
    "rehandle": WorkOrderRehandleApi,
    "archive": WorkOrderArchiveApi,
    "close-unrated": WorkOrderCloseUnratedApi,
    "note": WorkOrderNoteApi,
}


# --- the working calendar and routing suggestions -------------------------------------------


class CalendarStatusSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    known_years = serializers.ListField(child=serializers.IntegerField())
    missing_years = serializers.ListField(child=serializers.IntegerField())
    working_hours = serializers.ListField(child=serializers.CharField())


class WorkCalendarStatusApi(APIView):
    """Whether the working calendar knows the holidays of the years deadlines fall in."""

    @extend_schema(responses=CalendarStatusSerializer)
    def get(self, request: Request) -> Response:
        status_ = calendar_status()
        return Response(
            CalendarStatusSerializer(
                {
                    "ok": status_.ok,
                    "message": status_.message,
                    "known_years": status_.known_years,
                    "missing_years": status_.missing_years,
                    "working_hours": [f"{a:%H:%M}–{b:%H:%M}" for a, b in status_.periods],
                }
            ).data
        )


class RouteSerializer(serializers.Serializer):
    automatic = serializers.BooleanField()
    reason = serializers.CharField(help_text="rule, backstop or no_rule")
    rule_id = serializers.IntegerField(allow_null=True)
    lead_organisation = RefSerializer(allow_null=True)
    co_handlers = RefSerializer(many=True)


class WorkOrderRouteApi(APIView):
    """What the routing directory suggests for this order, and why (desk only)."""

    @extend_schema(responses=RouteSerializer)
    def get(self, request: Request, pk: int) -> Response:
        order = work_order_get_for(user=request.user, pk=pk)
        if not is_staff_for(request.user, order):
            raise DomainError(
                "work_order.forbidden", _("Only the desk sees routing."), status_code=403
            )
        route = route_for(category=order.category, place=order.place)
        return Response(
            RouteSerializer(
                {
                    "automatic": route.automatic,
                    "reason": route.reason,
                    "rule_id": route.rule.pk if route.rule else None,
                    "lead_organisation": _ref(route.lead),
                    "co_handlers": [_ref(o) for o in route.co_handlers],
                }
            ).data
        )


__all__ = [
    "ACTION_APIS",
    "CategoryViewSet",
    "RoutingRuleViewSet",
    "WorkCalendarStatusApi",
    "WorkOrderEvent",
    "WorkOrderRouteApi",
    "WorkOrderViewSet",
]


# --- the routing directory ----------------------------------------------------------------------


class RoutingRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=RoutingKind.choices, read_only=True)
    backstop = serializers.BooleanField(write_only=True, default=False)
    category = serializers.IntegerField(allow_null=True, required=False, default=None)
    place = serializers.IntegerField()
    lead_organisation = serializers.IntegerField()
    co_handlers = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    active = serializers.BooleanField(read_only=True)


def _rule_row(rule: RoutingRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "kind": rule.kind,
        "category": rule.category_id,
        "place": rule.place_id,
        "lead_organisation": rule.lead_organisation_id,
        "co_handlers": [o.pk for o in rule.co_handlers.all()],
        "note": rule.note,
        "active": rule.active,
    }


class RoutingRuleViewSet(viewsets.ViewSet):
    """The routing directory 派单目录: (category, place) → lead organisation and co-handlers.
    The most specific active rule dispatches new orders; a backstop is only suggested."""

    lookup_value_regex = r"\d+"

    def _rules(self, request: Request) -> Any:
        return (
            RoutingRule.objects.visible_to(request.user, "routing.manage")
            .filter(active=True)
            .select_related("category", "place")
            .prefetch_related("co_handlers")
            .order_by("place__path", "category__path", "id")
        )

    @extend_schema(responses=RoutingRuleSerializer(many=True))
    def list(self, request: Request) -> Response:
        rows = [_rule_row(r) for r in self._rules(request)]
        return Response(RoutingRuleSerializer(rows, many=True).data)

    @extend_schema(request=RoutingRuleSerializer, responses={201: RoutingRuleSerializer})
    def create(self, request: Request) -> Response:
        data = RoutingRuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        place = _place(v["place"])
        if place is None:  # pragma: no cover - a required field
            raise DomainError("work_order.unknown_place", _("There is no such place."))
        rule = create_routing_rule(
            actor=request.user,
            place=place,
            lead_organisation=_lead(v["lead_organisation"]),
            category=_category(v["category"]) if v["category"] is not None else None,
            co_handlers=[
                o for o in (_organisation(i, "co_handlers") for i in v["co_handlers"]) if o
            ],
            backstop=v["backstop"],
            note=v["note"],
        )
        return Response(RoutingRuleSerializer(_rule_row(rule)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={204: None},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        """Retire a rule (it stays in the history; new orders no longer follow it)."""
        rule = self._rules(request).filter(pk=int(pk)).first()
        if rule is None:
            raise DomainError("not_found", _("No such rule."), status_code=404)
        retire_routing_rule(actor=request.user, rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- photos ---------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text=_("The sender's file name, for display only."))
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    event_id = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()
    thumbnail_url = serializers.CharField()


def _attachment_row(attachment: Attachment) -> dict[str, Any]:
    base = f"/api/v1/orders/{attachment.order_id}/attachments/{attachment.pk}/"
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "sha256": attachment.sha256,
        "uploaded_at": attachment.uploaded_at,
        "event_id": attachment.event_id,
        "url": base,
        "thumbnail_url": f"{base}thumbnail/",
    }


class AttachmentUploadInput(serializers.Serializer):
    file = serializers.FileField(
        help_text=_("A JPEG, PNG or WebP photo (checked by its content), at most 8 MB.")
    )
    public_note = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderAttachmentsApi(APIView):
    """Photos of an order: list them, or add one (``multipart/form-data``, field ``file``).
    Whoever may add a note to the order may add a photo."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=AttachmentSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        order = work_order_get_for(user=request.user, pk=pk)
        rows = [_attachment_row(a) for a in Attachment.objects.filter(order=order)]
        return Response(AttachmentSerializer(rows, many=True).data)

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadInput},
        responses={
            201: AttachmentSerializer,
            400: OpenApiResponse(
                description="attachment.not_an_image, attachment.too_large, "
                "attachment.too_many_pixels"
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        order = work_order_get_for(user=request.user, pk=pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError(
                "attachment.file_required",
                _("Choose a photo to send."),
                fields={"file": [_("Required.")]},
            )
        note = request.POST.get("public_note", "")
        attachment = services.work_order_attach(
            actor=request.user,
            order=order,
            upload=upload,
            name=upload.name or "",
            public_note=str(note or ""),
        )
        return Response(
            AttachmentSerializer(_attachment_row(attachment)).data, status=status.HTTP_201_CREATED
        )


class _ImageRenderer(BaseRenderer):
    """Lets a client that accepts only images ask for one (the view returns the file itself;
    errors are rendered as JSON bytes)."""

    media_type = "image/*"
    format = "image"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Any = None) -> bytes:  # fmt: skip
        return JSONRenderer().render(data)


class WorkOrderAttachmentFileApi(APIView):
    """The photo itself (or its thumbnail), for those who may see the order: served with its
    stored (checked) content type, ``nosniff`` and a content security policy that runs
    nothing."""

    renderer_classes = [JSONRenderer, _ImageRenderer]
    thumbnail = False

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int, attachment_id: int) -> HttpResponseBase:
        order = work_order_get_for(user=request.user, pk=pk)
        attachment = Attachment.objects.filter(order=order, pk=attachment_id).first()
        if attachment is None:
            raise DomainError("not_found", _("No such photo."), status_code=404)
        name = attachment.thumbnail if self.thumbnail else attachment.file
        content_type = (
            attachment.thumbnail_content_type if self.thumbnail else attachment.content_type
        )
        if content_type not in CONTENT_TYPES:  # pragma: no cover - only checked types are stored
            raise DomainError("not_found", _("No such photo."), status_code=404)
        try:
            handle = default_storage.open(name, "rb")
        except FileNotFoundError:
            raise DomainError("not_found", _("No such photo."), status_code=404) from None
        extension = content_type.split("/")[1].replace("jpeg", "jpg")
        filename = f"{order.reference}-{attachment.pk}{'-thumb' if self.thumbnail else ''}"
        response = FileResponse(
            handle, content_type=content_type, filename=f"{filename}.{extension}"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response


class WorkOrderAttachmentThumbnailApi(WorkOrderAttachmentFileApi):
    thumbnail = True


# --- duplicates, merging, following ------------------------------------------------------------


class DuplicateSerializer(serializers.Serializer):
    order = WorkOrderSerializer()
    score = serializers.FloatField(help_text=_("Text similarity, 0 to 1."))
    reason = serializers.CharField()
    same_category = serializers.BooleanField()


class WorkOrderDuplicatesApi(APIView):
    """Open orders that may report the same problem: the same courtyard, the same category
    family, a similar text (only orders you may see). Offer them before submitting."""

    @extend_schema(
        parameters=[
            OpenApiParameter("courtyard", OpenApiTypes.INT, required=True),
            OpenApiParameter("category", OpenApiTypes.INT, required=True),
            OpenApiParameter("text", OpenApiTypes.STR, description=_("What the report says.")),
            OpenApiParameter("exclude", OpenApiTypes.INT, description=_("An order to leave out.")),
        ],
        responses=DuplicateSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        from sanan.core import clock
        from sanan.workorders.duplicates import work_order_duplicates

        params = request.query_params

        def number(name: str, required: bool = True) -> int | None:
            raw = params.get(name, "").strip()
            if not raw and not required:
                return None
            if not raw.isdigit():
                raise DomainError(
                    "work_order.duplicates_query",
                    _("Give the courtyard and the category as numbers."),
                    fields={name: [_("A number is required.")]},
                )
            return int(raw)

        courtyard_id, category_id = number("courtyard"), number("category")
        courtyard = Place.objects.filter(pk=courtyard_id).first()
        hints = work_order_duplicates(
            user=request.user,
            courtyard=courtyard,
            category=_category(category_id or 0),
            text=params.get("text", "")[: services.MAX_DESCRIPTION],
            exclude=number("exclude", required=False),
        )
        now = clock.now()
        rows = [
            {
                "order": _row(h.order, now),
                "score": h.score,
                "reason": h.reason,
                "same_category": h.same_category,
            }
            for h in hints
        ]
        return Response(DuplicateSerializer(rows, many=True).data)


class MergeInput(serializers.Serializer):
    children = serializers.ListField(
        child=serializers.IntegerField(), allow_empty=False, help_text=_("Orders to merge in.")
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderMergeApi(_OrderActionApi):
    """Merge duplicates into this order 合并 (the desk): each child is archived pointing to
    this one, and its reporter follows this one from then on."""

    input_serializer = MergeInput

    @_action_schema(MergeInput, "Merge duplicates into this order 合并")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(
        self, request: Request, order: WorkOrder, data: dict[str, Any], version: int | None
    ) -> None:
        children = [work_order_get_for(user=request.user, pk=c) for c in data["children"]]
        services.work_order_merge(
            actor=request.user, parent=order, children=children, reason=data["reason"]
        )


class FollowSerializer(serializers.Serializer):
    following = serializers.BooleanField()


class WorkOrderFollowApi(APIView):
    """Follow an order you may see: its public updates reach your inbox."""

    follow = True

    @extend_schema(request=None, responses=FollowSerializer)
    def post(self, request: Request, pk: int) -> Response:
        order = work_order_get_for(user=request.user, pk=pk)
        if self.follow:
            services.work_order_follow(actor=request.user, order=order)
        else:
            services.work_order_unfollow(actor=request.user, order=order)
        return Response(FollowSerializer({"following": self.follow}).data)


class WorkOrderUnfollowApi(WorkOrderFollowApi):
    """Stop following an order."""

    follow = False


# --- caller recognition (the call-taker) -------------------------------------------------------


class CallerLookupInput(serializers.Serializer):
    phone = serializers.CharField(max_length=32, help_text=_("Mobile or landline, as heard."))


class CallerResidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    gender = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    phone_masked = serializers.CharField()
    id_number_masked = serializers.CharField()
    household = serializers.DictField()
    dwelling = RefSerializer()
    courtyard = RefSerializer(allow_null=True)
    care_tags = serializers.ListField(child=serializers.CharField())


class CallerLookupSerializer(serializers.Serializer):
    phone_masked = serializers.CharField()
    recognised = serializers.BooleanField()
    residents = CallerResidentSerializer(many=True)
    open_orders = WorkOrderSerializer(many=True)
    past_orders = WorkOrderSerializer(many=True)


class CallerLookupApi(APIView):
    """Who is calling: the residents registered with this number (in your scope), their
    household, courtyard and care tags, and the caller's open and past orders. A POST, so the
    number never appears in a URL; every number in the answer is masked."""

    @extend_schema(request=CallerLookupInput, responses=CallerLookupSerializer)
    def post(self, request: Request) -> Response:
        from sanan.core import clock
        from sanan.workorders.callers import caller_lookup

        data = CallerLookupInput(data=request.data)
        data.is_valid(raise_exception=True)
        found = caller_lookup(user=request.user, phone=data.validated_data["phone"])
        now = clock.now()
        body = {
            "phone_masked": found.phone_masked,
            "recognised": found.recognised,
            "residents": [
                {
                    "id": r.resident.pk,
                    "name": r.resident.name,
                    "gender": r.resident.gender,
                    "age": r.resident.age,
                    "phone_masked": r.resident.phone_masked,
                    "id_number_masked": r.resident.id_number_masked,
                    "household": {
                        "id": r.resident.household_id,
                        "code": r.resident.household.code,
                        "relation": r.resident.relation_to_head,
                    },
                    "dwelling": _ref(r.resident.place),
                    "courtyard": _ref(r.courtyard),
                    "care_tags": r.care_tags,
                }
                for r in found.residents
            ],
            "open_orders": [_row(o, now) for o in found.open_orders],
            "past_orders": [_row(o, now) for o in found.past_orders],
        }
        return Response(CallerLookupSerializer(body).data)


ACTION_APIS["merge"] = WorkOrderMergeApi
