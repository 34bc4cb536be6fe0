"""Pages of campaigns (mounted at /campaigns/): the list with each campaign's progress, a new
campaign, one campaign (progress, burndown, tasks, orders; start, close, link and unlink,
tasks), and the closing report as a printable page and as XLSX. For the desk and leaders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sanan.accounts.permissions import permissions_for
from sanan.campaigns import selectors, services
from sanan.campaigns.forms import CampaignForm, CloseForm, LinkForm, TaskForm
from sanan.campaigns.models import MANAGE, VIEW, Campaign, CampaignState, CampaignTask
from sanan.campaigns.reports import closing_report_xlsx
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.organisation.models import Organisation
from sanan.places.models import Place
from sanan.workorders.models import Category, WorkOrder

ORDERS_PER_PAGE = 100


def _require(user: Any, action: str) -> None:
    if not permissions_for(user).has(action):
        raise Http404


def _organisations(user: Any) -> Any:
    return Organisation.objects.visible_to(user).order_by("kind", "name")


def _campaign_form(request: HttpRequest, data: Any = None, **initial: Any) -> CampaignForm:
    user = request.user
    # Only where the user may run a campaign: not the places above it they merely see.
    places = permissions_for(user).filter(Place.objects.all(), MANAGE, "")
    return CampaignForm(
        data,
        places=places.order_by("path"),
        categories=Category.objects.filter(active=True, depth__lte=2).order_by("path"),
        organisations=_organisations(user),
        initial=initial,
    )


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW)
    state = request.GET.get("state", "")
    rows = selectors.campaigns_with_progress(user=request.user, state=state)
    return render(
        request,
        "campaigns/list.html",
        {
            "rows": rows,
            "state": state,
            "states": CampaignState.choices,
            "can_create": permissions_for(request.user).has(MANAGE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require(user, MANAGE)
    today = clock.today()
    form = _campaign_form(request, request.POST or None, starts_on=today)
    status = 200
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            campaign = services.campaign_create(
                actor=user,
                place=d["place"],
                kind=d["kind"],
                title=d["title"],
                description=d["description"],
                starts_on=d["starts_on"],
                ends_on=d["ends_on"],
                target_solved=d["target_solved"],
                target_resolution_percent=d.get("target_resolution_percent"),
                owner_organisation=d["owner_organisation"],
                owner=user,
                categories=list(d["categories"]),
                places=list(d["places"]),
            )
        except DomainError as error:
            form.domain_message = error.message  # type: ignore[attr-defined]
            for name, msgs in error.fields.items():
                if name in form.fields:
                    form.add_error(name, msgs)
            status = 400
        else:
            messages.success(request, _("Campaign created as a draft: start it when ready."))
            return redirect("campaigns:detail", pk=campaign.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "campaigns/form.html", {"form": form}, status=status)


def _detail_context(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    user = request.user
    days = selectors.burndown(campaign)
    links = Paginator(selectors.campaign_orders(user=user, campaign=campaign), ORDERS_PER_PAGE)
    page = links.get_page(request.GET.get("page"))
    return {
        "campaign": campaign,
        "progress": selectors.progress_of(campaign),
        "days": days,
        "chart": selectors.burndown_chart(campaign, days),
        "recent_days": days[-14:][::-1],
        "links": page.object_list,
        "links_page": page,
        "tasks": list(selectors.campaign_tasks(campaign=campaign)),
        "can_manage": selectors.can_manage(user, campaign),
        "link_form": LinkForm(),
        "task_form": TaskForm(organisations=_organisations(user)),
        "close_form": CloseForm(),
        "today": clock.today(),
    }


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get_for(user=request.user, pk=pk)
    return render(request, "campaigns/detail.html", _detail_context(request, campaign))


def _act(request: HttpRequest, pk: int, work: Any) -> HttpResponse:
    campaign = selectors.campaign_get_for(user=request.user, pk=pk)
    try:
        done = work(campaign)
    except DomainError as error:
        messages.error(request, str(error.message))
        context = _detail_context(request, campaign)
        return render(request, "campaigns/detail.html", context, status=error.status_code)
    if done:
        messages.success(request, done)
    return redirect("campaigns:detail", pk=campaign.pk)


@login_required
@require_POST
def campaign_start(request: HttpRequest, pk: int) -> HttpResponse:
    def work(c: Campaign) -> str:
        services.campaign_start(actor=request.user, campaign=c)
        return _("Campaign started: the orders in its scope are linked.")

    return _act(request, pk, work)


@login_required
@require_POST
def campaign_close(request: HttpRequest, pk: int) -> HttpResponse:
    def work(c: Campaign) -> str:
        form = CloseForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        services.campaign_close(actor=request.user, campaign=c, note=note)
        return _("Campaign closed. Its closing report is ready.")

    return _act(request, pk, work)


def _order(user: Any, form: LinkForm) -> WorkOrder:
    order = None
    if form.is_valid():
        order = WorkOrder.objects.visible_to(user).filter(pk=form.cleaned_data["order"]).first()
    if order is None:
        raise DomainError(
            "work_order.not_found",
            _("No such order among those you can see."),
            fields={"order": [_("Check the number.")]},
        )
    return order


@login_required
@require_POST
def campaign_link(request: HttpRequest, pk: int) -> HttpResponse:
    def work(c: Campaign) -> str:
        form = LinkForm(request.POST)
        order = _order(request.user, form)
        reason = request.POST.get("reason", "")
        if request.POST.get("unlink"):
            services.campaign_order_unlink(
                actor=request.user, campaign=c, order=order, reason=reason
            )
            return _("Order unlinked: it no longer counts for the campaign.")
        services.campaign_order_link(actor=request.user, campaign=c, order=order, reason=reason)
        return _("Order linked: it counts for the campaign.")

    return _act(request, pk, work)


@login_required
@require_POST
def campaign_task_add(request: HttpRequest, pk: int) -> HttpResponse:
    def work(c: Campaign) -> str:
        form = TaskForm(request.POST, organisations=_organisations(request.user))
        if not form.is_valid():
            raise DomainError(
                "campaign_task.invalid",
                _("Give the task, its due date and who does it."),
            )
        d = form.cleaned_data
        owner_org = d.get("owner_organisation")
        services.campaign_task_add(
            actor=request.user,
            campaign=c,
            title=d["title"],
            due_on=d["due_on"],
            owner=None if owner_org else request.user,
            owner_organisation=owner_org,
        )
        return _("Task added.")

    return _act(request, pk, work)


@login_required
@require_POST
def campaign_task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = CampaignTask.objects.select_related("campaign__place").filter(pk=pk).first()
    if task is None:
        raise Http404
    try:
        services.campaign_task_done(
            actor=request.user, task=task, note=request.POST.get("note", "")
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Task done."))
    if permissions_for(request.user).can(VIEW, task.campaign):
        return redirect("campaigns:detail", pk=task.campaign_id)
    return redirect("home")


@login_required
def campaign_report(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get_for(user=request.user, pk=pk)
    report = selectors.closing_report(user=request.user, campaign=campaign)
    days = report.burndown
    return render(
        request,
        "campaigns/report.html",
        {"report": report, "campaign": campaign, "chart": selectors.burndown_chart(campaign, days)},
    )


@login_required
def campaign_report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get_for(user=request.user, pk=pk)
    report = selectors.closing_report(user=request.user, campaign=campaign)
    content = closing_report_xlsx(report, actor=request.user)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-report.xlsx"'
    return response
