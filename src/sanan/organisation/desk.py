"""Desk pages of the organisation pillar for the committee and the community office: an
organisation's members and terms (add, end), posts and areas (assign, end: the coverage of
courtyards changes at once), and the list of post types (rename, add, retire).

Reads come through ``organisation.selectors``, writes through ``organisation.services``; a
refusal is shown beside the field it names and the page answers 400, a success redirects so
reload and the back button work. The post list filters with HTMX (one URL, full page or the
``_post_rows.html`` fragment).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.organisation import selectors, services
from sanan.organisation.forms import (
    MemberAddForm,
    MemberEndForm,
    PostAssignForm,
    PostTypeAddForm,
    PostTypeForm,
    TermForm,
)
from sanan.organisation.models import (
    Membership,
    OrganisationKind,
    Post,
    PostType,
)
from sanan.organisation.views import MANAGE, _candidates, org_page
from sanan.places.models import Place, PlaceKind

POSTS_PAGE = 50


def _refused(exc: DomainError) -> None:
    """Out of sight or not allowed: the page's 404/403 (``org_page``)."""
    if isinstance(exc, PermissionDenied | NotFound):
        raise exc


# --- an organisation: members and terms -------------------------------------------------------


@org_page
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Members with their position and term, who left, the terms; the committee adds and ends
    memberships and records terms here."""
    user = request.user
    organisation = selectors.organisation_get_for(user=user, pk=pk)
    can_manage = permissions_for(user).can(MANAGE, organisation)
    add_form = MemberAddForm(organisation=organisation)
    term_form = TermForm()
    end_forms: dict[int, MemberEndForm] = {}
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("auth.forbidden", _("You may not do this here."))
        action = request.POST.get("action")
        done = None
        if action == "add":
            add_form = MemberAddForm(request.POST, organisation=organisation)
            done = _member_add(request, add_form, organisation)
        elif action == "end":
            membership = Membership.objects.filter(
                organisation=organisation, pk=_int(request.POST.get("membership")) or 0
            ).first()
            if membership is None:
                raise Http404
            form = MemberEndForm(request.POST, prefix=f"m{membership.pk}")
            end_forms[membership.pk] = form
            done = _member_end(request, form, membership)
        elif action == "term":
            term_form = TermForm(request.POST)
            done = _term_add(request, term_form, organisation)
        else:
            raise Http404
        if done:
            return redirect(done)
        status = 400
    current, ended = selectors.organisation_members(organisation=organisation)
    rows = [(m, end_forms.get(m.pk) or MemberEndForm(prefix=f"m{m.pk}")) for m in current]
    people: list[User] = []
    if can_manage:
        people = list(
            selectors.member_candidates(user=user)
            .exclude(pk__in=[m.user_id for m in current])
            .order_by("display_name", "pk")[:300]
        )
    return render(
        request,
        "organisation/organisation_detail.html",
        {
            "organisation": organisation,
            "rows": rows,
            "ended": ended,
            "terms": list(organisation.terms.annotate(members=Count("memberships"))),
            "can_manage": can_manage,
            "add_form": add_form,
            "term_form": term_form,
            "people": people,
            "is_party": organisation.kind in services.PARTY_KINDS,
            "open_end": next(iter(end_forms), None),
        },
        status=status,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _member_add(request: HttpRequest, form: MemberAddForm, organisation: Any) -> str | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        person = selectors.member_find(user=request.user, text=data["person"])
        membership = services.membership_add(
            actor=request.user,
            organisation=organisation,
            user=person,
            title=data["title"],
            position=data["position"],
            term=data["term"],
            started_on=data["started_on"],
            strict=True,
        )
    except DomainError as exc:
        _refused(exc)
        form.add_domain_error(exc)
        return None
    messages.success(
        request,
        _("%(name)s is now a member of %(organisation)s.")
        % {"name": membership.user, "organisation": organisation.name},
    )
    return reverse("organisation:organisation", args=[organisation.pk]) + "#members"


def _member_end(request: HttpRequest, form: MemberEndForm, membership: Membership) -> str | None:
    if not form.is_valid():
        return None
    try:
        services.membership_end(
            actor=request.user,
            membership=membership,
            ended_on=form.cleaned_data["ended_on"],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as exc:
        _refused(exc)
        form.add_domain_error(exc)
        return None
    messages.success(
        request,
        _("%(name)s has left %(organisation)s.")
        % {"name": membership.user, "organisation": membership.organisation.name},
    )
    return reverse("organisation:organisation", args=[membership.organisation_id]) + "#left"


def _term_add(request: HttpRequest, form: TermForm, organisation: Any) -> str | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        services.term_ensure(
            actor=request.user,
            organisation=organisation,
            name=data["name"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            strict=True,
        )
    except DomainError as exc:
        _refused(exc)
        form.add_domain_error(exc)
        return None
    messages.success(request, _("Term recorded."))
    return reverse("organisation:organisation", args=[organisation.pk]) + "#terms"


# --- posts and areas ------------------------------------------------------------------------------


def _post_places(user: Any) -> list[Place]:
    """Where the acting user may assign posts: the community, areas and courtyards they manage."""
    perms = permissions_for(user)
    return [
        p
        for p in Place.objects.visible_to(user, MANAGE)
        .filter(kind__in=[PlaceKind.COMMUNITY, PlaceKind.AREA, PlaceKind.COURTYARD])
        .order_by("path")[:400]
        if perms.can(MANAGE, p)
    ]


@org_page
def posts(request: HttpRequest) -> HttpResponse:
    """Every current post in sight (定岗包片), filtered by post type; the committee assigns and
    ends posts here. Ending a courtyard commissioner's post opens a gap on the coverage at
    once; assigning one closes it."""
    user = request.user
    perms = permissions_for(user)
    can_manage = perms.has(MANAGE)
    form: PostAssignForm | None = None
    if can_manage:
        form = PostAssignForm(
            request.POST or None, candidates=_candidates(user), places=_post_places(user)
        )
    if request.method == "POST":
        if form is None:
            raise Http404
        done = _post_assign(request, form)
        if done:
            return redirect(done)
    qs = selectors.post_list(user=user).order_by("post_type__order", "place__path", "holder_id")
    chosen = request.GET.get("type", "")
    if chosen:
        qs = qs.filter(post_type__code=chosen)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(holder__display_name__contains=q) | Q(place__name__contains=q))
    page = Paginator(qs, POSTS_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "chosen": chosen,
        "q": q,
        "types": list(PostType.objects.order_by("-active", "order", "code")),
        "can_manage": {p.pk for p in page.object_list if perms.can(MANAGE, p.place)},
        "form": form,
        "coverage": selectors.coverage(user=user) if perms.has("place.view_map") else None,
        "next": request.get_full_path(),
    }
    if request.htmx and request.method == "GET":  # type: ignore[attr-defined]
        return render(request, "organisation/_post_rows.html", context)
    return render(
        request,
        "organisation/posts.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


def _post_assign(request: HttpRequest, form: PostAssignForm) -> str | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    holder = User.objects.get(pk=data["holder"])
    place = Place.objects.get(pk=data["place"])
    branch = (
        Membership.objects.filter(
            user=holder, ended_on__isnull=True, organisation__kind=OrganisationKind.PARTY_BRANCH
        )
        .select_related("organisation")
        .first()
    )
    already = (
        Post.objects.current()
        .filter(post_type=data["post_type"], holder=holder, place=place)
        .exists()
    )
    if already:
        form.add_error(
            "holder",
            _("%(name)s already holds this post in %(place)s.")
            % {"name": holder, "place": place.name},
        )
        return None
    try:
        post = services.post_assign(
            actor=request.user,
            holder=holder,
            post_type=data["post_type"],
            place=place,
            organisation=branch.organisation if branch else None,
            started_on=data["started_on"],
        )
    except DomainError as exc:
        _refused(exc)
        form.add_domain_error(exc)
        return None
    messages.success(
        request,
        _("%(name)s is now %(post)s for %(place)s.")
        % {"name": holder, "post": post.post_type.label, "place": place.name},
    )
    return reverse("organisation:posts") + f"#post-{post.pk}"


# --- post types ---------------------------------------------------------------------------------


@org_page
def post_types(request: HttpRequest) -> HttpResponse:
    """The list of posts (data): rename one, add one, retire one that nobody holds."""
    user = request.user
    can_manage = permissions_for(user).has(MANAGE)
    if not can_manage and not permissions_for(user).has("place.view_map"):
        raise Http404
    add_form = PostTypeAddForm()
    edit_forms: dict[int, PostTypeForm] = {}
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("auth.forbidden", _("You may not change the list of posts."))
        action = request.POST.get("action")
        done = None
        if action == "add":
            add_form = PostTypeAddForm(request.POST)
            done = _post_type_add(request, add_form)
        elif action in ("rename", "retire", "restore"):
            post_type = PostType.objects.filter(pk=_int(request.POST.get("pk")) or 0).first()
            if post_type is None:
                raise Http404
            if action == "rename":
                form = PostTypeForm(request.POST, prefix=f"t{post_type.pk}")
                edit_forms[post_type.pk] = form
                done = _post_type_rename(request, form, post_type)
            else:
                done = _post_type_retire(request, post_type, active=action == "restore")
        else:
            raise Http404
        if done:
            return redirect(done)
    types = list(selectors.post_type_list_with_counts())
    rows = [
        (
            t,
            edit_forms.get(t.pk)
            or PostTypeForm(
                prefix=f"t{t.pk}",
                initial={"name": t.name, "name_en": t.name_en, "description": t.description},
            ),
        )
        for t in types
    ]
    return render(
        request,
        "organisation/post_types.html",
        {
            "rows": rows,
            "add_form": add_form,
            "can_manage": can_manage,
            "open_edit": next(iter(edit_forms), None),
            "today": clock.today(),
        },
        status=400 if request.method == "POST" else 200,
    )


def _post_type_add(request: HttpRequest, form: PostTypeAddForm) -> str | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        post_type = services.post_type_create(
            actor=request.user,
            name=data["name"],
            name_en=data["name_en"],
            description=data["description"],
            grants_role=data["grants_role"],
            covers_courtyards=data["covers_courtyards"],
        )
    except DomainError as exc:
        _refused(exc)
        form.add_domain_error(exc)
        return None
    messages.success(request, _("Post added: %(post)s.") % {"post": post_type.label})
    return reverse("organisation:post_types") + f"#t-{post_type.pk}"


def _post_type_rename(request: HttpRequest, form: PostTypeForm, post_type: PostType) -> str | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        services.post_type_update(
            actor=request.user,
            post_type=post_type,
            name=data["name"],
            name_en=data["name_en"],
            description=data["description"],
        )
    except DomainError as exc:
        _refused(exc)
        form.add_domain_error(exc)
        return None
    messages.success(request, _("Post renamed: %(post)s.") % {"post": post_type.label})
    return reverse("organisation:post_types") + f"#t-{post_type.pk}"


def _post_type_retire(request: HttpRequest, post_type: PostType, *, active: bool) -> str:
    try:
        services.post_type_retire(actor=request.user, post_type=post_type, active=active)
    except DomainError as exc:
        _refused(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            (_("%(post)s is in use again.") if active else _("%(post)s is retired."))
            % {"post": post_type.label},
        )
    return reverse("organisation:post_types") + f"#t-{post_type.pk}"
