"""Pages of dual-reporting (mounted at /dual/): the task list (需求清单) for everyone it
concerns, one task (claim, report done, rate), publishing a task, the registered units and
members (资源清单), and the yearly evaluation sheet (page and XLSX).

Residents read these pages on a phone: large text, one action per task. Unit members see and
claim for their own unit only; the community's staff see everything in their scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from sanan.accounts.permissions import permissions_for
from sanan.campaigns.models import Campaign, CampaignState
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.dualreport import access, selectors, services
from sanan.dualreport.models import MANAGE, ClaimState, RegistrationKind, TaskState
from sanan.dualreport.reports import evaluation_xlsx
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.places.models import Place, PlaceKind


class DateInput(forms.DateInput):
    input_type = "date"


class TaskForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("What is needed"), max_length=120)
    description = forms.CharField(
        label=gettext_lazy("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    place: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=gettext_lazy("Where"), queryset=None
    )
    skills = forms.CharField(label=gettext_lazy("Skills wanted"), required=False, max_length=200)
    slots = forms.IntegerField(label=gettext_lazy("Units wanted"), min_value=0, initial=1)
    hours_per_slot = forms.FloatField(
        label=gettext_lazy("Hours each unit gives"), min_value=0, initial=2
    )
    starts_on = forms.DateField(label=gettext_lazy("From"), widget=DateInput)
    due_on = forms.DateField(label=gettext_lazy("Until"), widget=DateInput)
    campaign: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=gettext_lazy("Part of a campaign"), queryset=None, required=False
    )


class RegistrationForm(forms.Form):
    organisation: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=gettext_lazy("Unit"), queryset=None
    )
    place: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=gettext_lazy("Community"), queryset=None
    )
    contact_name = forms.CharField(label=gettext_lazy("Contact person"), max_length=60)
    contact_phone = forms.CharField(
        label=gettext_lazy("Contact phone"), required=False, max_length=24
    )
    resources = forms.CharField(
        label=gettext_lazy("What they offer"), widget=forms.Textarea(attrs={"rows": 3})
    )
    skills = forms.CharField(label=gettext_lazy("Skills"), required=False, max_length=200)
    capacity_hours_month = forms.IntegerField(
        label=gettext_lazy("Volunteer hours a month"), min_value=0
    )


def _fail(form: forms.Form, error: DomainError) -> None:
    form.domain_message = error.message  # type: ignore[attr-defined]
    for name, msgs in error.fields.items():
        if name in form.fields:
            form.add_error(name, msgs)


def _is_involved(user: Any) -> bool:
    perms = permissions_for(user)
    return (
        perms.has("dual.view")
        or perms.has("dual.claim")
        or perms.has("dual.rate")
        or bool(selectors.claimable_registrations(user=user))
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _is_involved(user):
        raise Http404
    perms = permissions_for(user)
    state = request.GET.get("state", TaskState.OPEN)
    tasks = list(selectors.task_list(user=user, state=state))
    rateable = []
    if perms.has("dual.rate"):
        done = list(selectors.claim_list(user=user).filter(state=ClaimState.DONE)[:30])
        mine = selectors.my_ratings(user=user, claims=done)
        rateable = [(c, mine.get(c.pk)) for c in done]
    return render(
        request,
        "dualreport/home.html",
        {
            "tasks": tasks,
            "state": state,
            "states": TaskState.choices,
            "can_manage": perms.has(MANAGE),
            "is_staff": perms.has("dual.view"),
            "registrations": selectors.claimable_registrations(user=user),
            "is_unit_member": bool(access.unit_ids(user)),
            "rateable": rateable,
            "resident": perms.has("dual.rate") and not perms.has("dual.view"),
        },
    )


def _task_context(request: HttpRequest, task: Any) -> dict[str, Any]:
    user = request.user
    claims = list(selectors.task_claims(user=user, task=task))
    mine = selectors.claimable_registrations(user=user)
    mine_ids = {r.pk for r in mine}
    my_stars = selectors.my_ratings(user=user, claims=claims)
    return {
        "task": task,
        "claims": [(c, my_stars.get(c.pk), c.registration_id in mine_ids) for c in claims],
        "registrations": [r for r in mine if r.place_id == task.community_id],
        "claimed_ids": {c.registration_id for c in claims},
        "can_manage": access.can_manage(user, task),
        "can_rate": task.community.path in access.resident_communities(user),
        "star_range": range(1, 6),
    }


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get_for(user=request.user, pk=pk)
    return render(request, "dualreport/task.html", _task_context(request, task))


def _task_act(request: HttpRequest, pk: int, work: Any) -> HttpResponse:
    task = selectors.task_get_for(user=request.user, pk=pk)
    try:
        message = work(task)
    except DomainError as error:
        messages.error(request, str(error.message))
        context = _task_context(request, task)
        return render(request, "dualreport/task.html", context, status=error.status_code)
    messages.success(request, message)
    return redirect("dualreport:task", pk=task.pk)


@login_required
@require_POST
def task_claim(request: HttpRequest, pk: int) -> HttpResponse:
    def work(task: Any) -> str:
        wanted = request.POST.get("registration")
        found = [r for r in selectors.claimable_registrations(user=request.user)
                 if str(r.pk) == wanted]  # fmt: skip
        if not found:
            raise Http404
        services.task_claim(actor=request.user, task=task, registration=found[0])
        return _("Claimed. Thank you: the community counts on your unit.")

    return _task_act(request, pk, work)


@login_required
@require_POST
def task_close(request: HttpRequest, pk: int) -> HttpResponse:
    def work(task: Any) -> str:
        services.task_close(actor=request.user, task=task, cancel=bool(request.POST.get("cancel")))
        return _("The task no longer takes claims.")

    return _task_act(request, pk, work)


def _claim_act(request: HttpRequest, pk: int, work: Any) -> HttpResponse:
    claim = selectors.claim_get_for(user=request.user, pk=pk)

    def on_task(task: Any) -> str:
        return str(work(claim))

    return _task_act(request, claim.task_id, on_task)


def _number(value: Any, kind: type = float) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        return 0


@login_required
@require_POST
def claim_complete(request: HttpRequest, pk: int) -> HttpResponse:
    def work(claim: Any) -> str:
        services.claim_complete(
            actor=request.user,
            claim=claim,
            hours=_number(request.POST.get("hours")),
            people=_number(request.POST.get("people"), int),
            evidence=request.POST.get("evidence", ""),
        )
        return _("Reported done. Residents can now rate the work.")

    return _claim_act(request, pk, work)


@login_required
@require_POST
def claim_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    def work(claim: Any) -> str:
        services.claim_withdraw(actor=request.user, claim=claim)
        return _("Claim withdrawn: the place is free for another unit.")

    return _claim_act(request, pk, work)


@login_required
@require_POST
def claim_rate(request: HttpRequest, pk: int) -> HttpResponse:
    def work(claim: Any) -> str:
        services.claim_rate(
            actor=request.user,
            claim=claim,
            stars=_number(request.POST.get("stars"), int),
            comment=request.POST.get("comment", ""),
        )
        return _("Thank you for your rating.")

    return _claim_act(request, pk, work)


def _task_form(user: Any, data: Any = None) -> TaskForm:
    today = clock.today()
    form = TaskForm(data, initial={"starts_on": today, "due_on": today + dt.timedelta(days=14)})
    places = permissions_for(user).filter(Place.objects.all(), MANAGE, "")
    form.fields["place"].queryset = places.filter(  # type: ignore[attr-defined]
        kind__in=[PlaceKind.COMMUNITY, PlaceKind.AREA, PlaceKind.COURTYARD]
    ).order_by("path")
    form.fields["campaign"].queryset = Campaign.objects.visible_to(user).exclude(  # type: ignore[attr-defined]
        state=CampaignState.CLOSED
    )
    return form


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not permissions_for(user).has(MANAGE):
        raise Http404
    form = _task_form(user, request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                task = services.task_publish(
                    actor=user, place=d["place"], title=d["title"],
                    description=d["description"], skills=d["skills"], slots=d["slots"],
                    hours_per_slot=d["hours_per_slot"], starts_on=d["starts_on"],
                    due_on=d["due_on"], campaign=d.get("campaign"),
                )  # fmt: skip
            except DomainError as error:
                _fail(form, error)
            else:
                messages.success(request, _("Task published: registered units can claim it."))
                return redirect("dualreport:task", pk=task.pk)
    return render(
        request,
        "dualreport/form.html",
        {"form": form, "title": _("Publish a task")},
        status=status,
    )


@login_required
def registrations(request: HttpRequest) -> HttpResponse:
    user = request.user
    perms = permissions_for(user)
    if not (perms.has("dual.view") or access.unit_ids(user)):
        raise Http404
    return render(
        request,
        "dualreport/registrations.html",
        {
            "registrations": list(selectors.registration_list(user=user)),
            "can_manage": perms.has(MANAGE),
            "can_register": perms.has(MANAGE) or bool(access.unit_ids(user)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def registration_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    perms = permissions_for(user)
    units = access.unit_ids(user)
    if not (perms.has(MANAGE) or units):
        raise Http404
    # Staff register any unit they see with their communities; a unit member their own unit
    # with the communities where they claim for it.
    action = MANAGE if perms.has(MANAGE) else "dual.claim"
    form = RegistrationForm(request.POST or None)
    organisations = Organisation.objects.visible_to(user).filter(kind=OrganisationKind.UNIT)
    if action != MANAGE:
        organisations = Organisation.objects.filter(kind=OrganisationKind.UNIT, pk__in=units)
    form.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]
    form.fields["place"].queryset = perms.filter(  # type: ignore[attr-defined]
        Place.objects.filter(kind=PlaceKind.COMMUNITY), action, ""
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.registration_create(
                    actor=user, place=d["place"], kind=RegistrationKind.UNIT,
                    organisation=d["organisation"], contact_name=d["contact_name"],
                    contact_phone=d["contact_phone"], resources=d["resources"],
                    skills=d["skills"], capacity_hours_month=d["capacity_hours_month"],
                )  # fmt: skip
            except DomainError as error:
                _fail(form, error)
            else:
                messages.success(request, _("Unit registered with the community."))
                return redirect("dualreport:registrations")
    return render(
        request,
        "dualreport/form.html",
        {"form": form, "title": _("Register a unit")},
        status=status,
    )


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year") or clock.today().year)
    except ValueError:
        year = clock.today().year
    return min(max(year, 2000), 2100)


@login_required
def evaluation(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (permissions_for(user).has("dual.view") or access.unit_ids(user)):
        raise Http404
    year = _year(request)
    this_year = clock.today().year
    return render(
        request,
        "dualreport/evaluation.html",
        {
            "sheet": selectors.evaluation_sheet(user=user, year=year),
            "year": year,
            "years": list(range(this_year, this_year - 4, -1)),
        },
    )


@login_required
def evaluation_download(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (permissions_for(user).has("dual.view") or access.unit_ids(user)):
        raise Http404
    year = _year(request)
    content = evaluation_xlsx(
        selectors.evaluation_sheet(user=user, year=year), year=year, actor=user
    )
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="dual-reporting-{year}.xlsx"'
    return response
