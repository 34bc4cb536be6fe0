"""The hotline API under ``/api/v1/hotline/``: calls (list, record, one call, call-backs due,
called back), the knowledge base (search, create, edit, retire) and the trend.

Scoping is the selectors'; writes are the services'. Out of sight: 404; in sight but not
allowed: 403; a refused rule: 400 with ``{code, message, fields}``. The caller's number goes in
a request body only and comes back masked.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts.permissions import permissions_for
from sanan.core.errors import DomainError, NotFound
from sanan.hotline import selectors, services
from sanan.hotline.models import VIEW, CallRecord, CallType, KnowledgeEntry, Outcome
from sanan.places.models import Place
from sanan.registry.models import Resident

# --- output ---------------------------------------------------------------------------------


class KnowledgeOut(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = KnowledgeEntry
        fields = ["id", "question", "answer", "keywords", "category", "place", "active"]


class CallOut(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    caller_phone = serializers.CharField(source="caller_phone_masked")
    resident_name = serializers.SerializerMethodField()
    work_order_reference = serializers.SerializerMethodField()
    taker = serializers.CharField(source="taker.__str__")

    class Meta:
        model = CallRecord
        fields = [
            "id",
            "started_at",
            "duration_seconds",
            "call_type",
            "summary",
            "place",
            "courtyard",
            "category",
            "taker",
            "resident",
            "resident_name",
            "caller_phone",
            "outcome",
            "resolved_first_contact",
            "knowledge",
            "work_order",
            "work_order_reference",
            "callback_due_at",
            "callback_done_at",
            "callback_note",
        ]

    def get_resident_name(self, call: CallRecord) -> str:
        return call.resident.name if call.resident else ""

    def get_work_order_reference(self, call: CallRecord) -> str:
        return call.work_order.reference if call.work_order else ""


# --- input ----------------------------------------------------------------------------------


class CallIn(serializers.Serializer):
    call_type = serializers.ChoiceField(choices=CallType.choices)
    summary = serializers.CharField(max_length=services.MAX_SUMMARY)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    place = serializers.IntegerField()
    phone = serializers.CharField(required=False, allow_blank=True, max_length=24)
    resident = serializers.IntegerField(required=False, allow_null=True)
    category = serializers.CharField(required=False, allow_blank=True)
    knowledge = serializers.IntegerField(required=False, allow_null=True)
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    duration_seconds = serializers.IntegerField(required=False, min_value=0)
    callback_due_at = serializers.DateTimeField(required=False, allow_null=True)
    idempotency_key = serializers.CharField(required=False, allow_blank=True, max_length=64)


class CalledBackIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class KnowledgeIn(serializers.Serializer):
    question = serializers.CharField(max_length=200)
    answer = serializers.CharField(max_length=services.MAX_ANSWER)
    keywords = serializers.CharField(required=False, allow_blank=True, max_length=200)
    category = serializers.CharField(required=False, allow_blank=True)
    place = serializers.IntegerField()
    active = serializers.BooleanField(required=False)


# --- helpers --------------------------------------------------------------------------------


def _valid(serializer: Any, request: Request, partial: bool = False) -> dict[str, Any]:
    s = serializer(data=request.data, partial=partial)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _visible(request: Request) -> None:
    if not permissions_for(request.user).has(VIEW):
        raise NotFound("not_found", "Not found.")


def _place(user: Any, pk: Any) -> Place:
    place = Place.objects.filter(pk=pk).first()
    if place is None or not permissions_for(user).can_see(place):
        raise NotFound("place.not_found", "No such place.", fields={"place": ["Unknown place."]})
    return place


def _category(code: str) -> Any:
    from sanan.workorders.models import Category

    if not code:
        return None
    found = Category.objects.filter(code=code, active=True).first()
    if found is None:
        raise DomainError(
            "work_order.unknown_category",
            "Unknown category.",
            fields={"category": ["Choose an active category code."]},
        )
    return found


def _page(view: Any, request: Request, qs: Any, serializer: Any) -> Response:
    paginator = view.paginator
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


# --- calls ----------------------------------------------------------------------------------


class CallListApi(GenericAPIView):
    queryset = CallRecord.objects.none()  # the schema's model; rows come from the selectors

    @extend_schema(
        summary="Hotline calls 连心热线来电",
        parameters=[OpenApiParameter("outcome", str), OpenApiParameter("call_type", str)],
        responses=CallOut(many=True),
    )
    def get(self, request: Request) -> Response:
        _visible(request)
        qs = selectors.call_list(user=request.user)
        for name in ("outcome", "call_type"):
            if value := request.query_params.get(name):
                qs = qs.filter(**{name: value})
        return _page(self, request, qs, CallOut)

    @extend_schema(
        summary="Record a call: answered from the knowledge base, a work order, a call-back",
        request=CallIn,
        responses=CallOut,
    )
    def post(self, request: Request) -> Response:
        d = _valid(CallIn, request)
        user = request.user
        place = _place(user, d["place"])
        knowledge = None
        if d.get("knowledge"):
            knowledge = selectors.knowledge_get_for(user=user, pk=d["knowledge"])
        resident = None
        if d.get("resident"):
            resident = Resident.objects.filter(pk=d["resident"]).first()
            if resident is None or not permissions_for(user).can("resident.view", resident):
                raise NotFound("resident.not_found", "No such resident.")
        call = services.call_record(
            actor=user,
            call_type=d["call_type"],
            summary=d["summary"],
            outcome=d["outcome"],
            place=place,
            phone=d.get("phone", ""),
            resident=resident,
            category=_category(d.get("category", "")),
            knowledge=knowledge,
            started_at=d.get("started_at"),
            duration_seconds=d.get("duration_seconds", 0),
            callback_due_at=d.get("callback_due_at"),
            idempotency_key=d.get("idempotency_key", ""),
        )
        return Response(CallOut(selectors.call_get_for(user=user, pk=call.pk)).data, status=201)


class CallDetailApi(APIView):
    @extend_schema(summary="One hotline call", responses=CallOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(CallOut(selectors.call_get_for(user=request.user, pk=pk)).data)


class CallbackListApi(APIView):
    @extend_schema(summary="Call-backs due, the most urgent first", responses=CallOut(many=True))
    def get(self, request: Request) -> Response:
        _visible(request)
        return Response(CallOut(selectors.callbacks_due(user=request.user), many=True).data)


class CalledBackApi(APIView):
    @extend_schema(
        summary="The caller has been called back", request=CalledBackIn, responses=CallOut
    )
    def post(self, request: Request, pk: int) -> Response:
        call = selectors.call_get_for(user=request.user, pk=pk)
        d = _valid(CalledBackIn, request)
        services.call_callback_done(actor=request.user, call=call, note=d.get("note", ""))
        return Response(CallOut(selectors.call_get_for(user=request.user, pk=pk)).data)


class TrendApi(APIView):
    @extend_schema(
        summary="Hotline volume per month by category and courtyard (MoM, YoY)",
        parameters=[OpenApiParameter("months", int)],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        _visible(request)
        months = request.query_params.get("months", "12")
        trend = selectors.hotline_trend(
            user=request.user, months=int(months) if months.isdigit() else 12
        )
        return Response(
            {
                "months": [
                    {
                        "month": f.month.isoformat()[:7],
                        "calls": f.calls,
                        "answered_on_the_spot": f.first_contact,
                        "previous_month": f.previous_month,
                        "previous_year": f.previous_year,
                        "month_over_month_pct": f.mom,
                        "year_over_year_pct": f.yoy,
                    }
                    for f in trend.figures
                ],
                "series": trend.series,
            }
        )


# --- knowledge base -------------------------------------------------------------------------


class KnowledgeListApi(GenericAPIView):
    queryset = KnowledgeEntry.objects.none()  # the schema's model; rows come from the selectors

    @extend_schema(
        summary="Knowledge base: questions and answers of the desk",
        parameters=[OpenApiParameter("q", str), OpenApiParameter("retired", bool)],
        responses=KnowledgeOut(many=True),
    )
    def get(self, request: Request) -> Response:
        _visible(request)
        qs = selectors.knowledge_search(
            user=request.user,
            text=request.query_params.get("q", "")[:100],
            include_retired=request.query_params.get("retired") in ("1", "true"),
        )
        return _page(self, request, qs, KnowledgeOut)

    @extend_schema(
        summary="Add a question and its answer", request=KnowledgeIn, responses=KnowledgeOut
    )
    def post(self, request: Request) -> Response:
        d = _valid(KnowledgeIn, request)
        entry = services.knowledge_save(
            actor=request.user,
            place=_place(request.user, d["place"]),
            question=d["question"],
            answer=d["answer"],
            keywords=d.get("keywords", ""),
            category=_category(d.get("category", "")),
        )
        return Response(KnowledgeOut(entry).data, status=201)


class KnowledgeDetailApi(APIView):
    @extend_schema(summary="One knowledge entry", responses=KnowledgeOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(KnowledgeOut(selectors.knowledge_get_for(user=request.user, pk=pk)).data)

    @extend_schema(
        summary="Edit an entry; active=false retires it, true brings it back",
        request=KnowledgeIn,
        responses=KnowledgeOut,
    )
    def patch(self, request: Request, pk: int) -> Response:
        entry = selectors.knowledge_get_for(user=request.user, pk=pk)
        d = _valid(KnowledgeIn, request, partial=True)
        if "active" in d:
            entry = services.knowledge_retire(actor=request.user, entry=entry, active=d["active"])
        if set(d) - {"active"}:
            entry = services.knowledge_save(
                actor=request.user,
                entry=entry,
                place=_place(request.user, d["place"]) if "place" in d else entry.place,
                question=d.get("question", entry.question),
                answer=d.get("answer", entry.answer),
                keywords=d.get("keywords", entry.keywords),
                category=_category(d["category"]) if "category" in d else entry.category,
            )
        return Response(KnowledgeOut(entry).data)
