"""The places API: the tree, courtyard boundaries as GeoJSON, and point → courtyard."""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sanan.core.errors import NotFound
from sanan.places.coords import CoordSystem, LatLng, parse_system
from sanan.places.locate import locate
from sanan.places.models import Place, PlaceKind
from sanan.places.selectors import place_get_for, place_list, with_parent_id


class PlaceSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    kind_label = serializers.CharField(read_only=True)

    class Meta:
        model = Place
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "kind_label",
            "depth",
            "parent_id",
            "address",
            "latitude",
            "longitude",
        ]


class PlaceDetailSerializer(PlaceSerializer):
    class Meta(PlaceSerializer.Meta):
        fields = [*PlaceSerializer.Meta.fields, "boundary"]


class PlaceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=PlaceKind.choices)
    within = django_filters.NumberFilter(method="filter_within", label=_("within place id"))
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Place
        fields = ["kind", "within", "q"]

    def filter_within(self, queryset: Any, name: str, value: int) -> Any:
        place = place_get_for(user=self.request.user, pk=int(value))
        return queryset.filter(path__startswith=place.path, depth__gt=place.depth)


class LocateQuerySerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    system = serializers.CharField(default=CoordSystem.WGS84.value)


class PlaceViewSet(viewsets.ReadOnlyModelViewSet):
    """Places you can see: your scope, and the places on the way down to it."""

    filterset_class = PlaceFilter
    lookup_value_regex = r"\d+"
    serializer_class = PlaceSerializer

    def get_queryset(self) -> Any:
        return with_parent_id(place_list(user=self.request.user))

    def get_serializer_class(self) -> Any:
        return PlaceDetailSerializer if self.action == "retrieve" else PlaceSerializer

    def get_object(self) -> Place:
        place = place_get_for(user=self.request.user, pk=int(self.kwargs["pk"]))
        parent = Place.objects.get_parent(place)
        place.parent_id = parent.pk if parent else None
        return place

    @extend_schema(
        parameters=[
            OpenApiParameter("lat", OpenApiTypes.DOUBLE, required=True),
            OpenApiParameter("lng", OpenApiTypes.DOUBLE, required=True),
            OpenApiParameter("system", OpenApiTypes.STR, enum=[s.value for s in CoordSystem]),
        ],
        responses=PlaceSerializer,
    )
    @action(detail=False, methods=["get"])
    def locate(self, request: Request) -> Response:
        """The courtyard containing a point; name the point's coordinate system."""
        query = LocateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        system = parse_system(query.validated_data["system"])
        courtyard = locate(LatLng(query.validated_data["lat"], query.validated_data["lng"]), system)
        if courtyard is None or not self._visible(courtyard):
            raise NotFound("place.not_in_any_courtyard", _("No courtyard you can see is there."))
        courtyard = with_parent_id(Place.objects.filter(pk=courtyard.pk)).get()
        return Response(PlaceSerializer(courtyard, context={"request": request}).data)

    def _visible(self, place: Place) -> bool:
        return place_list(user=self.request.user).filter(pk=place.pk).exists()

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def geojson(self, request: Request, pk: str) -> Response:
        """The boundaries under this place as a GeoJSON FeatureCollection (WGS-84)."""
        place = self.get_object()
        children = place_list(user=request.user, within=place).filter(boundary__isnull=False)
        features = [
            {
                "type": "Feature",
                "id": child.pk,
                "properties": {
                    "id": child.pk,
                    "code": child.code,
                    "name": child.name,
                    "kind": child.kind,
                },
                "geometry": child.boundary,
            }
            for child in children
        ]
        return Response({"type": "FeatureCollection", "features": features})
