"""Pages and HTMX partials of the triage app (mounted at /triage/).

- ``/triage/suggest/`` (POST ``text``): the category suggestion fragment for intake forms;
  the text travels in the body, never in the URL;
- ``/triage/route/?category=&place=``: the routing suggestion with its reason;
- ``/triage/duplicates/``: clusters of open orders that may report the same problem, with
  the suggested merge (the merge itself is done on the order's page);
- ``/triage/hotspots/``: hotspots, the topic-of-the-month proposals, monthly volumes;
  ``/triage/hotspots/propose/`` (POST): a proposal becomes a draft campaign in one step;
- ``/triage/``: the desk page that shows all three (try a text, see the clusters).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sanan.accounts.permissions import permissions_for
from sanan.campaigns.models import MANAGE
from sanan.core.errors import DomainError, NotFound
from sanan.places.models import Place
from sanan.triage.model import current_model
from sanan.triage.selectors import (
    CLUSTER_WINDOW_DAYS,
    TOPIC_PROPOSALS,
    require_suggest,
    topic_proposals,
    triage_duplicate_clusters,
    triage_hotspots,
    triage_monthly_volume,
    triage_route_suggestion,
    triage_suggest,
)
from sanan.triage.services import triage_topic_propose_hotspot
from sanan.workorders.models import Category, Channel

MAX_WINDOW_DAYS = 90


def _int(value: Any) -> int | None:
    raw = str(value or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _forbidden(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "403.html", {"message": error.message}, status=error.status_code)


@login_required
@require_POST
def suggest(request: HttpRequest) -> HttpResponse:
    """The suggestion fragment for the text typed so far: ``text``, or an intake form's own
    ``title``, ``description`` or ``summary`` fields. To show it on a form,
    ``{% include "triage/_suggest_here.html" with source="#id_description" target="category" %}``:
    ``target`` is the id of the category select, or the name of the category radio buttons,
    that "Use it" (``triage.js``) sets."""
    post = request.POST
    text = str(post.get("text", "")) or " ".join(
        str(post.get(field, "")) for field in ("title", "description", "summary")
    )
    try:
        suggestion = triage_suggest(user=request.user, text=text)
    except DomainError as error:
        return _forbidden(request, error)
    return render(
        request,
        "triage/_suggestion.html",
        {"suggestion": suggestion, "target": str(request.POST.get("target", ""))[:40]},
    )


@login_required
@require_GET
def route(request: HttpRequest) -> HttpResponse:
    """The routing suggestion for a category in a place."""
    category = Category.objects.filter(pk=_int(request.GET.get("category")) or 0).first()
    place = Place.objects.filter(pk=_int(request.GET.get("place")) or 0).first()
    if category is None or place is None:
        return render(request, "triage/_route.html", {"route": None})
    try:
        suggestion = triage_route_suggestion(user=request.user, category=category, place=place)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        return _forbidden(request, error)
    return render(request, "triage/_route.html", {"route": suggestion})


def _clusters_context(request: HttpRequest) -> dict[str, Any]:
    days = min(_int(request.GET.get("days")) or CLUSTER_WINDOW_DAYS, MAX_WINDOW_DAYS)
    clusters = triage_duplicate_clusters(user=request.user, days=days)
    return {"clusters": clusters, "days": days}


@login_required
@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    if not permissions_for(request.user).has("triage.review"):
        raise Http404
    context = _clusters_context(request)
    htmx = request.headers.get("HX-Request") == "true"
    template = "triage/_clusters.html" if htmx else "triage/duplicates.html"
    return render(request, template, context)


@login_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """Try the suggestion on a text; the clusters of the last fortnight below it."""
    try:
        require_suggest(request.user)
    except DomainError as error:
        return _forbidden(request, error)
    perms = permissions_for(request.user)
    meta = current_model().meta
    context: dict[str, Any] = {
        "model": meta,
        "trained_at": dt.datetime.fromisoformat(meta["trained_at"]),
        "clusters": None,
    }
    if perms.has("triage.review"):
        context.update(_clusters_context(request))
    return render(request, "triage/desk.html", context)


def _weeks(value: Any) -> int:
    return min(_int(value) or 4, 52)


@login_required
@require_POST
def hotspots_propose(request: HttpRequest) -> HttpResponse:
    """One step from a proposal to a draft topic of the month; then the campaign's page."""
    if not permissions_for(request.user).has("triage.review"):
        raise Http404
    weeks = _weeks(request.POST.get("weeks"))
    ids = [i for i in (_int(v) for v in request.POST.getlist("courtyard")) if i is not None]
    try:
        campaign = triage_topic_propose_hotspot(
            actor=request.user,
            code=request.POST.get("category", ""),
            courtyard_ids=ids,
            weeks=weeks,
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(f"{reverse('triage:hotspots')}?weeks={weeks}")
    messages.success(
        request, _("Topic of the month proposed as a draft campaign: check it and start it.")
    )
    return redirect("campaigns:detail", pk=campaign.pk)


@login_required
@require_GET
def hotspots(request: HttpRequest) -> HttpResponse:
    """Where problems gather (courtyard × category, this period against the one before), the
    first few proposed as the topic of the month for a campaign; order and hotline volumes
    month over month and year over year."""
    if not permissions_for(request.user).has("triage.review"):
        raise Http404
    weeks = _weeks(request.GET.get("weeks"))
    spots = triage_hotspots(user=request.user, weeks=weeks)
    return render(
        request,
        "triage/hotspots.html",
        {
            "weeks": weeks,
            "proposals": topic_proposals(spots, top=TOPIC_PROPOSALS),
            "can_propose": permissions_for(request.user).has(MANAGE),
            "hotspots": spots,
            "volume": triage_monthly_volume(user=request.user),
            "hotline": triage_monthly_volume(user=request.user, channel=Channel.HOTLINE),
        },
    )
