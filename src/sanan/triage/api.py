"""API of the triage app (mounted under /api/v1/triage/)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.triage.selectors import TriageSuggestion, triage_suggest

MAX_TEXT = 20_000  # characters accepted; the model reads the first 2000


class SuggestInput(serializers.Serializer):
    text = serializers.CharField(
        allow_blank=True,
        trim_whitespace=True,
        max_length=MAX_TEXT,
        help_text=_("What the resident or caller says."),
    )


class ChoiceSerializer(serializers.Serializer):
    code = serializers.CharField()
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    confidence = serializers.FloatField()


class SuggestOutput(serializers.Serializer):
    level1 = ChoiceSerializer(allow_null=True)
    level2 = ChoiceSerializer(allow_null=True)
    alternatives = ChoiceSerializer(many=True)
    category_id = serializers.IntegerField(
        allow_null=True, help_text=_("The most specific category worth preselecting.")
    )


def _choice(choice: object) -> dict[str, object] | None:
    if choice is None:
        return None
    return {
        "code": choice.code,  # type: ignore[attr-defined]
        "id": choice.category.pk if choice.category else None,  # type: ignore[attr-defined]
        "name": choice.name,  # type: ignore[attr-defined]
        "confidence": choice.confidence,  # type: ignore[attr-defined]
    }


def suggestion_data(s: TriageSuggestion) -> dict[str, object]:
    category = s.category
    return {
        "level1": _choice(s.best),
        "level2": _choice(s.level2),
        "alternatives": [_choice(c) for c in s.choices],
        "category_id": category.pk if category else None,
    }


class TriageSuggestApi(APIView):
    """The likely category of a text (staff only). POST: the text never goes in a URL."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=SuggestInput, responses=SuggestOutput)
    def post(self, request: Request) -> Response:
        data = SuggestInput(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = triage_suggest(user=request.user, text=data.validated_data["text"])
        return Response(suggestion_data(suggestion))
