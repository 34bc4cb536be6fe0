"""The new-campaign form offers only what the user may choose: a community leader is not
offered the city, district or sub-district above the community (choosing one was refused
with "You may not do this here")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sanan.places.models import Place
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


def _choices(html: str, name: str) -> set[int]:
    import re

    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select is not None
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select.group(0))}


@pytest.mark.parametrize("username", ["p-leader", "p-dispatcher"])
def test_new_campaign__places_offered_are_those_the_user_may_run_one_in(
    wo: OrderWorld, web_as: Callable, username: str
) -> None:
    from sanan.accounts.models import User

    html = web_as(User.objects.get(username=username)).get("/campaigns/new/").content.decode()
    offered = _choices(html, "place")
    assert wo.community.pk in offered
    above = Place.objects.filter(code__in=["t-city"]).values_list("pk", flat=True)
    assert set(above).isdisjoint(offered)
    for pk in offered | _choices(html, "places"):
        assert Place.objects.get(pk=pk).path.startswith(wo.community.path)
