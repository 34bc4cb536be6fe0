"""The campaigns API under ``/api/v1/campaigns/``: campaigns with their progress, start and
close, the burndown, the linked orders (link and unlink by hand with a reason) and the task
checklist. Out of sight: 404; in sight but not allowed: 403; a refused rule: 400/409 with
``{code, message, fields}``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for
from sanan.campaigns import selectors, services
from sanan.campaigns.models import VIEW, Campaign, CampaignKind, CampaignTask
from sanan.core.errors import DomainError, NotFound
from sanan.organisation.models import Organisation
from sanan.places.models import Place
from sanan.workorders.models import Category, WorkOrder

# --- output ---------------------------------------------------------------------------------


class CampaignOut(serializers.ModelSerializer):
    categories = serializers.SerializerMethodField()
    places = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.__str__")
    owner_organisation = serializers.CharField(source="owner_organisation.name")
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id", "kind", "title", "description", "place", "categories", "places", "starts_on",
            "ends_on", "target_solved", "target_resolution_percent", "owner",
            "owner_organisation", "state", "started_at", "closed_at", "closing_note",
            "linked_at", "progress",
        ]  # fmt: skip

    def get_categories(self, c: Campaign) -> list[str]:
        return [cat.code for cat in c.categories.all()]

    def get_places(self, c: Campaign) -> list[int]:
        return [p.pk for p in c.places.all()]

    def get_progress(self, c: Campaign) -> dict[str, Any]:
        progress = self.context.get("progress", {}).get(c.pk) or selectors.progress_of(c)
        return progress.as_dict()


class LinkOut(serializers.Serializer[Any]):
    order = serializers.IntegerField(source="order_id")
    reference = serializers.CharField(source="order.reference")
    title = serializers.CharField(source="order.title")
    category = serializers.CharField(source="order.category.code")
    state = serializers.CharField(source="order.state")
    resolution = serializers.CharField(source="order.resolution")
    created_at = serializers.DateTimeField(source="order.created_at")
    finished_at = serializers.DateTimeField(source="order.finished_at")
    source = serializers.CharField()  # type: ignore[assignment]
    active = serializers.BooleanField()
    reason = serializers.CharField()
    unlink_reason = serializers.CharField()


class CampaignTaskOut(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    owner_organisation = serializers.SerializerMethodField()

    class Meta:
        model = CampaignTask
        fields = ["id", "title", "owner", "owner_organisation", "due_on", "done_at", "note"]

    def get_owner(self, t: CampaignTask) -> str:
        return str(t.owner) if t.owner else ""

    def get_owner_organisation(self, t: CampaignTask) -> str:
        return t.owner_organisation.name if t.owner_organisation else ""


# --- input ----------------------------------------------------------------------------------


class CampaignIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CampaignKind.choices)
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    place = serializers.IntegerField()
    categories = serializers.ListField(child=serializers.CharField(), required=False)
    places = serializers.ListField(child=serializers.IntegerField(), required=False)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    target_solved = serializers.IntegerField(min_value=0)
    target_resolution_percent = serializers.IntegerField(required=False, allow_null=True)
    owner_organisation = serializers.IntegerField()
    owner = serializers.IntegerField(required=False)


class NoteIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class LinkIn(serializers.Serializer):
    order = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True, max_length=200)


class CampaignTaskIn(serializers.Serializer):
    title = serializers.CharField(max_length=160)
    due_on = serializers.DateField()
    owner = serializers.IntegerField(required=False, allow_null=True)
    owner_organisation = serializers.IntegerField(required=False, allow_null=True)


# --- helpers --------------------------------------------------------------------------------


def _valid(serializer: Any, request: Request) -> dict[str, Any]:
    s = serializer(data=request.data)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _visible(request: Request) -> None:
    if not permissions_for(request.user).has(VIEW):
        raise NotFound("not_found", _("Not found."))


def _place(user: Any, pk: Any, field: str = "place") -> Place:
    place = Place.objects.filter(pk=pk).first()
    if place is None or not permissions_for(user).can_see(place):
        raise NotFound(
            "place.not_found", _("No such place."), fields={field: [_("Unknown place.")]}
        )
    return place


def _organisation(user: Any, pk: Any) -> Organisation:
    org = Organisation.objects.select_related("place").filter(pk=pk).first()
    if org is None or not permissions_for(user).can_see(org):
        raise DomainError(
            "organisation.not_found",
            _("No such organisation."),
            fields={"owner_organisation": [_("Unknown organisation.")]},
        )
    return org


def _user(pk: Any, field: str = "owner") -> User:
    found = User.objects.filter(pk=pk, is_active=True).first()
    if found is None:
        raise DomainError(
            "user.not_found", _("No such person."), fields={field: [_("Unknown person.")]}
        )
    return found


def _categories(codes: list[str]) -> list[Category]:
    found = list(Category.objects.filter(code__in=codes))
    if len(found) != len(set(codes)):
        raise DomainError(
            "work_order.unknown_category",
            _("Unknown category."),
            fields={"categories": [_("Choose category codes that exist.")]},
        )
    return found


def _order(user: Any, pk: Any) -> WorkOrder:
    order = WorkOrder.objects.visible_to(user).filter(pk=pk).first()
    if order is None:
        raise NotFound(
            "work_order.not_found", _("No such order."), fields={"order": [_("Unknown.")]}
        )
    return order


# --- views ----------------------------------------------------------------------------------


class _Paged(GenericAPIView):
    queryset = Campaign.objects.none()  # the schema's model; rows come from the selectors

    def _pager(self) -> Any:
        assert self.paginator is not None
        return self.paginator


class CampaignListApi(_Paged):
    @extend_schema(
        summary="Campaigns 专项行动 (百日攻坚, topic of the month) with their progress",
        parameters=[OpenApiParameter("state", str)],
        responses=CampaignOut(many=True),
    )
    def get(self, request: Request) -> Response:
        _visible(request)
        qs = selectors.campaign_list(user=request.user, state=request.query_params.get("state", ""))
        page = self._pager().paginate_queryset(
            qs.prefetch_related("categories", "places"), request, view=self
        )
        progress = selectors.progress_many(list(page or []))
        data = CampaignOut(page, many=True, context={"progress": progress}).data
        return self._pager().get_paginated_response(data)

    @extend_schema(summary="Create a campaign (draft)", request=CampaignIn, responses=CampaignOut)
    def post(self, request: Request) -> Response:
        d = _valid(CampaignIn, request)
        user = request.user
        campaign = services.campaign_create(
            actor=user,
            place=_place(user, d["place"]),
            kind=d["kind"],
            title=d["title"],
            description=d.get("description", ""),
            starts_on=d["starts_on"],
            ends_on=d["ends_on"],
            target_solved=d["target_solved"],
            target_resolution_percent=d.get("target_resolution_percent"),
            owner_organisation=_organisation(user, d["owner_organisation"]),
            owner=_user(d["owner"]) if d.get("owner") else user,
            categories=_categories(d.get("categories") or []),
            places=[_place(user, pk, "places") for pk in d.get("places") or []],
        )
        campaign = selectors.campaign_get_for(user=user, pk=campaign.pk)
        return Response(CampaignOut(campaign).data, status=201)


class CampaignDetailApi(APIView):
    @extend_schema(summary="One campaign and its progress", responses=CampaignOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(CampaignOut(selectors.campaign_get_for(user=request.user, pk=pk)).data)


class CampaignStartApi(APIView):
    @extend_schema(summary="Start a campaign: draft → running", request=None, responses=CampaignOut)
    def post(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get_for(user=request.user, pk=pk)
        services.campaign_start(actor=request.user, campaign=campaign)
        return Response(CampaignOut(selectors.campaign_get_for(user=request.user, pk=pk)).data)


class CampaignCloseApi(APIView):
    @extend_schema(
        summary="Close a campaign with its summary", request=NoteIn, responses=CampaignOut
    )
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(NoteIn, request)
        campaign = selectors.campaign_get_for(user=request.user, pk=pk)
        services.campaign_close(actor=request.user, campaign=campaign, note=d.get("note", ""))
        return Response(CampaignOut(selectors.campaign_get_for(user=request.user, pk=pk)).data)


class BurndownDayOut(serializers.Serializer):
    day = serializers.DateField()
    open = serializers.IntegerField()
    finished = serializers.IntegerField()
    remaining = serializers.IntegerField()
    ideal_remaining = serializers.FloatField()


class CampaignBurndownApi(APIView):
    @extend_schema(
        summary="The burndown: open and finished orders per day, the target line",
        responses=BurndownDayOut(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get_for(user=request.user, pk=pk)
        return Response(BurndownDayOut(selectors.burndown(campaign), many=True).data)


class CampaignOrdersApi(_Paged):
    @extend_schema(
        summary="The campaign's orders (counted, then unlinked)", responses=LinkOut(many=True)
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get_for(user=request.user, pk=pk)
        qs = selectors.campaign_orders(user=request.user, campaign=campaign)
        page = self._pager().paginate_queryset(qs, request, view=self)
        return self._pager().get_paginated_response(LinkOut(page, many=True).data)


class CampaignLinkApi(APIView):
    @extend_schema(
        summary="Count an order for the campaign, with a reason", request=LinkIn, responses=LinkOut
    )
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(LinkIn, request)
        campaign = selectors.campaign_get_for(user=request.user, pk=pk)
        link = services.campaign_order_link(
            actor=request.user, campaign=campaign, order=_order(request.user, d["order"]),
            reason=d["reason"],
        )  # fmt: skip
        return Response(LinkOut(link).data, status=201)


class CampaignUnlinkApi(APIView):
    @extend_schema(
        summary="Stop counting an order, with a reason", request=LinkIn, responses=LinkOut
    )
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(LinkIn, request)
        campaign = selectors.campaign_get_for(user=request.user, pk=pk)
        link = services.campaign_order_unlink(
            actor=request.user, campaign=campaign, order=_order(request.user, d["order"]),
            reason=d["reason"],
        )  # fmt: skip
        return Response(LinkOut(link).data)


class CampaignTasksApi(APIView):
    @extend_schema(summary="The campaign's task checklist", responses=CampaignTaskOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get_for(user=request.user, pk=pk)
        return Response(
            CampaignTaskOut(selectors.campaign_tasks(campaign=campaign), many=True).data
        )

    @extend_schema(
        summary="Add a task: who does what by when",
        request=CampaignTaskIn,
        responses=CampaignTaskOut,
    )
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(CampaignTaskIn, request)
        user = request.user
        campaign = selectors.campaign_get_for(user=user, pk=pk)
        task = services.campaign_task_add(
            actor=user,
            campaign=campaign,
            title=d["title"],
            due_on=d["due_on"],
            owner=_user(d["owner"]) if d.get("owner") else None,
            owner_organisation=(
                _organisation(user, d["owner_organisation"])
                if d.get("owner_organisation")
                else None
            ),
        )
        return Response(CampaignTaskOut(task).data, status=201)


class CampaignTaskDoneApi(APIView):
    @extend_schema(summary="Tick a task off", request=NoteIn, responses=CampaignTaskOut)
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(NoteIn, request)
        task = CampaignTask.objects.select_related("campaign__place").filter(pk=pk).first()
        if task is None:
            raise NotFound("not_found", _("Not found."))
        task = services.campaign_task_done(actor=request.user, task=task, note=d.get("note", ""))
        return Response(CampaignTaskOut(task).data)
