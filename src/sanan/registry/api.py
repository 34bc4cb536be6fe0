"""The registry API under ``/api/v1/registry/``: residents, households, houses, rentals,
vehicles, care tags, expiring registrations and the people-house-car overview of a place.

Numbers are always masked; the full ID number or phone comes only from ``reveal`` (permission
``pii.reveal`` and a reason, audited). Records outside the user's registry scope are 404;
writes in scope without ``resident.edit`` are 403. ID numbers and phones are never taken from
the URL: search by them with ``POST residents/search/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts.permissions import permissions_for
from sanan.core.errors import DomainError, PermissionDenied
from sanan.places.models import Place
from sanan.registry import selectors, services
from sanan.registry.filters import (
    HouseFilter,
    HouseholdFilter,
    RentalFilter,
    ResidentFilter,
    VehicleFilter,
)
from sanan.registry.models import (
    CareTag,
    Gender,
    Household,
    HouseUse,
    Relation,
    Rental,
    RentalState,
    ResidenceEvent,
    ResidenceEventKind,
    ResidenceType,
    Resident,
    ResidentStatus,
    Vehicle,
    VehicleKind,
)
from sanan.registry.selectors import EDIT, VIEW

# --- output serializers ----------------------------------------------------------------------


def _choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, **kwargs)


class LabelField(serializers.CharField):
    """The label of a choice, in the request's language: what ``get_<field>_display()`` gives,
    from a dictionary made once. (``get_<field>_display`` rebuilds and hashes the translated
    choices on every call, and DRF inspects its signature on every row: a third of a page of
    fifty residents went there.)"""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        self.labels = dict(choices)
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return str(self.labels.get(value, value))


class PlaceRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ResidentTagSerializer(serializers.Serializer):
    code = serializers.CharField(source="tag.code")
    label = serializers.CharField(source="tag.display_label")  # type: ignore[assignment]
    since = serializers.DateField(allow_null=True)
    note = serializers.CharField()


class HouseholdRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()


class ResidentSerializer(serializers.ModelSerializer):
    """A resident with masked numbers only."""

    household = HouseholdRefSerializer()
    place = PlaceRefSerializer()
    age = serializers.IntegerField(allow_null=True)
    gender = _choice([*Gender.choices, ("", "")], read_only=True)
    relation_to_head = _choice(Relation.choices, read_only=True)
    residence_type = _choice(ResidenceType.choices, read_only=True)
    status = _choice(ResidentStatus.choices, read_only=True)
    gender_label = LabelField(Gender.choices, source="gender")
    relation_label = LabelField(Relation.choices, source="relation_to_head")
    residence_type_label = LabelField(ResidenceType.choices, source="residence_type")
    status_label = LabelField(ResidentStatus.choices, source="status")
    tags = ResidentTagSerializer(many=True)

    class Meta:
        model = Resident
        fields = [
            "id",
            "name",
            "gender",
            "gender_label",
            "birth_date",
            "age",
            "id_number_masked",
            "phone_masked",
            "phone2_masked",
            "household",
            "relation_to_head",
            "relation_label",
            "place",
            "residence_type",
            "residence_type_label",
            "work_or_school",
            "moved_in_on",
            "moved_out_on",
            "status",
            "status_label",
            "registration_expires_on",
            "tags",
            "updated_at",
        ]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    age = serializers.IntegerField(allow_null=True)
    gender = _choice([*Gender.choices, ("", "")], read_only=True)
    relation_to_head = _choice(Relation.choices, read_only=True)
    residence_type = _choice(ResidenceType.choices, read_only=True)
    relation_label = LabelField(Relation.choices, source="relation_to_head")
    tags = ResidentTagSerializer(many=True)

    class Meta:
        model = Resident
        fields = [
            "id",
            "name",
            "gender",
            "age",
            "relation_to_head",
            "relation_label",
            "residence_type",
            "phone_masked",
            "tags",
        ]
        read_only_fields = fields


class HouseholdSerializer(serializers.ModelSerializer):
    place = PlaceRefSerializer()
    head = PersonRefSerializer(allow_null=True)
    members = MemberSerializer(many=True, source="active_members")

    class Meta:
        model = Household
        fields = ["id", "code", "place", "head", "members"]
        read_only_fields = fields


class ResidenceEventSerializer(serializers.ModelSerializer):
    kind = _choice(ResidenceEventKind.choices, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display")
    from_household = HouseholdRefSerializer(allow_null=True)
    to_household = HouseholdRefSerializer(allow_null=True)
    from_place = PlaceRefSerializer(allow_null=True)
    to_place = PlaceRefSerializer(allow_null=True)

    class Meta:
        model = ResidenceEvent
        fields = [
            "id",
            "kind",
            "kind_label",
            "on",
            "from_household",
            "to_household",
            "from_place",
            "to_place",
            "reason",
            "actor_label",
            "created_at",
        ]
        read_only_fields = fields


class HouseSerializer(serializers.Serializer):
    """A house (a place of kind house) with what the registry knows of it."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    house_number = serializers.CharField()
    owner = PersonRefSerializer(allow_null=True)
    owner_name = serializers.CharField()
    floors = serializers.IntegerField(allow_null=True)
    use = serializers.CharField(allow_null=True)
    use_label = serializers.CharField(allow_null=True)
    self_built = serializers.BooleanField(allow_null=True)
    note = serializers.CharField()


def house_data(house: Place, profile: Any = "lookup") -> dict[str, Any]:
    """A house and its profile (``None``: no details, or details the user may not see)."""
    if profile == "lookup":
        profile = selectors.house_profile_of(house)
    return {
        "id": house.pk,
        "code": house.code,
        "name": house.name,
        "address": house.address,
        "house_number": profile.house_number if profile else "",
        "owner": profile.owner if profile else None,
        "owner_name": profile.owner_display if profile else "",
        "floors": profile.floors if profile else None,
        "use": profile.use if profile else None,
        "use_label": profile.get_use_display() if profile else None,
        "self_built": profile.self_built if profile else None,
        "note": profile.note if profile else "",
    }


class TenantSerializer(serializers.ModelSerializer):
    residence_type = _choice(ResidenceType.choices, read_only=True)
    status = _choice(ResidentStatus.choices, read_only=True)

    class Meta:
        model = Resident
        fields = ["id", "name", "phone_masked", "residence_type", "status"]
        read_only_fields = fields


class RentalSerializer(serializers.ModelSerializer):
    place = PlaceRefSerializer()
    landlord = PersonRefSerializer(allow_null=True)
    landlord_display = serializers.CharField()
    tenants = TenantSerializer(many=True)
    registration_state = _choice(RentalState.choices, read_only=True)
    registration_state_label = serializers.CharField(source="get_registration_state_display")

    class Meta:
        model = Rental
        fields = [
            "id",
            "place",
            "landlord",
            "landlord_name",
            "landlord_display",
            "tenants",
            "starts_on",
            "ends_on",
            "registration_state",
            "registration_state_label",
            "last_inspected_on",
            "note",
        ]
        read_only_fields = fields


class VehicleSerializer(serializers.ModelSerializer):
    kind = _choice(VehicleKind.choices, read_only=True)
    place = PlaceRefSerializer()
    owner = PersonRefSerializer(allow_null=True)
    kind_label = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Vehicle
        fields = [
            "id",
            "plate",
            "new_energy",
            "kind",
            "kind_label",
            "owner",
            "place",
            "description",
        ]
        read_only_fields = fields


class CareTagSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="display_label")  # type: ignore[assignment]
    standard = serializers.BooleanField(source="is_standard")
    place_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = CareTag
        fields = ["code", "label", "standard", "place_id"]
        read_only_fields = fields


class ExpiringSerializer(ResidentSerializer):
    days_left = serializers.SerializerMethodField()

    class Meta(ResidentSerializer.Meta):
        fields = [*ResidentSerializer.Meta.fields, "days_left"]
        read_only_fields = fields

    def get_days_left(self, resident: Resident) -> int:
        from sanan.core import clock

        assert resident.registration_expires_on is not None
        return (resident.registration_expires_on - clock.today()).days


# --- input serializers -----------------------------------------------------------------------


class ResidentUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    gender = _choice(Gender.choices, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    phone2 = serializers.CharField(max_length=40, required=False, allow_blank=True)
    relation_to_head = _choice(Relation.choices, required=False)
    residence_type = _choice(ResidenceType.choices, required=False)
    work_or_school = serializers.CharField(max_length=120, required=False, allow_blank=True)
    moved_in_on = serializers.DateField(required=False, allow_null=True)
    registration_expires_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ResidentCreateInput(ResidentUpdateInput):
    name = serializers.CharField(max_length=60)
    household = serializers.IntegerField(
        required=False, help_text="The household to join (or give `place`)."
    )
    place = serializers.IntegerField(
        required=False, help_text="A unit (or a house without units): found a new household."
    )
    tags = serializers.ListField(child=serializers.CharField(), required=False)


class ResidentSearchInput(serializers.Serializer):
    """The fields of ``ResidentFilter``, for the schema of ``POST residents/search/``."""

    q = serializers.CharField(required=False, help_text="name, ID number, phone or plate")
    name = serializers.CharField(required=False)
    id_number = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    plate = serializers.CharField(required=False)
    place = serializers.IntegerField(required=False)
    residence_type = _choice(ResidenceType.choices, required=False)
    tag = serializers.ListField(child=serializers.CharField(), required=False)
    status = _choice([*ResidentStatus.choices, ("any", "any")], required=False)
    household = serializers.IntegerField(required=False)


class MoveOutInput(serializers.Serializer):
    on = serializers.DateField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    deceased = serializers.BooleanField(default=False)


class MoveInput(serializers.Serializer):
    household = serializers.IntegerField()
    on = serializers.DateField()
    relation_to_head = _choice(Relation.choices, default=Relation.OTHER_RELATIVE)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ResidentRevealInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    numbers = serializers.MultipleChoiceField(
        choices=services.REVEALABLE,
        default={"id_number", "phone"},
        help_text="What to show: id_number, phone, phone2 (default: the ID number and phone).",
    )


class ResidentRevealOutput(serializers.Serializer):
    id_number = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    phone2 = serializers.CharField(required=False)


class TagInput(serializers.Serializer):
    tag = serializers.CharField(max_length=40)
    since = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class HouseholdCreateInput(serializers.Serializer):
    place = serializers.IntegerField()
    code = serializers.CharField(max_length=64, required=False, allow_blank=True)


class SetHeadInput(serializers.Serializer):
    resident = serializers.IntegerField()
    previous_head_relation = _choice(Relation.choices, default=Relation.OTHER_RELATIVE)


class HouseProfileInput(serializers.Serializer):
    house_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    owner = serializers.IntegerField(required=False, allow_null=True)
    owner_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    floors = serializers.IntegerField(required=False, allow_null=True)
    use = _choice(HouseUse.choices, required=False)
    self_built = serializers.BooleanField(required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class RentalUpdateInput(serializers.Serializer):
    landlord = serializers.IntegerField(required=False, allow_null=True)
    landlord_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    tenants = serializers.ListField(child=serializers.IntegerField(), required=False)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    registration_state = _choice(RentalState.choices, required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class RentalCreateInput(RentalUpdateInput):
    place = serializers.IntegerField()


class InspectInput(serializers.Serializer):
    on = serializers.DateField(required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class VehicleUpdateInput(serializers.Serializer):
    plate = serializers.CharField(max_length=20, required=False)
    kind = _choice(VehicleKind.choices, required=False)
    owner = serializers.IntegerField(required=False, allow_null=True)
    place = serializers.IntegerField(required=False)
    description = serializers.CharField(max_length=60, required=False, allow_blank=True)


class VehicleCreateInput(VehicleUpdateInput):
    plate = serializers.CharField(max_length=20)
    kind = _choice(VehicleKind.choices, default=VehicleKind.CAR)


class CareTagInput(serializers.Serializer):
    place = serializers.IntegerField()
    label = serializers.CharField(max_length=60)  # type: ignore[assignment]


class ExpiringQuery(serializers.Serializer):
    within_days = serializers.IntegerField(min_value=0, max_value=365, default=30)
    include_expired = serializers.BooleanField(default=True)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]  # the error body's key
        child=serializers.ListField(child=serializers.CharField())
    )


class AlreadyRegisteredSerializer(ErrorSerializer):
    existing_resident_id = serializers.IntegerField(allow_null=True)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _resident_in_scope(user: Any, pk: int | None, field: str) -> Resident | None:
    """A resident named in the input: one the user can see, or a 400 on that field."""
    if pk is None:
        return None
    found = selectors.resident_list(user=user).filter(pk=pk).first()
    if found is None:
        raise DomainError(
            "resident.unknown",
            _("There is no such resident among those you can see."),
            fields={field: [_("Choose a resident from the list.")]},
        )
    return found


# --- views -----------------------------------------------------------------------------------


class RegistryApiMixin(APIView):
    """Registry lists do not exist for roles without ``resident.view``; a duplicate ID number
    answers 409 with the existing resident's id when the user may open that record."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not permissions_for(request.user).has(VIEW):
            raise Http404

    def handle_exception(self, exc: Exception) -> Response:
        response: Response = super().handle_exception(exc)
        if isinstance(exc, services.ResidentAlreadyRegistered):
            visible = selectors.resident_list(user=self.request.user).filter(pk=exc.resident_id)
            response.data["existing_resident_id"] = exc.resident_id if visible.exists() else None
        return response


def _changes(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Only what the client sent: everything else stays as it is (``KEEP``)."""
    return {name: data[name] for name in names if name in data}


_RESIDENT_FIELDS = (
    "name",
    "id_number",
    "gender",
    "birth_date",
    "phone",
    "phone2",
    "relation_to_head",
    "residence_type",
    "work_or_school",
    "moved_in_on",
    "registration_expires_on",
)


@extend_schema_view(
    list=extend_schema(
        summary="Residents in your scope (living here, unless `status` says otherwise)",
        description="Search by ID number or phone with `POST search/`: not in the URL.",
    ),
    retrieve=extend_schema(summary="One resident, numbers masked"),
)
class ResidentViewSet(RegistryApiMixin, viewsets.GenericViewSet):
    serializer_class = ResidentSerializer
    filterset_class = ResidentFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.resident_list(user=self.request.user)

    def _get(self, action_name: str = VIEW) -> Resident:
        return selectors.resident_get_for(
            user=self.request.user, pk=self.kwargs["pk"], action=action_name
        )

    def _page(self, queryset: Any, serializer_class: Any = ResidentSerializer) -> Response:
        page = self.paginate_queryset(queryset)
        if page is not None:
            return self.get_paginated_response(serializer_class(page, many=True).data)
        return Response(serializer_class(queryset, many=True).data)

    def list(self, request: Request) -> Response:
        if ResidentFilter.carries_pii(request.query_params):
            raise DomainError(
                "registry.pii_in_url",
                _(
                    "ID numbers and phone numbers do not belong in a web address: search with "
                    "POST /api/v1/registry/residents/search/ instead."
                ),
            )
        return self._page(self.filter_queryset(self.get_queryset()))

    @extend_schema(
        summary="Search residents (ID number and phone exact; name and plate partial)",
        request=ResidentSearchInput,
        responses=ResidentSerializer(many=True),
    )
    @action(detail=False, methods=["post"])
    def search(self, request: Request) -> Response:
        if not isinstance(request.data, Mapping):  # a JSON list, string or number
            raise exceptions.ParseError(_("Send the search as a JSON object of filters."))
        filterset = ResidentFilter(request.data, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        return self._page(filterset.qs)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ResidentSerializer(self._get()).data)

    @extend_schema(
        summary="Register a resident (in a household, or founding one in a dwelling)",
        request=ResidentCreateInput,
        responses={
            201: ResidentSerializer,
            400: ErrorSerializer,
            409: AlreadyRegisteredSerializer,
        },
    )
    def create(self, request: Request) -> Response:
        data = _valid(ResidentCreateInput, request.data)
        household = place = None
        if data.get("household") is not None:
            household = selectors.household_get_for(
                user=request.user, pk=data["household"], action=EDIT
            )
        elif data.get("place") is not None:
            place = selectors.place_for_registry(user=request.user, pk=data["place"], action=EDIT)
            if not permissions_for(request.user).can(EDIT, place):
                raise PermissionDenied("auth.forbidden", _("You may not register people here."))
        kwargs = {k: v for k, v in data.items() if k not in ("household", "place")}
        for key in ("id_number", "gender", "phone", "phone2", "work_or_school", "reason"):
            kwargs[key] = kwargs.get(key) or ""
        resident = services.resident_register(
            actor=request.user, household=household, place=place, **kwargs
        )
        resident = selectors.resident_get_for(user=request.user, pk=resident.pk)
        return Response(ResidentSerializer(resident).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Correct a resident's record (send only what changes)",
        request=ResidentUpdateInput,
        responses={200: ResidentSerializer, 409: AlreadyRegisteredSerializer},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        resident = self._get(EDIT)
        data = _valid(ResidentUpdateInput, request.data)
        changes = _changes(data, _RESIDENT_FIELDS)
        services.resident_update(
            actor=request.user, resident=resident, reason=data.get("reason", ""), **changes
        )
        return Response(ResidentSerializer(self._get()).data)

    @extend_schema(
        summary="The resident moved out of the community (or died)",
        request=MoveOutInput,
        responses=ResidentSerializer,
    )
    @action(detail=True, methods=["post"], url_path="move-out")
    def move_out(self, request: Request, pk: str) -> Response:
        resident = self._get(EDIT)
        data = _valid(MoveOutInput, request.data)
        services.resident_move_out(
            actor=request.user,
            resident=resident,
            on=data["on"],
            reason=data.get("reason", ""),
            deceased=data["deceased"],
        )
        return Response(ResidentSerializer(self._get()).data)

    def _move(self, request: Request, service: Any) -> Response:
        resident = self._get(EDIT)
        data = _valid(MoveInput, request.data)
        household = selectors.household_get_for(
            user=request.user, pk=data["household"], action=EDIT
        )
        service(
            actor=request.user,
            resident=resident,
            household=household,
            on=data["on"],
            relation_to_head=data["relation_to_head"],
            reason=data.get("reason", ""),
        )
        return Response(ResidentSerializer(self._get()).data)

    @extend_schema(
        summary="A resident who had moved out comes (back) to live in a household",
        request=MoveInput,
        responses=ResidentSerializer,
    )
    @action(detail=True, methods=["post"], url_path="move-in")
    def move_in(self, request: Request, pk: str) -> Response:
        return self._move(request, services.resident_move_in)

    @extend_schema(
        summary="The resident now lives in another household",
        request=MoveInput,
        responses=ResidentSerializer,
    )
    @action(detail=True, methods=["post"], url_path="change-household")
    def change_household(self, request: Request, pk: str) -> Response:
        return self._move(request, services.resident_change_household)

    @extend_schema(summary="Moves of a resident", responses=ResidenceEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        events = selectors.resident_history(resident=self._get())
        return Response(ResidenceEventSerializer(events, many=True).data)

    @extend_schema(
        summary="Show the full ID number and/or phones: needs pii.reveal and a reason; audited",
        request=ResidentRevealInput,
        responses={200: ResidentRevealOutput, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: str) -> Response:
        resident = self._get()  # out of sight: 404
        if not permissions_for(request.user).can("pii.reveal", resident):
            raise PermissionDenied(
                "pii.forbidden", _("Your role may not see full personal numbers here.")
            )
        data = _valid(ResidentRevealInput, request.data)
        shown = services.resident_reveal(
            actor=request.user, resident=resident, reason=data["reason"], fields=data["numbers"]
        )
        return Response(ResidentRevealOutput(shown).data)

    @extend_schema(summary="Add a care tag", request=TagInput, responses=ResidentSerializer)
    @action(detail=True, methods=["post"], url_path="tags")
    def tag_add(self, request: Request, pk: str) -> Response:
        resident = self._get(EDIT)
        data = _valid(TagInput, request.data)
        tag = selectors.care_tag_list(user=request.user).filter(code=data["tag"]).first()
        services.resident_tag_add(
            actor=request.user,
            resident=resident,
            tag=tag or data["tag"],
            since=data.get("since"),
            note=data.get("note", ""),
        )
        return Response(ResidentSerializer(self._get()).data)

    @extend_schema(summary="Remove a care tag", request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<code>[\w-]+)")
    def tag_remove(self, request: Request, pk: str, code: str) -> Response:
        resident = self._get(EDIT)
        if not services.resident_tag_remove(actor=request.user, resident=resident, tag=code):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Migrants and renters whose residence registration expires soon",
        parameters=[
            OpenApiParameter("within_days", OpenApiTypes.INT, description="default 30"),
            OpenApiParameter("include_expired", OpenApiTypes.BOOL, description="default true"),
        ],
        responses=ExpiringSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def expiring(self, request: Request) -> Response:
        query = _valid(ExpiringQuery, request.query_params)
        qs = selectors.migrants_expiring(
            user=request.user,
            within_days=query["within_days"],
            include_expired=query["include_expired"],
        )
        return self._page(qs, ExpiringSerializer)


@extend_schema_view(
    list=extend_schema(summary="Households in your scope with their members"),
    retrieve=extend_schema(summary="One household with its members"),
)
class HouseholdViewSet(RegistryApiMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = HouseholdSerializer
    filterset_class = HouseholdFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.household_list(user=self.request.user)

    def get_object(self) -> Household:
        return selectors.household_get_for(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        summary="Create an (empty) household in a unit, or a house without units",
        request=HouseholdCreateInput,
        responses={201: HouseholdSerializer},
    )
    def create(self, request: Request) -> Response:
        data = _valid(HouseholdCreateInput, request.data)
        place = selectors.place_for_registry(user=request.user, pk=data["place"], action=EDIT)
        if not permissions_for(request.user).can(EDIT, place):
            raise PermissionDenied("auth.forbidden", _("You may not register people here."))
        household = services.household_create(
            actor=request.user, place=place, code=data.get("code", "")
        )
        household = selectors.household_get_for(user=request.user, pk=household.pk)
        return Response(HouseholdSerializer(household).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Make a member the head of the household",
        request=SetHeadInput,
        responses=HouseholdSerializer,
    )
    @action(detail=True, methods=["post"], url_path="set-head")
    def set_head(self, request: Request, pk: str) -> Response:
        household = selectors.household_get_for(user=request.user, pk=pk, action=EDIT)
        data = _valid(SetHeadInput, request.data)
        resident = _resident_in_scope(request.user, data["resident"], "resident")
        assert resident is not None
        services.household_set_head(
            actor=request.user,
            household=household,
            resident=resident,
            previous_head_relation=data["previous_head_relation"],
        )
        return Response(HouseholdSerializer(self.get_object()).data)


@extend_schema_view(
    list=extend_schema(summary="Houses in your scope with their details"),
    retrieve=extend_schema(summary="One house (its place id) with its details"),
)
class HouseViewSet(RegistryApiMixin, viewsets.GenericViewSet):
    serializer_class = HouseSerializer
    filterset_class = HouseFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.house_list(user=self.request.user).order_by("path")

    def list(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        rows = page if page is not None else list(qs)
        data = HouseSerializer([house_data(h) for h in rows], many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, pk: str) -> Response:
        house = selectors.house_get_for(user=request.user, pk=pk)
        return Response(HouseSerializer(house_data(house)).data)

    @extend_schema(
        summary="Set the details of a house (send only what changes)",
        request=HouseProfileInput,
        responses=HouseSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        house = selectors.house_get_for(user=request.user, pk=pk, action=EDIT)
        data = _valid(HouseProfileInput, request.data)
        changes = _changes(
            data, ("house_number", "owner_name", "floors", "use", "self_built", "note")
        )
        if "owner" in data:
            changes["owner"] = _resident_in_scope(request.user, data["owner"], "owner")
        services.house_profile_set(actor=request.user, house=house, **changes)
        house = selectors.house_get_for(user=request.user, pk=pk)
        return Response(HouseSerializer(house_data(house)).data)


@extend_schema_view(
    list=extend_schema(summary="Rented houses and units in your scope"),
    retrieve=extend_schema(summary="One rental"),
)
class RentalViewSet(RegistryApiMixin, viewsets.GenericViewSet):
    serializer_class = RentalSerializer
    filterset_class = RentalFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.rental_list(user=self.request.user)

    def _get(self, action_name: str = VIEW) -> Rental:
        return selectors.rental_get_for(
            user=self.request.user, pk=self.kwargs["pk"], action=action_name
        )

    def list(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(RentalSerializer(page, many=True).data)
        return Response(RentalSerializer(qs, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(RentalSerializer(self._get()).data)

    def _people(self, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "landlord" in data:
            out["landlord"] = _resident_in_scope(self.request.user, data["landlord"], "landlord")
        if "tenants" in data:
            found = list(
                selectors.resident_list(user=self.request.user).filter(pk__in=data["tenants"])
            )
            if len(found) != len(set(data["tenants"])):
                raise DomainError(
                    "resident.unknown",
                    _("There is no such resident among those you can see."),
                    fields={"tenants": [_("Choose residents from the list.")]},
                )
            out["tenants"] = found
        return out

    @extend_schema(
        summary="Record a rental", request=RentalCreateInput, responses={201: RentalSerializer}
    )
    def create(self, request: Request) -> Response:
        data = _valid(RentalCreateInput, request.data)
        place = selectors.place_for_registry(user=request.user, pk=data["place"], action=EDIT)
        if not permissions_for(request.user).can(EDIT, place):
            raise PermissionDenied("auth.forbidden", _("You may not record rentals here."))
        kwargs = _changes(
            data, ("landlord_name", "starts_on", "ends_on", "registration_state", "note")
        )
        rental = services.rental_create(
            actor=request.user, place=place, **kwargs, **self._people(data)
        )
        self.kwargs["pk"] = rental.pk
        return Response(RentalSerializer(self._get()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a rental (send only what changes)",
        request=RentalUpdateInput,
        responses=RentalSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        rental = self._get(EDIT)
        data = _valid(RentalUpdateInput, request.data)
        kwargs = _changes(
            data, ("landlord_name", "starts_on", "ends_on", "registration_state", "note")
        )
        services.rental_update(actor=request.user, rental=rental, **kwargs, **self._people(data))
        return Response(RentalSerializer(self._get()).data)

    @extend_schema(summary="Record an inspection", request=InspectInput, responses=RentalSerializer)
    @action(detail=True, methods=["post"])
    def inspect(self, request: Request, pk: str) -> Response:
        rental = self._get(EDIT)
        data = _valid(InspectInput, request.data)
        services.rental_inspect(
            actor=request.user, rental=rental, on=data.get("on"), note=data.get("note", "")
        )
        return Response(RentalSerializer(self._get()).data)


@extend_schema_view(
    list=extend_schema(summary="Vehicles in your scope"),
    retrieve=extend_schema(summary="One vehicle"),
)
class VehicleViewSet(RegistryApiMixin, viewsets.GenericViewSet):
    serializer_class = VehicleSerializer
    filterset_class = VehicleFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.vehicle_list(user=self.request.user)

    def _get(self, action_name: str = VIEW) -> Vehicle:
        return selectors.vehicle_get_for(
            user=self.request.user, pk=self.kwargs["pk"], action=action_name
        )

    def list(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(VehicleSerializer(page, many=True).data)
        return Response(VehicleSerializer(qs, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(VehicleSerializer(self._get()).data)

    def _refs(self, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "owner" in data:
            out["owner"] = _resident_in_scope(self.request.user, data["owner"], "owner")
        if data.get("place") is not None:
            place = selectors.place_for_registry(
                user=self.request.user, pk=data["place"], action=EDIT
            )
            if not permissions_for(self.request.user).can(EDIT, place):
                raise PermissionDenied("auth.forbidden", _("You may not register vehicles here."))
            out["place"] = place
        return out

    @extend_schema(
        summary="Register a vehicle (it parks where its owner lives unless `place` says)",
        request=VehicleCreateInput,
        responses={201: VehicleSerializer},
    )
    def create(self, request: Request) -> Response:
        data = _valid(VehicleCreateInput, request.data)
        refs = self._refs(data)
        owner = refs.get("owner")
        if (
            "place" not in refs
            and owner is not None
            and not permissions_for(request.user).can(EDIT, owner)
        ):
            raise PermissionDenied("auth.forbidden", _("You may not register vehicles here."))
        vehicle = services.vehicle_register(
            actor=request.user,
            plate=data["plate"],
            kind=data["kind"],
            description=data.get("description", ""),
            **refs,
        )
        self.kwargs["pk"] = vehicle.pk
        return Response(VehicleSerializer(self._get()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a vehicle (send only what changes)",
        request=VehicleUpdateInput,
        responses=VehicleSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        vehicle = self._get(EDIT)
        data = _valid(VehicleUpdateInput, request.data)
        changes = _changes(data, ("plate", "kind", "description"))
        services.vehicle_update(actor=request.user, vehicle=vehicle, **changes, **self._refs(data))
        return Response(VehicleSerializer(self._get()).data)

    @extend_schema(summary="The vehicle is gone (sold, scrapped)", responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.vehicle_remove(actor=request.user, vehicle=self._get(EDIT))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="Care tags: the standard seven and your community's")
)
class CareTagViewSet(RegistryApiMixin, viewsets.GenericViewSet):
    serializer_class = CareTagSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return selectors.care_tag_list(user=self.request.user)

    def list(self, request: Request) -> Response:
        services.care_tags_ensure_standard()
        return Response(CareTagSerializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Add a community's own care tag",
        request=CareTagInput,
        responses={201: CareTagSerializer},
    )
    def create(self, request: Request) -> Response:
        data = _valid(CareTagInput, request.data)
        place = selectors.place_for_registry(user=request.user, pk=data["place"], action=EDIT)
        if not permissions_for(request.user).can(EDIT, place):
            raise PermissionDenied("auth.forbidden", _("You may not add care tags here."))
        tag = services.care_tag_create(actor=request.user, place=place, label=data["label"])
        return Response(CareTagSerializer(tag).data, status=status.HTTP_201_CREATED)


# --- the people-house-car overview -----------------------------------------------------------


class OverviewHouseholdSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    place = PlaceRefSerializer()
    head_id = serializers.IntegerField(allow_null=True)
    members = MemberSerializer(many=True, source="active_members")


class OverviewRentalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    place = PlaceRefSerializer()
    landlord_display = serializers.CharField()
    tenants = PersonRefSerializer(many=True, source="tenants.all")
    registration_state = serializers.CharField()
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    last_inspected_on = serializers.DateField(allow_null=True)


class OverviewVehicleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    plate = serializers.CharField()
    kind = serializers.CharField()
    new_energy = serializers.BooleanField()
    owner = PersonRefSerializer(allow_null=True)
    place = PlaceRefSerializer()


class OverviewHouseSerializer(serializers.Serializer):
    house = HouseSerializer()
    households = OverviewHouseholdSerializer(many=True)
    rentals = OverviewRentalSerializer(many=True)
    vehicles = OverviewVehicleSerializer(many=True)


class OverviewTagSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class OverviewSerializer(serializers.Serializer):
    place = PlaceRefSerializer()
    counts = serializers.DictField(child=serializers.IntegerField())
    care_tags = OverviewTagSerializer(many=True)
    houses = OverviewHouseSerializer(many=True)
    vehicles_elsewhere = OverviewVehicleSerializer(many=True)


class PlaceOverviewApi(RegistryApiMixin):
    """People, houses and cars of a courtyard, house or unit: households and members, rentals
    and tenants, vehicles, care tags, with counts. Numbers masked."""

    @extend_schema(responses=OverviewSerializer)
    def get(self, request: Request, pk: int) -> Response:
        place = selectors.place_for_registry(user=request.user, pk=pk)
        overview = selectors.place_overview(user=request.user, place=place)
        data = {
            "place": overview.place,
            "counts": overview.counts,
            "care_tags": [
                {"code": tag.code, "label": tag.display_label, "count": n}
                for tag, n in overview.care_tags
            ],
            "houses": [
                {
                    "house": house_data(s.house, s.profile),
                    "households": s.households,
                    "rentals": s.rentals,
                    "vehicles": s.vehicles,
                }
                for s in overview.houses
            ],
            "vehicles_elsewhere": overview.vehicles_elsewhere,
        }
        return Response(OverviewSerializer(data).data)
