"""The demo community of Hongqi (红旗小区), Leshan: the right size, in the right place, safe to
build again, and every printed login works."""

from __future__ import annotations

from collections import Counter
from io import StringIO

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from sanan.accounts.models import RoleAssignment, User
from sanan.accounts.roles import Role
from sanan.audit.models import AuditEvent
from sanan.core.demo import COURTYARDS, HOUSES, build_demo
from sanan.organisation.models import Membership, Organisation
from sanan.places.coords import LatLng, distance_m
from sanan.places.geometry import parse_boundary
from sanan.places.models import Place, PlaceKind

HONGQI = LatLng(29.57, 103.76)


def _counts() -> dict[str, int]:
    return {
        "places": Place.objects.count(),
        "users": User.objects.count(),
        "roles": RoleAssignment.objects.count(),
        "organisations": Organisation.objects.count(),
        "memberships": Membership.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def test_demo__built_again__duplicates_nothing(demo: Place) -> None:
    before = _counts()
    out = StringIO()
    call_command("demo", "--no-migrate", "--orders", "0", "--no-registry", stdout=out)
    assert _counts() == before  # not even a new audit row
    assert "Demo community ready: 55 courtyards, 177 houses" in out.getvalue()


def test_demo__command__prints_every_login_and_the_password(demo: Place) -> None:
    out = StringIO()
    call_command("demo", "--no-migrate", "--orders", "0", "--no-registry", stdout=out)
    text = out.getvalue()
    assert f"password for all: {settings.DEMO_PASSWORD}" in text
    # Every account with a working role is listed; of the ~60 Party members whose membership is
    # their only role, one stands for the rest.
    holders = User.objects.filter(role_assignments__isnull=False).exclude(username__startswith="p-")
    only_members = holders.exclude(
        role_assignments__in=RoleAssignment.objects.exclude(role=Role.PARTY_MEMBER)
    )
    assert only_members.exists()
    listed = [u for u in holders.distinct() if f" {u.username} " in text]
    assert set(holders.distinct()) - set(only_members) <= set(listed)
    assert any(u in listed for u in only_members)


def test_demo__size__is_55_courtyards_and_177_houses(demo: Place) -> None:
    inside = Place.objects.filter(path__startswith=demo.path)
    kinds = Counter(inside.values_list("kind", flat=True))
    assert kinds[PlaceKind.COURTYARD] == COURTYARDS == 55
    assert kinds[PlaceKind.HOUSE] == HOUSES == 177
    assert kinds[PlaceKind.UNIT] >= HOUSES  # every house has at least one dwelling


def test_demo__every_courtyard__has_houses_and_every_house_has_units(demo: Place) -> None:
    inside = list(Place.objects.filter(path__startswith=demo.path, depth__gt=demo.depth))
    children = Counter(p.path[: -Place.steplen] for p in inside)
    for place in inside:
        if place.kind == PlaceKind.COURTYARD:
            assert children[place.path] >= 2, place.code
        elif place.kind == PlaceKind.HOUSE:
            assert children[place.path] >= 1, place.code
            assert place.latitude is not None
            assert place.address


def test_demo__area__lies_in_hongqi_leshan(demo: Place) -> None:
    centre = parse_boundary(demo.boundary).centroid
    assert distance_m(LatLng(centre.y, centre.x), HONGQI) < 2_000
    names = [a.name for a in Place.objects.filter(path__in=demo.ancestor_paths())]
    assert names == ["乐山市", "市中区", "通江街道", "牛咡桥社区"]
    assert demo.name == "红旗小区"


def test_demo__logins__cover_every_role(demo: Place) -> None:
    result = build_demo(progress=lambda _line: None, registry=False, work_orders=0)
    by_role: dict[str, list[str]] = {}
    for login in result.logins:
        user = User.objects.get(username=login.username)
        # the role the login is listed for; a Party member who serves also holds party_member
        (role,) = {
            a.role for a in user.role_assignments.all() if a.get_role_display() == login.role_label
        }
        by_role.setdefault(role, []).append(login.username)
    # Open311 client accounts belong to applications (`sanan open311 keys create`), not people.
    assert set(by_role) == set(Role) - {Role.OPEN311_CLIENT}
    assert {role: len(names) for role, names in by_role.items() if len(names) > 1} == {
        # one commissioner per patch of courtyards (courtyards 1 and 2 are in different patches,
        # for "this one's, not that one's" demos) and the thirty Red Butlers
        Role.COMMISSIONER: 15,
        Role.RED_BUTLER: 30,
    }
    handler = User.objects.get(username=by_role[Role.HANDLER][0])
    assert handler.role_assignments.get().organisation is not None


def test_demo__logins__all_sign_in_with_the_demo_password(demo: Place) -> None:
    result = build_demo(progress=lambda _line: None, registry=False, work_orders=0)
    assert result.password == settings.DEMO_PASSWORD
    assert len({login.phone for login in result.logins}) == len(result.logins)
    for login in result.logins:
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=login.phone, password=settings.DEMO_PASSWORD)
        assert user is not None, login.username
        assert user.username == login.username


def test_demo__admin__may_use_the_admin_site(demo: Place) -> None:
    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_superuser
    others = User.objects.filter(username__in=["leader", "dispatcher", "commissioner"])
    assert not others.filter(is_staff=True).exists()
