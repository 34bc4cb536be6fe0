from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from sanan.accounts.permissions import permissions_for
from sanan.audit.api import AuditEventFilter
from sanan.audit.labels import ACTION_LABELS
from sanan.audit.selectors import audit_event_list


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not permissions_for(request.user).has("audit.view"):
        raise Http404
    filtered = AuditEventFilter(request.GET, queryset=audit_event_list(user=request.user))
    page = Paginator(filtered.qs, 50).get_page(request.GET.get("page"))
    template = "audit/_rows.html" if request.htmx else "audit/log.html"  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {
            "page": page,
            "filter": filtered,
            "action_choices": [(code, str(label)) for code, label in ACTION_LABELS.items()],
        },
    )
