from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import Role


class ScopeSerializer(serializers.Serializer):
    role = serializers.CharField()
    role_label = serializers.CharField()
    place_id = serializers.IntegerField()
    place_name = serializers.CharField()
    organisation_id = serializers.IntegerField(allow_null=True)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    phone_masked = serializers.CharField()
    primary_role = serializers.CharField(allow_null=True)
    roles = ScopeSerializer(many=True)


class MeApi(APIView):
    """Who you are, with your roles and the place each one covers."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user: Any = request.user
        assignments = user.role_assignments.select_related("place")
        data = {
            "id": user.pk,
            "username": user.username,
            "display_name": user.display_name,
            "phone_masked": user.phone_masked,
            "primary_role": permissions_for(user).primary_role,
            "roles": [
                {
                    "role": a.role,
                    "role_label": str(Role(a.role).label),
                    "place_id": a.place_id,
                    "place_name": a.place.name,
                    "organisation_id": a.organisation_id,
                }
                for a in assignments
            ],
        }
        return Response(MeSerializer(data).data)
