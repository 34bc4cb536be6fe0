"""API of notifications: the caller's inbox, and webhook endpoints for the community desk."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.core.errors import NotFound
from sanan.notifications import selectors, services
from sanan.notifications.models import InboxItem, WebhookEndpoint
from sanan.organisation.models import Organisation


class InboxItemSerializer(serializers.ModelSerializer[InboxItem]):
    class Meta:
        model = InboxItem
        fields = ["id", "created_at", "template", "title", "body", "link", "order_id", "read_at"]
        read_only_fields = fields


class InboxListApi(ListAPIView[InboxItem]):
    """GET /api/v1/inbox/ — the caller's notifications, newest first (``?unread=1``)."""

    serializer_class = InboxItemSerializer

    def get_queryset(self) -> Any:
        unread = self.request.query_params.get("unread", "") in {"1", "true", "yes"}
        return selectors.inbox_list(user=self.request.user, unread_only=unread)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        response["X-Unread-Count"] = str(selectors.inbox_unread_count(user=request.user))
        return response


class InboxUnreadCountApi(APIView):
    @extend_schema(
        responses=inline_serializer("InboxUnreadCount", {"unread": serializers.IntegerField()})
    )
    def get(self, request: Request) -> Response:
        return Response({"unread": selectors.inbox_unread_count(user=request.user)})


class InboxReadApi(APIView):
    """POST /api/v1/inbox/<id>/read/ — mark one of the caller's items read."""

    @extend_schema(request=None, responses=InboxItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        item = services.inbox_mark_read(actor=request.user, item_id=pk)
        return Response(InboxItemSerializer(item).data)


class InboxReadAllApi(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer("InboxReadAll", {"marked": serializers.IntegerField()}),
    )
    def post(self, request: Request) -> Response:
        return Response({"marked": services.inbox_mark_all_read(actor=request.user)})


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "organisation", "url", "active", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="Shown only now: keep it to verify signatures.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateInput(serializers.Serializer[Any]):
    organisation = serializers.IntegerField()
    url = serializers.CharField(max_length=400)


class WebhookEndpointUpdateInput(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=400, required=False)
    active = serializers.BooleanField(required=False)


def _endpoint_for(request: Request, pk: int) -> WebhookEndpoint:
    endpoint = services.webhook_endpoints_visible(request.user).filter(pk=pk).first()
    if endpoint is None:
        raise NotFound("not_found", _("No such webhook endpoint."))
    return endpoint


class WebhookEndpointListApi(APIView):
    """GET: the endpoints of the organisations the caller's desk role covers; POST: add one
    (the answer carries the signing secret, this once)."""

    @extend_schema(responses=WebhookEndpointSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = services.webhook_endpoints_visible(request.user)
        return Response(WebhookEndpointSerializer(rows, many=True).data)

    @extend_schema(request=WebhookEndpointCreateInput, responses=WebhookEndpointCreatedSerializer)
    def post(self, request: Request) -> Response:
        data = WebhookEndpointCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = (
            Organisation.objects.select_related("place")
            .filter(pk=data.validated_data["organisation"])
            .first()
        )
        if organisation is None:
            raise NotFound("not_found", _("No such organisation."))
        endpoint, secret = services.webhook_endpoint_create(
            actor=request.user, organisation=organisation, url=data.validated_data["url"]
        )
        body = {**WebhookEndpointSerializer(endpoint).data, "secret": secret}
        return Response(body, status=201)


class WebhookEndpointDetailApi(APIView):
    @extend_schema(responses=WebhookEndpointSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(WebhookEndpointSerializer(_endpoint_for(request, pk)).data)

    @extend_schema(request=WebhookEndpointUpdateInput, responses=WebhookEndpointSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint_for(request, pk)
        data = WebhookEndpointUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            actor=request.user,
            endpoint=endpoint,
            url=data.validated_data.get("url"),
            active=data.validated_data.get("active"),
        )
        return Response(WebhookEndpointSerializer(endpoint).data)


class WebhookEndpointRotateApi(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer("WebhookSecret", {"secret": serializers.CharField()}),
    )
    def post(self, request: Request, pk: int) -> Response:
        secret = services.webhook_endpoint_rotate_secret(
            actor=request.user, endpoint=_endpoint_for(request, pk)
        )
        return Response({"secret": secret})
