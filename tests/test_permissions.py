"""Who sees which place: roles are held over a subtree; what lies outside it does not exist for
the user (404, never 403), while the ancestors on the way down stay visible."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.accounts.permissions import Permissions, permissions_for
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant
from sanan.core.errors import PermissionDenied
from sanan.places.coords import LatLng
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_create
from tests.factories import UserFactory
from tests.personas import PERSONA_FOR_ROLE, World

PLACES_API = "/api/v1/places/"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _all_pages(client: APIClient, url: str, params: dict[str, Any] | None = None) -> list[dict]:
    rows: list[dict] = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        if not body["next"]:
            return rows
        response = client.get(body["next"])


def _ids(rows: list[dict]) -> set[int]:
    return {row["id"] for row in rows}


def _page(place: Place) -> str:
    return f"/places/{place.pk}/"


def _api(place: Place) -> str:
    return f"{PLACES_API}{place.pk}/"


# --- the commissioner of courtyard A -------------------------------------------------------------
@pytest.mark.parametrize("target", ["courtyard_b", "house_b", "unit_b"])
def test_place__page_as_commissioner_a__other_courtyard_is_not_found(
    world: World, commissioner_a: User, web_as: Callable[[User], Client], target: str
) -> None:
    place = getattr(world, target)
    response = web_as(commissioner_a).get(_page(place), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert place.name not in response.content.decode()


@pytest.mark.parametrize("target", ["courtyard_b", "house_b", "unit_b"])
def test_place__api_as_commissioner_a__other_courtyard_is_not_found(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient], target: str
) -> None:
    response = api_as(commissioner_a).get(_api(getattr(world, target)))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_place__out_of_scope__looks_exactly_like_a_place_that_does_not_exist(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    client = api_as(commissioner_a)
    missing = Place.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    hidden = client.get(_api(world.courtyard_b))
    absent = client.get(f"{PLACES_API}{missing}/")
    assert (hidden.status_code, hidden.json()) == (absent.status_code, absent.json())


@pytest.mark.parametrize("target", ["courtyard_a", "house_a", "unit_a"])
def test_place__page_as_commissioner_a__own_courtyard_is_shown(
    world: World, commissioner_a: User, web_as: Callable[[User], Client], target: str
) -> None:
    place = getattr(world, target)
    response = web_as(commissioner_a).get(_page(place), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert f"<h1>{place.name}</h1>" in response.content.decode()


@pytest.mark.parametrize("target", ["courtyard_a", "house_a", "unit_a"])
def test_place__api_as_commissioner_a__own_courtyard_is_shown(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient], target: str
) -> None:
    place = getattr(world, target)
    response = api_as(commissioner_a).get(_api(place))
    assert response.status_code == 200
    assert response.json()["id"] == place.pk
    assert response.json()["code"] == place.code


def test_place__api_as_commissioner_a__courtyard_detail_has_its_boundary(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    body = api_as(commissioner_a).get(_api(world.courtyard_a)).json()
    assert body["boundary"] == world.courtyard_a.boundary
    assert body["parent_id"] == world.area.pk


def test_place__list_as_commissioner_a__shows_the_way_down_but_not_the_neighbours(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    rows = _all_pages(api_as(commissioner_a), PLACES_API)
    ancestors = set(Place.objects.filter(path__in=world.courtyard_a.ancestor_paths()))
    own = {world.courtyard_a, world.house_a, world.unit_a}
    assert _ids(rows) == {p.pk for p in ancestors | own}
    assert world.area.pk in _ids(rows)
    assert {world.courtyard_b.pk, world.house_b.pk, world.unit_b.pk}.isdisjoint(_ids(rows))


def test_place__list_as_commissioner_a__courtyards_filter_gives_only_their_own(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    rows = _all_pages(api_as(commissioner_a), PLACES_API, {"kind": "courtyard"})
    assert [row["id"] for row in rows] == [world.courtyard_a.pk]


def test_place__area_page_as_commissioner_a__lists_only_their_courtyard(
    world: World, commissioner_a: User, web_as: Callable[[User], Client]
) -> None:
    response = web_as(commissioner_a).get(_page(world.area), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert world.courtyard_a.name in html
    assert world.courtyard_b.name not in html


def test_place__within_filter_on_a_hidden_place__is_not_found(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    response = api_as(commissioner_a).get(PLACES_API, {"within": world.courtyard_b.pk})
    assert response.status_code == 404


# --- other roles ---------------------------------------------------------------------------------
def test_place__list_as_leader__is_the_whole_community_and_the_way_down(
    world: World, leader: User, api_as: Callable[[User], APIClient]
) -> None:
    rows = _all_pages(api_as(leader), PLACES_API)
    subtree = Place.objects.filter(path__startswith=world.community.path)
    ancestors = Place.objects.filter(path__in=world.community.ancestor_paths())
    assert _ids(rows) == {p.pk for p in subtree} | {p.pk for p in ancestors}
    assert len(rows) == subtree.count() + world.community.depth - 1


def test_place__list_as_leader__parent_ids_rebuild_the_tree(
    world: World, leader: User, api_as: Callable[[User], APIClient]
) -> None:
    rows = {row["id"]: row for row in _all_pages(api_as(leader), PLACES_API)}
    unit = rows[world.unit_b.pk]
    chain = []
    while unit["parent_id"] is not None:
        unit = rows[unit["parent_id"]]
        chain.append(unit["kind"])
    assert chain == ["house", "courtyard", "area", "community", "subdistrict", "district", "city"]


def test_place__api_anonymous__is_401_with_a_code(world: World) -> None:
    response = APIClient().get(PLACES_API)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.not_authenticated"
    assert response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Token")


def test_place__page_anonymous__asks_to_sign_in(world: World) -> None:
    response = Client().get(_page(world.courtyard_a))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


# --- the audit log -------------------------------------------------------------------------------
def test_audit_log__page_as_commissioner__does_not_exist(
    world: World, commissioner_a: User, web_as: Callable[[User], Client]
) -> None:
    assert web_as(commissioner_a).get("/audit/").status_code == 404


def test_audit_log__api_as_commissioner__does_not_exist(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    assert api_as(commissioner_a).get("/api/v1/audit/events/").status_code == 404


def test_audit_log__api_as_commissioner__shows_no_event(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    body = api_as(commissioner_a).get("/api/v1/audit/events/").json()
    assert body.get("results", []) == []


@pytest.mark.parametrize("username", ["p-leader", "p-admin"])
def test_audit_log__as_leader_or_admin__shows_the_communitys_events(
    world: World,
    persona: Callable[[str], User],
    web_as: Callable[[User], Client],
    api_as: Callable[[User], APIClient],
    username: str,
) -> None:
    user = persona(username)
    query = {"action": "place.created", "object_id": str(world.courtyard_a.pk)}
    page = web_as(user).get("/audit/", query, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    api = api_as(user).get("/api/v1/audit/events/", query)
    assert api.status_code == 200
    labels = {row["object_label"] for row in api.json()["results"]}
    assert world.courtyard_a.name in labels
    assert world.courtyard_a.name in page.content.decode()


def test_audit_log__api_as_leader__leaves_out_other_communities(
    world: World, demo: Place, leader: User, admin: User, api_as: Callable[[User], APIClient]
) -> None:
    query = {"object_type": "places.place", "object_id": str(demo.pk)}
    as_admin = api_as(admin).get("/api/v1/audit/events/", query).json()["results"]
    as_leader = api_as(leader).get("/api/v1/audit/events/", query).json()["results"]
    assert [row["action"] for row in as_admin] == ["place.created"]  # the demo area's creation
    assert as_leader == []  # p-leader leads the test community, not Hongqi's


# --- the resolver --------------------------------------------------------------------------------
def test_permissions__require_out_of_scope__is_not_found(
    world: World, commissioner_a: User
) -> None:
    with pytest.raises(Http404):
        permissions_for(commissioner_a).require("place.edit", world.courtyard_b)
    with pytest.raises(Http404):
        permissions_for(commissioner_a).require("place.view", world.unit_b)


def test_permissions__require_in_scope_without_the_action__is_forbidden(
    world: World, commissioner_a: User
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        permissions_for(commissioner_a).require("place.edit", world.courtyard_a)
    assert caught.value.status_code == 403
    assert caught.value.code == "auth.forbidden"


def test_permissions__require_seen_ancestor__is_forbidden_not_hidden(
    world: World, commissioner_a: User
) -> None:
    """The area is on the way down to courtyard A: it exists for the commissioner, who may
    still not act on it."""
    with pytest.raises(PermissionDenied):
        permissions_for(commissioner_a).require("place.view_map", world.area)


def test_permissions__require_in_scope_with_the_action__passes(
    world: World, commissioner_a: User, dispatcher: User
) -> None:
    permissions_for(commissioner_a).require("place.view_map", world.house_a)
    permissions_for(dispatcher).require("place.edit", world.courtyard_b)


def test_permissions__role_term__counts_only_between_its_dates(
    world: World, time_machine: Any
) -> None:
    time_machine.move_to(dt.datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI), tick=False)
    expired = UserFactory()
    role_grant(
        actor="tests",
        user=expired,
        role=Role.COMMISSIONER,
        place=world.courtyard_a,
        starts_on=dt.date(2026, 1, 1),
        ends_on=dt.date(2026, 2, 28),
    )
    upcoming = UserFactory()
    role_grant(
        actor="tests",
        user=upcoming,
        role=Role.COMMISSIONER,
        place=world.courtyard_a,
        starts_on=dt.date(2026, 3, 2),
    )
    assert not Permissions(User.objects.get(pk=expired.pk)).can_see(world.courtyard_a)
    assert not Permissions(User.objects.get(pk=upcoming.pk)).can_see(world.courtyard_a)

    time_machine.move_to(dt.datetime(2026, 3, 2, 0, 1, tzinfo=SHANGHAI), tick=False)
    assert Permissions(User.objects.get(pk=upcoming.pk)).can_see(world.courtyard_a)


ROLE_TABLE = {
    Role.RESIDENT: (True, False),  # A holds their home; its courtyard is on the way down
    Role.COMMISSIONER: (True, False),
    Role.RED_BUTLER: (True, True),
    Role.DISPATCHER: (True, True),
    Role.HANDLER: (True, True),
    Role.UNIT_MEMBER: (True, True),
    Role.COMMITTEE: (True, True),
    Role.LEADER: (True, True),
    Role.ADMIN: (True, True),
    Role.PARTY_MEMBER: (False, False),  # publishes commitments only; views come with other roles
    Role.OPEN311_CLIENT: (False, False),  # no place.view: it reads its own requests only
}


def test_role_table__covers_every_role() -> None:
    assert set(ROLE_TABLE) == set(Role)
    assert set(PERSONA_FOR_ROLE) == set(Role)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_place__view_courtyards__per_role(
    world: World,
    persona: Callable[[str], User],
    api_as: Callable[[User], APIClient],
    role: Role,
) -> None:
    user = persona(PERSONA_FOR_ROLE[role])
    assert permissions_for(user).primary_role == role
    sees_a, sees_b = ROLE_TABLE[role]
    client = api_as(user)
    status = {200: True, 404: False}
    assert status[client.get(_api(world.courtyard_a)).status_code] is sees_a
    assert status[client.get(_api(world.courtyard_b)).status_code] is sees_b
    perms = permissions_for(user)
    assert (perms.can_see(world.courtyard_a), perms.can_see(world.courtyard_b)) == (sees_a, sees_b)


# --- query counts --------------------------------------------------------------------------------
def _add_houses(courtyard: Place, count: int) -> None:
    for n in range(count):
        house = place_create(
            actor="tests",
            parent=courtyard,
            kind=PlaceKind.HOUSE,
            code=f"{courtyard.code}-extra-{n}",
            name=f"加建{n}号",
            point=LatLng(30.6605, 104.0605),
        )
        place_create(
            actor="tests", parent=house, kind=PlaceKind.UNIT, code=f"{house.code}-1", name="1室"
        )


def _list_queries(client: APIClient) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PLACES_API)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()["count"]


def test_place__list_queries__do_not_grow_with_the_rows(
    world: World,
    leader: User,
    api_as: Callable[[User], APIClient],
    django_assert_max_num_queries: Any,
) -> None:
    client = api_as(leader)
    # session, user, roles, count, page; then the idle-timeout stamp saves the session
    # (an UPDATE, inside a savepoint under the test's transaction).
    with django_assert_max_num_queries(8):
        client.get(PLACES_API)
    before, rows_before = _list_queries(client)
    _add_houses(world.courtyard_a, 10)
    after, rows_after = _list_queries(client)
    assert rows_after == rows_before + 20
    assert after == before


def test_place__list_queries__same_for_commissioner_and_leader(
    world: World, commissioner_a: User, leader: User, api_as: Callable[[User], APIClient]
) -> None:
    assert _list_queries(api_as(commissioner_a))[0] == _list_queries(api_as(leader))[0]


# --- every scoped queryset answers .visible_to(user) ----------------------------------------------
def test_role_assignment__visible_to__commissioner_sees_only_roles_in_their_courtyard(
    world: World, commissioner_a: User, commissioner_b: User, leader: User
) -> None:
    from sanan.accounts.models import RoleAssignment

    seen = set(RoleAssignment.objects.visible_to(commissioner_a).values_list("user_id", flat=True))
    assert commissioner_a.pk in seen
    assert commissioner_b.pk not in seen
    assert leader.pk not in seen  # the leader's role is held over the whole community


def test_user__visible_to__dispatcher_sees_people_of_the_community_not_of_other_cities(
    world: World, dispatcher: User, commissioner_a: User, admin: User
) -> None:
    from sanan.accounts.models import User as UserModel

    seen = set(UserModel.objects.visible_to(dispatcher).values_list("pk", flat=True))
    assert commissioner_a.pk in seen
    assert admin.pk not in seen  # held over the city, above the dispatcher's community
    assert not UserModel.objects.visible_to(commissioner_a).exists()  # no user.view


def test_membership__visible_to__follows_the_organisation_place(
    world: World, handler: User, commissioner_a: User, leader: User
) -> None:
    from sanan.organisation.models import Membership

    assert Membership.objects.visible_to(leader).filter(user=handler).exists()
    assert not Membership.objects.visible_to(commissioner_a).filter(user=handler).exists()


def test_audit_event__visible_to__matches_the_audit_scope(
    world: World, commissioner_a: User, leader: User
) -> None:
    from sanan.audit.models import AuditEvent

    assert AuditEvent.objects.visible_to(leader).filter(place_path__startswith=world.area.path)
    assert not AuditEvent.objects.visible_to(commissioner_a).exists()


def test_place_map__role_without_the_map__sees_no_map_nor_coordinates(
    world: World, persona: Any, web_as: Any, dispatcher: User
) -> None:
    unit_member = persona("p-unitmember")
    html = web_as(unit_member).get(f"/places/{world.area.pk}/").content.decode()
    assert 'data-testid="place-map"' not in html
    assert (
        'data-testid="place-map"'
        in web_as(dispatcher).get(f"/places/{world.area.pk}/").content.decode()
    )
