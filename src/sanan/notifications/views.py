"""The inbox page: phone-first, one URL for the page and its HTMX fragments."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from sanan.core.errors import NotFound
from sanan.notifications import selectors, services


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    items = selectors.inbox_list(user=request.user, unread_only=unread_only)
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.inbox_unread_count(user=request.user),
    }
    htmx = getattr(request, "htmx", False)
    return render(
        request, "notifications/_list.html" if htmx else "notifications/inbox.html", context
    )


@login_required
@require_POST
def inbox_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        item = services.inbox_mark_read(actor=request.user, item_id=pk)
    except NotFound:
        return render(request, "404.html", status=404)
    if not getattr(request, "htmx", False):
        return redirect(item.link or "notifications:inbox")
    return render(
        request,
        "notifications/_item.html",
        {"item": item, "unread": selectors.inbox_unread_count(user=request.user), "oob": True},
    )


@login_required
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    services.inbox_mark_all_read(actor=request.user)
    return redirect("notifications:inbox")
