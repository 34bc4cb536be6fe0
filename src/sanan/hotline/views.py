"""Pages of the hotline desk (mounted at /hotline/): the desk, call-backs due, recent calls,
the knowledge base and the statistics (the hotline trend).

The desk is one screen for a call-taker with a headset: the caller's number recognises the
resident (HTMX, a POST so the number stays out of URLs), the knowledge base is searched beside
the summary, and one key ends the call — answered, work order, call-back or noted. The order
the call became is dispatched on the desk itself (the routing directory's organisation chosen
already), so the desk is ready for the next call.

The place is the courtyard and, for an order, the building (the caller's own listed first), as
on the old call-taker's form. That form's map point and photos are not on the desk: a caller on
the phone can give neither (no coordinates, no pictures); the courtyard and the building place
the order on the map, and photos are added to the order afterwards as a note with a photo
(``work_order_attach``: the reporter, the desk, the handling organisations).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sanan.accounts.permissions import permissions_for
from sanan.core import clock
from sanan.core.errors import DomainError, NotFound, PermissionDenied
from sanan.hotline import selectors, services
from sanan.hotline.forms import CallForm, KnowledgeForm
from sanan.hotline.models import MANAGE_KNOWLEDGE, TAKE, VIEW, CallType
from sanan.places.models import Place, PlaceKind
from sanan.registry.models import Resident
from sanan.workorders.callers import caller_lookup
from sanan.workorders.catalogue import questions_for
from sanan.workorders.duplicates import work_order_duplicates
from sanan.workorders.forms import AnswersForm
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.selectors import category_list, work_order_get_for
from sanan.workorders.services import work_order_dispatch, work_order_merge
from sanan.workorders.state import State
from sanan.workorders.views import organisations_for

# Alt+<key> (Option on a Mac), as on the work-order call-taker's form: typing, Chinese through
# an input method included, never produces them. A target that is a button is pressed.
SHORTCUTS = [
    {"key": "1", "target": "id_phone", "label": gettext_lazy("Caller's number")},
    {"key": "2", "target": "id_call_type", "label": gettext_lazy("Kind of call")},
    {"key": "7", "target": "id_contact_name", "label": gettext_lazy("Caller's name")},
    {"key": "3", "target": "id_summary", "label": gettext_lazy("What the caller says")},
    {"key": "4", "target": "kb-q", "label": gettext_lazy("Search the knowledge base")},
    {"key": "5", "target": "id_category", "label": gettext_lazy("Kind of problem")},
    {"key": "6", "target": "id_place", "label": gettext_lazy("Courtyard")},
    {"key": "8", "target": "id_house", "label": gettext_lazy("Building")},
    {"key": "U", "target": "triage-use", "label": gettext_lazy("Use the suggested category")},
    {
        "key": "A",
        "target": "end-answered",
        "label": gettext_lazy("Answered from the knowledge base"),
    },
    {"key": "O", "target": "end-work_order", "label": gettext_lazy("Create the work order")},
    {"key": "B", "target": "end-callback", "label": gettext_lazy("Call back later")},
    {"key": "N", "target": "end-noted", "label": gettext_lazy("Noted")},
]


def _require(user: Any, action: str) -> None:
    """Pages of the desk are not found for anyone without the action somewhere."""
    if not permissions_for(user).has(action):
        raise Http404


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _places(user: Any) -> QuerySet[Place]:
    tops, courtyards = selectors.desk_places(user=user)
    return Place.objects.filter(pk__in=[p.pk for p in [*tops, *courtyards]]).order_by("path")


def _caller_context(user: Any, phone: str) -> dict[str, Any]:
    phone = phone.strip()
    if len(re.sub(r"\D", "", phone)) < 7:
        return {"caller": None, "caller_error": ""}
    try:
        found = caller_lookup(user=user, phone=phone)
    except DomainError as error:
        return {"caller": None, "caller_error": str(error.fields.get("phone", [error.message])[0])}
    for o in [*found.open_orders, *found.past_orders]:
        o.state_label = State(o.state).label  # type: ignore[attr-defined]
    earlier = selectors.calls_from(user=user, phone=phone)
    return {"caller": found, "caller_error": "", "earlier_calls": earlier}


def _knowledge_context(user: Any, text: str, chosen: int | None = None) -> dict[str, Any]:
    text = text.strip()[:100]
    hits = list(selectors.knowledge_search(user=user, text=text)[: selectors.MAX_KNOWLEDGE_HITS])
    return {"kb_q": text, "kb_hits": hits, "kb_chosen": chosen}


def _houses(user: Any, place_pk: int | None) -> QuerySet[Place]:
    """The buildings of the chosen courtyard (none when a community is chosen)."""
    courtyard = (
        _places(user).filter(pk=place_pk or 0, kind=PlaceKind.COURTYARD).only("path").first()
    )
    if courtyard is None:
        return Place.objects.none()
    return Place.objects.filter(kind=PlaceKind.HOUSE, path__startswith=courtyard.path).order_by(
        "path"
    )


def _houses_context(
    user: Any, place_pk: int | None, resident_pk: int | None, chosen: int | None = None
) -> dict[str, Any]:
    """The building choice: the caller's own building first (one Arrow-down away), marked."""
    houses = list(_houses(user, place_pk))
    resident = _resident(user, resident_pk)
    home = None
    if resident is not None:
        home = next((h for h in houses if resident.place.path.startswith(h.path)), None)
    if home is not None:
        houses = [home, *(h for h in houses if h.pk != home.pk)]
    return {"houses": houses, "home_house": home, "house_chosen": chosen}


def _call_form(request: HttpRequest, data: Any = None, **initial: Any) -> CallForm:
    place = (data or {}).get("place") or initial.get("place")
    return CallForm(
        data,
        categories=category_list().filter(depth__lte=2).order_by("path"),
        places=_places(request.user),
        houses=_houses(request.user, _int(place)),
        initial=initial,
    )


def _resident(user: Any, pk: int | None) -> Resident | None:
    if not pk:
        return None
    resident = Resident.objects.select_related("place").filter(pk=pk).first()
    if resident is None or not permissions_for(user).can("resident.view", resident):
        return None
    return resident


def _answers_form(data: Any, category: Category | None) -> AnswersForm:
    questions = questions_for(category) if category is not None else []
    return AnswersForm(data, category=category, questions=questions)


def _duplicates_context(user: Any, place: Place | None, category: Any, text: str) -> dict[str, Any]:
    """Open orders of the courtyard that may be the caller's problem (the work-order intake's
    hints), each offered for merging the call into it."""
    courtyard = services.courtyard_of(place)
    if courtyard is None or not isinstance(category, Category):
        return {"duplicates": [], "channel": "hotline"}
    hints = work_order_duplicates(
        user=user, courtyard=courtyard, category=category, text=text[: services.MAX_SUMMARY]
    )
    now = clock.now()
    for h in hints:
        order: Any = h.order
        order.state_label = State(order.state).label
        order.age = timesince(order.created_at, now)
    return {"duplicates": hints, "channel": "hotline"}


def _merge(request: HttpRequest, order: WorkOrder, parent_pk: int) -> WorkOrder | None:
    """The caller reports an open order's problem again: the call's order (registered in its
    own transaction) is merged into that order, so the caller follows it. A refused merge
    leaves the call's order registered, and says so."""
    try:
        parent = work_order_get_for(user=request.user, pk=parent_pk)
        work_order_merge(
            actor=request.user,
            parent=parent,
            children=[order],
            reason=str(_("The caller reported the same problem by phone.")),
        )
    except (DomainError, NotFound) as error:
        messages.error(
            request,
            _("Registered as %(ref)s, but not merged: %(why)s")
            % {"ref": order.reference, "why": error.message},
        )
        return None
    return parent


@login_required
@require_http_methods(["GET", "POST"])
def desk(request: HttpRequest) -> HttpResponse:
    """The desk: recognise the caller, note the call, answer it or turn it into an order —
    acting for the caller, with the category's questions, the repeats of the courtyard
    (merge the call into one) and the category suggested from the summary."""
    user = request.user
    _require(user, TAKE)
    now = clock.now()
    status = 200
    context: dict[str, Any] = {}
    if request.method == "POST":
        data = request.POST.copy()
        if data.get("duplicate_of") and not data.get("outcome"):
            data["outcome"] = "work_order"  # "same problem: merge" ends the call as an order
        form = _call_form(request, data)
        refresh = not data.get("outcome")  # Enter or "look up": show, save nothing
        category = category_list().filter(pk=_int(data.get("category")) or 0).first()
        to_order = data.get("outcome") == "work_order"
        answers = _answers_form(data if to_order else None, category)
        if refresh:
            form = _call_form(request, None, **{
                k: data.get(k) for k in form.fields if data.get(k)
            })  # fmt: skip
        elif form.is_valid() & (not to_order or answers.is_valid()):
            d = form.cleaned_data
            resident = _resident(user, d.get("resident"))
            started = d.get("started_at") or now
            started = min(started, now)
            knowledge = None
            if d.get("knowledge"):
                knowledge = selectors.knowledge_list(user=user).filter(pk=d["knowledge"]).first()
            try:
                call = services.call_record(
                    actor=user,
                    call_type=d["call_type"],
                    summary=d["summary"],
                    outcome=d["outcome"],
                    place=d["place"],
                    phone=d.get("phone", ""),
                    resident=resident,
                    category=d.get("category"),
                    knowledge=knowledge,
                    started_at=started,
                    duration_seconds=int((now - started).total_seconds()),
                    callback_due_at=d.get("callback_due_at"),
                    order_place=d.get("house") if to_order else None,
                    idempotency_key=d.get("idempotency_key", ""),
                    contact_name=d.get("contact_name", ""),
                    answers=answers.answers if to_order else None,
                )
            except DomainError as error:
                answers.add_domain_error(error)
                rest = {k: v for k, v in error.fields.items() if not k.startswith("answers.")}
                form.add_domain_error(DomainError(error.code, error.message, fields=rest))
                status = error.status_code
            else:
                order = call.work_order
                if order is None:
                    messages.success(
                        request,
                        _("Call recorded: %(outcome)s.") % {"outcome": call.get_outcome_display()},
                    )
                    return redirect("hotline:desk")
                parent_pk = d.get("duplicate_of")
                merged = _merge(request, order, parent_pk) if parent_pk else None
                if merged is not None:
                    messages.success(
                        request,
                        _(
                            "Call recorded as %(ref)s and merged into %(parent)s: the caller "
                            "follows it and is told of its progress."
                        )
                        % {"ref": order.reference, "parent": merged.reference},
                    )
                    return redirect(reverse("hotline:desk") + f"?order={merged.pk}")
                if not d.get("duplicate_of"):
                    lead = order.lead_organisation
                    if lead is not None:  # dispatched at intake by the routing directory
                        said = _("Call recorded; work order %(ref)s dispatched to %(org)s.") % {
                            "ref": order.reference,
                            "org": lead.name,
                        }
                    else:
                        said = _("Call recorded; work order %(ref)s registered.") % {
                            "ref": order.reference
                        }
                    messages.success(request, said)
                return redirect(reverse("hotline:desk") + f"?order={order.pk}")
        else:
            status = 400
        context |= _caller_context(user, str(data.get("phone", "")))
        context |= _knowledge_context(user, str(data.get("kb_q", "")), _int(data.get("knowledge")))
        place = _places(user).filter(pk=_int(data.get("place")) or 0).first()
        context |= _duplicates_context(user, place, category, str(data.get("summary", "")))
        context |= {"resident_chosen": _int(data.get("resident")), "answers_form": answers}
        context |= _houses_context(
            user, _int(data.get("place")), _int(data.get("resident")), _int(data.get("house"))
        )
    else:
        tops = selectors.desk_places(user=user)[0]
        form = _call_form(
            request,
            started_at=now,
            idempotency_key=uuid.uuid4().hex,
            call_type=CallType.CONSULTATION,
            place=tops[0].pk if tops else None,
            callback_due_at=timezone.localtime(now + dt.timedelta(days=1)),
        )
        context |= {"caller": None, "caller_error": "", "duplicates": [], "channel": "hotline"}
        context |= _knowledge_context(user, "")
        context |= {"answers_form": _answers_form(None, None)}
        context |= _houses_context(user, tops[0].pk if tops else None, None)
        context |= _last_order(user, _int(request.GET.get("order")))
    if request.method == "GET" and not context.get("last_order_to_dispatch"):
        form.fields["phone"].widget.attrs["autofocus"] = True  # the phone rings: type the number
    context |= {
        "form": form,
        "shortcuts": SHORTCUTS,
        "shortcuts_data": [{"key": k["key"], "target": k["target"]} for k in SHORTCUTS],
        "callbacks_due": selectors.callbacks_due_count(user=user),
        "call_types": CallType.choices,
        "fresh": request.method == "GET",  # the call starts with its first key (desk.js)
    }
    return render(request, "hotline/desk.html", context, status=status)


def _last_order(user: Any, pk: int | None) -> dict[str, Any]:
    """The order the last call became, with a link to dispatch it when it waits for that."""
    if not pk:
        return {"last_order": None}
    try:
        order = work_order_get_for(user=user, pk=pk)
    except NotFound:
        return {"last_order": None}
    order.state_label = State(order.state).label  # type: ignore[attr-defined]
    waiting = order.state == State.REGISTERED and permissions_for(user).can(
        "work_order.dispatch", order
    )
    context: dict[str, Any] = {"last_order": order, "last_order_to_dispatch": waiting}
    if waiting:
        context["dispatch_organisations"] = list(organisations_for([order.place.path]))
    return context


@login_required
@require_POST
def desk_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    """Dispatch the order the call became, from the desk: the organisation the routing
    directory suggests is chosen already, so Enter dispatches; then the desk for the next call.
    A refusal (another organisation without a reason, someone else dispatched it first) comes
    back on the desk with its message."""
    _require(request.user, TAKE)
    try:
        order = work_order_get_for(user=request.user, pk=pk)
    except NotFound:  # another community's order, or none: a page, not a server error
        raise Http404 from None
    back = reverse("hotline:desk") + f"?order={order.pk}"
    organisation = (
        organisations_for([order.place.path])
        .filter(pk=_int(request.POST.get("lead_organisation")) or 0)
        .first()
    )
    if organisation is None:
        messages.error(request, _("Choose the organisation that takes the order."))
        return redirect(back)
    try:
        work_order_dispatch(
            actor=request.user,
            order=order,
            lead_organisation=organisation,
            reason=str(request.POST.get("reason", ""))[:500],
            expected_version=_int(request.POST.get("version")),
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(back)
    messages.success(
        request,
        _("%(ref)s dispatched to %(org)s. Alt+1 starts the next call.")
        % {"ref": order.reference, "org": organisation.name},
    )
    return redirect("hotline:desk")


@login_required
@require_GET
def desk_houses(request: HttpRequest) -> HttpResponse:
    """The building choice of the chosen courtyard, the caller's own building first (HTMX)."""
    _require(request.user, TAKE)
    context = _houses_context(
        request.user, _int(request.GET.get("place")), _int(request.GET.get("resident"))
    )
    return render(request, "hotline/_houses.html", context)


@login_required
@require_POST
def desk_duplicates(request: HttpRequest) -> HttpResponse:
    """Open orders that may be the caller's problem, while the summary is typed (HTMX)."""
    _require(request.user, TAKE)
    place = _places(request.user).filter(pk=_int(request.POST.get("place")) or 0).first()
    category = category_list().filter(pk=_int(request.POST.get("category")) or 0).first()
    context = _duplicates_context(
        request.user, place, category, str(request.POST.get("summary", ""))
    )
    return render(request, "workorders/_duplicates.html", context)


@login_required
@require_POST
def desk_caller(request: HttpRequest) -> HttpResponse:
    """Who is calling, from the number typed so far (HTMX; a POST keeps it out of URLs)."""
    _require(request.user, TAKE)
    context = _caller_context(request.user, str(request.POST.get("phone", "")))
    return render(request, "hotline/_caller.html", context)


@login_required
def desk_knowledge(request: HttpRequest) -> HttpResponse:
    """Knowledge-base answers for what is typed in the desk's search box (HTMX)."""
    _require(request.user, VIEW)
    context = _knowledge_context(request.user, str(request.GET.get("kb_q", "")))
    return render(request, "hotline/_knowledge_hits.html", context)


@login_required
def callbacks(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW)
    return render(
        request,
        "hotline/callbacks.html",
        {
            "calls": selectors.callbacks_due(user=request.user),
            "can_take": permissions_for(request.user).has(TAKE),
        },
    )


@login_required
@require_POST
def call_called_back(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.call_get_for(user=request.user, pk=pk)
    try:
        services.call_callback_done(
            actor=request.user, call=call, note=str(request.POST.get("note", ""))
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Call-back recorded."))
    return redirect("hotline:callbacks")


@login_required
def calls(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW)
    recent = list(selectors.call_list(user=request.user)[:100])
    return render(request, "hotline/calls.html", {"calls": recent})


@login_required
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.call_get_for(user=request.user, pk=pk)
    can_take = permissions_for(request.user).can(TAKE, call)
    return render(request, "hotline/call.html", {"call": call, "can_take": can_take})


@login_required
def statistics(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW)
    months = _int(request.GET.get("months")) or 12
    trend = selectors.hotline_trend(user=request.user, months=months)
    return render(request, "hotline/statistics.html", {"trend": trend, "months": months})


# --- knowledge base ---------------------------------------------------------------------------


@login_required
def knowledge(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW)
    text = str(request.GET.get("q", "")).strip()[:100]
    retired = request.GET.get("retired") == "1"
    entries = list(
        selectors.knowledge_search(user=request.user, text=text, include_retired=retired)[:200]
    )
    return render(
        request,
        "hotline/knowledge.html",
        {
            "entries": entries,
            "q": text,
            "retired": retired,
            "can_manage": permissions_for(request.user).has(MANAGE_KNOWLEDGE),
        },
    )


def _knowledge_places(user: Any) -> QuerySet[Place]:
    return (
        permissions_for(user)
        .filter(Place.objects.all(), MANAGE_KNOWLEDGE, "")
        .filter(kind__in=["community", "area", "courtyard"])
        .order_by("path")
    )


@login_required
@require_http_methods(["GET", "POST"])
def knowledge_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request.user
    _require(user, MANAGE_KNOWLEDGE)
    entry = selectors.knowledge_get_for(user=user, pk=pk) if pk else None
    categories = category_list().filter(depth__lte=2).order_by("path")
    places = _knowledge_places(user)
    status = 200
    if request.method == "POST":
        form = KnowledgeForm(request.POST, categories=categories, places=places)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.knowledge_save(
                    actor=user,
                    entry=entry,
                    place=d["place"],
                    question=d["question"],
                    answer=d["answer"],
                    keywords=d.get("keywords", ""),
                    category=d.get("category"),
                )
            except DomainError as error:
                form.add_domain_error(error)
                status = error.status_code
            else:
                messages.success(request, _("Knowledge entry saved."))
                return redirect("hotline:knowledge")
        else:
            status = 400
    else:
        initial: dict[str, Any] = {}
        if entry is not None:
            initial = {
                "question": entry.question,
                "answer": entry.answer,
                "keywords": entry.keywords,
                "category": entry.category_id,
                "place": entry.place_id,
            }
        else:
            first = places.first()
            initial = {"place": first.pk if first else None}
        form = KnowledgeForm(categories=categories, places=places, initial=initial)
    return render(
        request, "hotline/knowledge_form.html", {"form": form, "entry": entry}, status=status
    )


@login_required
@require_POST
def knowledge_retire(request: HttpRequest, pk: int) -> HttpResponse:
    entry = selectors.knowledge_get_for(user=request.user, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.knowledge_retire(actor=request.user, entry=entry, active=active)
    except PermissionDenied as error:  # in sight (hotline.view) but not knowledge.manage
        raise DjangoPermissionDenied(str(error.message)) from None
    messages.success(
        request, _("Back in use.") if active else _("Retired: no longer offered at the desk.")
    )
    return redirect(reverse("hotline:knowledge") + ("?retired=1" if not active else ""))
