"""A unit member registers their own unit with the community on the web, as docs/dualreport.md
says they may (the service and the API allowed it; the page was a 404 for them and nothing
led there): only their own unit and their community are offered."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from sanan.accounts.models import User
from sanan.accounts.permissions import permissions_for
from sanan.dualreport.models import Registration
from sanan.organisation.models import Organisation
from tests.personas import World

pytestmark = pytest.mark.django_db


def _options(html: str, name: str) -> set[int]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select is not None, name
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select.group(0))}


def test_unit_member_registers_their_own_unit(world: World, web_as: Callable) -> None:
    member = User.objects.get(username="p-unitmember")
    own = permissions_for(member).organisation_ids("unit_member")
    assert own
    client = web_as(member)
    home = client.get("/dual/").content.decode()
    assert "/dual/registrations/" in home
    listing = client.get("/dual/registrations/").content.decode()
    assert "/dual/registrations/new/" in listing

    form = client.get("/dual/registrations/new/")
    assert form.status_code == 200
    html = form.content.decode()
    assert _options(html, "organisation") == own
    assert _options(html, "place") == {world.community.pk}

    unit = Organisation.objects.get(pk=next(iter(own)))
    other = Organisation.objects.exclude(pk__in=own).filter(kind="unit").first()
    if other is not None:  # another unit is not theirs to register
        refused = client.post("/dual/registrations/new/", {
            "organisation": other.pk, "place": world.community.pk, "contact_name": "王",
            "resources": "义诊", "capacity_hours_month": 10,
        })  # fmt: skip
        assert refused.status_code == 400
    posted = client.post("/dual/registrations/new/", {
        "organisation": unit.pk, "place": world.community.pk, "contact_name": "李医生",
        "contact_phone": "13812345678", "resources": "义诊、健康讲座", "capacity_hours_month": 20,
    })  # fmt: skip
    assert posted.status_code == 302
    registration = Registration.objects.get(organisation=unit, place=world.community)
    assert registration.capacity_minutes_month == 20 * 60


@pytest.mark.parametrize("username", ["p-resident", "p-handler", "p-commissioner-a"])
def test_others_may_not_register_a_unit(world: World, web_as: Callable, username: str) -> None:
    client = web_as(User.objects.get(username=username))
    assert client.get("/dual/registrations/new/").status_code == 404
