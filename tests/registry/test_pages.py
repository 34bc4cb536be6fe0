"""The registry's pages as each role meets them: who may open what (404 outside the scope, 403
for changes without ``resident.edit``), masked numbers and audited reveals, the search that keeps
ID and phone numbers out of addresses, the forms and their error messages, and query counts that
do not grow with the rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sanan.accounts.models import User
from sanan.audit.models import AuditEvent
from sanan.core import clock
from sanan.registry.models import (
    Household,
    HouseProfile,
    Rental,
    ResidenceEvent,
    Resident,
    ResidentStatus,
    Vehicle,
)
from sanan.registry.services import rental_create, resident_register, resident_tag_add
from sanan.registry.testing import fake_id_number, fake_mobile
from tests.registry.world import (
    ACTOR,
    LANDLINE,
    LI_ID,
    LI_PHONE,
    WANG_ID,
    WANG_JIANGUO_ID,
    WANG_JIANGUO_PHONE,
    WANG_PHONE,
    XIAOMING_ID,
    RegistryWorld,
)

Web = Callable[[User], Client]
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_ACCEPT_LANGUAGE": "en"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SECRETS = (WANG_ID, WANG_PHONE, LANDLINE, WANG_JIANGUO_ID, WANG_JIANGUO_PHONE, XIAOMING_ID, LI_ID)
NEW_ID = fake_id_number(birth_date=dt.date(1985, 4, 12), sequence=301)  # odd: male


def _text(response: Any) -> str:
    return str(response.content.decode())


def _no_plain_numbers(response: Any) -> None:
    """No run of 7 characters of any protected number is on the page."""
    text = _text(response)
    for secret in (*SECRETS, LI_PHONE):
        digits = "".join(ch for ch in secret if ch.isalnum())
        runs = {digits[i : i + 7] for i in range(len(digits) - 6)}
        assert not [r for r in runs if r in text], "a protected number is on the page"


def _wrong_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def _pages(reg: RegistryWorld) -> dict[str, str]:
    """Every registry page of courtyard A, by name."""
    w = reg.world
    return {
        "list": "/registry/",
        "expiring": "/registry/expiring/",
        "resident": f"/registry/residents/{reg.wang.pk}/",
        "household": f"/registry/households/{reg.household_a.pk}/",
        "courtyard": f"/registry/places/{w.courtyard_a.pk}/",
        "house": f"/registry/places/{w.house_a.pk}/",
        "unit": f"/registry/places/{w.unit_a.pk}/",
    }


def _edit_pages(reg: RegistryWorld) -> dict[str, str]:
    """Every form of courtyard A's records (GET shows it, POST changes)."""
    w = reg.world
    wang = reg.wang.pk
    return {
        "edit": f"/registry/residents/{wang}/edit/",
        "move-out": f"/registry/residents/{wang}/move-out/",
        "change-household": f"/registry/residents/{wang}/change-household/",
        "house": f"/registry/houses/{w.house_a.pk}/edit/",
        "vehicle": f"/registry/vehicles/{reg.car_a.pk}/edit/",
        "new-resident-here": f"/registry/residents/new/?place={w.unit_a.pk}",
        "new-rental-here": f"/registry/rentals/new/?place={w.unit_a.pk}",
        "new-vehicle-of": f"/registry/vehicles/new/?owner={wang}",
    }


def _posts(reg: RegistryWorld) -> dict[str, str]:
    """Actions that are only posted."""
    wang = reg.wang.pk
    return {
        "reveal": f"/registry/residents/{wang}/reveal/",
        "tag-add": f"/registry/residents/{wang}/tags/",
        "tag-remove": f"/registry/residents/{wang}/tags/elderly_alone/remove/",
        "set-head": f"/registry/households/{reg.household_a.pk}/head/",
        "vehicle-remove": f"/registry/vehicles/{reg.car_a.pk}/remove/",
    }


# --- who may open what ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "username",
    ["p-commissioner-a", "p-dispatcher", "p-leader", "p-butler", "p-committee", "p-admin"],
)
def test_registry_pages__every_page__renders_for_roles_with_the_registry(
    reg: RegistryWorld, web_as: Web, persona: Callable[[str], User], username: str
) -> None:
    client = web_as(persona(username))
    for name, url in _pages(reg).items():
        response = client.get(url, **EN)
        assert response.status_code == 200, name
        _no_plain_numbers(response)
    detail = _text(client.get(_pages(reg)["resident"], **EN))
    assert "王秀英" in detail
    assert f"{WANG_ID[:3]}***********{WANG_ID[-4:]}" in detail
    assert "139****0001" in detail


def test_registry_pages__resident__sees_their_own_household_only(
    reg: RegistryWorld, web_as: Web, resident: User
) -> None:
    client = web_as(resident)
    listing = _text(client.get("/registry/", **EN))
    assert {"王秀英", "王建国", "王小明"} <= set(re.findall(r"王\w\w", listing))
    assert "李四" not in listing
    assert client.get(f"/registry/residents/{reg.jianguo.pk}/", **EN).status_code == 200
    assert client.get(f"/registry/places/{reg.world.unit_a.pk}/", **EN).status_code == 200
    assert client.get(f"/registry/residents/{reg.li.pk}/", **EN).status_code == 404
    assert client.get(f"/registry/places/{reg.world.courtyard_b.pk}/", **EN).status_code == 404
    page = _text(client.get(f"/registry/residents/{reg.wang.pk}/", **EN))
    assert "Correct the record" not in page
    assert "Show a full number" not in page


def test_registry_pages__commissioner_of_another_courtyard__finds_nothing(
    reg: RegistryWorld, web_as: Web, commissioner_b: User
) -> None:
    client = web_as(commissioner_b)
    pages = {**_pages(reg), **_edit_pages(reg)}
    for name in ("list", "expiring"):
        assert client.get(pages.pop(name)).status_code == 200
    for name, url in pages.items():
        assert client.get(url).status_code == 404, name
    for name, url in {**_edit_pages(reg), **_posts(reg)}.items():
        assert client.post(url, {"reason": "回访", "numbers": ["phone"]}).status_code == 404, name
    listing = _text(client.get("/registry/", {"q": "王"}, **EN))
    assert "王秀英" not in listing
    assert "0 residents found" in listing
    assert not AuditEvent.objects.filter(action="pii.revealed").exists()
    assert Resident.objects.get(pk=reg.wang.pk).status == ResidentStatus.ACTIVE


@pytest.mark.parametrize("username", ["p-handler", "p-unitmember"])
def test_registry_pages__roles_without_the_registry__get_not_found(
    reg: RegistryWorld, web_as: Web, persona: Callable[[str], User], username: str
) -> None:
    client = web_as(persona(username))
    for name, url in _pages(reg).items():
        assert client.get(url).status_code == 404, name
    nav = client.get(f"/registry/nav/?place={reg.world.courtyard_a.pk}")
    assert (nav.status_code, nav.content) == (200, b"")


@pytest.mark.parametrize("username", ["p-butler", "p-committee", "p-leader"])
def test_registry_pages__in_scope_without_edit__no_buttons_and_403(
    reg: RegistryWorld, web_as: Web, persona: Callable[[str], User], username: str
) -> None:
    client = web_as(persona(username))
    for url in _pages(reg).values():
        page = _text(client.get(url, **EN))
        for button in ("Correct the record", "Moves out", "Register a resident", "Inspected today"):
            assert button not in page, (url, button)
    for name, url in _edit_pages(reg).items():
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"name": "改名", "on": "2020-01-01"}).status_code == 403, name
    posts = _posts(reg)
    posts.pop("reveal")  # the leader may reveal: see the reveal tests
    for name, url in posts.items():
        response = client.post(url, {"tag": "veteran", "resident": reg.jianguo.pk})
        assert response.status_code == 403, name
    assert client.get("/registry/residents/new/").status_code == 403
    assert Resident.objects.get(pk=reg.wang.pk).name == "王秀英"
    assert Vehicle.objects.filter(pk=reg.car_a.pk).exists()


def test_registry_pages__nav__links_the_people_house_car_page_where_allowed(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    link = _text(client.get(f"/registry/nav/?place={reg.world.courtyard_a.pk}", **EN))
    assert f'href="/registry/places/{reg.world.courtyard_a.pk}/"' in link
    assert "People, house, car" in link
    assert client.get(f"/registry/nav/?place={reg.world.area.pk}").content == b""
    assert client.get(f"/registry/nav/?place={reg.world.courtyard_b.pk}").content == b""
    tiles = _text(client.get("/registry/nav/", **EN))
    assert "Registrations expiring" in tiles
    assert f"/registry/places/{reg.world.courtyard_a.pk}/" in tiles  # their one courtyard


# --- the list: search and filters ----------------------------------------------------------------
def _names(response: Any) -> list[str]:
    return re.findall(
        r'class="reg-name" href="/registry/residents/\d+/">([^<]+)</a>', _text(response)
    )


def test_resident_list__name_search__is_partial_and_scoped(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    response = web_as(commissioner_a).get("/registry/", {"q": "王"}, **EN)
    assert sorted(_names(response)) == sorted(["王秀英", "王建国", "王小明"])
    assert "3 residents found" in _text(response)
    _no_plain_numbers(response)


def test_resident_list__numbers_in_the_address__are_not_searched(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    client = web_as(dispatcher)
    moved = client.get("/registry/", {"q": LI_ID, "name": "李"}, **EN)
    assert moved.status_code == 302
    assert moved["Location"] == "/registry/?name=%E6%9D%8E"  # out of the address bar at once
    response = client.get(moved["Location"], **EN)
    assert "are not searched from a web address" in _text(response)
    assert _names(response) == ["李四"]  # the name filter still applies
    assert LI_ID not in _text(response)  # nor is the number echoed back


@pytest.mark.parametrize(
    "number", [WANG_ID, WANG_ID.lower().replace("x", "X"), WANG_PHONE, LANDLINE]
)
def test_resident_list__exact_number__is_posted_and_never_pushed_to_the_address(
    reg: RegistryWorld, web_as: Web, dispatcher: User, number: str
) -> None:
    response = web_as(dispatcher).post("/registry/", {"q": number, "status": "active"}, **HTMX)
    assert response.status_code == 200
    assert _names(response) == ["王秀英"]
    assert response["HX-Push-Url"] == "/registry/?status=active"
    assert "<html" not in _text(response)  # the results fragment only


def test_resident_list__plate_in_the_address__is_moved_out_of_it(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    response = web_as(dispatcher).get("/registry/", {"q": "川LD12345", "status": "any"})
    assert (response.status_code, response["Location"]) == (302, "/registry/?status=any")


def test_resident_list__posted_number_without_htmx__answers_the_full_page(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    response = web_as(dispatcher).post("/registry/", {"q": LI_PHONE}, **EN)
    assert response.status_code == 200
    assert "<html" in _text(response)
    assert _names(response) == ["李四"]


def test_resident_list__posted_name__redirects_to_a_shareable_address(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    response = web_as(dispatcher).post("/registry/", {"q": "李四", "residence_type": "migrant"})
    assert response.status_code == 302
    assert response["Location"].startswith("/registry/?")
    assert "q=%E6%9D%8E%E5%9B%9B" in response["Location"]


def test_resident_list__invalid_id_number__says_what_is_wrong(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    response = web_as(dispatcher).post("/registry/", {"q": _wrong_check_digit(LI_ID)}, **HTMX)
    assert response.status_code == 200
    assert "The check digit does not match" in _text(response)
    assert _names(response) == []


def test_resident_list__id_number_of_someone_out_of_scope__finds_nobody(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    response = web_as(commissioner_a).post("/registry/", {"q": LI_ID}, **HTMX)
    assert _names(response) == []
    assert "Nobody matches" in _text(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"residence_type": "migrant"}, ["李四"]),
        ({"tag": ["elderly_alone", "left_behind_child"]}, ["王秀英", "王小明"]),
        ({"place": "courtyard_b"}, ["李四"]),
        ({"q": "川LD12345"}, ["李四"]),
        ({"q": "川L12345"}, ["王建国"]),
        ({"status": "moved_out"}, []),
    ],
)
def test_resident_list__filters__narrow_the_list(
    reg: RegistryWorld, web_as: Web, dispatcher: User, query: dict[str, Any], expected: list[str]
) -> None:
    if query.get("place") == "courtyard_b":
        query = {"place": reg.world.courtyard_b.pk}
    client = web_as(dispatcher)
    exact = "q" in query  # plates are posted, like ID numbers and phones
    response = (client.post if exact else client.get)("/registry/", query, **HTMX)
    assert response.status_code == 200
    assert sorted(_names(response)) == sorted(expected)


def test_resident_list__moved_out__shows_with_status_any(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    from sanan.registry.services import resident_move_out

    resident_move_out(actor=ACTOR, resident=reg.xiaoming, on=clock.today())
    client = web_as(dispatcher)
    assert "王小明" not in _names(client.get("/registry/", {"q": "王"}, **EN))
    everyone = client.get("/registry/", {"q": "王", "status": "any"}, **EN)
    assert "王小明" in _names(everyone)
    assert "Moved out" in _text(everyone)


def test_resident_list__empty_registry__says_what_to_do_next(
    world: Any, web_as: Web, commissioner_a: User
) -> None:
    page = _text(web_as(commissioner_a).get("/registry/", **EN))
    assert "No one is registered in your places yet." in page
    assert 'href="/registry/residents/new/"' in page


def _grow(reg: RegistryWorld, n: int, start: int = 0) -> None:
    """``n`` more households of two in courtyard A's unit and B's, tagged, with a car and a
    rental; migrants expiring soon."""
    from sanan.registry.services import vehicle_register

    for i in range(start, start + n):
        unit = reg.world.unit_a if i % 2 else reg.world.unit_b
        head = resident_register(
            actor=ACTOR,
            place=unit,
            name=f"住户{i}",
            id_number=fake_id_number(birth_date=dt.date(1970, 1, 1 + i % 28), sequence=500 + i),
            phone=fake_mobile(i),
        )
        member = resident_register(
            actor=ACTOR,
            household=head.household,
            name=f"家属{i}",
            relation_to_head="child",
            residence_type="renter",
            registration_expires_on=clock.today() + dt.timedelta(days=i % 20),
        )
        resident_tag_add(actor=ACTOR, resident=member, tag="disability")
        vehicle_register(actor=ACTOR, plate=f"川L{i:05d}", owner=head)
        rental_create(actor=ACTOR, place=unit, tenants=[member], landlord=head)


@pytest.mark.parametrize(
    "page",
    [
        "list",
        "list-fragment",
        "list-search",
        "expiring",
        "courtyard",
        "house",
        "resident",
        "household",
    ],
)
def test_registry_pages__query_count__does_not_grow_with_rows(
    reg: RegistryWorld, web_as: Web, dispatcher: User, page: str
) -> None:
    client = web_as(dispatcher)
    url = {**_pages(reg), "list-fragment": "/registry/", "list-search": "/registry/"}[page]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            if page == "list-search":
                response = client.post(url, {"q": WANG_PHONE, "tag": "elderly_alone"}, **HTMX)
            elif page == "list-fragment":
                response = client.get(url, {"residence_type": "renter"}, **HTMX)
            else:
                response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    _grow(reg, 2)
    count()  # the first request of a session also saves the session
    small = count()
    _grow(reg, 30, start=100)  # more than a page of residents
    assert count() == small, page
    assert small <= 16, page


def test_resident_list__query_budget(
    reg: RegistryWorld, web_as: Web, dispatcher: User, django_assert_max_num_queries: Any
) -> None:
    _grow(reg, 30)
    client = web_as(dispatcher)
    client.get("/registry/")
    with django_assert_max_num_queries(12):
        response = client.get("/registry/", {"tag": "disability", "page": "2"}, **EN)
    assert "Page 2 of 2" in _text(response)
    assert len(_names(response)) == 5  # 30 tagged, 25 on the first page


# --- a resident, and revealing a number ----------------------------------------------------------
def test_resident_detail__shows_household_tags_vehicles_rentals_history(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    page = _text(client.get(f"/registry/residents/{reg.jianguo.pk}/", **EN))
    for text in (
        "王秀英",
        "王小明",
        "Spouse",
        "川L12345",
        "Owns A1号",
        "Moved in",
        "Residence history",
    ):
        assert text in page, text
    assert f'href="/registry/places/{reg.world.courtyard_a.pk}/"' in page  # breadcrumb
    wang = _text(client.get(f"/registry/residents/{reg.wang.pk}/", **EN))
    assert "Elderly, living alone" in wang
    assert "Correct the record" in wang
    assert "Show a full number" not in wang  # a commissioner may not reveal


def test_resident_reveal__with_a_reason__shows_the_number_once_and_is_audited(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    client = web_as(dispatcher)
    page = _text(client.get(f"/registry/residents/{reg.wang.pk}/", **EN))
    assert "Show a full number" in page
    assert WANG_PHONE not in page
    before = AuditEvent.objects.filter(action="pii.revealed").count()

    response = client.post(
        f"/registry/residents/{reg.wang.pk}/reveal/",
        {"numbers": ["phone"], "reason": "回访"},
        **HTMX,
    )
    assert response.status_code == 200
    assert WANG_PHONE in _text(response)
    assert WANG_ID not in _text(response)  # only what was asked for
    assert "no-store" in response["Cache-Control"]
    assert 'hx-history="false"' in _text(response)
    event = AuditEvent.objects.filter(action="pii.revealed").latest("seq")
    assert AuditEvent.objects.filter(action="pii.revealed").count() == before + 1
    assert (event.reason, event.data["field"], event.object_id) == (
        "回访",
        "phone",
        str(reg.wang.pk),
    )
    assert WANG_PHONE not in str(event.data) + event.reason + event.object_label

    again = _text(client.get(f"/registry/residents/{reg.wang.pk}/", **EN))
    assert WANG_PHONE not in again  # masked again on the next look


def test_resident_reveal__without_a_reason__is_refused_and_not_audited(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    client = web_as(dispatcher)
    for post in ({"numbers": ["id_number"], "reason": " "}, {"numbers": [], "reason": "回访"}):
        response = client.post(f"/registry/residents/{reg.wang.pk}/reveal/", post, **HTMX)
        assert response.status_code == 200
        assert WANG_ID not in _text(response)
        assert "field-error" in _text(response)
    response = client.post(
        f"/registry/residents/{reg.wang.pk}/reveal/", {"numbers": ["id_number"]}, **HTMX
    )
    assert "Say why you need to see this" in _text(response)
    assert not AuditEvent.objects.filter(action="pii.revealed", object_id=str(reg.wang.pk)).exists()


def test_resident_reveal__without_htmx__renders_the_page_with_the_number(
    reg: RegistryWorld, web_as: Web, leader: User
) -> None:
    response = web_as(leader).post(
        f"/registry/residents/{reg.li.pk}/reveal/", {"numbers": ["id_number"], "reason": "核实身份"}
    )
    assert response.status_code == 200
    assert LI_ID in _text(response)
    assert "<html" in _text(response)
    assert "no-store" in response["Cache-Control"]


def test_resident_reveal__role_without_pii_reveal__is_forbidden(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    url = f"/registry/residents/{reg.wang.pk}/reveal/"
    response = web_as(commissioner_a).post(url, {"numbers": ["phone"], "reason": "回访"})
    assert response.status_code == 403
    assert WANG_PHONE not in _text(response)
    assert not AuditEvent.objects.filter(action="pii.revealed").exists()


# --- forms ---------------------------------------------------------------------------------------
def _register(client: Client, reg: RegistryWorld, **fields: Any) -> Any:
    data = {
        "courtyard": reg.world.courtyard_a.pk,
        "home": f"h:{reg.household_a.pk}",
        "relation_to_head": "child",
        "name": "王大力",
        "id_number": NEW_ID,
        "phone": "13800001111",
        "residence_type": "registered",
        "tags": ["veteran"],
        **fields,
    }
    return client.post("/registry/residents/new/", data, **EN)


def test_resident_create__in_a_household__registers_and_opens_the_record(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    response = _register(web_as(commissioner_a), reg)
    created = Resident.objects.get(name="王大力")
    assert response.status_code == 302
    assert response["Location"] == f"/registry/residents/{created.pk}/"
    assert (created.household_id, created.gender, created.birth_date) == (
        reg.household_a.pk,
        "male",
        dt.date(1985, 4, 12),
    )
    assert [t.tag.code for t in created.tags.all()] == ["veteran"]
    assert created.phone_masked == "138****1111"


def test_resident_create__new_household_in_a_flat(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    response = _register(
        web_as(commissioner_a), reg, home=f"p:{reg.world.unit_a.pk}", relation_to_head=""
    )
    assert response.status_code == 302
    created = Resident.objects.get(name="王大力")
    assert created.household_id != reg.household_a.pk
    assert Household.objects.get(pk=created.household_id).head_id == created.pk


def test_resident_create__wrong_id_number__shows_the_error_beside_the_field(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    response = _register(web_as(dispatcher), reg, id_number=_wrong_check_digit(NEW_ID))
    page = _text(response)
    assert response.status_code == 400
    assert "The check digit does not match: please check the ID number again." in page
    assert re.search(
        r'id="field-id_number".*?aria-invalid="true".*?The last character does not match',
        page,
        re.S,
    )
    assert not Resident.objects.filter(name="王大力").exists()
    assert 'value="王大力"' in page  # what was typed stays, to be corrected


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": " "}, "name", "This field is required."),
        ({"phone": "12345"}, "phone", "Enter an 11-digit mobile number."),
        ({"registration_expires_on": "2030-01-01"}, "registration_expires_on", "Leave empty"),
        ({"home": ""}, "home", "This field is required."),
        ({"relation_to_head": "head"}, "relation_to_head", "already has a head"),
        ({"moved_in_on": "2999-01-01"}, "moved_in_on", "not in the future"),
    ],
)
def test_resident_create__invalid__says_which_field(
    reg: RegistryWorld,
    web_as: Web,
    commissioner_a: User,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = _register(web_as(commissioner_a), reg, **fields)
    assert response.status_code == 400
    match = re.search(
        rf'id="field-{field}".*?class="field-error"[^>]*>(.*?)</p>', _text(response), re.S
    )
    assert match is not None, field
    assert message in match.group(1)
    assert not Resident.objects.filter(name="王大力").exists()


def test_resident_create__duplicate_id_number__links_to_the_existing_resident(
    reg: RegistryWorld, web_as: Web, commissioner_a: User, commissioner_b: User
) -> None:
    response = _register(web_as(commissioner_a), reg, id_number=WANG_JIANGUO_ID)
    page = _text(response)
    assert response.status_code == 400
    assert "This ID number is already registered" in page
    assert f'href="/registry/residents/{reg.jianguo.pk}/" data-testid="existing-resident"' in page

    # Someone outside the commissioner's courtyards: told, but not shown who.
    other = web_as(commissioner_b).post(
        "/registry/residents/new/",
        {
            "courtyard": reg.world.courtyard_b.pk,
            "home": f"h:{reg.household_b.pk}",
            "relation_to_head": "spouse",
            "name": "张三",
            "id_number": WANG_JIANGUO_ID,
            "residence_type": "registered",
        },
        **EN,
    )
    assert other.status_code == 400
    assert "This ID number is already registered" in _text(other)
    assert f"/registry/residents/{reg.jianguo.pk}/" not in _text(other)
    assert "王建国" not in _text(other)


def test_resident_create__household_of_another_courtyard__is_not_offered(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    form = _text(client.get("/registry/residents/new/", **EN))
    assert f'value="h:{reg.household_a.pk}"' in form  # their only courtyard is chosen already
    assert f'value="h:{reg.household_b.pk}"' not in form
    response = _register(
        client, reg, courtyard=reg.world.courtyard_b.pk, home=f"h:{reg.household_b.pk}"
    )
    assert response.status_code == 400
    assert not Resident.objects.filter(name="王大力").exists()
    assert client.get(f"/registry/residents/new/?household={reg.household_b.pk}").status_code == 404


def test_resident_create__courtyard_picker__lists_that_courtyards_homes(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    page = _text(
        web_as(dispatcher).get(
            "/registry/residents/new/", {"courtyard": reg.world.courtyard_b.pk}, **EN
        )
    )
    assert f'value="h:{reg.household_b.pk}"' in page
    assert f'value="p:{reg.world.unit_b.pk}"' in page
    assert f'value="h:{reg.household_a.pk}"' not in page
    assert f'name="courtyard" value="{reg.world.courtyard_b.pk}"' in page


def test_resident_edit__changes_the_record_and_keeps_numbers_left_empty(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    form = _text(client.get(f"/registry/residents/{reg.jianguo.pk}/edit/", **EN))
    assert WANG_JIANGUO_PHONE not in form
    assert WANG_JIANGUO_ID not in form
    assert "Leave empty to keep 139****0002." in form
    response = client.post(
        f"/registry/residents/{reg.jianguo.pk}/edit/",
        {
            "name": "王建国",
            "relation_to_head": "spouse",
            "residence_type": "registered",
            "work_or_school": "社区志愿者",
            "moved_in_on": "1975-03-01",
            "phone2": "0833-2999888",
        },
        **EN,
    )
    assert response.status_code == 302
    jianguo = Resident.objects.get(pk=reg.jianguo.pk)
    assert (jianguo.work_or_school, jianguo.phone_reveal(), jianguo.phone2_masked) == (
        "社区志愿者",
        WANG_JIANGUO_PHONE,
        "0833-***9888",
    )
    assert jianguo.id_number_reveal() == WANG_JIANGUO_ID
    event = AuditEvent.objects.filter(action="resident.updated").latest("seq")
    assert set(event.data["fields"]) == {"work_or_school", "phone2"}


def test_resident_edit__duplicate_id_number__is_refused_with_a_link(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    response = web_as(dispatcher).post(
        f"/registry/residents/{reg.li.pk}/edit/",
        {
            "name": "李四",
            "id_number": WANG_ID,
            "relation_to_head": "head",
            "residence_type": "migrant",
        },
        **EN,
    )
    assert response.status_code == 400
    assert f'href="/registry/residents/{reg.wang.pk}/"' in _text(response)
    assert Resident.objects.get(pk=reg.li.pk).id_number_reveal() == LI_ID


def test_resident_move_out__records_the_move_and_keeps_the_history(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    url = f"/registry/residents/{reg.xiaoming.pk}/move-out/"
    future = client.post(url, {"on": "2999-01-01"}, **EN)
    assert future.status_code == 400
    assert "not in the future" in _text(future)
    response = client.post(url, {"on": clock.today().isoformat(), "reason": "上学"}, **EN)
    assert response.status_code == 302
    xiaoming = Resident.objects.get(pk=reg.xiaoming.pk)
    assert xiaoming.status == ResidentStatus.MOVED_OUT
    page = _text(client.get(f"/registry/residents/{xiaoming.pk}/", **EN))
    assert "Moves back in" in page
    assert "上学" in page


def test_resident_change_household_and_move_in__pick_a_household_of_a_courtyard(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    client = web_as(dispatcher)
    url = f"/registry/residents/{reg.xiaoming.pk}/change-household/"
    form = _text(client.get(url, {"courtyard": reg.world.courtyard_b.pk}, **EN))
    assert f'<option value="{reg.household_b.pk}"' in form
    today = clock.today().isoformat()
    response = client.post(
        url,
        {
            "courtyard": reg.world.courtyard_b.pk,
            "household": reg.household_b.pk,
            "relation_to_head": "other",
            "on": today,
        },
    )
    assert response.status_code == 302
    assert Resident.objects.get(pk=reg.xiaoming.pk).household_id == reg.household_b.pk
    kinds = list(
        ResidenceEvent.objects.filter(resident=reg.xiaoming).values_list("kind", flat=True)
    )
    assert kinds == ["moved_in", "household_changed"]

    client.post(f"/registry/residents/{reg.xiaoming.pk}/move-out/", {"on": today})
    back = client.post(
        f"/registry/residents/{reg.xiaoming.pk}/move-in/",
        {
            "courtyard": reg.world.courtyard_a.pk,
            "household": reg.household_a.pk,
            "relation_to_head": "grandchild",
            "on": today,
        },
    )
    assert back.status_code == 302
    xiaoming = Resident.objects.get(pk=reg.xiaoming.pk)
    assert (xiaoming.status, xiaoming.household_id) == ("active", reg.household_a.pk)


def test_resident_tags__add_and_remove_through_htmx(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    added = client.post(
        f"/registry/residents/{reg.jianguo.pk}/tags/",
        {"tag": "veteran", "note": "抗美援朝"},
        **HTMX,
    )
    assert added.status_code == 200
    assert 'id="care-tags"' in _text(added)
    assert "Veteran" in _text(added)
    assert reg.jianguo.tags.filter(tag__code="veteran").exists()
    unknown = client.post(f"/registry/residents/{reg.jianguo.pk}/tags/", {"tag": "nope"}, **HTMX)
    assert "field-error" in _text(unknown)
    removed = client.post(f"/registry/residents/{reg.jianguo.pk}/tags/veteran/remove/", **HTMX)
    assert removed.status_code == 200
    assert not reg.jianguo.tags.filter(tag__code="veteran").exists()
    assert (
        client.post(f"/registry/residents/{reg.jianguo.pk}/tags/veteran/remove/").status_code == 404
    )


def test_household__create_then_set_head(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    response = client.post(
        "/registry/households/new/",
        {"courtyard": reg.world.courtyard_a.pk, "place": reg.world.unit_a.pk},
        **EN,
    )
    assert response.status_code == 302
    created = Household.objects.exclude(pk=reg.household_a.pk).get(place=reg.world.unit_a)
    page = _text(client.get(response["Location"], **EN))
    assert "No one lives in this household yet." in page
    house = client.post(
        "/registry/households/new/",
        {"courtyard": reg.world.courtyard_a.pk, "place": reg.world.house_a.pk},
        **EN,
    )
    assert house.status_code == 400  # the house has units: households live in them
    assert created.pk

    head = client.post(
        f"/registry/households/{reg.household_a.pk}/head/",
        {"resident": reg.jianguo.pk, "previous_head_relation": "spouse"},
        **EN,
    )
    assert head.status_code == 302
    assert Household.objects.get(pk=reg.household_a.pk).head_id == reg.jianguo.pk
    assert Resident.objects.get(pk=reg.wang.pk).relation_to_head == "spouse"


def test_house_rental_vehicle_forms__save_through_the_services(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    client = web_as(commissioner_a)
    w = reg.world
    house = client.post(
        f"/registry/houses/{w.house_a.pk}/edit/",
        {
            "house_number": "红旗巷1号",
            "owner": reg.jianguo.pk,
            "floors": "4",
            "use": "mixed",
            "self_built": "on",
        },
    )
    assert house.status_code == 302
    assert (
        HouseProfile.objects.get(house=w.house_a).floors,
        HouseProfile.objects.get(house=w.house_a).use,
    ) == (4, "mixed")
    bad_floors = client.post(
        f"/registry/houses/{w.house_a.pk}/edit/", {"floors": "0", "use": "mixed"}, **EN
    )
    assert bad_floors.status_code == 400

    rental = client.post(
        f"/registry/rentals/new/?place={w.unit_a.pk}",
        {
            "courtyard": w.courtyard_a.pk,
            "place": w.unit_a.pk,
            "landlord": reg.jianguo.pk,
            "tenants": [reg.xiaoming.pk],
            "starts_on": "2025-01-01",
            "ends_on": "2024-01-01",
            "registration_state": "registered",
        },
        **EN,
    )
    assert rental.status_code == 400
    assert "The rental ends before it starts" in _text(rental)
    rental = client.post(
        f"/registry/rentals/new/?place={w.unit_a.pk}",
        {
            "courtyard": w.courtyard_a.pk,
            "place": w.unit_a.pk,
            "landlord": reg.jianguo.pk,
            "tenants": [reg.xiaoming.pk],
            "registration_state": "registered",
        },
    )
    assert rental.status_code == 302
    created = Rental.objects.get(place=w.unit_a)
    assert [t.pk for t in created.tenants.all()] == [reg.xiaoming.pk]

    inspected = client.post(f"/registry/rentals/{created.pk}/inspect/", **HTMX)
    assert inspected.status_code == 200
    assert Rental.objects.get(pk=created.pk).last_inspected_on == clock.today()
    assert 'id="rental-' in _text(inspected)

    plate = client.post(
        f"/registry/vehicles/new/?owner={reg.wang.pk}",
        {
            "courtyard": w.courtyard_a.pk,
            "plate": "京A1",
            "kind": "car",
            "owner": reg.wang.pk,
            "place": w.house_a.pk,
        },
        **EN,
    )
    assert plate.status_code == 400
    assert "A plate has 7 characters" in _text(plate)
    vehicle = client.post(
        f"/registry/vehicles/new/?owner={reg.wang.pk}",
        {"plate": "川L·88888", "kind": "car", "owner": reg.wang.pk, "place": w.house_a.pk},
    )
    assert vehicle.status_code == 302
    car = Vehicle.objects.get(plate="川L88888")
    assert (car.owner_id, car.place_id) == (reg.wang.pk, w.house_a.pk)
    taken = client.post(
        f"/registry/vehicles/{car.pk}/edit/",
        {"plate": "川L12345", "kind": "car", "owner": reg.wang.pk, "place": w.house_a.pk},
        **EN,
    )
    assert "A vehicle with this plate is already registered." in _text(taken)
    assert (
        client.post(f"/registry/vehicles/{car.pk}/remove/", {"reason": "卖了"}).status_code == 302
    )
    assert not Vehicle.objects.filter(pk=car.pk).exists()


# --- people, house, car --------------------------------------------------------------------------
def test_place_overview__courtyard__households_rentals_cars_and_tags(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    client = web_as(dispatcher)
    a = _text(client.get(f"/registry/places/{reg.world.courtyard_a.pk}/", **EN))
    for text in (
        "王秀英",
        "王建国",
        "王小明",
        "红旗巷1号",
        "owner 王建国",
        "川L12345",
        "Parked in the courtyard",
        "Elderly, living alone",
        "Left-behind child",
    ):
        assert text in a, text
    assert "李四" not in a
    b = _text(client.get(f"/registry/places/{reg.world.house_b.pk}/", **EN))
    assert "landlord 王建国" in b
    assert "李四" in b
    assert "川LD12345" in b
    assert "Inspected today" in b
    assert "Migrant" in b


def test_place_overview__area__asks_for_a_courtyard(
    reg: RegistryWorld, web_as: Web, commissioner_a: User
) -> None:
    page = _text(web_as(commissioner_a).get(f"/registry/places/{reg.world.area.pk}/", **EN))
    assert f'href="/registry/places/{reg.world.courtyard_a.pk}/"' in page
    assert f'href="/registry/places/{reg.world.courtyard_b.pk}/"' not in page


def test_expiring__lists_migrants_soonest_first_in_plain_words(
    reg: RegistryWorld, web_as: Web, dispatcher: User, commissioner_a: User
) -> None:
    _grow(reg, 4)
    page = web_as(dispatcher).get("/registry/expiring/", {"within": "7"}, **EN)
    names = _names(page)
    assert names[:2] == ["家属0", "家属1"]  # expire today, tomorrow
    assert "李四" not in names  # 10 days away
    assert "expires today" in _text(page)
    assert "expires in 1 day" in _text(page)
    month = _names(web_as(dispatcher).get("/registry/expiring/", **EN))
    assert "李四" in month
    assert _names(web_as(commissioner_a).get("/registry/expiring/", **EN)) == ["家属1", "家属3"]


# --- the import wizard ---------------------------------------------------------------------------
def _csv(rows: list[list[Any]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


IMPORT_HEADER = ["姓名", "身份证号", "联系电话", "院落", "门牌号", "房号", "与户主关系"]
IMPORT_IDS = [fake_id_number(birth_date=dt.date(1990, 1, 2), sequence=600 + i) for i in range(3)]


@pytest.fixture
def inline_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Import jobs run in the test's thread once the request's transaction commits."""
    from sanan.registry import imports

    monkeypatch.setattr(imports, "job_runner", imports._run_job_inline)


def _upload(client: Client, data: bytes, name: str = "居民.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post("/registry/import/", {"file": upload, "kind": ""}, **EN)


def _mapping_post(page: str, action: str) -> dict[str, str]:
    """Post back the proposed mapping the page shows (the selected option of each column)."""
    data = {"action": action}
    for name, body in re.findall(r'<select name="(col_\d+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_import_wizard__check_then_import(
    reg: RegistryWorld,
    web_as: Web,
    dispatcher: User,
    inline_jobs: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = web_as(dispatcher)
    rows = [IMPORT_HEADER] + [
        [f"导入{i}", IMPORT_IDS[i], fake_mobile(700 + i), "A院", "A1号", "101室", "子女"]
        for i in range(3)
    ]
    uploaded = _upload(client, _csv(rows))
    assert uploaded.status_code == 302
    job_url = uploaded["Location"]
    page = _text(client.get(job_url, **EN))
    assert "姓名" in page
    assert "Check every row" in page
    assert IMPORT_IDS[0] not in page  # samples are masked
    mapping = _mapping_post(page, "check")
    assert sorted(v for v in mapping.values() if v not in ("check", "")) == sorted(
        ["name", "id_number", "phone", "courtyard", "house", "unit", "relation_to_head"]
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(job_url, mapping, **EN).status_code == 302
    checked = _text(client.get(job_url, **EN))
    assert 'data-state="checked"' in checked
    assert "What the import would do" in checked
    assert "Import now" in checked
    assert not Resident.objects.filter(name__startswith="导入").exists()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url, {**mapping, "action": "import"}, **EN)
    done = _text(client.get(job_url, **EN))
    assert 'data-state="done"' in done
    assert Resident.objects.filter(name__startswith="导入", household=reg.household_a).count() == 3
    progress = client.get(f"{job_url}progress/", **HTMX)
    assert progress["HX-Refresh"] == "true"


def test_import_wizard__bad_rows__lists_each_row_and_imports_nothing(
    reg: RegistryWorld,
    web_as: Web,
    dispatcher: User,
    inline_jobs: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = web_as(dispatcher)
    wrong = _wrong_check_digit(IMPORT_IDS[1])
    rows = [
        IMPORT_HEADER,
        ["好人", IMPORT_IDS[0], "13800001234", "A院", "A1号", "101室", "子女"],
        ["错号", wrong, "13800001235", "A院", "A1号", "101室", "子女"],
        ["无院", IMPORT_IDS[2], "13800001236", "Z院", "Z1号", "101室", "子女"],
    ]
    job_url = _upload(client, _csv(rows))["Location"]
    mapping = _mapping_post(_text(client.get(job_url, **EN)), "import")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url, mapping, **EN)
    page = _text(client.get(job_url, **EN))
    assert 'data-state="refused"' in page
    problems = re.search(r'data-testid="import-problems">(.*?)</table>', page, re.S)
    assert problems is not None
    assert re.findall(r'data-label="Row">(\d+)<', problems.group(1)) == ["3", "4"]
    assert "check digit" in problems.group(1)
    assert wrong not in page
    assert "13800001235" not in page
    assert not Resident.objects.filter(name__in=["好人", "错号", "无院"]).exists()


CHECK_DIGIT = {
    "en": "The check digit does not match: please check the ID number again.",
    "zh-hans": "校验位不符，请重新核对身份证号。",
}
SAME_ID_AS_ROW_2 = {
    "en": "The same ID number is already in row 2 of this file: list each person once.",
    "zh-hans": "相同的身份证号已在文件第2行出现，每人只能填写一次。",
}


@pytest.mark.parametrize(
    ("checked_in", "shown_in"),
    [("en", "en"), ("zh-hans", "zh-hans"), ("zh-hans", "en"), ("en", "zh-hans")],
)
def test_import_wizard__bad_rows__reasons_in_the_language_of_the_page(
    reg: RegistryWorld,
    web_as: Web,
    dispatcher: User,
    inline_jobs: None,
    django_capture_on_commit_callbacks: Any,
    checked_in: str,
    shown_in: str,
) -> None:
    """The reasons follow the page's language (the switcher), not the language the check ran
    in: a worker checks a file in Chinese, a colleague reads the report in English."""
    client = web_as(dispatcher)

    def switch(language: str) -> None:
        assert client.post("/i18n/setlang/", {"language": language}).status_code == 302

    rows = [
        IMPORT_HEADER,
        ["好人", IMPORT_IDS[0], "13800001234", "A院", "A1号", "101室", "子女"],
        ["错号", _wrong_check_digit(IMPORT_IDS[1]), "13800001235", "A院", "A1号", "101室", "子女"],
        ["重号", IMPORT_IDS[0], "13800001236", "A院", "A1号", "101室", "子女"],
    ]
    switch(checked_in)
    job_url = _upload(client, _csv(rows))["Location"]
    mapping = _mapping_post(_text(client.get(job_url)), "check")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(job_url, mapping).status_code == 302
    switch(shown_in)
    page = _text(client.get(job_url))
    assert 'data-state="refused"' in page
    problems = re.search(r'data-testid="import-problems">(.*?)</table>', page, re.S)
    assert problems is not None
    other = "zh-hans" if shown_in == "en" else "en"
    for reason in (CHECK_DIGIT, SAME_ID_AS_ROW_2):
        assert reason[shown_in] in problems.group(1)
        assert reason[other] not in page


def test_import_wizard__only_for_import_roles_and_own_jobs(
    reg: RegistryWorld, web_as: Web, dispatcher: User, commissioner_a: User, handler: User
) -> None:
    from sanan.accounts.roles import Role
    from tests.factories import UserFactory

    assert web_as(commissioner_a).get("/registry/import/").status_code == 403
    assert web_as(handler).get("/registry/import/").status_code == 404
    job_url = _upload(web_as(dispatcher), _csv([IMPORT_HEADER]))
    assert job_url.status_code in (302, 400)
    colleague: User = UserFactory(roles=[(Role.DISPATCHER, reg.world.community)])  # type: ignore[assignment]
    rows = [IMPORT_HEADER, ["某人", IMPORT_IDS[0], "", "A院", "A1号", "101室", "子女"]]
    mine = _upload(web_as(dispatcher), _csv(rows))["Location"]
    assert web_as(colleague).get(mine).status_code == 404


def test_import_wizard__empty_file__says_so(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    response = _upload(web_as(dispatcher), b"")
    assert response.status_code == 400
    assert "error" in _text(response)


# --- export --------------------------------------------------------------------------------------
def test_resident_export__masked_by_default_and_filtered_like_the_list(
    reg: RegistryWorld, web_as: Web, dispatcher: User
) -> None:
    client = web_as(dispatcher)
    listing = _text(client.get("/registry/", {"residence_type": "migrant"}, **EN))
    assert 'action="/registry/export/"' in listing
    response = client.post("/registry/export/", {"residence_type": "migrant", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    text = response.content.decode("utf-8-sig")
    assert "李四" in text
    assert "王秀英" not in text
    assert LI_ID not in text
    assert f"{LI_ID[:3]}***********{LI_ID[-4:]}" in text


def test_resident_export__full_numbers__need_a_reason_and_are_audited(
    reg: RegistryWorld, web_as: Web, leader: User
) -> None:
    client = web_as(leader)
    refused = client.post("/registry/export/", {"q": LI_PHONE, "format": "csv", "reveal": "on"})
    assert refused.status_code == 302  # back to the list, with the reason asked for
    assert not AuditEvent.objects.filter(action="pii.revealed").exists()
    response = client.post(
        "/registry/export/",
        {"q": LI_PHONE, "format": "csv", "reveal": "on", "reason": "核对租户"},
    )
    assert response.status_code == 200
    assert LI_ID in response.content.decode("utf-8-sig")
    event = AuditEvent.objects.filter(action="pii.revealed").latest("seq")
    assert event.reason == "核对租户"


def test_resident_export__roles_without_export__are_refused(
    reg: RegistryWorld, web_as: Web, persona: Callable[[str], User]
) -> None:
    client = web_as(persona("p-butler"))
    assert 'action="/registry/export/"' not in _text(client.get("/registry/", **EN))
    assert client.post("/registry/export/", {"format": "csv"}).status_code == 403
