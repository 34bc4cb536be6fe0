from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts import twostep
from sanan.accounts.permissions import permissions_for
from sanan.accounts.reset import password_reset_link_issue
from sanan.accounts.roles import Role
from sanan.accounts.selectors import user_get_for, user_list
from sanan.accounts.services import user_phone_reveal
from sanan.accounts.signals import audit_auth_event
from sanan.accounts.views import locked_out_body
from sanan.core.errors import DomainError, PermissionDenied


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


class RevealInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class RevealOutputSerializer(serializers.Serializer):
    phone = serializers.CharField()


class UserPhoneRevealApi(APIView):
    """Show a user's full mobile number. Needs the permission and a reason; audited."""

    @extend_schema(request=RevealInputSerializer, responses=RevealOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        target = user_get_for(user=request.user, pk=pk)  # out of sight: 404
        if not user_list(user=request.user, action="pii.reveal").filter(pk=pk).exists():
            raise PermissionDenied(
                "pii.forbidden", _("Your role may not see full personal numbers here.")
            )
        data = RevealInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        phone = user_phone_reveal(
            actor=request.user, user=target, reason=data.validated_data["reason"]
        )
        return Response(RevealOutputSerializer({"phone": phone}).data)


class TokenObtainApi(ObtainAuthToken):
    """Exchange a mobile number or username and a password for an API token. An account with
    two-step sign-in also sends ``otp``: the code from its authenticator app (or a recovery
    code)."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            # django-axes marks the wrapped Django request when the login is paused
            if getattr(request, "axes_locked_out", False) or getattr(
                request._request, "axes_locked_out", False
            ):
                return Response(locked_out_body(), status=429)
            raise
        user = serializer.validated_data["user"]
        second_factor = ""
        if twostep.totp_enabled(user):
            raw: Any = request.data
            code = str(raw.get("otp", "") or "") if hasattr(raw, "get") else ""
            device = twostep.verify_code(user=user, code=code) if code else None
            if device is None:
                raise DomainError(
                    "auth.two_step_code",
                    _("Send the code from your authenticator app as otp."),
                    fields={"otp": [_("Required, and must be the current code.")]},
                )
            second_factor = twostep.method_of(device)
        elif twostep.totp_required(user):
            raise PermissionDenied(
                "auth.two_step_setup",
                _("Your role requires two-step sign-in: set it up on your account page first."),
            )
        token, _created = Token.objects.get_or_create(user=user)
        data = {"channel": "api", **({"second_factor": second_factor} if second_factor else {})}
        audit_auth_event(action="auth.token_issued", account=user, data=data)
        return Response({"token": token.key})


class ResetLinkOutputSerializer(serializers.Serializer):
    link = serializers.CharField()


class UserResetLinkApi(APIView):
    """A one-time link to set a new password for someone who cannot sign in; for
    administrators (``user.manage``), audited. Give it to the person directly."""

    @extend_schema(request=None, responses=ResetLinkOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        link = password_reset_link_issue(actor=request.user, pk=pk)
        return Response(ResetLinkOutputSerializer({"link": link}).data)
