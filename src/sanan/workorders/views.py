"""Pages of the work-order loop (mounted at /orders/).

- ``/orders/`` my requests (resident, commissioner: what I reported) with their progress;
- ``/orders/new/`` the resident's phone form, ``/orders/discover/`` the commissioner's
  discovery form, ``/orders/hotline/`` the call-taker's form acting for a caller;
- ``/orders/board/`` the dispatcher's board (buckets, courtyards, bulk dispatch);
- ``/orders/queue/`` the handler's queue (to sign, in progress, due soon, overdue);
- ``/orders/<id>/`` one order: progress, timeline, and the buttons
  ``access.allowed_actions`` gives; ``/orders/<id>/act/<action>/`` the form of one action.

Reads go through the selectors, writes through the services; a ``DomainError`` is shown next
to the fields it names. One URL renders the full page or, for HTMX, its ``_fragment``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from sanan.core import clock
from sanan.core.errors import Conflict, DomainError, NotFound
from sanan.core.pagination import CappedPaginator, CountedPaginator
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.places import mapsvg
from sanan.places.coords import LatLng
from sanan.places.models import Place, PlaceKind
from sanan.workorders import services
from sanan.workorders.access import (
    allowed_actions,
    can_see,
    is_staff_for,
    may_see_reporter,
    order_access,
    public_only,
)
from sanan.workorders.callers import caller_lookup
from sanan.workorders.catalogue import questions_for
from sanan.workorders.duplicates import work_order_duplicates
from sanan.workorders.filters import WorkOrderFilter
from sanan.workorders.forms import ACTION_FORMS, AnswersForm, ReportForm
from sanan.workorders.hints import (
    TEMPLATE_STAGES,
    response_template_get,
    response_templates_for,
    work_order_answers,
    work_order_get_followed,
)
from sanan.workorders.models import Category, Channel, EscalationLevel, WorkOrder
from sanan.workorders.selectors import (
    BOARD_BUCKETS,
    QUEUE_BUCKETS,
    category_list,
    work_order_board,
    work_order_get_for,
    work_order_list,
    work_order_queue,
    work_order_timeline,
)
from sanan.workorders.sla import clock_between
from sanan.workorders.state import TRANSITIONS, Action, Resolution, Satisfaction, State

PAGE_SIZE = 50
_STEPLEN = Place.steplen
_COMMUNITY_DEPTH = list(PlaceKind).index(PlaceKind.COMMUNITY) + 1
_COURTYARD_DEPTH = list(PlaceKind).index(PlaceKind.COURTYARD) + 1
WORKING_DAY_MINUTES = 450

# Category icons (``Category.icon`` names) as pictures every phone can show without a font.
ICONS = {
    "road": "🛣️",
    "trash": "🗑️",
    "bolt": "💡",
    "shield": "🛡️",
    "fire-extinguisher": "🧯",
    "hammer": "🔨",
    "key": "🔑",
    "handshake": "🤝",
    "hand-heart": "🫶",
    "people": "👵",
    "tree": "🌳",
    "medical": "🩺",
    "water": "🌊",
    "question": "❓",
    "lightbulb": "📝",
}

# The steps a resident knows from the 12345 hotline, and where each state stands on them.
STEPS = [
    State.REGISTERED,
    State.DISPATCHED,
    State.SIGNED,
    State.IN_PROGRESS,
    State.FINISHED,
    State.ARCHIVED,
]
STEP_OF_STATE = {
    State.REGISTERED: 0,
    State.DISPATCHED: 1,
    State.RETURNED: 1,
    State.SIGNED: 2,
    State.CONTACTED: 3,
    State.IN_PROGRESS: 3,
    State.FINISHED: 4,
    State.CALLBACK: 5,
    State.ARCHIVED: 6,  # past the last step: every step done
}

# Actions whose form has nothing a person must fill in: one click.
ONE_CLICK = {Action.SIGN, Action.START, Action.CLOSE_UNRATED}
# Actions shown as a quiet link rather than a main button.
SECONDARY = {Action.NOTE, Action.CHASE, Action.SUPERVISE, Action.RETURN, Action.TRANSFER,
             Action.REQUEST_EXTENSION, Action.MERGE}  # fmt: skip
ASSIGNABLE_KINDS = [
    OrganisationKind.DEPARTMENT,
    OrganisationKind.UNIT,
    OrganisationKind.RESIDENTS_COMMITTEE,
    OrganisationKind.SELF_MANAGEMENT,
]


# --- deadlines in plain words -------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    tone: str  # "ok", "soon", "late", "done", ""
    icon: str
    text: str


def _span(minutes: int, working: bool) -> str:
    day = WORKING_DAY_MINUTES if working else 24 * 60
    if minutes < day:
        n = max(1, math.ceil(minutes / 60))
        if working:
            return ngettext("%(n)d working hour", "%(n)d working hours", n) % {"n": n}
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}
    n = max(1, round(minutes / day))
    if working:
        return ngettext("%(n)d working day", "%(n)d working days", n) % {"n": n}
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


STAGE_WORDS = {
    "sign": gettext_lazy("sign for"),
    "contact": gettext_lazy("contact the reporter"),
    "finish": gettext_lazy("finish"),
}


def deadline(order: WorkOrder, now: dt.datetime) -> Deadline:
    """“Due in 3 working hours”, “overdue by 2 days”, with a tone and an icon (never colour
    alone). Computed on the in-memory working calendar: no query per row."""
    if order.state in (State.FINISHED, State.CALLBACK, State.ARCHIVED):
        return Deadline("done", "", "")  # the green state word (with its ✔) says it all
    if order.due_at is None:
        return Deadline("", "", "")
    kind = order.sla_clock or "working"
    working = kind == "working"
    stage = str(STAGE_WORDS.get(order.due_stage, ""))
    if order.due_at <= now:
        late = _span(clock_between(kind, order.due_at, now), working)
        return Deadline(
            "late", "⚠", _("Overdue by %(span)s (%(stage)s)") % {"span": late, "stage": stage}
        )
    left = _span(clock_between(kind, now, order.due_at), working)
    soon = order.escalation_level >= EscalationLevel.WARNED or (
        order.escalation_level == EscalationLevel.NONE
        and order.escalation_at is not None
        and order.escalation_at <= now
    )
    text = _("Due in %(span)s (%(stage)s)") % {"span": left, "stage": stage}
    return Deadline("soon", "◔", text) if soon else Deadline("ok", "◷", text)


def _decorate(orders: Any, user: Any, *, actions: bool = False) -> list[WorkOrder]:
    now = clock.now()
    rows = list(orders)
    for o in rows:
        o.deadline = deadline(o, now)
        o.state_label = State(o.state).label
        o.icon = _icon(o.category)
        if actions:
            o.allowed = allowed_actions(user, o)
    return rows


def _icon(category: Category) -> str:
    return ICONS.get(category.icon, "📌")


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --- places for intake -------------------------------------------------------------------------


def _intake_action(channel: str) -> str:
    return {
        Channel.DISCOVERY: "work_order.discover",
        Channel.HOTLINE: "work_order.dispatch",
    }.get(Channel(channel), "work_order.create")


def _intake_roots(user: Any, action: str) -> tuple[list[str], list[str]]:
    """(community prefixes the user may report in, the user's own roots): the same rule as
    the service's intake check (a resident may report anywhere in the community)."""
    access = order_access(user)
    if access.superuser:
        return [""], [""]
    own = access.place_roots(action)
    return sorted({r[: _COMMUNITY_DEPTH * _STEPLEN] for r in own}), own


def _courtyards(prefixes: list[str]) -> QuerySet[Place]:
    cond = Q()
    for p in prefixes:
        cond |= Q(path__startswith=p)
    if not prefixes:
        return Place.objects.none()
    return Place.objects.filter(cond, kind=PlaceKind.COURTYARD).order_by("path")


def _houses(courtyard: Place | None) -> QuerySet[Place]:
    if courtyard is None:
        return Place.objects.none()
    return Place.objects.filter(kind=PlaceKind.HOUSE, path__startswith=courtyard.path).order_by(
        "path"
    )


def _home_courtyard(own_roots: list[str], courtyards: list[Place]) -> Place | None:
    """The courtyard of the user's home or patch, chosen for them (fewest steps)."""
    for root in own_roots:
        if len(root) >= _COURTYARD_DEPTH * _STEPLEN:
            prefix = root[: _COURTYARD_DEPTH * _STEPLEN]
            for c in courtyards:
                if c.path == prefix:
                    return c
    return None


def _category_groups(categories: list[Category]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    by_path: dict[str, dict[str, Any]] = {}
    for c in categories:
        if c.depth == 1:
            group = {"category": c, "icon": _icon(c), "children": []}
            by_path[c.path] = group
            groups.append(group)
        elif c.depth == 2 and c.path[:_STEPLEN] in by_path:
            by_path[c.path[:_STEPLEN]]["children"].append(c)
    return groups


INTAKE_PAGES = {
    Channel.RESIDENT_FORM: {
        "title": gettext_lazy("Report a problem"),
        "lead": gettext_lazy("Tell the community office what is wrong. It takes a minute."),
        "submit": gettext_lazy("Send to the community"),
        "url": "workorders:new",
    },
    Channel.DISCOVERY: {
        "title": gettext_lazy("Report what I found"),
        "lead": gettext_lazy("A problem you found on your round, not a resident's complaint."),
        "submit": gettext_lazy("Record it"),
        "url": "workorders:discover",
    },
    Channel.HOTLINE: {
        "title": gettext_lazy("Hotline call"),
        "lead": gettext_lazy(
            "Enter the caller's problem while you talk; the caller is recognised by their "
            "mobile number."
        ),
        "submit": gettext_lazy("Create the order"),
        "url": "workorders:hotline",
    },
}


def _chosen_category(categories: list[Category], value: Any) -> Category | None:
    return next((c for c in categories if str(c.pk) == str(value or "")), None)


def _answers_form(data: Any, category: Category | None) -> AnswersForm:
    questions = questions_for(category) if category is not None else []
    return AnswersForm(data, category=category, questions=questions)


def _put_error(form: ReportForm, answers: AnswersForm, error: DomainError) -> None:
    """A service's error: the answers' problems next to the questions, the rest on the form."""
    mine = {k: v for k, v in error.fields.items() if k.startswith("answers.")}
    if mine:
        answers.add_domain_error(error)
    if error.fields and len(mine) == len(error.fields):
        form.domain_message, form.domain_code = str(error.message), error.code
        return
    rest = DomainError(error.code, error.message, fields={
        k: v for k, v in error.fields.items() if k not in mine
    })  # fmt: skip
    form.add_domain_error(rest)


def _intake(request: HttpRequest, channel: str) -> HttpResponse:
    user = request.user
    prefixes, own = _intake_roots(user, _intake_action(channel))
    if not prefixes:
        raise Http404
    courtyards = list(_courtyards(prefixes))
    categories = list(category_list().filter(depth__lte=2).order_by("path"))
    source = request.POST if request.method == "POST" else request.GET
    chosen = next((c for c in courtyards if str(c.pk) == source.get("courtyard")), None)
    if chosen is None and not source.get("courtyard") and channel != Channel.HOTLINE:
        chosen = _home_courtyard(own, courtyards)
    category = _chosen_category(categories, source.get("category"))
    # Without JavaScript, "show the questions" posts the form back to be filled further:
    # nothing is checked or saved, what was typed stays.
    refresh = request.method == "POST" and "show_questions" in request.POST
    bound = request.POST if request.method == "POST" and not refresh else None
    initial: dict[str, Any] = {
        "courtyard": chosen.pk if chosen else None,
        "idempotency_key": uuid.uuid4().hex,
        "point_system": "wgs84",
        "category": category.pk if category else None,
    }
    if refresh:
        kept = ("description", "house", "lat", "lng", "point_system", "anonymous",
                "contact_name", "contact_phone", "idempotency_key")  # fmt: skip
        initial |= {k: request.POST[k] for k in kept if request.POST.get(k)}
    form = ReportForm(
        bound,
        channel=channel,
        categories=category_list().filter(depth__lte=2),
        courtyards=_courtyards(prefixes),
        houses=_houses(chosen),
        initial=initial,
    )
    answers = _answers_form(bound, category)
    status = 200
    if bound is not None:
        valid = form.is_valid()
        valid = answers.is_valid() and valid  # both, so every problem shows at once
        if valid:
            d = form.cleaned_data
            point = LatLng(d["lat"], d["lng"]) if d.get("lat") is not None else None
            place = d.get("house") or d.get("courtyard")
            try:
                submitted = services.work_order_submit(
                    actor=user,
                    channel=channel,
                    category=d["category"],
                    description=d["description"],
                    place=place,
                    point=point,
                    point_system=d["point_system"],
                    anonymous=bool(d.get("anonymous")),
                    contact_name=d.get("contact_name", ""),
                    contact_phone=d.get("contact_phone", ""),
                    answers=answers.answers,
                    idempotency_key=d.get("idempotency_key") or None,
                    attachments=request.FILES.getlist("photos"),
                )
            except DomainError as error:
                _put_error(form, answers, error)
                status = error.status_code
            else:
                duplicate_of = _int(request.POST.get("duplicate_of"))
                if channel == Channel.HOTLINE and duplicate_of and submitted.created:
                    return _merge_call(request, submitted.order, duplicate_of)
                messages.success(
                    request,
                    _("Thank you. Your report %(ref)s is registered; we will keep you informed.")
                    % {"ref": submitted.order.reference},
                )
                return redirect("workorders:detail", pk=submitted.order.pk)
        else:
            status = 400
    svg = mapsvg.draw(courtyards)
    page = INTAKE_PAGES[Channel(channel)]
    context: dict[str, Any] = {
        "form": form,
        "answers_form": answers,
        "channel": channel,
        "page": page,
        "action_url": reverse(str(page["url"])),
        "groups": _category_groups(categories),
        "selected_category": str(category.pk if category else ""),
        "courtyards": courtyards,
        "chosen": chosen,
        "svg": svg,
        "selected_house": str(form["house"].value() or ""),
        "shortcuts": SHORTCUTS if channel == Channel.HOTLINE else [],
        "shortcuts_data": [{"key": k["key"], "target": k["target"]} for k in SHORTCUTS],
    }
    if request.method == "POST":
        # Without JavaScript the hints come with the page the form comes back on.
        context |= _duplicate_context(
            user, chosen, category, str(request.POST.get("description", ""))
        )
        if channel == Channel.HOTLINE:
            context |= _caller_context(user, str(request.POST.get("contact_phone", "")))
    return render(request, "workorders/report.html", context, status=status)


def _merge_call(request: HttpRequest, order: WorkOrder, parent_pk: int) -> HttpResponse:
    """The caller reports an open order's problem again: their call is registered, then
    merged into that order, so the caller follows it (by text message without an account).
    Two steps, each through its service: if the merge is refused the call stays registered."""
    try:
        parent = work_order_get_for(user=request.user, pk=parent_pk)
        services.work_order_merge(
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
        return redirect("workorders:detail", pk=order.pk)
    messages.success(
        request,
        _(
            "Registered as %(ref)s and merged into %(parent)s: the caller follows it and is "
            "told of its progress."
        )
        % {"ref": order.reference, "parent": parent.reference},
    )
    return redirect("workorders:detail", pk=parent.pk)


# Keys of the call-taker's form: Alt+<key> (Option on a Mac), which typing — Chinese through an
# input method included — never produces; the page lists them.
SHORTCUTS = [
    {"key": "1", "target": "id_contact_phone", "label": gettext_lazy("Caller's number")},
    {"key": "2", "target": "field-category", "label": gettext_lazy("Kind of problem")},
    {"key": "3", "target": "id_description", "label": gettext_lazy("Description")},
    {"key": "4", "target": "id_courtyard", "label": gettext_lazy("Courtyard")},
    {"key": "S", "target": "submit", "label": gettext_lazy("Create the order")},
]


def _duplicate_context(
    user: Any, courtyard: Place | None, category: Category | None, text: str
) -> dict[str, Any]:
    if courtyard is None or category is None:
        return {"duplicates": [], "duplicates_asked": False}
    hints = work_order_duplicates(
        user=user, courtyard=courtyard, category=category, text=text[: services.MAX_DESCRIPTION]
    )
    now = clock.now()
    for h in hints:
        order: Any = h.order
        order.state_label = State(order.state).label
        order.mine = order.reporter_id == user.pk
        minutes = int((now - order.created_at).total_seconds() // 60)
        order.age = _span(max(minutes, 1), False)  # in plain words: "3 hours"
    return {"duplicates": hints, "duplicates_asked": True}


def _caller_context(user: Any, phone: str) -> dict[str, Any]:
    phone = phone.strip()
    access = order_access(user)
    if not phone or not (access.superuser or access.place_roots("work_order.dispatch")):
        return {"caller": None, "caller_error": ""}
    try:
        found = caller_lookup(user=user, phone=phone)
    except DomainError as error:
        return {"caller": None, "caller_error": str(error.fields.get("phone", [error.message])[0])}
    for o in [*found.open_orders, *found.past_orders]:
        o.state_label = State(o.state).label  # type: ignore[attr-defined]
    return {"caller": found, "caller_error": ""}


def _intake_prefixes(user: Any) -> list[str]:
    prefixes: list[str] = []
    for action in ("work_order.create", "work_order.discover", "work_order.dispatch"):
        prefixes += _intake_roots(user, action)[0]
    return prefixes


@login_required
def order_questions(request: HttpRequest) -> HttpResponse:
    """The chosen category's extra questions (HTMX, when the category changes)."""
    category = category_list().filter(pk=_int(request.GET.get("category")) or 0).first()
    return render(
        request, "workorders/_questions.html", {"answers_form": _answers_form(None, category)}
    )


@login_required
@require_POST
def order_hint_duplicates(request: HttpRequest) -> HttpResponse:
    """Open orders that may be the same problem, while the report is typed (HTMX)."""
    prefixes = _intake_prefixes(request.user)
    courtyard = _courtyards(prefixes).filter(pk=_int(request.POST.get("courtyard")) or 0).first()
    category = category_list().filter(pk=_int(request.POST.get("category")) or 0).first()
    context = _duplicate_context(
        request.user, courtyard, category, str(request.POST.get("description", ""))
    )
    context["channel"] = str(request.POST.get("channel", ""))
    return render(request, "workorders/_duplicates.html", context)


@login_required
@require_POST
def order_hint_caller(request: HttpRequest) -> HttpResponse:
    """Who is calling, from the number typed so far (HTMX, a POST: the number stays out of
    URLs and logs). Quiet until the number is complete."""
    phone = str(request.POST.get("contact_phone", ""))
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return render(request, "workorders/_caller.html", {"caller": None, "caller_error": ""})
    return render(request, "workorders/_caller.html", _caller_context(request.user, phone))


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    return _intake(request, Channel.RESIDENT_FORM)


@login_required
@require_http_methods(["GET", "POST"])
def order_discover(request: HttpRequest) -> HttpResponse:
    return _intake(request, Channel.DISCOVERY)


@login_required
@require_http_methods(["GET", "POST"])
def order_hotline(request: HttpRequest) -> HttpResponse:
    """The call-taker's screen is the hotline desk (``/hotline/``): opening this address goes
    there. A form posted here from a page opened before is still registered."""
    if request.method == "GET":
        return redirect("hotline:desk")
    return _intake(request, Channel.HOTLINE)


@login_required
def order_houses(request: HttpRequest) -> HttpResponse:
    """The building choice of one courtyard (HTMX, when the courtyard changes)."""
    prefixes = _intake_prefixes(request.user)
    courtyard = _courtyards(prefixes).filter(pk=_int(request.GET.get("courtyard")) or 0).first()
    return render(request, "workorders/_houses.html", {"houses": _houses(courtyard)})


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- my requests --------------------------------------------------------------------------------


@login_required
def order_mine(request: HttpRequest) -> HttpResponse:
    """What I reported (or entered), newest first, each with its progress in plain words."""
    qs = work_order_list(user=request.user).filter(
        Q(reporter_id=request.user.pk) | Q(created_by_id=request.user.pk)
    )
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    orders = _decorate(page.object_list, request.user)
    for o in orders:
        o.step = STEP_OF_STATE[State(o.state)]  # type: ignore[attr-defined]
    access = order_access(request.user)
    return render(
        request,
        "workorders/mine.html",
        {
            "page": page,
            "orders": orders,
            "steps": [(i, s.label) for i, s in enumerate(STEPS)],
            "can_report": access.superuser or "work_order.create" in access.held,
            "can_discover": "work_order.discover" in access.held,
        },
    )


# --- the dispatcher's board -------------------------------------------------------------------


def _dispatch_roots(user: Any) -> list[str]:
    access = order_access(user)
    if access.superuser:
        return [""]
    return access.place_roots("work_order.dispatch")


def _board_roots(user: Any) -> list[str]:
    """The desk, and those who supervise it (leaders): the board's readers."""
    access = order_access(user)
    if access.superuser:
        return [""]
    return sorted({*access.place_roots("work_order.dispatch"),
                   *access.place_roots("work_order.supervise")})  # fmt: skip


def _prefixes(path: str) -> list[str]:
    return [path[:i] for i in range(_STEPLEN, len(path) + 1, _STEPLEN)]


def organisations_for(paths: list[str]) -> QuerySet[Organisation]:
    """Organisations that may take orders in these places: those serving one of them or a
    place above it, and those serving a place inside them."""
    cond = Q()
    for path in paths:
        cond |= Q(place__path__in=_prefixes(path)) | Q(place__path__startswith=path)
    if not paths:
        return Organisation.objects.none()
    return (
        Organisation.objects.filter(cond, kind__in=ASSIGNABLE_KINDS)
        .select_related("place")
        .order_by("name")
    )


SUGGESTION_WHY = {
    "backstop": gettext_lazy("owner of last resort for %(place)s"),
    "none": gettext_lazy("no rule in the routing directory: choose"),
}


def _suggestion(order: WorkOrder) -> str:
    rule = order.routing_rule
    if order.suggested_organisation_id and rule is not None:
        return str(SUGGESTION_WHY["backstop"]) % {"place": rule.place.name}
    return str(SUGGESTION_WHY["none"])


def _board_rows(
    request: HttpRequest,
    default_bucket: str,
    buckets: dict[str, Any],
    counts: Callable[[], dict[str, int]],
) -> Any:
    """The list under the buckets: the default bucket when nothing narrows the view. A list
    that is exactly one bucket is paginated with that bucket's count (``counts()``, the
    buckets as the page shows them), not by counting its orders; a narrowed list (a search, a
    courtyard, a category…) counts its orders up to ``COUNT_CAP`` ("more than 1,000")."""
    params = request.GET.copy()
    narrowing = set(WorkOrderFilter.base_filters) - {"ordering", "bucket"}
    narrowed = any(params.get(k) for k in narrowing)
    # The default list only when nothing narrows the view: `?channel=open311` alone lists every
    # order from that channel, whatever its state.
    if not narrowed and not params.get("bucket"):
        params["bucket"] = default_bucket
    bucket = params.get("bucket", "")
    if bucket and bucket not in buckets:
        raise Http404
    qs = work_order_list(user=request.user).select_related(
        "suggested_organisation", "routing_rule__place"
    )
    filtered = WorkOrderFilter(params, queryset=qs, request=request)
    rows = filtered.qs
    if bucket in ("new", "returned", "awaiting_rating", "to_sign"):
        rows = rows.order_by("created_at", "id")
    elif bucket:
        rows = rows.order_by("due_at", "id")
    if bucket and not narrowed and filtered.is_valid():
        # Numbered by the bucket's count (from the counters), not by counting its orders
        # (360 ms for a department's orders to sign among 1,000,000 open).
        paginator: Paginator = CountedPaginator(rows, PAGE_SIZE, count=counts()[bucket])
    else:
        paginator = CappedPaginator(rows, PAGE_SIZE)
    return params, bucket, paginator.get_page(params.get("page"))


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """The community desk: new, returned, overdue…, the load of each courtyard, and bulk
    dispatch of the orders ticked."""
    if not _board_roots(request.user):
        raise Http404
    roots = _dispatch_roots(request.user)
    summary = functools.cache(lambda: work_order_board(user=request.user))  # read once
    params, bucket, page = _board_rows(
        request, "new", BOARD_BUCKETS, lambda: {b.code: b.count for b in summary().buckets}
    )
    orders = _decorate(page.object_list, request.user)
    for o in orders:
        o.suggestion_why = _suggestion(o)  # type: ignore[attr-defined]
    courtyard = _int(params.get("courtyard"))
    context = {
        "page": page,
        "orders": orders,
        "bucket": bucket,
        "courtyard": courtyard,
        "q": params.get("q", ""),
        "organisations": organisations_for(roots),
        "dispatchable": bool(roots) and any(o.state == State.REGISTERED for o in orders),
    }
    if _htmx(request) and request.headers.get("HX-Target") == "board-rows":
        return render(request, "workorders/_board_rows.html", context)
    context |= {"summary": summary()}
    return render(request, "workorders/board.html", context)


@login_required
@require_POST
def board_dispatch(request: HttpRequest) -> HttpResponse:
    """Dispatch every ticked order to one organisation, each through the service (an order
    someone else dispatched meanwhile is reported, the others go through)."""
    roots = _dispatch_roots(request.user)
    if not roots:
        raise Http404
    ids = [i for i in (_int(v) for v in request.POST.getlist("orders")) if i is not None]
    org = (
        organisations_for(roots).filter(pk=_int(request.POST.get("lead_organisation")) or 0).first()
    )
    back = request.POST.get("next") or reverse("workorders:board")
    if not back.startswith("/orders/board/"):
        back = reverse("workorders:board")
    if not ids or org is None:
        messages.error(
            request, _("Tick at least one order and choose the organisation that takes them.")
        )
        return redirect(back)
    reason = request.POST.get("reason", "")
    done: list[str] = []
    failed: list[str] = []
    for order in work_order_list(user=request.user).filter(pk__in=ids):
        try:
            services.work_order_dispatch(
                actor=request.user, order=order, lead_organisation=org, reason=reason
            )
        except DomainError as error:
            failed.append(f"{order.reference}: {error.message}")
        else:
            done.append(order.reference)
    if done:
        messages.success(
            request,
            ngettext(
                "%(n)d order dispatched to %(org)s.",
                "%(n)d orders dispatched to %(org)s.",
                len(done),
            )
            % {"n": len(done), "org": org.name},
        )
    for line in failed:
        messages.error(request, line)
    return redirect(back)


# --- the handler's queue ----------------------------------------------------------------------


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    access = order_access(request.user)
    if not access.organisations("work_order.handle") and not access.superuser:
        raise Http404
    buckets = functools.cache(lambda: work_order_queue(user=request.user))  # read once
    params, bucket, page = _board_rows(
        request, "to_sign", QUEUE_BUCKETS, lambda: {b.code: b.count for b in buckets()}
    )
    orders = _decorate(page.object_list, request.user, actions=True)
    context = {"page": page, "orders": orders, "bucket": bucket, "q": params.get("q", "")}
    if _htmx(request) and request.headers.get("HX-Target") == "queue-rows":
        return render(request, "workorders/_queue_rows.html", context)
    context["buckets"] = buckets()
    return render(request, "workorders/queue.html", context)


# --- one order ------------------------------------------------------------------------------


def _order(request: HttpRequest, pk: int, *, followed: bool = False) -> WorkOrder:
    """The order, for those who may see it; with ``followed``, also for its followers (the
    public view of the order a duplicate of theirs was merged into)."""
    try:
        return work_order_get_for(user=request.user, pk=pk)
    except NotFound:
        if not followed:
            raise Http404 from None
    try:
        return work_order_get_followed(user=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def _action_form(
    action: str, order: WorkOrder, data: Any = None, *, template: Any = None
) -> Any:  # a forms.ActionForm
    form_class = ACTION_FORMS[Action(action)]
    initial: dict[str, Any] = {"version": order.version}
    if action == Action.DISPATCH and order.suggested_organisation_id:
        initial["lead_organisation"] = order.suggested_organisation_id
    form = form_class(
        data,
        initial=initial,
        organisations=organisations_for([order.place.path]),
        prefix=None,
    )
    if action in TEMPLATE_STAGES:
        field, stage = TEMPLATE_STAGES[action]
        form.template_field = field
        form.templates = response_templates_for(category=order.category, stage=stage)
        picked = response_template_get(category=order.category, stage=stage, pk=template)
        if picked is not None and data is None:
            form.initial[field] = picked.body  # no JavaScript: the page comes back with it
            form.picked_template = picked.pk
    return form


def _perform(action: str, user: Any, order: WorkOrder, d: dict[str, Any]) -> None:
    v = d.get("version")
    s = services
    a = Action(action)
    if a is Action.DISPATCH:
        s.work_order_dispatch(actor=user, order=order, lead_organisation=d["lead_organisation"],
                              reason=d["reason"], internal_note=d["internal_note"],
                              expected_version=v)  # fmt: skip
    elif a is Action.SIGN:
        s.work_order_sign(actor=user, order=order, note=d["note"], expected_version=v)
    elif a is Action.RETURN:
        s.work_order_return(actor=user, order=order, reason_code=d["reason_code"],
                            reason=d["reason"], expected_version=v)  # fmt: skip
    elif a is Action.RULE:
        s.work_order_rule(actor=user, order=order, decision=d["decision"], reason=d["reason"],
                          lead_organisation=d["lead_organisation"], expected_version=v)  # fmt: skip
    elif a is Action.TRANSFER:
        s.work_order_transfer(actor=user, order=order, lead_organisation=d["lead_organisation"],
                              reason=d["reason"], expected_version=v)  # fmt: skip
    elif a is Action.CONTACT:
        s.work_order_contact(actor=user, order=order, method=d["method"],
                             public_note=d["public_note"], internal_note=d["internal_note"],
                             expected_version=v)  # fmt: skip
    elif a is Action.START:
        s.work_order_start(actor=user, order=order, public_note=d["public_note"],
                           expected_version=v)  # fmt: skip
    elif a is Action.REQUEST_EXTENSION:
        s.work_order_request_extension(actor=user, order=order, days=d["days"],
                                       reason=d["reason"], expected_version=v)  # fmt: skip
    elif a is Action.DECIDE_EXTENSION:
        s.work_order_decide_extension(actor=user, order=order, approve=d["approve"],
                                      granted_days=d["granted_days"], note=d["note"],
                                      expected_version=v)  # fmt: skip
    elif a is Action.CHASE:
        s.work_order_chase(actor=user, order=order, note=d["note"])
    elif a is Action.SUPERVISE:
        s.work_order_supervise(actor=user, order=order, note=d["note"])
    elif a is Action.FINISH:
        s.work_order_finish(actor=user, order=order, public_note=d["public_note"],
                            internal_note=d["internal_note"], expected_version=v)  # fmt: skip
    elif a is Action.CALLBACK:
        s.work_order_callback(actor=user, order=order, resolution=d["resolution"],
                              satisfaction=d["satisfaction"], comment=d["comment"],
                              expected_version=v)  # fmt: skip
    elif a is Action.REHANDLE:
        s.work_order_rehandle(actor=user, order=order, reason=d["reason"], expected_version=v)
    elif a is Action.ARCHIVE:
        s.work_order_archive(actor=user, order=order, note=d["note"], expected_version=v)
    elif a is Action.CLOSE_UNRATED:
        s.work_order_close_unrated(actor=user, order=order, expected_version=v)
    elif a is Action.MERGE:
        number = int(re.sub(r"^\s*(?:\d{8}-)?", "", d["parent"]))
        try:
            parent = work_order_get_for(user=user, pk=number)
        except NotFound:
            raise DomainError(
                "not_found",
                _("No such order."),
                fields={"parent": [_("No order with this number that you may see.")]},
            ) from None
        s.work_order_merge(actor=user, parent=parent, children=[order], reason=d["reason"])
    elif a is Action.NOTE:
        s.work_order_note(actor=user, order=order, public_note=d["public_note"],
                          internal_note=d["internal_note"])  # fmt: skip
    else:  # pragma: no cover - WARN has no grant a person holds
        raise Http404


def _detail_context(request: HttpRequest, order: WorkOrder) -> dict[str, Any]:
    user = request.user
    allowed = allowed_actions(user, order)
    staff = is_staff_for(user, order)
    public = public_only(user, order)
    events = work_order_timeline(user=user, order=order)
    if public:  # a follower: the photos are the other reporters'
        for e in events:
            e["attachments"] = []
    for e in events:
        e["state_label"] = State(e["to_state"]).label if e["to_state"] else ""
        if e["who"] == services.SYSTEM:
            e["who"] = _("Sanan (automatic)")
        details = e.get("details") or {}
        if details.get("satisfaction") in Satisfaction.values:
            resolution = Resolution(details["resolution"]).label
            e["rating"] = f"{resolution} · {Satisfaction(details['satisfaction']).label}"
    [decorated] = _decorate([order], user)
    buttons = [
        {
            "action": a,
            "label": TRANSITIONS[Action(a)].label,
            "one_click": a in ONE_CLICK,
            "secondary": a in SECONDARY,
        }
        for a in allowed
        if a != Action.CALLBACK or not _is_reporter(user, order)
    ]
    return {
        "order": decorated,
        "allowed": allowed,
        "buttons": buttons,
        "staff": staff,
        "show_reporter": may_see_reporter(user, order),
        "events": events,
        "step": STEP_OF_STATE[State(order.state)],
        "steps": [(i, s.label) for i, s in enumerate(STEPS)],
        "rate_form": _action_form(Action.CALLBACK, order)
        if Action.CALLBACK in allowed and _is_reporter(user, order)
        else None,
        "public_only": public,
        "answers": work_order_answers(order=order),
        "merged_into": order.parent if order.parent_id else None,
        "following": public or _follows_by_choice(user, order),
    }


def _follows_by_choice(user: Any, order: WorkOrder) -> bool:
    from sanan.workorders.access import follows

    if _is_reporter(user, order) or order.state == State.ARCHIVED:
        return False
    return follows(user, order)


def _is_reporter(user: Any, order: WorkOrder) -> bool:
    return bool(order.reporter_id and order.reporter_id == user.pk)


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk, followed=True)
    return render(request, "workorders/detail.html", _detail_context(request, order))


@login_required
@require_POST
def order_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow an open order instead of reporting the same problem again (or stop)."""
    order = _order(request, pk, followed=True)
    try:
        if request.POST.get("stop"):
            services.work_order_unfollow(actor=request.user, order=order)
            messages.success(request, _("You no longer follow %(ref)s.") % {"ref": order.reference})
            if not can_see(request.user, order):  # it was theirs to see only as a follower
                return redirect("workorders:mine")
        else:
            services.work_order_follow(actor=request.user, order=order)
            messages.success(
                request,
                _("You follow %(ref)s: its progress comes to your messages.")
                % {"ref": order.reference},
            )
    except DomainError as error:
        messages.error(request, str(error.message))
    return redirect("workorders:detail", pk=order.pk)


@login_required
@require_http_methods(["GET", "POST"])
def order_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """The form of one action (GET), and doing it through its service (POST)."""
    order = _order(request, pk)
    if action not in ACTION_FORMS:
        raise Http404
    allowed = allowed_actions(request.user, order)
    form = _action_form(
        action,
        order,
        request.POST if request.method == "POST" else None,
        template=request.GET.get("template"),
    )
    status = 200
    conflict = False
    if request.method == "POST":
        if form.is_valid():
            try:
                _perform(action, request.user, order, form.cleaned_data)
            except DomainError as error:
                form.add_domain_error(error)
                status = error.status_code
                conflict = isinstance(error, Conflict)
                order = _order(request, pk)  # what the failed attempt may have touched
            else:
                messages.success(
                    request,
                    _("Done: %(action)s.") % {"action": TRANSITIONS[Action(action)].label},
                )
                url = reverse("workorders:detail", args=[order.pk])
                if _htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Location"] = url
                    return response
                return redirect(url)
        else:
            status = 400
    elif action not in allowed:
        # The button is not there for this person now: say what the state allows.
        conflict = True
        form.domain_message = _(
            "This is not possible on the order now (it is “%(state)s”). Reload to see what "
            "you can do."
        ) % {"state": State(order.state).label}
    context = {
        "form": form,
        "action": action,
        "action_label": TRANSITIONS[Action(action)].label,
        "conflict": conflict,
    }
    if _htmx(request):
        # Errors stay in the panel (HTMX swaps 2xx only); the status is in a header.
        response = render(request, "workorders/_action_form.html", {"order": order, **context})
        response["X-Sanan-Status"] = str(status)
        return response
    return render(
        request,
        "workorders/detail.html",
        {**_detail_context(request, order), **context},
        status=status,
    )
