"""API of the triage app (mounted under /api/v1/triage/).

- ``POST suggest/``: the likely category of a text;
- ``GET hotspots/?weeks=4``: hotspots (courtyard × level-1 category) and the proposals for the
  topic of the month;
- ``POST hotspots/propose/``: a proposal becomes a draft campaign (``campaign.manage``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts.permissions import permissions_for
from sanan.core.errors import NotFound
from sanan.triage.selectors import (
    TOPIC_PROPOSALS,
    TriageSuggestion,
    topic_proposals,
    triage_hotspots,
    triage_suggest,
)
from sanan.triage.services import triage_topic_propose_hotspot

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


class HotspotOut(serializers.Serializer):
    courtyard = serializers.IntegerField()
    courtyard_name = serializers.CharField()
    category = serializers.CharField(help_text=_("Level-1 category code."))
    category_name = serializers.CharField()
    count = serializers.IntegerField(help_text=_("Orders in the period."))
    previous = serializers.IntegerField(help_text=_("Orders in the period before it."))


class ProposalOut(serializers.Serializer):
    category = serializers.CharField()
    category_name = serializers.CharField()
    courtyards = serializers.ListField(child=serializers.IntegerField())
    count = serializers.IntegerField()
    previous = serializers.IntegerField()


class HotspotsOut(serializers.Serializer):
    weeks = serializers.IntegerField()
    hotspots = HotspotOut(many=True)
    proposals = ProposalOut(many=True)


class HotspotsQuery(serializers.Serializer):
    weeks = serializers.IntegerField(min_value=1, max_value=52, default=4)


class ProposeIn(serializers.Serializer):
    category = serializers.CharField(max_length=64, help_text=_("Level-1 category code."))
    courtyards = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=50
    )
    weeks = serializers.IntegerField(min_value=1, max_value=52, default=4)


class ProposeOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.CharField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    target_solved = serializers.IntegerField()
    categories = serializers.ListField(child=serializers.CharField())
    places = serializers.ListField(child=serializers.IntegerField())


def _reviewer(user: object) -> None:
    if not permissions_for(user).has("triage.review"):
        raise NotFound("triage.not_found", _("Not found."))


class TriageHotspotsApi(APIView):
    """Where problems gather, and the proposals for next month's topic (desk staff)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[HotspotsQuery], responses=HotspotsOut)
    def get(self, request: Request) -> Response:
        _reviewer(request.user)
        query = HotspotsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        weeks = query.validated_data["weeks"]
        spots = triage_hotspots(user=request.user, weeks=weeks)
        return Response(
            {
                "weeks": weeks,
                "hotspots": [
                    {
                        "courtyard": h.courtyard.pk,
                        "courtyard_name": h.courtyard.name,
                        "category": h.category.code,
                        "category_name": h.category.name,
                        "count": h.count,
                        "previous": h.previous,
                    }
                    for h in spots
                ],
                "proposals": [
                    {
                        "category": p.category.code,
                        "category_name": p.category.name,
                        "courtyards": [c.pk for c in p.courtyards],
                        "count": p.count,
                        "previous": p.previous,
                    }
                    for p in topic_proposals(spots, top=TOPIC_PROPOSALS)
                ],
            }
        )


class TriageTopicProposeApi(APIView):
    """A proposal of the hotspots becomes a draft topic of the month: scope = the category in
    the courtyards, run by their community, next month; 409 if it is already proposed."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ProposeIn, responses={201: ProposeOut})
    def post(self, request: Request) -> Response:
        _reviewer(request.user)
        data = ProposeIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        campaign = triage_topic_propose_hotspot(
            actor=request.user, code=d["category"], courtyard_ids=d["courtyards"], weeks=d["weeks"]
        )
        return Response(
            {
                "id": campaign.pk,
                "title": campaign.title,
                "state": campaign.state,
                "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on,
                "target_solved": campaign.target_solved,
                "categories": list(campaign.categories.values_list("code", flat=True)),
                "places": sorted(campaign.places.values_list("pk", flat=True)),
            },
            status=201,
        )
