from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sanan.accounts.permissions import permissions_for
from sanan.places import mapsvg
from sanan.places.models import PlaceKind, count_label
from sanan.places.selectors import place_ancestors, place_children, place_get_for


@login_required
def place_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A place: where it sits, what it holds, and for areas and courtyards a map."""
    place = place_get_for(user=request.user, pk=pk)
    children = list(place_children(user=request.user, place=place))
    perms = permissions_for(request.user)
    can_map = perms.has("place.view_map")
    svg = None
    if can_map and place.kind == PlaceKind.AREA:
        svg = mapsvg.draw(children, outline=place)
    elif can_map and place.kind == PlaceKind.COURTYARD and place.boundary:
        svg = mapsvg.draw([place])
    return render(
        request,
        "places/place_detail.html",
        {
            "place": place,
            "ancestors": place_ancestors(place),
            "children": children,
            "svg": svg,
            "in_scope": perms.can("place.view", place),
            "can_map": can_map,
            "children_label": count_label(place.child_kind, len(children))
            if place.child_kind
            else "",
        },
    )
