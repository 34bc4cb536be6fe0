"""The organisation API under ``/api/v1/org/``: the organisation chart, post types and posts,
coverage of courtyards, the contact ledger (visits, problems → work orders, figures, households
not visited), commitments and their comments, members' public cards and the leader's overview.

Scoping is the selectors'; writes are the services'. Out of sight: 404; in sight but not
allowed: 403; a refused rule: 400/409 with ``{code, message, fields}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound
from sanan.organisation import selectors, services
from sanan.organisation.models import (
    ButlerActivityKind,
    Commitment,
    CommitmentState,
    Event,
    EventKind,
    Organisation,
    Post,
    PostType,
    RedButler,
    Visit,
    VisitProblem,
)
from sanan.organisation.selectors import ChartNode
from sanan.places.models import Place

# --- output ---------------------------------------------------------------------------------


class OrgPlaceRef(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class OrgPersonRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class PostTypeOut(serializers.ModelSerializer):
    display_label = serializers.CharField(source="label")

    class Meta:
        model = PostType
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "display_label",
            "description",
            "grants_role",
            "covers_courtyards",
        ]


class PostOut(serializers.ModelSerializer):
    post_type = PostTypeOut()
    holder = OrgPersonRef()
    place = OrgPlaceRef()
    organisation = serializers.IntegerField(source="organisation_id", allow_null=True)

    class Meta:
        model = Post
        fields = ["id", "post_type", "holder", "place", "organisation", "started_on", "ended_on"]


class MemberOut(serializers.Serializer):
    user = OrgPersonRef()
    position = serializers.CharField()
    position_label = serializers.CharField(source="get_position_display")
    title = serializers.CharField()
    term = serializers.CharField(source="term.name", default=None, allow_null=True)
    started_on = serializers.DateField()


def _chart(node: ChartNode) -> dict[str, Any]:
    org: Organisation = node.organisation
    return {
        "id": org.pk,
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "kind_label": str(org.get_kind_display()),
        "place": OrgPlaceRef(org.place).data,
        "members": MemberOut(node.members, many=True).data,
        "children": [_chart(c) for c in node.children],
    }


class ProblemOut(serializers.ModelSerializer):
    work_order = serializers.SerializerMethodField()

    class Meta:
        model = VisitProblem
        fields = ["id", "description", "solved_on_spot", "work_order"]

    def get_work_order(self, obj: VisitProblem) -> dict[str, Any] | None:
        order = obj.work_order
        if order is None:
            return None
        return {
            "id": order.pk,
            "reference": order.reference,
            "state": order.state,
            "state_label": str(order.get_state_display()),
            "resolution": order.resolution,
            "satisfaction": order.satisfaction,
        }


class VisitOut(serializers.ModelSerializer):
    household = serializers.IntegerField(source="household_id")
    place = OrgPlaceRef()
    visitor = OrgPersonRef()
    problems = ProblemOut(many=True)

    class Meta:
        model = Visit
        fields = ["id", "household", "place", "visitor", "visited_at", "topics", "problems"]


class CommitmentOut(serializers.ModelSerializer):
    member = OrgPersonRef()
    place = OrgPlaceRef()
    comment_count = serializers.IntegerField(default=0)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Commitment
        fields = [
            "id",
            "member",
            "place",
            "title",
            "detail",
            "published_on",
            "due_on",
            "state",
            "fulfilled_on",
            "evidence",
            "comment_count",
            "overdue",
        ]

    def get_overdue(self, obj: Commitment) -> bool:
        return obj.state == CommitmentState.PUBLISHED and obj.due_on < clock.today()


def _figures(obj: Any) -> dict[str, int]:
    return dict(obj.__dict__)


def _page(view: APIView, request: Request, qs: Any, serializer: Any) -> Response:
    paginator = view.paginator  # type: ignore[attr-defined]
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class _Paged(GenericAPIView):
    """An API view with the project's pagination (``self.paginator``)."""


# --- structure, posts, coverage -------------------------------------------------------------


class ChartNodeOut(serializers.Serializer):
    """One organisation of the chart, with its members and, in ``children``, the organisations
    under it in the same shape."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    place = OrgPlaceRef()
    members = MemberOut(many=True)
    children = serializers.ListField(child=serializers.DictField())


class OrganisationChartApi(APIView):
    @extend_schema(summary="Organisation chart 组织架构", responses=ChartNodeOut(many=True))
    def get(self, request: Request) -> Response:
        return Response([_chart(n) for n in selectors.organisation_chart(user=request.user)])


class PostTypeListApi(APIView):
    @extend_schema(summary="Post types 岗位类型", responses=PostTypeOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(PostTypeOut(selectors.post_type_list(), many=True).data)


class PostIn(serializers.Serializer):
    holder = serializers.IntegerField()
    post_type = serializers.SlugRelatedField(slug_field="code", queryset=PostType.objects.all())
    place = serializers.IntegerField()
    organisation = serializers.IntegerField(required=False, allow_null=True)


class PostListApi(_Paged):
    queryset = Post.objects.none()  # for the schema; reads go through the selectors

    @extend_schema(
        summary="Current posts 定岗包片",
        parameters=[OpenApiParameter("place", int), OpenApiParameter("holder", int)],
        responses=PostOut(many=True),
    )
    def get(self, request: Request) -> Response:
        qs = selectors.post_list(user=request.user).order_by("place__path", "post_type__order")
        for name in ("place", "holder"):
            if request.query_params.get(name, "").isdigit():
                qs = qs.filter(**{f"{name}_id": int(request.query_params[name])})
        return _page(self, request, qs, PostOut)

    @extend_schema(summary="Assign a post (grants its role)", request=PostIn, responses=PostOut)
    def post(self, request: Request) -> Response:
        data = _valid(PostIn, request)
        place = _place(request.user, data["place"])
        holder = User.objects.filter(pk=data["holder"], is_active=True).first()
        if holder is None:
            raise DomainError(
                "post.holder_unknown", "No such person.", fields={"holder": ["Not found."]}
            )
        org = None
        if data.get("organisation"):
            org = Organisation.objects.filter(pk=data["organisation"]).first()
        post = services.post_assign(
            actor=request.user,
            holder=holder,
            post_type=data["post_type"],
            place=place,
            organisation=org,
        )
        return Response(PostOut(post).data, status=201)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class PostEndApi(APIView):
    @extend_schema(summary="End a post (revokes its role)", request=ReasonIn, responses=PostOut)
    def post(self, request: Request, pk: int) -> Response:
        post = selectors.post_get_for(user=request.user, pk=pk)
        data = _valid(ReasonIn, request)
        post = services.post_end(actor=request.user, post=post, reason=data["reason"])
        return Response(PostOut(post).data)


class CoverageApi(APIView):
    @extend_schema(
        summary="Courtyards and their commissioners; gaps 院落专员覆盖",
        parameters=[OpenApiParameter("within", int)],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        within = None
        if request.query_params.get("within"):
            within = _place(request.user, request.query_params["within"])
        cov = selectors.coverage(user=request.user, within=within)
        rows = [
            {
                "courtyard": OrgPlaceRef(c.courtyard).data,
                "covered": c.covered,
                "commissioners": [
                    {"post": p.pk, "id": p.holder_id, "name": str(p.holder)} for p in c.posts
                ],
            }
            for c in cov.courtyards
        ]
        return Response(
            {
                "total": cov.total,
                "covered": cov.covered,
                "gaps": [OrgPlaceRef(c.courtyard).data for c in cov.gaps],
                "commissioners": cov.commissioners,
                "courtyards": rows,
            }
        )


# --- the contact ledger ---------------------------------------------------------------------


class ProblemIn(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    category = serializers.CharField(required=False, allow_blank=True, default="")
    solved_on_spot = serializers.BooleanField(required=False, default=False)


class VisitIn(serializers.Serializer):
    household = serializers.IntegerField()
    topics = serializers.CharField(max_length=services.MAX_TEXT)
    visited_at = serializers.DateTimeField(required=False)
    problems = ProblemIn(many=True, required=False, default=list)


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


class VisitListApi(_Paged):
    queryset = Visit.objects.none()  # for the schema; reads go through the selectors

    @extend_schema(summary="Visits (contact ledger) 联系台账", responses=VisitOut(many=True))
    def get(self, request: Request) -> Response:
        _ledger(request)
        return _page(self, request, selectors.visit_list(user=request.user), VisitOut)

    @extend_schema(
        summary="Record a visit; problems with a category become work orders at once",
        request=VisitIn,
        responses=VisitOut,
    )
    def post(self, request: Request) -> Response:
        data = _valid(VisitIn, request)
        household = selectors.household_for_visit(user=request.user, pk=data["household"])
        problems = [
            services.ProblemInput(p["description"], _category(p["category"]), p["solved_on_spot"])
            for p in data["problems"]
        ]
        visit = services.visit_record(
            actor=request.user,
            household=household,
            topics=data["topics"],
            visited_at=data.get("visited_at"),
            problems=problems,
        )
        return Response(VisitOut(selectors.visit_get_for(user=request.user, pk=visit.pk)).data, 201)


class VisitDetailApi(APIView):
    @extend_schema(summary="A visit with its problems and their work orders", responses=VisitOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(VisitOut(selectors.visit_get_for(user=request.user, pk=pk)).data)


class CategoryIn(serializers.Serializer):
    category = serializers.CharField()


class ProblemWorkOrderApi(APIView):
    @extend_schema(
        summary="Turn a problem noted on a visit into a work order",
        request=CategoryIn,
        responses={201: ProblemOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        problem = selectors.problem_get_for(user=request.user, pk=pk)
        data = _valid(CategoryIn, request)
        services.visit_problem_to_work_order(
            actor=request.user, problem=problem, category=_category(data["category"])
        )
        problem = selectors.problem_get_for(user=request.user, pk=pk)
        return Response(ProblemOut(problem).data, status=201)


MAX_DAYS = 36_500  # a hundred years: any longer span means "all of the ledger"


def _days(request: Request) -> int:
    """``?days=`` as a whole number of days up to ``MAX_DAYS``; 0 when absent or not a number."""
    days = request.query_params.get("days", "")
    if not (days.isascii() and days.isdigit()):
        return 0
    return min(int(days), MAX_DAYS)


class LedgerFiguresApi(APIView):
    @extend_schema(
        summary="Households served, problems collected and solved (computed)",
        parameters=[OpenApiParameter("days", int, description="only the last N days")],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        _ledger(request)
        days = _days(request)
        since = clock.now() - dt.timedelta(days=days) if days else None
        return Response(_figures(selectors.ledger_figures(user=request.user, since=since)))


class NotVisitedApi(_Paged):
    queryset = Visit.objects.none()  # for the schema; reads go through the selectors

    @extend_schema(
        summary="Households not visited for N days",
        parameters=[OpenApiParameter("days", int)],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        _ledger(request)
        n = _days(request) or selectors.DEFAULT_NOT_VISITED_DAYS
        qs = selectors.households_not_visited(user=request.user, days=n)
        paginator: Any = self.paginator
        page = paginator.paginate_queryset(qs, request, view=self)
        rows = [
            {
                "household": h.pk,
                "code": h.code,
                "place": OrgPlaceRef(h.place).data,
                "last_visit": h.last_visit,
            }
            for h in page
        ]
        return paginator.get_paginated_response(rows)


# --- commitments and cards ------------------------------------------------------------------


class CommitmentIn(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    detail = serializers.CharField(required=False, allow_blank=True, default="")
    place = serializers.IntegerField()
    due_on = serializers.DateField()
    member = serializers.IntegerField(required=False)


class CommitmentListApi(_Paged):
    queryset = Commitment.objects.none()  # for the schema; reads go through the selectors

    @extend_schema(
        summary="Commitments 承诺",
        parameters=[OpenApiParameter("state", str, enum=["open", "overdue", "fulfilled"])],
        responses=CommitmentOut(many=True),
    )
    def get(self, request: Request) -> Response:
        qs = selectors.commitment_list(user=request.user).order_by("due_on", "id")
        state = request.query_params.get("state")
        if state == "open":
            qs = qs.filter(state=CommitmentState.PUBLISHED)
        elif state == "overdue":
            qs = qs.filter(state=CommitmentState.PUBLISHED, due_on__lt=clock.today())
        elif state == "fulfilled":
            qs = qs.filter(state=CommitmentState.FULFILLED)
        return _page(self, request, qs, CommitmentOut)

    @extend_schema(summary="Publish a commitment", request=CommitmentIn, responses=CommitmentOut)
    def post(self, request: Request) -> Response:
        data = _valid(CommitmentIn, request)
        member: Any = request.user
        if data.get("member") and data["member"] != request.user.pk:
            member = User.objects.filter(pk=data["member"], is_active=True).first()
            if member is None:
                raise NotFound("not_found", "No such person.")
        commitment = services.commitment_publish(
            actor=request.user,
            member=member,
            place=_place(request.user, data["place"]),
            title=data["title"],
            detail=data["detail"],
            due_on=data["due_on"],
        )
        return Response(CommitmentOut(commitment).data, status=201)


class EvidenceIn(serializers.Serializer):
    evidence = serializers.CharField()


class CommitmentFulfilApi(APIView):
    @extend_schema(
        summary="Mark a commitment fulfilled", request=EvidenceIn, responses=CommitmentOut
    )
    def post(self, request: Request, pk: int) -> Response:
        commitment = selectors.commitment_get_for(user=request.user, pk=pk)
        data = _valid(EvidenceIn, request)
        commitment = services.commitment_fulfil(
            actor=request.user, commitment=commitment, evidence=data["evidence"]
        )
        return Response(CommitmentOut(commitment).data)


class CommentIn(serializers.Serializer):
    body = serializers.CharField(max_length=500)


class CommitmentCommentApi(APIView):
    @extend_schema(summary="Comment on a commitment", request=CommentIn, responses={201: dict})
    def post(self, request: Request, pk: int) -> Response:
        commitment = selectors.commitment_get_for(user=request.user, pk=pk)
        data = _valid(CommentIn, request)
        comment = services.commitment_comment(
            actor=request.user, commitment=commitment, body=data["body"]
        )
        return Response(
            {"id": comment.pk, "body": comment.body, "created_at": comment.created_at}, 201
        )


class MemberCardApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(summary="A member's public card (no sign-in) 党员亮身份", responses={200: dict})
    def get(self, request: Request, token: str) -> Response:
        profile = selectors.member_card(token=token)
        return Response(
            {
                "name": str(profile.user),
                "party_member": profile.party_member,
                "motto": profile.motto,
                "place": OrgPlaceRef(profile.place).data,
                "posts": [
                    {
                        "post_type": p.post_type.code,
                        "label": p.post_type.label,
                        "place": p.place.name,
                    }
                    for p in selectors.card_posts(profile)
                ],
                "commitments": [
                    {
                        "id": c.pk,
                        "title": c.title,
                        "due_on": c.due_on,
                        "state": c.state,
                        "fulfilled_on": c.fulfilled_on,
                        "evidence": c.evidence,
                        "comments": len(c.comments.all()),
                    }
                    for c in selectors.card_commitments(profile)
                ],
            }
        )


class OverviewApi(APIView):
    @extend_schema(
        summary="The leader's view: coverage, visits, commitments", responses={200: dict}
    )
    def get(self, request: Request) -> Response:
        _ledger(request)
        user = request.user
        now = clock.now()
        cov = selectors.coverage(user=user)
        return Response(
            {
                "coverage": {
                    "total": cov.total,
                    "covered": cov.covered,
                    "gaps": cov.total - cov.covered,
                    "commissioners": cov.commissioners,
                },
                "visits_30_days": _figures(
                    selectors.ledger_figures(user=user, since=now - dt.timedelta(days=30))
                ),
                "visits_365_days": _figures(
                    selectors.ledger_figures(user=user, since=now - dt.timedelta(days=365))
                ),
                "commitments": _figures(selectors.commitment_figures(user=user)),
            }
        )


# --- Red Butlers and events -----------------------------------------------------------------


def _butler(b: Any) -> dict[str, Any]:
    return {
        "id": b.pk,
        "user": {"id": b.user_id, "name": str(b.user)},
        "origin": b.origin,
        "place": OrgPlaceRef(b.place).data,
        "started_on": b.started_on,
        "assists": b.assists,
        "disputes": b.disputes,
        "cares": b.cares,
        "patrols": b.patrols,
        "last_activity": b.last_activity,
    }


class ButlerListApi(_Paged):
    queryset = RedButler.objects.none()  # for the schema; reads go through the selectors

    @extend_schema(summary="Red Butlers with their activity counted 红管家", responses={200: dict})
    def get(self, request: Request) -> Response:
        paginator: Any = self.paginator
        page = paginator.paginate_queryset(
            selectors.butler_list(user=request.user), request, view=self
        )
        return paginator.get_paginated_response([_butler(b) for b in page])


class ActivityIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ButlerActivityKind.choices)
    occurred_on = serializers.DateField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ButlerActivityApi(APIView):
    @extend_schema(
        summary="Record a Red Butler's activity", request=ActivityIn, responses={201: dict}
    )
    def post(self, request: Request, pk: int) -> Response:
        butler = selectors.butler_get_for(user=request.user, pk=pk)
        data = _valid(ActivityIn, request)
        activity = services.butler_activity_record(
            actor=request.user,
            butler=butler,
            kind=data["kind"],
            occurred_on=data.get("occurred_on"),
            note=data["note"],
        )
        return Response(
            {"id": activity.pk, "kind": activity.kind, "occurred_on": activity.occurred_on}, 201
        )


def _event(e: Any) -> dict[str, Any]:
    return {
        "id": e.pk,
        "title": e.title,
        "kind": e.kind,
        "place": OrgPlaceRef(e.place).data,
        "venue": e.venue,
        "starts_at": e.starts_at,
        "ends_at": e.ends_at,
        "capacity": e.capacity,
        "signed_up": getattr(e, "signed_up", None),
        "attended": getattr(e, "attended", None),
    }


class EventIn(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=EventKind.choices)
    place = serializers.IntegerField()
    venue = serializers.CharField(required=False, allow_blank=True, default="")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class EventListApi(_Paged):
    queryset = Event.objects.none()  # for the schema; reads go through the selectors

    @extend_schema(summary="Events 活动", responses={200: dict})
    def get(self, request: Request) -> Response:
        paginator: Any = self.paginator
        qs = selectors.event_list(user=request.user).order_by("-starts_at", "-id")
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([_event(e) for e in page])

    @extend_schema(summary="Publish an event", request=EventIn, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = _valid(EventIn, request)
        event = services.event_create(
            actor=request.user,
            title=data["title"],
            kind=data["kind"],
            place=_place(request.user, data["place"]),
            venue=data["venue"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            capacity=data.get("capacity"),
        )
        return Response(_event(event), status=201)


class EventSignUpApi(APIView):
    @extend_schema(summary="Sign up for an event", request=None, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        event = selectors.event_get_for(user=request.user, pk=pk)
        attendance = services.event_sign_up(actor=request.user, event=event)
        return Response({"signed_up_at": attendance.signed_up_at})


class TokenIn(serializers.Serializer):
    token = serializers.CharField()


class EventCheckInApi(APIView):
    @extend_schema(
        summary="Sign in at the door (the QR code's token)", request=TokenIn, responses={200: dict}
    )
    def post(self, request: Request, pk: int) -> Response:
        event = selectors.event_get_for(user=request.user, pk=pk)
        data = _valid(TokenIn, request)
        attendance = services.event_check_in(actor=request.user, event=event, token=data["token"])
        return Response({"checked_in_at": attendance.checked_in_at})


class EventAttendanceApi(APIView):
    @extend_schema(summary="Sign-ups and attendance per courtyard", responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        event = selectors.event_get_for(user=request.user, pk=pk)
        return Response([r.__dict__ for r in selectors.attendance_by_courtyard(event=event)])


# --- helpers --------------------------------------------------------------------------------


def _valid(serializer: Any, request: Request) -> dict[str, Any]:
    s = serializer(data=request.data)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _place(user: Any, pk: Any) -> Place:
    try:
        place = Place.objects.get(pk=int(pk))
    except (Place.DoesNotExist, TypeError, ValueError):
        raise NotFound("not_found", "No such place.") from None
    if not permissions_for(user).can_see(place) and not services.place_related(user, place):
        raise NotFound("not_found", "No such place.")
    return place


def _ledger(request: Request) -> None:
    if not permissions_for(request.user).has(selectors.VIEW_VISITS):
        raise NotFound("not_found", "Not found.")
