"""Pages of the registry (mounted at ``/registry/``): the residents list and search, a resident,
a household, the people-house-car page of a courtyard, house or unit, registrations that expire
soon, and the forms that change them.

Scoping is the API's: every record comes through the registry selectors for the acting user, so
anything out of sight is a 404; in sight without ``resident.edit`` there are no edit buttons and
the forms answer 403. Writes go through ``registry.services``; their ``DomainError`` comes back
next to the fields.

ID numbers, phones and plates never travel in a URL: the search form posts (``hx-post``) and
the page pushes an address that keeps only the filters and a name search (``_safe_query``). A
revealed number is sent once, in a response that may not be cached, and never stored in the page
history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.core.pagination import CappedPaginator
from sanan.core.validators import PROVINCES, normalise_plate
from sanan.places.models import KIND_ORDER, Place, PlaceKind
from sanan.places.selectors import place_ancestors
from sanan.registry import exports, imports, selectors, services
from sanan.registry.filters import ANY, ResidentFilter
from sanan.registry.forms import (
    COURTYARD_LEN,
    Courtyard,
    ExportForm,
    HouseholdForm,
    HouseProfileForm,
    ImportMappingForm,
    ImportUploadForm,
    InspectForm,
    MoveForm,
    MoveOutForm,
    ReasonForm,
    RegistryForm,
    RentalForm,
    ResidentForm,
    RevealForm,
    SetHeadForm,
    TagAddForm,
    VehicleForm,
    courtyard_for,
    courtyard_of,
    courtyards_for,
    residents_of,
)
from sanan.registry.models import (
    Household,
    ResidenceType,
    Resident,
    ResidentStatus,
    Vehicle,
)
from sanan.registry.models_io import ImportJob, ImportKind, ImportState
from sanan.registry.selectors import EDIT, OVERVIEW_KINDS, VIEW

PAGE_SIZE = 25
REVEAL = "pii.reveal"
EXPORT = "resident.export"
IMPORT = "resident.import"
EXPIRY_WINDOWS = (7, 30, 90)

V = TypeVar("V", bound=Callable[..., HttpResponse])


# --- plumbing --------------------------------------------------------------------------------


def registry_page(view: V) -> V:
    """Signed in, with registry rights somewhere (else 404); a ``PermissionDenied`` from a
    selector or a check below becomes the 403 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not permissions_for(request.user).has(VIEW):
            raise Http404
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return render(request, "403.html", {"message": exc.message}, status=403)

    return cast(V, login_required(wrapped))


def _fragment(request: HttpRequest) -> bool:
    """An HTMX request for part of the page (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def _require_edit(request: HttpRequest, obj: Any) -> None:
    if not permissions_for(request.user).can(EDIT, obj):
        raise PermissionDenied(
            "auth.forbidden", gettext_lazy("You may not change the registry here.")
        )


def _place_for_edit(request: HttpRequest, pk: Any) -> Place:
    place = selectors.place_for_registry(user=request.user, pk=pk, action=EDIT)
    _require_edit(request, place)
    return place


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _overview_url(place: Place) -> str:
    return reverse("registry:place", args=[place.pk])


def _crumbs(place: Place, *, include_self: bool = True) -> list[tuple[str, str]]:
    """From the residential area down: courtyards, houses and units link to their
    people-house-car page, the levels above to their place page."""
    chain = [*place_ancestors(place), place] if include_self else place_ancestors(place)
    area = KIND_ORDER.index(PlaceKind.AREA)
    crumbs = []
    for p in chain:
        if KIND_ORDER.index(p.kind) < area:
            continue
        url = (
            _overview_url(p) if p.kind in OVERVIEW_KINDS else reverse("places:detail", args=[p.pk])
        )
        crumbs.append((p.name, url))
    return crumbs


def _where(residents: list[Resident]) -> None:
    """Name each resident's dwelling from the courtyard down ("3号院 · 红旗巷12号 · 201室")
    with one query for the whole page."""
    wanted: set[str] = set()
    for r in residents:
        path = r.place.path
        wanted.update(path[:i] for i in range(COURTYARD_LEN, len(path), Place.steplen))
    names = dict(Place.objects.filter(path__in=wanted).values_list("path", "name"))
    for r in residents:
        path = r.place.path
        above = [
            names[path[:i]]
            for i in range(COURTYARD_LEN, len(path), Place.steplen)
            if path[:i] in names
        ]
        r.where = " · ".join([*above, r.place.name])  # type: ignore[attr-defined]


def _existing_visible(request: HttpRequest, exc: DomainError) -> Resident | None:
    """The resident an ID number already belongs to, when the user may open them."""
    if not isinstance(exc, services.ResidentAlreadyRegistered):
        return None
    found: Resident | None = (
        selectors.resident_list(user=request.user).filter(pk=exc.resident_id).first()
    )
    return found


def _apply(request: HttpRequest, form: RegistryForm, write: Callable[[], Any]) -> Any:
    """Run a service; a refusal goes onto the form (and ``None`` is returned)."""
    try:
        return write()
    except DomainError as exc:
        form.add_domain_error(exc)
        form.existing_resident = _existing_visible(request, exc)
        return None


def _chosen_courtyard(
    request: HttpRequest, courtyards: list[Place], fallback: Place | None = None
) -> Place | None:
    """The courtyard a form works in: posted, asked for, implied, or the only one."""
    wanted = request.POST.get("courtyard") or request.GET.get("courtyard")
    if wanted:
        for c in courtyards:
            if str(c.pk) == wanted:
                return c
    if fallback is not None:
        return fallback
    return courtyards[0] if len(courtyards) == 1 else None


def _form_page(
    request: HttpRequest,
    *,
    form: RegistryForm,
    title: str,
    submit: str,
    cancel: str,
    crumbs: list[tuple[str, str]] | None = None,
    lead: str = "",
    picker: dict[str, Any] | None = None,
    template: str = "registry/form_page.html",
    **extra: Any,
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        template,
        {
            "form": form,
            "title": title,
            "submit": submit,
            "cancel": cancel,
            "crumbs": crumbs or [],
            "lead": lead,
            "picker": picker,
            **extra,
        },
        status=status,
    )


def _picker(courtyards: list[Place], selected: Place | None, target: str) -> dict[str, Any]:
    return {
        "courtyards": courtyards,
        "selected": selected.pk if selected is not None else None,
        "target": target,
    }


# --- the residents list ----------------------------------------------------------------------


def _exact(text: str) -> bool:
    """Whether a search text is an ID number, a phone number or a plate: searched exactly,
    and kept out of addresses (a name is neither)."""
    if selectors.looks_personal(text):
        return True
    plate = normalise_plate(text)
    return len(plate) >= 2 and plate[0] in PROVINCES and "A" <= plate[1] <= "Z"


def _carries_numbers(data: QueryDict) -> bool:
    """ID numbers, phones or plates: never in a URL (they are posted)."""
    return (
        ResidentFilter.carries_pii(data)
        or bool(data.get("plate"))
        or _exact(str(data.get("q") or ""))
    )


def _safe_query(data: QueryDict, page: Any = None) -> str:
    """The query string a shared address may carry: filters and a name search, no numbers."""
    safe = QueryDict(mutable=True)
    for key in ("name", "place", "residence_type", "status"):
        if data.get(key):
            safe[key] = str(data.get(key))
    q = str(data.get("q") or "")
    if q and not _exact(q):
        safe["q"] = q
    for tag in data.getlist("tag"):
        if tag:
            safe.appendlist("tag", tag)
    if page not in (None, "", 1, "1"):
        safe["page"] = str(page)
    return safe.urlencode()


@registry_page
@sensitive_post_parameters("q", "id_number", "phone", "plate")
@require_http_methods(["GET", "POST"])
def resident_list(request: HttpRequest) -> HttpResponse:
    """Residents in the user's scope: one search box, filters, pages of 25. Searches by ID
    number or phone are posted (never in the address)."""
    if request.method == "POST":
        data = request.POST.copy()
        data.pop("csrfmiddlewaretoken", None)
        if not _fragment(request) and not _carries_numbers(data):
            query = _safe_query(data, data.get("page"))
            return redirect(f"{reverse('registry:residents')}{'?' if query else ''}{query}")
    else:
        data = request.GET.copy()
        if _carries_numbers(data):
            # Out of the address bar and the history at once, and not searched.
            messages.info(
                request,
                _(
                    "ID numbers, phone numbers and plates are not searched from a web address: "
                    "type them in the search box."
                ),
            )
            query = _safe_query(data, data.get("page"))
            return redirect(f"{reverse('registry:residents')}{'?' if query else ''}{query}")
    filtered = ResidentFilter(
        data, queryset=selectors.resident_list(user=request.user), request=request
    )
    # The tag choices are the user's; a form field django-filter cached earlier (the API schema
    # builds one) would still hold the class's empty list: give this form the user's choices.
    cast(forms.MultipleChoiceField, filtered.form.fields["tag"]).choices = filtered.filters[
        "tag"
    ].extra["choices"]
    search_error = ""
    rows: list[Resident] = []
    page: Page | None = None
    try:
        qs = filtered.qs if filtered.is_valid() else Resident.objects.none()
        page = CappedPaginator(qs, PAGE_SIZE).get_page(data.get("page"))
        rows = list(page.object_list)
    except DomainError as exc:
        search_error = str(exc.message)
        page = CappedPaginator(Resident.objects.none(), PAGE_SIZE).get_page(1)
    _where(rows)
    context: dict[str, Any] = {
        "page": page,
        "rows": rows,
        "filter": filtered,
        "data": data,
        "search_error": search_error,
        "safe_query": _safe_query(data),
        "pii_search": _carries_numbers(data),
        "can_edit": permissions_for(request.user).has(EDIT),
        "can_import": permissions_for(request.user).has(IMPORT),
        "export_tags": [t for t in data.getlist("tag") if t],
        "export_form": ExportForm(can_reveal=permissions_for(request.user).has(REVEAL))
        if permissions_for(request.user).has(EXPORT)
        else None,
        "status_any": ANY,
    }
    if _fragment(request):
        response = render(request, "registry/_results.html", context)
        if request.method == "POST":
            query = _safe_query(data, data.get("page"))
            response["HX-Push-Url"] = (
                f"{reverse('registry:residents')}{'?' if query else ''}{query}"
            )
        return response
    chosen_tags = {t for t in data.getlist("tag") if t}
    filters_on = sum(
        (
            bool(chosen_tags),
            bool(data.get("place")),
            bool(data.get("residence_type")),
            data.get("status") not in (None, "", ResidentStatus.ACTIVE),
        )
    )
    context.update(
        courtyards=courtyards_for(request.user),
        residence_types=ResidenceType.choices,
        statuses=[*ResidentStatus.choices, (ANY, _("Any"))],
        tag_choices=filtered.filters["tag"].extra["choices"],
        chosen_tags=chosen_tags,
        filters_on=filters_on,
        filters_open=bool(filters_on),
    )
    return render(request, "registry/resident_list.html", context)


# --- a resident ------------------------------------------------------------------------------


def _resident_context(request: HttpRequest, resident: Resident) -> dict[str, Any]:
    user = request.user
    perms = permissions_for(user)
    can_edit = perms.can(EDIT, resident)
    _where([resident])
    household = selectors.household_list(user=user).filter(pk=resident.household_id).first()
    return {
        "resident": resident,
        "crumbs": _crumbs(resident.place),
        "household": household,
        "vehicles": list(selectors.vehicle_list(user=user).filter(owner=resident)),
        "rentals": list(
            selectors.rental_list(user=user)
            .filter(Q(tenants=resident) | Q(landlord=resident))
            .distinct()
        ),
        "houses_owned": list(selectors.house_list(user=user).filter(house_profile__owner=resident)),
        "history": list(selectors.resident_history(resident=resident)),
        "can_edit": can_edit,
        "can_reveal": perms.can(REVEAL, resident),
        "reveal_form": RevealForm(resident=resident),
        "tag_form": TagAddForm(user=user, resident=resident) if can_edit else None,
        "today": clock.today(),
    }


@registry_page
@never_cache
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.resident_get_for(user=request.user, pk=pk)
    return render(request, "registry/resident_detail.html", _resident_context(request, resident))


@registry_page
@never_cache
@require_http_methods(["GET", "POST"])
def resident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the full ID number or phones once, to a role with ``pii.reveal`` who says why; the
    service writes the audit row before anything is shown."""
    resident = selectors.resident_get_for(user=request.user, pk=pk)
    if not permissions_for(request.user).can(REVEAL, resident):
        raise PermissionDenied(
            "pii.forbidden", gettext_lazy("Your role may not see full personal numbers here.")
        )
    if request.method == "GET":
        if not _fragment(request):
            return redirect("registry:resident", pk=resident.pk)
        return render(
            request,
            "registry/_reveal.html",
            {"resident": resident, "reveal_form": RevealForm(resident=resident)},
        )
    form = RevealForm(request.POST, resident=resident)
    shown: dict[str, str] | None = None
    if form.is_valid():
        shown = _apply(
            request,
            form,
            lambda: services.resident_reveal(
                actor=request.user,
                resident=resident,
                reason=form.cleaned_data["reason"],
                fields=form.cleaned_data["numbers"],
            ),
        )
    if _fragment(request):
        return render(
            request,
            "registry/_reveal.html",
            {"resident": resident, "reveal_form": form, "shown": shown},
        )
    context = _resident_context(request, resident)
    context.update(reveal_form=form, shown=shown, reveal_open=True)
    return render(request, "registry/resident_detail.html", context, status=200 if shown else 400)


def _resident_initial(resident: Resident) -> dict[str, Any]:
    return {
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "relation_to_head": resident.relation_to_head,
        "residence_type": resident.residence_type,
        "registration_expires_on": resident.registration_expires_on,
        "work_or_school": resident.work_or_school,
        "moved_in_on": resident.moved_in_on,
    }


@registry_page
@sensitive_post_parameters("id_number", "phone", "phone2")
@never_cache
@require_http_methods(["GET", "POST"])
def resident_create(request: HttpRequest) -> HttpResponse:
    """Register a person: in a household of a courtyard, or founding a household in a flat."""
    user = request.user
    perms = permissions_for(user)
    if not perms.has(EDIT):
        raise PermissionDenied(
            "auth.forbidden", gettext_lazy("Your role may not register residents.")
        )
    courtyards = courtyards_for(user, EDIT)
    initial: dict[str, Any] = {"residence_type": ResidenceType.REGISTERED}
    implied: Place | None = None
    if request.GET.get("household"):
        joining = selectors.household_get_for(user=user, pk=request.GET["household"], action=EDIT)
        initial["home"] = f"h:{joining.pk}"
        implied = courtyard_of(joining.place)
    elif request.GET.get("place"):
        dwelling = _place_for_edit(request, request.GET["place"])
        initial["home"] = f"p:{dwelling.pk}"
        implied = courtyard_of(dwelling)
    chosen = _chosen_courtyard(request, courtyards, implied)
    courtyard = courtyard_for(user, chosen) if chosen is not None else None
    form = ResidentForm(request.POST or None, user=user, courtyard=courtyard, initial=initial)
    if request.method == "POST" and form.is_valid():
        household, place = form.home_target()
        if household is None and place is None:
            form.add_error("home", _("Choose where the person lives."))
        elif household is not None and not form.cleaned_data.get("relation_to_head"):
            form.add_error("relation_to_head", _("Choose how the person is related to the head."))
        else:
            resident = _apply(
                request,
                form,
                lambda: services.resident_register(
                    actor=user, household=household, place=place, **form.register_kwargs()
                ),
            )
            if resident is not None:
                messages.success(request, _("%(name)s is registered.") % {"name": resident.name})
                return redirect("registry:resident", pk=resident.pk)
    return _form_page(
        request,
        form=form,
        title=_("Register a resident"),
        submit=_("Register"),
        cancel=_next_url(request, reverse("registry:residents")),
        lead=_("Everything but the name and where they live may be added later."),
        picker=_picker(courtyards, chosen, "home"),
        template="registry/resident_form.html",
        courtyard=courtyard,
    )


@registry_page
@sensitive_post_parameters("id_number", "phone", "phone2")
@never_cache
@require_http_methods(["GET", "POST"])
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    resident = selectors.resident_get_for(user=user, pk=pk, action=EDIT)
    form = ResidentForm(
        request.POST or None, user=user, resident=resident, initial=_resident_initial(resident)
    )
    if request.method == "POST" and form.is_valid():
        kwargs = form.update_kwargs()
        reason = form.cleaned_data.get("reason") or ""
        done = _apply(
            request,
            form,
            lambda: services.resident_update(
                actor=user, resident=resident, reason=reason, **kwargs
            ),
        )
        if done is not None:
            messages.success(request, _("Saved."))
            return redirect("registry:resident", pk=resident.pk)
        resident = selectors.resident_get_for(user=user, pk=pk)  # as stored, not as typed
    return _form_page(
        request,
        form=form,
        title=_("Correct %(name)s's record") % {"name": resident.name},
        submit=_("Save"),
        cancel=reverse("registry:resident", args=[resident.pk]),
        crumbs=_crumbs(resident.place),
        lead=_("Moving house is not a correction: use Move out or Change household."),
        template="registry/resident_form.html",
        resident=resident,
    )


@registry_page
@require_http_methods(["GET", "POST"])
def resident_move_out(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    resident = selectors.resident_get_for(user=user, pk=pk, action=EDIT)
    form = MoveOutForm(request.POST or None, initial={"on": clock.today()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = _apply(
            request,
            form,
            lambda: services.resident_move_out(
                actor=user,
                resident=resident,
                on=data["on"],
                reason=data.get("reason") or "",
                deceased=bool(data.get("deceased")),
            ),
        )
        if done is not None:
            messages.success(
                request, _("Recorded: %(name)s no longer lives here.") % {"name": resident.name}
            )
            return redirect("registry:resident", pk=resident.pk)
    return _form_page(
        request,
        form=form,
        title=_("%(name)s moves out") % {"name": resident.name},
        submit=_("Record the move"),
        cancel=reverse("registry:resident", args=[resident.pk]),
        crumbs=_crumbs(resident.place),
        lead=_("The record and its history stay; the person no longer counts as living here."),
    )


def _move(request: HttpRequest, pk: int, *, moving_in: bool) -> HttpResponse:
    user = request.user
    resident = selectors.resident_get_for(user=user, pk=pk, action=EDIT)
    courtyards = courtyards_for(user, EDIT)
    chosen = _chosen_courtyard(request, courtyards, courtyard_of(resident.place))
    if chosen is not None and chosen not in courtyards:
        chosen = _chosen_courtyard(request, courtyards)
    courtyard = courtyard_for(user, chosen) if chosen is not None else None
    form = MoveForm(
        request.POST or None,
        courtyard=courtyard,
        exclude=None if moving_in else resident.household_id,
        initial={"on": clock.today()},
    )
    if request.method == "POST" and form.is_valid():
        household = form.chosen_household()
        if household is None:
            form.add_error("household", _("Choose a household from the list."))
        else:
            data = form.cleaned_data
            service = services.resident_move_in if moving_in else services.resident_change_household
            done = _apply(
                request,
                form,
                lambda: service(
                    actor=user,
                    resident=resident,
                    household=household,
                    on=data["on"],
                    relation_to_head=data["relation_to_head"],
                    reason=data.get("reason") or "",
                ),
            )
            if done is not None:
                messages.success(request, _("Recorded."))
                return redirect("registry:resident", pk=resident.pk)
    title = (_("%(name)s moves in") if moving_in else _("%(name)s changes household")) % {
        "name": resident.name
    }
    return _form_page(
        request,
        form=form,
        title=title,
        submit=_("Record the move"),
        cancel=reverse("registry:resident", args=[resident.pk]),
        crumbs=_crumbs(resident.place),
        picker=_picker(courtyards, chosen, "household"),
    )


@registry_page
@require_http_methods(["GET", "POST"])
def resident_move_in(request: HttpRequest, pk: int) -> HttpResponse:
    return _move(request, pk, moving_in=True)


@registry_page
@require_http_methods(["GET", "POST"])
def resident_change_household(request: HttpRequest, pk: int) -> HttpResponse:
    return _move(request, pk, moving_in=False)


def _tags_response(
    request: HttpRequest, resident: Resident, form: TagAddForm | None = None
) -> HttpResponse:
    resident = selectors.resident_get_for(user=request.user, pk=resident.pk)  # fresh tags
    if _fragment(request):
        return render(
            request,
            "registry/_care_tags.html",
            {
                "resident": resident,
                "can_edit": True,
                "tag_form": form or TagAddForm(user=request.user, resident=resident),
            },
        )
    if form is not None and form.errors:
        context = _resident_context(request, resident)
        context["tag_form"] = form
        return render(request, "registry/resident_detail.html", context, status=400)
    return redirect("registry:resident", pk=resident.pk)


@registry_page
@require_POST
def resident_tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.resident_get_for(user=request.user, pk=pk, action=EDIT)
    form = TagAddForm(request.POST, user=request.user, resident=resident)
    if form.is_valid():
        data = form.cleaned_data
        done = _apply(
            request,
            form,
            lambda: services.resident_tag_add(
                actor=request.user,
                resident=resident,
                tag=data["tag"],
                since=data.get("since"),
                note=data.get("note") or "",
            ),
        )
        if done is not None:
            return _tags_response(request, resident)
    return _tags_response(request, resident, form)


@registry_page
@require_POST
def resident_tag_remove(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    resident = selectors.resident_get_for(user=request.user, pk=pk, action=EDIT)
    if not resident.tags.filter(tag__code=code).exists():
        raise Http404
    services.resident_tag_remove(actor=request.user, resident=resident, tag=code)
    return _tags_response(request, resident)


# --- households ------------------------------------------------------------------------------


def _household_context(
    request: HttpRequest, household: Household, form: SetHeadForm | None = None
) -> dict[str, Any]:
    members: list[Resident] = list(getattr(household, "active_members", []))
    can_edit = permissions_for(request.user).can(EDIT, household)
    former = list(
        selectors.resident_list(user=request.user)
        .filter(household=household)
        .exclude(status=ResidentStatus.ACTIVE)
    )
    if form is None and can_edit and members:
        form = SetHeadForm(members=members, initial={"resident": household.head_id})
    return {
        "household": household,
        "members": members,
        "former": former,
        "crumbs": _crumbs(household.place),
        "can_edit": can_edit,
        "head_form": form,
    }


@registry_page
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get_for(user=request.user, pk=pk)
    return render(request, "registry/household_detail.html", _household_context(request, household))


@registry_page
@require_POST
def household_set_head(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get_for(user=request.user, pk=pk, action=EDIT)
    members = list(getattr(household, "active_members", []))
    form = SetHeadForm(request.POST, members=members)
    if form.is_valid():
        chosen = form.chosen()
        if chosen is None:
            form.add_error("resident", _("Choose a member of this household."))
        else:
            done = _apply(
                request,
                form,
                lambda: services.household_set_head(
                    actor=request.user,
                    household=household,
                    resident=chosen,
                    previous_head_relation=form.cleaned_data["previous_head_relation"],
                ),
            )
            if done is not None:
                messages.success(
                    request, _("%(name)s is now the head of the household.") % {"name": chosen.name}
                )
                return redirect("registry:household", pk=household.pk)
    context = _household_context(request, household, form)
    return render(request, "registry/household_detail.html", context, status=400)


@registry_page
@require_http_methods(["GET", "POST"])
def household_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not permissions_for(user).has(EDIT):
        raise PermissionDenied(
            "auth.forbidden", gettext_lazy("Your role may not create households.")
        )
    courtyards = courtyards_for(user, EDIT)
    implied: Place | None = None
    initial: dict[str, Any] = {}
    if request.GET.get("place"):
        asked = _place_for_edit(request, request.GET["place"])
        implied = courtyard_of(asked)
        initial["place"] = str(asked.pk)
    chosen = _chosen_courtyard(request, courtyards, implied)
    courtyard = courtyard_for(user, chosen) if chosen is not None else None
    form = HouseholdForm(request.POST or None, courtyard=courtyard, initial=initial)
    if request.method == "POST" and form.is_valid():
        place = form.chosen_place()
        if place is None:
            form.add_error("place", _("Choose a flat or a house from the list."))
        else:
            code = form.cleaned_data.get("code") or ""
            household = _apply(
                request, form, lambda: services.household_create(actor=user, place=place, code=code)
            )
            if household is not None:
                messages.success(
                    request,
                    _("Household %(code)s created: now register its people.")
                    % {"code": household.code},
                )
                return redirect("registry:household", pk=household.pk)
    return _form_page(
        request,
        form=form,
        title=_("New household"),
        submit=_("Create the household"),
        cancel=_next_url(request, reverse("registry:residents")),
        lead=_("A household lives in a flat (unit), or in a house that has no units."),
        picker=_picker(courtyards, chosen, "place"),
    )


# --- houses, rentals, vehicles ---------------------------------------------------------------


@registry_page
@require_http_methods(["GET", "POST"])
def house_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    house = selectors.house_get_for(user=user, pk=pk, action=EDIT)
    profile = selectors.house_profile_of(house)
    people = residents_of(user, house)
    initial: dict[str, Any] = {}
    if profile is not None:
        initial = {
            "house_number": profile.house_number,
            "owner": profile.owner_id,
            "owner_name": profile.owner_name,
            "floors": profile.floors,
            "use": profile.use,
            "self_built": profile.self_built,
            "note": profile.note,
        }
    form = HouseProfileForm(
        request.POST or None,
        people=people,
        keep=profile.owner if profile is not None else None,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        kwargs = form.kwargs()
        done = _apply(
            request, form, lambda: services.house_profile_set(actor=user, house=house, **kwargs)
        )
        if done is not None:
            messages.success(request, _("Saved."))
            return redirect(_overview_url(house))
    return _form_page(
        request,
        form=form,
        title=_("Details of %(house)s") % {"house": house.name},
        submit=_("Save"),
        cancel=_overview_url(house),
        crumbs=_crumbs(house),
    )


def _rental_page(
    request: HttpRequest,
    form: RentalForm,
    *,
    title: str,
    cancel: str,
    crumbs: list[tuple[str, str]],
    picker: dict[str, Any] | None = None,
) -> HttpResponse:
    return _form_page(
        request,
        form=form,
        title=title,
        submit=_("Save the rental"),
        cancel=cancel,
        crumbs=crumbs,
        picker=picker,
        lead=_("Tenants are people registered here; register them first if they are not."),
    )


@registry_page
@require_http_methods(["GET", "POST"])
def rental_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not permissions_for(user).has(EDIT):
        raise PermissionDenied("auth.forbidden", gettext_lazy("Your role may not record rentals."))
    courtyards = courtyards_for(user, EDIT)
    fixed: Place | None = None
    if request.GET.get("place"):
        fixed = _place_for_edit(request, request.GET["place"])
    chosen = _chosen_courtyard(request, courtyards, courtyard_of(fixed) if fixed else None)
    courtyard: Courtyard | None = courtyard_for(user, chosen) if chosen is not None else None
    people = residents_of(user, chosen) if chosen is not None else []
    tenants = residents_of(user, fixed) if fixed is not None else people
    places = (
        courtyard.dwelling_choices(with_houses=True)
        if courtyard is not None
        else [("", _("First choose the courtyard above"))]
    )
    form = RentalForm(
        request.POST or None,
        places=places,
        people=people,
        tenants=tenants,
        initial={"place": fixed.pk if fixed else None, "registration_state": "unregistered"},
    )
    if request.method == "POST" and form.is_valid():
        candidates = [d.place for d in courtyard.dwellings] + courtyard.houses if courtyard else []
        place = next((p for p in candidates if str(p.pk) == form.cleaned_data["place"]), None)
        if place is None:
            form.add_error("place", _("Choose a house or unit from the list."))
        else:
            kwargs = form.kwargs()
            rental = _apply(
                request, form, lambda: services.rental_create(actor=user, place=place, **kwargs)
            )
            if rental is not None:
                messages.success(request, _("Rental recorded."))
                return redirect(_overview_url(place))
    return _rental_page(
        request,
        form,
        title=_("Record a rental"),
        cancel=_next_url(request, _overview_url(fixed) if fixed else reverse("registry:residents")),
        crumbs=_crumbs(fixed) if fixed else [],
        picker=None if fixed else _picker(courtyards, chosen, "place"),
    )


@registry_page
@require_http_methods(["GET", "POST"])
def rental_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    rental = selectors.rental_get_for(user=user, pk=pk, action=EDIT)
    courtyard = courtyard_of(rental.place)
    people = residents_of(user, courtyard) if courtyard is not None else []
    current = list(rental.tenants.all())
    tenants = residents_of(user, rental.place)
    tenants += [t for t in current if t not in tenants]
    form = RentalForm(
        request.POST or None,
        places=None,
        people=people,
        tenants=tenants,
        initial={
            "landlord": rental.landlord_id,
            "landlord_name": rental.landlord_name,
            "tenants": [str(t.pk) for t in current],
            "starts_on": rental.starts_on,
            "ends_on": rental.ends_on,
            "registration_state": rental.registration_state,
            "note": rental.note,
        },
    )
    if request.method == "POST" and form.is_valid():
        kwargs = form.kwargs()
        done = _apply(
            request, form, lambda: services.rental_update(actor=user, rental=rental, **kwargs)
        )
        if done is not None:
            messages.success(request, _("Saved."))
            return redirect(_overview_url(rental.place))
    return _rental_page(
        request,
        form,
        title=_("Rental of %(place)s") % {"place": rental.place.name},
        cancel=_overview_url(rental.place),
        crumbs=_crumbs(rental.place),
    )


@registry_page
@require_POST
def rental_inspect(request: HttpRequest, pk: int) -> HttpResponse:
    """Record "inspected today": one tap on the commissioner's phone."""
    rental = selectors.rental_get_for(user=request.user, pk=pk, action=EDIT)
    form = InspectForm(request.POST)
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    services.rental_inspect(actor=request.user, rental=rental, note=note)
    if _fragment(request):
        rental = selectors.rental_get_for(user=request.user, pk=pk)
        return render(
            request,
            "registry/_rental.html",
            {"rental": rental, "can_edit": True, "just_inspected": True},
        )
    messages.success(request, _("Inspection recorded for today."))
    return redirect(_next_url(request, _overview_url(rental.place)))


def _vehicle_form(
    request: HttpRequest,
    *,
    courtyard: Place | None,
    owner: Resident | None,
    initial: dict[str, Any],
) -> VehicleForm:
    user = request.user
    if courtyard is not None:
        shape = courtyard_for(user, courtyard)
        parking = shape.parking_choices()
        parking_places = [courtyard, *shape.houses]
        people = residents_of(user, courtyard)
    else:
        parking, parking_places, people = [("", _("First choose the courtyard above"))], [], []
    return VehicleForm(
        request.POST or None,
        people=people,
        keep_owner=owner,
        parking=parking,
        parking_places=parking_places,
        initial=initial,
    )


def _parks_at(place: Place) -> Place:
    """Where a car of someone living in ``place`` parks by default: their house."""
    if place.kind == PlaceKind.UNIT:
        house = Place.objects.filter(path=place.path[: -Place.steplen]).first()
        if house is not None:
            return house
    return place


@registry_page
@require_http_methods(["GET", "POST"])
def vehicle_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not permissions_for(user).has(EDIT):
        raise PermissionDenied(
            "auth.forbidden", gettext_lazy("Your role may not register vehicles.")
        )
    courtyards = courtyards_for(user, EDIT)
    owner: Resident | None = None
    implied: Place | None = None
    initial: dict[str, Any] = {"kind": "car"}
    if request.GET.get("owner"):
        owner = selectors.resident_get_for(user=user, pk=request.GET["owner"], action=EDIT)
        implied = courtyard_of(owner.place)
        initial.update(owner=owner.pk, place=_parks_at(owner.place).pk)
    elif request.GET.get("place"):
        place = _place_for_edit(request, request.GET["place"])
        implied = courtyard_of(place)
        initial["place"] = place.pk
    chosen = _chosen_courtyard(request, courtyards, implied)
    form = _vehicle_form(request, courtyard=chosen, owner=owner, initial=initial)
    if request.method == "POST" and form.is_valid():
        kwargs = form.kwargs()
        if kwargs["place"] is None:
            form.add_error("place", _("Choose where the vehicle parks."))
        else:
            vehicle = _apply(request, form, lambda: services.vehicle_register(actor=user, **kwargs))
            if vehicle is not None:
                messages.success(
                    request, _("Vehicle %(plate)s registered.") % {"plate": vehicle.plate}
                )
                return redirect(_next_url(request, _overview_url(vehicle.place)))
    back = reverse("registry:resident", args=[owner.pk]) if owner else reverse("registry:residents")
    return _form_page(
        request,
        form=form,
        title=_("Register a vehicle"),
        submit=_("Register the vehicle"),
        cancel=_next_url(request, back),
        crumbs=_crumbs(owner.place) if owner else [],
        picker=None if owner else _picker(courtyards, chosen, "place"),
        next=request.GET.get("next", ""),
    )


@registry_page
@require_http_methods(["GET", "POST"])
def vehicle_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    vehicle = selectors.vehicle_get_for(user=user, pk=pk, action=EDIT)
    form = _vehicle_form(
        request,
        courtyard=courtyard_of(vehicle.place),
        owner=vehicle.owner,
        initial={
            "plate": vehicle.plate,
            "kind": vehicle.kind,
            "description": vehicle.description,
            "owner": vehicle.owner_id,
            "place": vehicle.place_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        kwargs = form.kwargs()
        if kwargs["place"] is None:
            kwargs.pop("place")
        done = _apply(
            request, form, lambda: services.vehicle_update(actor=user, vehicle=vehicle, **kwargs)
        )
        if done is not None:
            messages.success(request, _("Saved."))
            return redirect(_overview_url(vehicle.place))
    return _form_page(
        request,
        form=form,
        title=_("Vehicle %(plate)s") % {"plate": vehicle.plate},
        submit=_("Save"),
        cancel=_overview_url(vehicle.place),
        crumbs=_crumbs(vehicle.place),
        remove_url=reverse("registry:vehicle_remove", args=[vehicle.pk]),
        remove_form=ReasonForm(),
    )


@registry_page
@require_POST
def vehicle_remove(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle: Vehicle = selectors.vehicle_get_for(user=request.user, pk=pk, action=EDIT)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
    place = vehicle.place
    plate = vehicle.plate
    services.vehicle_remove(actor=request.user, vehicle=vehicle, reason=reason)
    messages.success(request, _("Vehicle %(plate)s removed.") % {"plate": plate})
    return redirect(_overview_url(place))


# --- people, house, car ----------------------------------------------------------------------


def _dwellings(
    overview: selectors.PlaceOverview, units: list[Place], *, keep_empty: bool
) -> list[dict[str, Any]]:
    """Each house of the overview with its flats: households and rentals of each; flats where
    nobody is registered are only named (``keep_empty``: shown in full, for a unit's page)."""
    by_house: dict[str, list[Place]] = {}
    for unit in units:
        by_house.setdefault(unit.path[: -Place.steplen], []).append(unit)
    houses = []
    for summary in overview.houses:
        house = summary.house
        places = by_house.get(house.path, [])
        rows, empty = [], []
        for place in places or [house]:
            row = {
                "place": place,
                "households": [h for h in summary.households if h.place_id == place.pk],
                "rentals": [r for r in summary.rentals if r.place_id == place.pk],
            }
            if row["households"] or row["rentals"] or keep_empty:
                rows.append(row)
            else:
                empty.append(place)
        houses.append(
            {
                "summary": summary,
                "house": house,
                "profile": summary.profile,
                "dwellings": rows,
                "empty": empty,
                "has_units": bool(places),
                "whole_house_rentals": [r for r in summary.rentals if r.place_id == house.pk]
                if places
                else [],
                "people": len(summary.residents),
            }
        )
    return houses


@registry_page
def place_overview(request: HttpRequest, pk: int) -> HttpResponse:
    """Who lives in a courtyard, house or unit; which flats are rented and to whom; the cars;
    the care tags. Readable on a phone, printable for the courtyard board."""
    user = request.user
    place = selectors.place_for_registry(user=user, pk=pk)
    if place.kind not in OVERVIEW_KINDS:
        courtyards = [c for c in courtyards_for(user) if c.path.startswith(place.path)]
        return render(
            request,
            "registry/place_pick.html",
            {"place": place, "courtyards": courtyards, "crumbs": _crumbs(place)},
        )
    overview = selectors.place_overview(user=user, place=place)
    unit_scope = (
        Q(path__startswith=place.path) if place.kind != PlaceKind.UNIT else Q(path=place.path)
    )
    units = list(
        Place.objects.visible_to(user, VIEW)
        .filter(unit_scope, kind=PlaceKind.UNIT)
        .order_by("path")
    )
    counts = overview.counts
    return render(
        request,
        "registry/place_overview.html",
        {
            "place": place,
            "overview": overview,
            "counts": counts,
            "houses": _dwellings(overview, units, keep_empty=place.kind == PlaceKind.UNIT),
            "crumbs": _crumbs(place, include_self=False),
            "can_edit": permissions_for(user).can(EDIT, place),
            "today": clock.today(),
            "summary": [
                (counts["households"], ngettext("household", "households", counts["households"])),
                (counts["residents"], ngettext("resident", "residents", counts["residents"])),
                (counts["migrant"], ngettext("migrant", "migrants", counts["migrant"])),
                (counts["renter"], ngettext("renter", "renters", counts["renter"])),
                (counts["rentals"], ngettext("rented flat", "rented flats", counts["rentals"])),
                (counts["vehicles"], ngettext("vehicle", "vehicles", counts["vehicles"])),
                (
                    counts["care_tagged"],
                    ngettext("person in care", "people in care", counts["care_tagged"]),
                ),
            ],
        },
    )


# --- registrations expiring ------------------------------------------------------------------


def _days_left(resident: Resident, today: dt.date) -> tuple[int, str, str]:
    expires = resident.registration_expires_on
    assert expires is not None
    days = (expires - today).days
    if days < 0:
        label = ngettext("expired %(n)d day ago", "expired %(n)d days ago", -days) % {"n": -days}
        return days, label, "overdue"
    if days == 0:
        return days, _("expires today"), "overdue"
    label = ngettext("expires in %(n)d day", "expires in %(n)d days", days) % {"n": days}
    return days, label, "soon" if days <= 7 else "later"


@registry_page
def expiring(request: HttpRequest) -> HttpResponse:
    """Migrants and renters whose residence registration expires soon (or has expired)."""
    try:
        within = int(request.GET.get("within") or 30)
    except ValueError:
        within = 30
    within = within if within in EXPIRY_WINDOWS else 30
    include_expired = request.GET.get("expired", "1") != "0"
    qs = selectors.migrants_expiring(
        user=request.user, within_days=within, include_expired=include_expired
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    _where(rows)
    today = clock.today()
    for r in rows:
        r.days_left, r.days_label, r.urgency = _days_left(r, today)  # type: ignore[attr-defined]
    context = {
        "page": page,
        "rows": rows,
        "within": within,
        "windows": EXPIRY_WINDOWS,
        "include_expired": include_expired,
        "today": today,
    }
    template = "registry/_expiring_rows.html" if _fragment(request) else "registry/expiring.html"
    return render(request, template, context)


# --- export ----------------------------------------------------------------------------------

FILTER_KEYS = ("q", "name", "id_number", "phone", "plate", "place", "residence_type", "status")


@registry_page
@sensitive_post_parameters("q", "id_number", "phone")
@never_cache
@require_POST
def resident_export(request: HttpRequest) -> HttpResponse:
    """The residents of a search as a spreadsheet: masked, or with full numbers for a role with
    ``pii.reveal`` who says why (audited by the export)."""
    perms = permissions_for(request.user)
    if not perms.has(EXPORT):
        raise PermissionDenied("export.forbidden", gettext_lazy("Your role may not export."))
    form = ExportForm(request.POST, can_reveal=perms.has(REVEAL))
    filters: dict[str, Any] = {k: request.POST[k] for k in FILTER_KEYS if request.POST.get(k)}
    tags = [t for t in request.POST.getlist("tag") if t]
    if tags:
        filters["tag"] = tags
    back = f"{reverse('registry:residents')}?{_safe_query(request.POST)}"
    if not form.is_valid():
        messages.error(request, _("Choose the kind of file."))
        return redirect(back)
    data = form.cleaned_data
    try:
        content, result = exports.export_bytes(
            kind="residents",
            actor=request.user,
            fmt=data["format"],
            filters=filters,
            reveal=bool(data.get("reveal")),
            reason=data.get("reason") or "",
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(back)
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[result.format])
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=result.filename
    )
    return response


# --- the import wizard -----------------------------------------------------------------------
#
# Upload (the file is kept encrypted) → check the proposed columns → check every row (a dry run,
# in the background, the page shows its progress) → import, all rows or none. The work is done
# by ``registry.imports``; these views only show its jobs.

PROBLEMS_SHOWN = 200


def _require_import(request: HttpRequest) -> None:
    if not permissions_for(request.user).has(IMPORT):
        raise PermissionDenied(
            "registry.import_forbidden", gettext_lazy("Your role may not import into the registry.")
        )


def _import_job(request: HttpRequest, pk: int) -> ImportJob:
    try:
        return imports.import_job_get_for(user=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


@registry_page
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose the spreadsheet."""
    _require_import(request)
    user = request.user
    form = ImportUploadForm(request.POST or None, request.FILES or None, kinds=ImportKind.choices)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        kind = form.cleaned_data.get("kind") or None
        created = _apply(
            request,
            form,
            lambda: imports.import_job_create(
                actor=user, file=upload, kind=kind, filename=upload.name or ""
            ),
        )
        if created is not None:
            return redirect("registry:import_job", pk=created[0].pk)
    return render(
        request,
        "registry/import_upload.html",
        {"form": form, "jobs": list(ImportJob.objects.visible_to(user)[:10])},
        status=400 if request.method == "POST" else 200,
    )


def _job_context(job: ImportJob) -> dict[str, Any]:
    labels = {
        "created": _("new"),
        "updated": _("changed"),
        "unchanged": _("already up to date"),
        "households_created": _("new households"),
    }
    return {
        "job": job,
        "running": job.state in (ImportState.QUEUED, ImportState.RUNNING),
        "counts": [(labels.get(k, k), n) for k, n in (job.counts or {}).items()],
        "problems": imports.import_job_problems(job, limit=PROBLEMS_SHOWN),
        "more_problems": max(0, job.problem_count - PROBLEMS_SHOWN),
    }


@registry_page
@require_http_methods(["GET", "POST"])
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps 2 to 4: the columns, the check of every row, the import."""
    job = _import_job(request, pk)  # someone else's job is not found, whatever one's role
    _require_import(request)
    user = request.user
    context = _job_context(job)
    form: ImportMappingForm | None = None
    file_error = ""
    if not context["running"] and job.state != ImportState.DONE:
        try:
            parsed = imports.import_job_parsed(job)
        except DomainError as exc:
            file_error = str(exc.message)
        else:
            form = ImportMappingForm(
                request.POST or None,
                columns=parsed.columns,
                fields=imports.field_choices(job.kind),
                mapping=job.mapping or parsed.mapping,
            )
            context["parsed"] = parsed
    if request.method == "POST" and form is not None and form.is_valid():
        dry = request.POST.get("action") != "import"
        mapping = form.mapping()
        started = _apply(
            request,
            form,
            lambda: imports.import_job_start(
                actor=user,
                job=job,
                mapping=mapping,
                kind=job.kind,
                dry_run=dry,
                language=getattr(request, "LANGUAGE_CODE", ""),
            ),
        )
        if started is not None:
            return redirect("registry:import_job", pk=job.pk)
    context.update(form=form, file_error=file_error)
    status = 400 if request.method == "POST" else 200
    return render(request, "registry/import_job.html", context, status=status)


@registry_page
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by the page; once the job ends the page reloads itself."""
    job = _import_job(request, pk)  # someone else's job is not found, whatever one's role
    _require_import(request)
    response = render(request, "registry/_import_progress.html", _job_context(job))
    if job.finished:
        response["HX-Refresh"] = "true"
    return response


# --- links from other pages ------------------------------------------------------------------


@login_required
def nav(request: HttpRequest) -> HttpResponse:
    """Registry links for other apps' pages, loaded by HTMX (empty without registry rights):
    ``?place=<id>`` the people-house-car page of a courtyard, house or unit; without, the home
    page's tiles."""
    perms = permissions_for(request.user)
    if not perms.has(VIEW):
        return HttpResponse("")
    if request.GET.get("place"):
        try:
            place = selectors.place_for_registry(user=request.user, pk=request.GET["place"])
        except (Http404, PermissionDenied):
            return HttpResponse("")
        if place.kind not in OVERVIEW_KINDS:
            return HttpResponse("")
        return render(request, "registry/_nav_place.html", {"place": place})
    return render(
        request,
        "registry/_nav_home.html",
        {
            "can_edit": perms.has(EDIT),
            "can_import": perms.has(IMPORT),
            "courtyards": courtyards_for(request.user)[:12],
        },
    )
