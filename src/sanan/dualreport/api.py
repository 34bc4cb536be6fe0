"""The dual-reporting API under ``/api/v1/dualreport/``: registrations, tasks, claims (claim,
withdraw, report done, rate) and the yearly evaluation. Scoping is ``dualreport.access``;
writes are the services'. A contact phone goes in a request body only and comes back masked."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for
from sanan.campaigns.selectors import campaign_get_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound
from sanan.dualreport import access, selectors, services
from sanan.dualreport.models import Claim, Registration, RegistrationKind, Task
from sanan.organisation.models import Organisation
from sanan.places.models import Place

# --- output ---------------------------------------------------------------------------------


class RegistrationOut(serializers.ModelSerializer):
    name = serializers.CharField()
    contact_phone = serializers.CharField(source="contact_phone_masked")
    capacity_hours_month = serializers.FloatField(source="capacity_hours")

    class Meta:
        model = Registration
        fields = [
            "id", "kind", "name", "place", "organisation", "member", "contact_name",
            "contact_phone", "resources", "skills", "capacity_hours_month", "state",
            "registered_on", "ended_on",
        ]  # fmt: skip


class DualTaskOut(serializers.ModelSerializer):
    hours_per_slot = serializers.SerializerMethodField()
    free_slots = serializers.IntegerField()

    class Meta:
        model = Task
        fields = [
            "id", "title", "description", "skills", "place", "community", "campaign", "slots",
            "claimed_slots", "free_slots", "hours_per_slot", "starts_on", "due_on", "state",
            "published_at",
        ]  # fmt: skip

    def get_hours_per_slot(self, t: Task) -> float:
        return round(t.minutes_per_slot / 60, 2)


class ClaimOut(serializers.ModelSerializer):
    unit = serializers.CharField(source="registration.name")
    hours = serializers.SerializerMethodField()
    average_rating = serializers.FloatField()

    class Meta:
        model = Claim
        fields = [
            "id", "task", "registration", "unit", "state", "claimed_at", "done_at", "hours",
            "people", "evidence", "rating_count", "average_rating",
        ]  # fmt: skip

    def get_hours(self, c: Claim) -> float:
        return round(c.minutes / 60, 2)


# --- input ----------------------------------------------------------------------------------


class RegistrationIn(serializers.Serializer[Any]):
    place = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RegistrationKind.choices)
    organisation = serializers.IntegerField(required=False, allow_null=True)
    member = serializers.IntegerField(required=False, allow_null=True)
    contact_name = serializers.CharField(max_length=60)
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=24)
    resources = serializers.CharField(max_length=2000)
    skills = serializers.CharField(required=False, allow_blank=True, max_length=200)
    capacity_hours_month = serializers.IntegerField()


class DualTaskIn(serializers.Serializer[Any]):
    place = serializers.IntegerField()
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    skills = serializers.CharField(required=False, allow_blank=True, max_length=200)
    slots = serializers.IntegerField()
    hours_per_slot = serializers.FloatField()
    starts_on = serializers.DateField()
    due_on = serializers.DateField()
    campaign = serializers.IntegerField(required=False, allow_null=True)


class ClaimIn(serializers.Serializer[Any]):
    registration = serializers.IntegerField(required=False, allow_null=True)


class CompleteIn(serializers.Serializer[Any]):
    hours = serializers.FloatField()
    people = serializers.IntegerField()
    evidence = serializers.CharField(max_length=2000, allow_blank=True)


class RateIn(serializers.Serializer[Any]):
    stars = serializers.IntegerField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=200)


def _valid(serializer: Any, request: Request) -> dict[str, Any]:
    s = serializer(data=request.data)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _place(user: Any, pk: Any) -> Place:
    place = Place.objects.filter(pk=pk).first()
    if place is None or not permissions_for(user).can_see(place):
        raise NotFound(
            "place.not_found", _("No such place."), fields={"place": [_("Unknown place.")]}
        )
    return place


def _registration_for(user: Any, pk: Any) -> Registration:
    """The registration to claim for: the one named, or the user's only one."""
    mine = selectors.claimable_registrations(user=user)
    if pk:
        found = [r for r in mine if r.pk == pk]
        if not found:
            raise NotFound("registration.not_found", _("No such registration of yours."))
        return found[0]
    if len(mine) != 1:
        raise DomainError(
            "dual_claim.registration_required",
            _("Say which registration you claim for."),
            fields={"registration": [_("Required.")]},
        )
    return mine[0]


# --- views ----------------------------------------------------------------------------------


class RegistrationListApi(APIView):
    @extend_schema(
        summary="Registered units and members 双报到", responses=RegistrationOut(many=True)
    )
    def get(self, request: Request) -> Response:
        qs = selectors.registration_list(user=request.user)
        return Response(RegistrationOut(qs, many=True).data)

    @extend_schema(
        summary="Register a unit or a Party member",
        request=RegistrationIn,
        responses={201: RegistrationOut},
    )
    def post(self, request: Request) -> Response:
        d = _valid(RegistrationIn, request)
        user = request.user
        organisation = member = None
        if d.get("organisation"):
            organisation = Organisation.objects.filter(pk=d["organisation"]).first()
            if organisation is None:
                raise NotFound("organisation.not_found", _("No such organisation."))
        if d.get("member"):
            member = User.objects.filter(pk=d["member"], is_active=True).first()
            if member is None:
                raise NotFound("user.not_found", _("No such person."))
        registration = services.registration_create(
            actor=user,
            place=_place(user, d["place"]),
            kind=d["kind"],
            organisation=organisation,
            member=member,
            contact_name=d["contact_name"],
            contact_phone=d.get("contact_phone", ""),
            resources=d["resources"],
            skills=d.get("skills", ""),
            capacity_hours_month=d["capacity_hours_month"],
        )
        return Response(RegistrationOut(registration).data, status=201)


class RegistrationDetailApi(APIView):
    @extend_schema(summary="One registration", responses=RegistrationOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            RegistrationOut(selectors.registration_get_for(user=request.user, pk=pk)).data
        )


class RegistrationEndApi(APIView):
    @extend_schema(summary="End a registration", request=None, responses=RegistrationOut)
    def post(self, request: Request, pk: int) -> Response:
        registration = selectors.registration_get_for(user=request.user, pk=pk)
        services.registration_end(actor=request.user, registration=registration)
        return Response(RegistrationOut(registration).data)


class TaskListApi(APIView):
    @extend_schema(
        summary="Tasks the community publishes 需求清单",
        parameters=[OpenApiParameter("state", str)],
        responses=DualTaskOut(many=True),
    )
    def get(self, request: Request) -> Response:
        qs = selectors.task_list(user=request.user, state=request.query_params.get("state", ""))
        return Response(DualTaskOut(qs[:500], many=True).data)

    @extend_schema(summary="Publish a task", request=DualTaskIn, responses=DualTaskOut)
    def post(self, request: Request) -> Response:
        d = _valid(DualTaskIn, request)
        user = request.user
        campaign = campaign_get_for(user=user, pk=d["campaign"]) if d.get("campaign") else None
        task = services.task_publish(
            actor=user,
            place=_place(user, d["place"]),
            title=d["title"],
            description=d.get("description", ""),
            skills=d.get("skills", ""),
            slots=d["slots"],
            hours_per_slot=d["hours_per_slot"],
            starts_on=d["starts_on"],
            due_on=d["due_on"],
            campaign=campaign,
        )
        return Response(DualTaskOut(task).data, status=201)


class TaskDetailApi(APIView):
    @extend_schema(summary="One task and the claims on it you may see", responses=DualTaskOut)
    def get(self, request: Request, pk: int) -> Response:
        task = selectors.task_get_for(user=request.user, pk=pk)
        data = dict(DualTaskOut(task).data)
        data["claims"] = ClaimOut(
            selectors.task_claims(user=request.user, task=task), many=True
        ).data
        return Response(data)


class TaskClaimApi(APIView):
    @extend_schema(
        summary="Claim a place on a task for your unit", request=ClaimIn, responses=ClaimOut
    )
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(ClaimIn, request)
        task = selectors.task_get_for(user=request.user, pk=pk)
        registration = _registration_for(request.user, d.get("registration"))
        claim = services.task_claim(actor=request.user, task=task, registration=registration)
        return Response(ClaimOut(claim).data, status=201)


class TaskCloseApi(APIView):
    @extend_schema(summary="Stop taking claims on a task", request=None, responses=DualTaskOut)
    def post(self, request: Request, pk: int) -> Response:
        task = selectors.task_get_for(user=request.user, pk=pk)
        services.task_close(actor=request.user, task=task)
        return Response(DualTaskOut(task).data)


class ClaimListApi(APIView):
    @extend_schema(summary="Claims you may see", responses=ClaimOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(ClaimOut(selectors.claim_list(user=request.user)[:500], many=True).data)


class ClaimCompleteApi(APIView):
    @extend_schema(
        summary="Report the work done with evidence", request=CompleteIn, responses=ClaimOut
    )
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(CompleteIn, request)
        claim = selectors.claim_get_for(user=request.user, pk=pk)
        claim = services.claim_complete(
            actor=request.user, claim=claim, hours=d["hours"], people=d["people"],
            evidence=d["evidence"],
        )  # fmt: skip
        return Response(ClaimOut(claim).data)


class ClaimWithdrawApi(APIView):
    @extend_schema(summary="Give the place back", request=None, responses=ClaimOut)
    def post(self, request: Request, pk: int) -> Response:
        claim = selectors.claim_get_for(user=request.user, pk=pk)
        return Response(ClaimOut(services.claim_withdraw(actor=request.user, claim=claim)).data)


class ClaimRateApi(APIView):
    @extend_schema(summary="Rate finished work (residents)", request=RateIn, responses=ClaimOut)
    def post(self, request: Request, pk: int) -> Response:
        d = _valid(RateIn, request)
        claim = selectors.claim_get_for(user=request.user, pk=pk)
        services.claim_rate(
            actor=request.user, claim=claim, stars=d["stars"], comment=d.get("comment", "")
        )
        return Response(ClaimOut(claim).data, status=201)


class EvaluationOut(serializers.Serializer):
    registration = serializers.IntegerField(source="registration.pk")
    name = serializers.CharField(source="registration.name")
    claimed = serializers.IntegerField()
    finished = serializers.IntegerField()
    hours = serializers.FloatField()
    pledged_hours = serializers.FloatField()
    ratings = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)
    score = serializers.FloatField()


class EvaluationApi(APIView):
    @extend_schema(
        summary="The yearly evaluation of the registered units",
        parameters=[OpenApiParameter("year", int)],
        responses=EvaluationOut(many=True),
    )
    def get(self, request: Request) -> Response:
        if not (permissions_for(request.user).has("dual.view") or access.unit_ids(request.user)):
            raise NotFound("not_found", _("Not found."))
        try:
            year = int(request.query_params.get("year") or clock.today().year)
        except ValueError:
            raise DomainError("evaluation.year_invalid", _("Give the year as a number.")) from None
        if not 2000 <= year <= 2100:
            raise DomainError(
                "evaluation.year_invalid", _("Give a year between 2000 and 2100.")
            ) from None
        sheet = selectors.evaluation_sheet(user=request.user, year=year)
        return Response(EvaluationOut(sheet, many=True).data)
