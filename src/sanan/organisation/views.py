"""Pages of the organisation pillar (mounted at ``/org/``): the organisation chart, posts and
the coverage of courtyards by commissioners, the contact ledger with its visit form, members'
public cards with their commitments, and the leader's overview.

Reads come through ``organisation.selectors`` for the acting user (out of sight: 404), writes
through ``organisation.services`` (their ``DomainError`` is shown next to the form). Forms post
and redirect, so reload and the back button always work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.organisation import qr, selectors, services
from sanan.organisation.models import (
    CommitmentState,
    Membership,
    OrganisationKind,
    PostType,
)
from sanan.places import mapsvg
from sanan.places.models import Place

V = TypeVar("V", bound=Callable[..., HttpResponse])
PAGE_SIZE = 25
MANAGE = services.MANAGE


def org_page(view: V) -> V:
    """Signed in; a domain refusal becomes the page's 403/404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied as exc:
            return render(request, "403.html", {"message": exc.message}, status=403)

    return cast(V, login_required(wrapped))


def _error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, str(exc.message))


# --- the organisation chart -------------------------------------------------------------------


@org_page
@require_GET
def chart(request: HttpRequest) -> HttpResponse:
    perms = permissions_for(request.user)
    nodes = selectors.organisation_chart(user=request.user)
    courtyard = services.courtyard_of_user(request.user)
    return render(
        request,
        "organisation/chart.html",
        {
            "nodes": [n for n in nodes if n.organisation.kind not in selectors.SERVICE_KINDS],
            "services": [n for n in nodes if n.organisation.kind in selectors.SERVICE_KINDS],
            "today": clock.today(),
            "can_manage": perms.has(MANAGE),
            "can_map": perms.has("place.view_map"),
            "courtyard": courtyard,
            "serving": selectors.posts_serving(place=courtyard) if courtyard else [],
        },
    )


# --- coverage of courtyards -------------------------------------------------------------------


def _candidates(user: Any) -> list[Any]:
    """People who may take a post: current members of the Party branches in sight."""
    ids = (
        Membership.objects.filter(
            selectors.related_q(user, "organisation__place"),
            ended_on__isnull=True,
            organisation__kind__in=[
                OrganisationKind.PARTY_BRANCH,
                OrganisationKind.PARTY_COMMITTEE,
            ],
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("display_name", "pk"))


@org_page
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    """Every courtyard with its commissioner, gaps first and in red: map and list."""
    user = request.user
    perms = permissions_for(user)
    if not perms.has("place.view_map"):
        raise Http404
    result = selectors.coverage(user=user)
    area = None
    if result.courtyards:
        first = result.courtyards[0].courtyard
        area = Place.objects.filter(path=first.path[: -Place.steplen]).first()
    svg = mapsvg.draw([c.courtyard for c in result.courtyards], outline=area)
    status = {c.courtyard.pk: c for c in result.courtyards}
    shapes = [(s, status[s.place.pk]) for s in svg.shapes] if svg else []
    can_manage = [c.courtyard.pk for c in result.courtyards if perms.can(MANAGE, c.courtyard)]
    return render(
        request,
        "organisation/coverage.html",
        {
            "coverage": result,
            "svg": svg,
            "shapes": shapes,
            "area": area,
            "can_manage": set(can_manage),
            "candidates": _candidates(user) if can_manage else [],
            "commissioner_types": PostType.objects.filter(covers_courtyards=True, active=True),
        },
    )


@org_page
@require_POST
def post_assign(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = reverse("organisation:coverage")
    try:
        place = Place.objects.get(pk=int(request.POST.get("place", "")))
        holder = User.objects.get(pk=int(request.POST.get("holder", "")))
        post_type = PostType.objects.get(pk=int(request.POST.get("post_type", "")))
    except (ValueError, Place.DoesNotExist, User.DoesNotExist, PostType.DoesNotExist):
        messages.error(request, _("Choose a courtyard, a person and a post."))
        return redirect(next_url)
    if holder.pk not in {c.pk for c in _candidates(user)}:
        messages.error(request, _("Choose a member of the Party branch."))
        return redirect(next_url)
    branch = (
        Membership.objects.filter(
            user=holder, ended_on__isnull=True, organisation__kind=OrganisationKind.PARTY_BRANCH
        )
        .select_related("organisation")
        .first()
    )
    try:
        services.post_assign(
            actor=user,
            holder=holder,
            post_type=post_type,
            place=place,
            organisation=branch.organisation if branch else None,
        )
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        _error(request, exc)
    else:
        messages.success(
            request,
            _("%(name)s now looks after %(place)s.") % {"name": holder, "place": place.name},
        )
    return redirect(f"{next_url}#c-{place.pk}")


@org_page
@require_POST
def post_end(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.post_get_for(user=request.user, pk=pk)
    try:
        services.post_end(actor=request.user, post=post, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        _error(request, exc)
    else:
        messages.success(
            request,
            _("%(name)s no longer holds this post in %(place)s.")
            % {"name": post.holder, "place": post.place.name},
        )
    return redirect(request.POST.get("next") or reverse("organisation:coverage"))


# --- the home page's tiles ----------------------------------------------------------------------


@login_required
@require_GET
def nav(request: HttpRequest) -> HttpResponse:
    user: Any = request.user  # signed in (login_required)
    perms = permissions_for(user)
    return render(
        request,
        "organisation/_nav_home.html",
        {
            "can_map": perms.has("place.view_map"),
            "can_ledger": perms.has(selectors.VIEW_VISITS),
            "can_record": perms.has(services.RECORD_VISIT),
            "can_oversee": perms.has(MANAGE),
            "card": selectors.MemberProfile.objects.filter(user=user).first(),
            "days": selectors.DEFAULT_NOT_VISITED_DAYS,
            "not_visited": selectors.households_not_visited(
                user=request.user, days=selectors.DEFAULT_NOT_VISITED_DAYS
            ).count()
            if perms.has(services.RECORD_VISIT)
            else None,
        },
    )


# --- the contact ledger -------------------------------------------------------------------------


def _require_ledger(request: HttpRequest) -> None:
    if not permissions_for(request.user).has(selectors.VIEW_VISITS):
        raise Http404


@org_page
@require_GET
def ledger(request: HttpRequest) -> HttpResponse:
    _require_ledger(request)
    user = request.user
    days = _days(request)
    since = clock.now() - dt.timedelta(days=365)
    page = Paginator(selectors.visit_list(user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "organisation/ledger.html",
        {
            "figures": selectors.ledger_figures(user=user),
            "year": selectors.ledger_figures(user=user, since=since),
            "page": page,
            "days": days,
            "not_visited": selectors.households_not_visited(user=user, days=days).count(),
            "can_record": permissions_for(user).has(services.RECORD_VISIT),
        },
    )


def _days(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("days", "")), 3650))
    except ValueError:
        return selectors.DEFAULT_NOT_VISITED_DAYS


@org_page
@require_GET
def not_visited(request: HttpRequest) -> HttpResponse:
    _require_ledger(request)
    days = _days(request)
    qs = selectors.households_not_visited(user=request.user, days=days)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "organisation/not_visited.html",
        {
            "page": page,
            "days": days,
            "can_record": permissions_for(request.user).has(services.RECORD_VISIT),
        },
    )


def _categories() -> list[Any]:
    from sanan.workorders.models import Category

    return list(Category.objects.filter(active=True).order_by("path"))


@org_page
def visit_new(request: HttpRequest) -> HttpResponse:
    """Record a visit on the phone: the household, what was talked about, up to three problems
    (each one a work order at once when it has a category)."""
    user = request.user
    if not permissions_for(user).has(services.RECORD_VISIT):
        raise Http404
    from sanan.registry.models import Household

    households = list(
        Household.objects.visible_to(user, services.RECORD_VISIT)
        .select_related("place", "head")
        .order_by("place__path", "code")[:500]
    )
    categories = _categories()
    chosen = request.POST.get("household") or request.GET.get("household") or ""
    values: dict[str, Any] = {"topics": "", "problems": [{}, {}, {}]}
    if request.method == "POST":
        values["topics"] = request.POST.get("topics", "")
        problems = []
        rows = []
        by_pk = {str(c.pk): c for c in categories}
        for i in range(3):
            text = request.POST.get(f"problem-{i}", "")
            cat = request.POST.get(f"category-{i}", "")
            solved = request.POST.get(f"solved-{i}") == "on"
            rows.append({"text": text, "category": cat, "solved": solved})
            if text.strip():
                problems.append(services.ProblemInput(text, by_pk.get(cat), solved))
        values["problems"] = rows
        try:
            household = selectors.household_for_visit(user=user, pk=chosen)
            visit = services.visit_record(
                actor=user, household=household, topics=values["topics"], problems=problems
            )
        except NotFound:
            messages.error(request, _("Choose the household you visited."))
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            _error(request, exc)
        else:
            messages.success(request, _("Visit recorded."))
            return redirect("organisation:visit", pk=visit.pk)
    return render(
        request,
        "organisation/visit_form.html",
        {
            "households": households,
            "chosen": str(chosen),
            "categories": categories,
            "values": values,
        },
        status=400 if request.method == "POST" else 200,
    )


@org_page
@require_GET
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_ledger(request)
    visit = selectors.visit_get_for(user=request.user, pk=pk)
    return render(
        request,
        "organisation/visit_detail.html",
        {
            "visit": visit,
            "house": Place.objects.filter(path=visit.place.path[: -Place.steplen]).first(),
            "categories": _categories(),
            "can_record": permissions_for(request.user).can(services.RECORD_VISIT, visit.place),
        },
    )


@org_page
@require_POST
def problem_order(request: HttpRequest, pk: int) -> HttpResponse:
    problem = selectors.problem_get_for(user=request.user, pk=pk)
    from sanan.workorders.selectors import category_get

    try:
        category = category_get(pk=request.POST.get("category", ""))
        services.visit_problem_to_work_order(actor=request.user, problem=problem, category=category)
    except DomainError as exc:
        if isinstance(exc, PermissionDenied):
            raise
        _error(request, exc)
    else:
        messages.success(request, _("The problem is now a work order."))
    return redirect("organisation:visit", pk=problem.visit_id)


# --- member cards and commitments -------------------------------------------------------------


@require_GET
def card(request: HttpRequest, token: str) -> HttpResponse:
    """The public card of a member (no sign-in: it is what the QR code on the board opens)."""
    try:
        profile = selectors.member_card(token=token)
    except NotFound:
        raise Http404 from None
    commitments = selectors.card_commitments(profile)
    user = request.user
    can_comment = {
        c.pk for c in commitments if user.is_authenticated and services.place_related(user, c.place)
    }
    return render(
        request,
        "organisation/card.html",
        {
            "profile": profile,
            "posts": selectors.card_posts(profile),
            "commitments": commitments,
            "can_comment": can_comment,
            "own": user.is_authenticated and user.pk == profile.user_id,
            "today": clock.today(),
            "card_url": request.build_absolute_uri(),
        },
    )


@require_GET
def card_qr(request: HttpRequest, token: str) -> HttpResponse:
    try:
        selectors.member_card(token=token)
    except NotFound:
        raise Http404 from None
    url = request.build_absolute_uri(reverse("organisation:card", args=[token]))
    return HttpResponse(qr.svg(url), content_type="image/svg+xml")


@org_page
@require_POST
def commitment_comment(request: HttpRequest, pk: int) -> HttpResponse:
    commitment = selectors.commitment_get_for(user=request.user, pk=pk)
    try:
        services.commitment_comment(
            actor=request.user, commitment=commitment, body=request.POST.get("body", "")
        )
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        _error(request, exc)
    else:
        messages.success(request, _("Thank you: your comment is published."))
    profile = getattr(commitment.member, "member_profile", None)
    if profile is None:
        return redirect("organisation:commitments")
    return redirect(reverse("organisation:card", args=[profile.card_token]) + f"#k-{pk}")


@org_page
def commitments(request: HttpRequest) -> HttpResponse:
    """Commitments in sight: overdue first, then due soon, then the rest; members publish and
    fulfil their own here."""
    user = request.user
    today = clock.today()
    if request.method == "POST":
        _commitment_post(request)
        return redirect("organisation:commitments")
    qs = selectors.commitment_list(user=user)
    state = request.GET.get("state", "open")
    if state == "open":
        qs = qs.filter(state=CommitmentState.PUBLISHED)
    elif state == "overdue":
        qs = qs.filter(state=CommitmentState.PUBLISHED, due_on__lt=today)
    elif state == "fulfilled":
        qs = qs.filter(state=CommitmentState.FULFILLED)
    page = Paginator(qs.order_by("due_on", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    mine = list(
        selectors.commitment_list(user=user)
        .filter(member_id=user.pk, state=CommitmentState.PUBLISHED)
        .order_by("due_on")
    )
    return render(
        request,
        "organisation/commitments.html",
        {
            "page": page,
            "state": state,
            "today": today,
            "figures": selectors.commitment_figures(user=user, today=today),
            "mine": mine,
            "my_places": _my_post_places(user),
            "soon": today + dt.timedelta(days=selectors.DUE_SOON_DAYS),
        },
    )


def _my_post_places(user: Any) -> list[Place]:
    """Where the user may publish their own commitments: the places of their posts and of
    their Party membership (the ``party_member`` role's place)."""
    perms = permissions_for(user)
    ids = selectors.post_list(user=user).filter(holder=user).values_list("place_id", flat=True)
    roots = [r for r in perms.scope_paths(services.PUBLISH) if r]
    places = Place.objects.filter(Q(pk__in=set(ids)) | Q(path__in=roots)).order_by("path")
    return [p for p in places if perms.can(services.PUBLISH, p) or perms.can(MANAGE, p)]


def _commitment_post(request: HttpRequest) -> None:
    user = request.user
    action = request.POST.get("action")
    try:
        if action == "publish":
            try:
                place = Place.objects.get(pk=int(request.POST.get("place", "")))
                due_on = dt.date.fromisoformat(request.POST.get("due_on", ""))
            except (ValueError, Place.DoesNotExist):
                messages.error(request, _("Choose the place and the due date."))
                return
            services.commitment_publish(
                actor=user,
                member=user,
                place=place,
                title=request.POST.get("title", ""),
                detail=request.POST.get("detail", ""),
                due_on=due_on,
            )
            messages.success(request, _("Your commitment is published on your card."))
        elif action == "fulfil":
            commitment = selectors.commitment_get_for(user=user, pk=request.POST.get("pk"))
            services.commitment_fulfil(
                actor=user, commitment=commitment, evidence=request.POST.get("evidence", "")
            )
            messages.success(request, _("Marked as fulfilled; residents can see what was done."))
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        _error(request, exc)


# --- the leader's overview ----------------------------------------------------------------------


@org_page
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Coverage, visits and commitments due and overdue, each figure linking to its list."""
    user = request.user
    perms = permissions_for(user)
    if not perms.has(selectors.VIEW_VISITS):
        raise Http404
    now = clock.now()
    today = clock.today()
    cov = selectors.coverage(user=user)
    return render(
        request,
        "organisation/overview.html",
        {
            "coverage": cov,
            "month": selectors.ledger_figures(user=user, since=now - dt.timedelta(days=30)),
            "year": selectors.ledger_figures(user=user, since=now - dt.timedelta(days=365)),
            "not_visited": selectors.households_not_visited(
                user=user, days=selectors.DEFAULT_NOT_VISITED_DAYS
            ).count(),
            "days": selectors.DEFAULT_NOT_VISITED_DAYS,
            "commitments": selectors.commitment_figures(user=user, today=today),
            "overdue": list(
                selectors.commitment_list(user=user)
                .filter(state=CommitmentState.PUBLISHED, due_on__lt=today)
                .order_by("due_on")[:10]
            ),
            "due_soon": list(
                selectors.commitment_list(user=user)
                .filter(
                    state=CommitmentState.PUBLISHED,
                    due_on__gte=today,
                    due_on__lte=today + dt.timedelta(days=selectors.DUE_SOON_DAYS),
                )
                .order_by("due_on")[:10]
            ),
            "visits_by_visitor": selectors.visits_by_visitor(
                user=user, since=now - dt.timedelta(days=30)
            ),
        },
    )


# --- Red Butlers ------------------------------------------------------------------------------


@org_page
def butlers(request: HttpRequest) -> HttpResponse:
    """The Red Butlers with what each has done, counted from their records; a Red Butler
    records an activity here in one step."""
    user = request.user
    mine = selectors.butler_of(user)
    if request.method == "POST":
        target = mine
        if request.POST.get("butler") and (mine is None or request.POST["butler"] != str(mine.pk)):
            target = selectors.butler_get_for(user=user, pk=request.POST["butler"])
        if target is None:
            raise Http404
        try:
            day = (
                dt.date.fromisoformat(request.POST["occurred_on"])
                if request.POST.get("occurred_on")
                else None
            )
            services.butler_activity_record(
                actor=user,
                butler=target,
                kind=request.POST.get("kind", ""),
                occurred_on=day,
                note=request.POST.get("note", ""),
            )
        except ValueError:
            messages.error(request, _("Choose what you did and when."))
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            _error(request, exc)
        else:
            messages.success(request, _("Recorded. Thank you!"))
        return redirect("organisation:butlers")
    from sanan.organisation.models import ButlerActivityKind

    rows = list(selectors.butler_list(user=user))
    return render(
        request,
        "organisation/butlers.html",
        {
            "butlers": rows,
            "mine": mine,
            "kinds": ButlerActivityKind.choices,
            "today": clock.today(),
            "totals": {
                "assists": sum(b.assists for b in rows),  # type: ignore[attr-defined]
                "disputes": sum(b.disputes for b in rows),  # type: ignore[attr-defined]
                "cares": sum(b.cares for b in rows),  # type: ignore[attr-defined]
                "patrols": sum(b.patrols for b in rows),  # type: ignore[attr-defined]
            },
        },
    )


# --- events -----------------------------------------------------------------------------------


@org_page
def events(request: HttpRequest) -> HttpResponse:
    user = request.user
    perms = permissions_for(user)
    manageable = [
        p
        for p in Place.objects.visible_to(user, MANAGE).filter(
            kind__in=["community", "area", "courtyard"]
        )
        if perms.can(MANAGE, p)
    ][:80]
    if request.method == "POST":
        from django.utils import timezone
        from django.utils.dateparse import parse_datetime

        try:
            place = Place.objects.get(pk=int(request.POST.get("place", "")))
            starts = parse_datetime(request.POST.get("starts_at", ""))
            ends = parse_datetime(request.POST.get("ends_at", ""))
            if starts is None or ends is None:
                raise ValueError
            starts = timezone.make_aware(starts) if timezone.is_naive(starts) else starts
            ends = timezone.make_aware(ends) if timezone.is_naive(ends) else ends
            event = services.event_create(
                actor=user,
                title=request.POST.get("title", ""),
                kind=request.POST.get("kind", ""),
                place=place,
                venue=request.POST.get("venue", ""),
                starts_at=starts,
                ends_at=ends,
            )
        except (ValueError, Place.DoesNotExist):
            messages.error(request, _("Choose the place, the start and the end."))
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            _error(request, exc)
        else:
            messages.success(request, _("Event published."))
            return redirect("organisation:event", pk=event.pk)
        return redirect("organisation:events")
    from sanan.organisation.models import EventKind

    now = clock.now()
    qs = selectors.event_list(user=user)
    return render(
        request,
        "organisation/events.html",
        {
            "upcoming": list(qs.filter(ends_at__gte=now).order_by("starts_at")[:20]),
            "past": Paginator(
                qs.filter(ends_at__lt=now).order_by("-starts_at"), PAGE_SIZE
            ).get_page(request.GET.get("page")),
            "kinds": EventKind.choices,
            "places": manageable,
        },
    )


@org_page
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    event = selectors.event_get_for(user=user, pk=pk)
    if request.method == "POST":
        try:
            services.event_sign_up(actor=user, event=event)
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            _error(request, exc)
        else:
            messages.success(request, _("You are signed up. Scan the QR code at the door."))
        return redirect("organisation:event", pk=pk)
    now = clock.now()
    can_manage = permissions_for(user).can(MANAGE, event.place)
    return render(
        request,
        "organisation/event_detail.html",
        {
            "event": event,
            "mine": selectors.attendance_of(user=user, event=event),
            "by_courtyard": selectors.attendance_by_courtyard(event=event),
            "can_manage": can_manage,
            "open_for_sign_up": now < event.starts_at,
            "checkin_url": request.build_absolute_uri(
                reverse("organisation:event_checkin", args=[event.pk, event.signin_token])
            )
            if can_manage
            else "",
        },
    )


@org_page
@require_GET
def event_qr(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_get_for(user=request.user, pk=pk)
    if not permissions_for(request.user).can(MANAGE, event.place):
        raise PermissionDenied("auth.forbidden", _("Only the organisers print the sign-in code."))
    url = request.build_absolute_uri(
        reverse("organisation:event_checkin", args=[event.pk, event.signin_token])
    )
    return HttpResponse(qr.svg(url, scale=10), content_type="image/svg+xml")


@org_page
def event_checkin(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """What the QR code at the door opens: one big button to sign in."""
    event = selectors.event_get_for(user=request.user, pk=pk)
    if request.method == "POST":
        try:
            services.event_check_in(actor=request.user, event=event, token=token)
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            _error(request, exc)
        else:
            messages.success(request, _("Signed in. Welcome!"))
            return redirect("organisation:event", pk=pk)
    return render(
        request,
        "organisation/event_checkin.html",
        {
            "event": event,
            "token": token,
            "mine": selectors.attendance_of(user=request.user, event=event),
        },
    )
