"""The registry API as each role meets it: masked numbers, reveal with a reason, 404 outside the
scope and 403 for writes without ``resident.edit``, searches that keep numbers out of URLs, and
the people-house-car overview with a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.audit.models import AuditEvent
from sanan.core import clock
from sanan.registry.models import Household, Resident, ResidentStatus, Vehicle
from sanan.registry.services import resident_register, resident_tag_add
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

API = "/api/v1/registry"
SECRETS = (WANG_ID, WANG_PHONE, LANDLINE, WANG_JIANGUO_ID, WANG_JIANGUO_PHONE, XIAOMING_ID, LI_ID)

Api = Callable[[User], APIClient]


def _no_plain_numbers(body: Any) -> None:
    text = json.dumps(body, ensure_ascii=False)
    for secret in (*SECRETS, LI_PHONE):
        digits = "".join(ch for ch in secret if ch.isalnum())
        runs = {digits[i : i + 7] for i in range(len(digits) - 6)}
        assert not [r for r in runs if r in text], "a protected number is in the response"


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- reading, masked -----------------------------------------------------------------------------
def test_resident_api__retrieve__shows_masks_and_never_the_numbers(
    reg: RegistryWorld, api_as: Api, commissioner_a: User
) -> None:
    response = api_as(commissioner_a).get(
        f"{API}/residents/{reg.wang.pk}/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id_number_masked"] == f"{WANG_ID[:3]}***********{WANG_ID[-4:]}"
    assert (body["phone_masked"], body["phone2_masked"]) == ("139****0001", "0833-***3456")
    assert (body["gender"], body["birth_date"], body["relation_label"]) == (
        "female",
        "1950-05-01",
        "Head of household",
    )
    assert [t["code"] for t in body["tags"]] == ["elderly_alone"]
    assert body["tags"][0]["label"] == "Elderly, living alone"
    _no_plain_numbers(body)


def test_resident_api__every_list__is_masked(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    client = api_as(dispatcher)
    for path in (
        "residents/",
        "residents/expiring/",
        "households/",
        "houses/",
        "rentals/",
        "vehicles/",
        f"places/{reg.world.courtyard_a.pk}/overview/",
        f"places/{reg.world.courtyard_b.pk}/overview/",
        f"residents/{reg.wang.pk}/history/",
    ):
        response = client.get(f"{API}/{path}")
        assert response.status_code == 200, path
        _no_plain_numbers(response.json())


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("p-commissioner-a", {"wang", "jianguo", "xiaoming"}),
        ("p-commissioner-b", {"li"}),
        ("p-resident", {"wang", "jianguo", "xiaoming"}),  # their own household (unit A1-101)
        ("p-butler", {"wang", "jianguo", "xiaoming", "li"}),
        ("p-dispatcher", {"wang", "jianguo", "xiaoming", "li"}),
        ("p-leader", {"wang", "jianguo", "xiaoming", "li"}),
        ("p-committee", {"wang", "jianguo", "xiaoming", "li"}),
    ],
)
def test_resident_api__list__is_scoped_to_the_role(
    reg: RegistryWorld, api_as: Api, username: str, expected: set[str]
) -> None:
    ids = {
        "wang": reg.wang.pk,
        "jianguo": reg.jianguo.pk,
        "xiaoming": reg.xiaoming.pk,
        "li": reg.li.pk,
    }
    response = api_as(User.objects.get(username=username)).get(f"{API}/residents/")
    assert _ids(response) == {ids[name] for name in expected}


@pytest.mark.parametrize("username", ["p-handler", "p-unitmember"])
def test_registry_api__roles_without_resident_view__find_nothing_there(
    reg: RegistryWorld, api_as: Api, username: str
) -> None:
    client = api_as(User.objects.get(username=username))
    for path in ("residents/", f"residents/{reg.wang.pk}/", "vehicles/", "care-tags/"):
        assert client.get(f"{API}/{path}").status_code == 404, path


def test_resident_api__other_courtyard__is_not_found_for_every_action(
    reg: RegistryWorld, api_as: Api, commissioner_b: User
) -> None:
    client = api_as(commissioner_b)
    pk = reg.wang.pk
    before = AuditEvent.objects.count()
    calls = [
        client.get(f"{API}/residents/{pk}/"),
        client.get(f"{API}/residents/{pk}/history/"),
        client.patch(f"{API}/residents/{pk}/", {"name": "改名"}, format="json"),
        client.post(f"{API}/residents/{pk}/move-out/", {"on": "2026-01-01"}, format="json"),
        client.post(f"{API}/residents/{pk}/reveal/", {"reason": "上门核实"}, format="json"),
        client.post(f"{API}/residents/{pk}/tags/", {"tag": "veteran"}, format="json"),
        client.get(f"{API}/households/{reg.household_a.pk}/"),
        client.get(f"{API}/houses/{reg.world.house_a.pk}/"),
        client.get(f"{API}/vehicles/{reg.car_a.pk}/"),
        client.get(f"{API}/places/{reg.world.courtyard_a.pk}/overview/"),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls)
    assert {c.json()["code"] for c in calls} == {"not_found"}
    assert AuditEvent.objects.count() == before
    assert Resident.objects.get(pk=pk).name == "王秀英"


@pytest.mark.parametrize("username", ["p-resident", "p-butler", "p-committee", "p-leader"])
def test_resident_api__read_only_roles__get_403_on_writes_in_scope(
    reg: RegistryWorld, api_as: Api, username: str
) -> None:
    client = api_as(User.objects.get(username=username))
    pk = reg.wang.pk
    calls = [
        client.patch(f"{API}/residents/{pk}/", {"name": "改名"}, format="json"),
        client.post(f"{API}/residents/{pk}/move-out/", {"on": "2026-01-01"}, format="json"),
        client.post(f"{API}/residents/{pk}/tags/", {"tag": "veteran"}, format="json"),
        client.delete(f"{API}/residents/{pk}/tags/elderly_alone/"),
        client.post(
            f"{API}/residents/",
            {"household": reg.household_a.pk, "name": "新人", "relation_to_head": "child"},
            format="json",
        ),
        client.post(f"{API}/households/{reg.household_a.pk}/set-head/", {"resident": pk}),
    ]
    assert [c.status_code for c in calls] == [403] * len(calls)
    assert Resident.objects.get(pk=pk).status == ResidentStatus.ACTIVE


# --- revealing -----------------------------------------------------------------------------------
def test_resident_api__reveal__needs_the_permission(
    reg: RegistryWorld, api_as: Api, commissioner_a: User
) -> None:
    response = api_as(commissioner_a).post(
        f"{API}/residents/{reg.wang.pk}/reveal/", {"reason": "上门核实身份"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "pii.forbidden"


def test_resident_api__reveal__needs_a_reason(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    before = AuditEvent.objects.count()
    client = api_as(dispatcher)
    for body in ({}, {"reason": "  "}, {"reason": "查"}):
        response = client.post(f"{API}/residents/{reg.wang.pk}/reveal/", body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] in {"pii.reason_required", "validation.invalid"}
        assert "reason" in response.json()["fields"]
    assert AuditEvent.objects.count() == before


def test_resident_api__reveal__with_a_reason__shows_and_audits(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    response = api_as(dispatcher).post(
        f"{API}/residents/{reg.wang.pk}/reveal/",
        {"reason": "低保复核需要身份证号", "numbers": ["id_number", "phone", "phone2"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"id_number": WANG_ID, "phone": WANG_PHONE, "phone2": LANDLINE}
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.actor_id, event.reason) == (
        "pii.revealed",
        dispatcher.pk,
        "低保复核需要身份证号",
    )
    assert (event.object_type, event.object_id) == ("registry.resident", str(reg.wang.pk))
    assert WANG_ID not in json.dumps(event.data) + event.object_label


# --- registering through the API -----------------------------------------------------------------
def test_resident_api__create_in_a_dwelling__founds_a_household(
    reg: RegistryWorld, api_as: Api, commissioner_b: User
) -> None:
    number = fake_id_number(birth_date=dt.date(1988, 8, 8), sequence=301, region="510107")
    response = api_as(commissioner_b).post(
        f"{API}/residents/",
        {
            "place": reg.world.unit_b.pk,
            "name": "周八",
            "id_number": number.lower(),
            "phone": "+86 137 0000 1111",
            "residence_type": "renter",
            "registration_expires_on": str(clock.today() + dt.timedelta(days=100)),
            "tags": ["migrant_child"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["household"]["code"] == f"{reg.world.unit_b.code}-02"
    assert (body["gender"], body["birth_date"], body["phone_masked"]) == (
        "male",
        "1988-08-08",
        "137****1111",
    )
    assert [t["code"] for t in body["tags"]] == ["migrant_child"]
    assert Household.objects.get(pk=body["household"]["id"]).head_id == body["id"]
    _no_plain_numbers(body)
    assert number not in json.dumps(body)


def test_resident_api__invalid_id_number__says_why_on_the_field(
    reg: RegistryWorld, api_as: Api, commissioner_b: User
) -> None:
    number = fake_id_number(birth_date=dt.date(1988, 8, 8), sequence=301)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = api_as(commissioner_b).post(
        f"{API}/residents/",
        {"place": reg.world.unit_b.pk, "name": "周八", "id_number": wrong},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "resident.id_number_checksum"
    assert body["message"] == "The check digit does not match: please check the ID number again."
    assert list(body["fields"]) == ["id_number"]
    assert wrong not in response.content.decode()


def test_resident_api__id_number_already_registered__answers_409_with_the_resident(
    reg: RegistryWorld, api_as: Api, commissioner_a: User, commissioner_b: User
) -> None:
    count = Resident.objects.count()
    same_courtyard = api_as(commissioner_a).post(
        f"{API}/residents/",
        {
            "household": reg.household_a.pk,
            "name": "王秀英",
            "id_number": WANG_ID,
            "relation_to_head": "parent",
        },
        format="json",
    )
    assert same_courtyard.status_code == 409
    assert same_courtyard.json()["code"] == "resident.already_registered"
    assert same_courtyard.json()["existing_resident_id"] == reg.wang.pk
    # Someone who may not open that record learns it exists, not where or who.
    elsewhere = api_as(commissioner_b).post(
        f"{API}/residents/",
        {"place": reg.world.unit_b.pk, "name": "王秀英", "id_number": WANG_ID},
        format="json",
    )
    assert elsewhere.status_code == 409
    assert elsewhere.json()["existing_resident_id"] is None
    assert Resident.objects.count() == count


def test_resident_api__patch__changes_only_what_was_sent(
    reg: RegistryWorld, api_as: Api, commissioner_a: User
) -> None:
    response = api_as(commissioner_a).patch(
        f"{API}/residents/{reg.jianguo.pk}/",
        {"phone": "13800001234", "work_or_school": "社区志愿者"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["phone_masked"], body["work_or_school"], body["name"]) == (
        "138****1234",
        "社区志愿者",
        "王建国",
    )
    assert body["id_number_masked"].endswith(WANG_JIANGUO_ID[-4:])


def test_resident_api__moves__keep_the_history(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    client = api_as(dispatcher)
    pk = reg.xiaoming.pk
    today = clock.today()
    changed = client.post(
        f"{API}/residents/{pk}/change-household/",
        {
            "household": reg.household_b.pk,
            "on": str(today),
            "reason": "随父母",
        },
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["place"]["id"] == reg.world.unit_b.pk
    out = client.post(
        f"{API}/residents/{pk}/move-out/", {"on": str(today), "reason": "回老家上学"}, format="json"
    )
    assert (out.status_code, out.json()["status"]) == (200, "moved_out")
    back = client.post(
        f"{API}/residents/{pk}/move-in/",
        {"household": reg.household_a.pk, "on": str(today), "relation_to_head": "grandchild"},
        format="json",
    )
    assert (back.status_code, back.json()["status"]) == (200, "active")
    history = client.get(f"{API}/residents/{pk}/history/").json()
    assert [e["kind"] for e in history] == [
        "moved_in",
        "household_changed",
        "moved_out",
        "moved_in",
    ]
    assert history[1]["from_household"]["id"] == reg.household_a.pk
    assert history[1]["to_place"]["id"] == reg.world.unit_b.pk


def test_resident_api__move_into_a_household_out_of_scope__is_not_found(
    reg: RegistryWorld, api_as: Api, commissioner_a: User
) -> None:
    response = api_as(commissioner_a).post(
        f"{API}/residents/{reg.xiaoming.pk}/change-household/",
        {"household": reg.household_b.pk, "on": str(clock.today())},
        format="json",
    )
    assert response.status_code == 404
    assert Resident.objects.get(pk=reg.xiaoming.pk).household_id == reg.household_a.pk


# --- searching -----------------------------------------------------------------------------------
def test_resident_api__numbers_in_the_url__are_refused(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    client = api_as(dispatcher)
    for query in ({"phone": WANG_PHONE}, {"id_number": WANG_ID}, {"q": "139 1234 0001"}):
        response = client.get(f"{API}/residents/", query)
        assert response.status_code == 400
        assert response.json()["code"] == "registry.pii_in_url"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"id_number": WANG_ID.lower()}, {"wang"}),
        ({"id_number": f"{WANG_ID[:6]} {WANG_ID[6:]}"}, {"wang"}),
        ({"phone": "139-1234-0001"}, {"wang"}),
        ({"phone": "(0833)2123456"}, {"wang"}),  # the second phone
        ({"q": WANG_JIANGUO_ID}, {"jianguo"}),
        ({"q": "+86 137 1234 5678"}, {"li"}),
        ({"q": "王"}, {"wang", "jianguo", "xiaoming"}),
        ({"q": "川l12"}, {"jianguo"}),
        ({"q": "川L"}, {"jianguo", "li"}),
        ({"q": "秀英"}, {"wang"}),
        ({"name": "小明"}, {"xiaoming"}),
        ({"plate": "ld123"}, {"li"}),
        ({"tag": ["elderly_alone", "left_behind_child"]}, {"wang", "xiaoming"}),
        ({"residence_type": "migrant"}, {"li"}),
    ],
)
def test_resident_api__search__finds_people_as_workers_type(
    reg: RegistryWorld, api_as: Api, dispatcher: User, query: dict[str, Any], expected: set[str]
) -> None:
    ids = {
        "wang": reg.wang.pk,
        "jianguo": reg.jianguo.pk,
        "xiaoming": reg.xiaoming.pk,
        "li": reg.li.pk,
    }
    response = api_as(dispatcher).post(f"{API}/residents/search/", query, format="json")
    assert _ids(response) == {ids[n] for n in expected}


def test_resident_api__search_with_an_invalid_number__says_why(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    response = api_as(dispatcher).post(
        f"{API}/residents/search/", {"id_number": WANG_ID[:17] + "0"}, format="json"
    )
    if WANG_ID[17] == "0":
        pytest.skip("the check digit happens to be 0")
    assert response.status_code == 400
    assert response.json()["code"] == "resident.id_number_checksum"


def test_resident_api__search__other_courtyards_stay_invisible(
    reg: RegistryWorld, api_as: Api, commissioner_b: User
) -> None:
    response = api_as(commissioner_b).post(
        f"{API}/residents/search/", {"id_number": WANG_ID}, format="json"
    )
    assert _ids(response) == set()


def test_resident_api__list_filters_by_place_and_status(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    client = api_as(dispatcher)
    assert _ids(client.get(f"{API}/residents/", {"place": reg.world.courtyard_b.pk})) == {reg.li.pk}
    Resident.objects.filter(pk=reg.li.pk).update(
        status=ResidentStatus.MOVED_OUT, moved_out_on=clock.today()
    )
    assert _ids(client.get(f"{API}/residents/", {"place": reg.world.courtyard_b.pk})) == set()
    assert _ids(
        client.get(f"{API}/residents/", {"place": reg.world.courtyard_b.pk, "status": "any"})
    ) == {reg.li.pk}


def test_resident_api__expiring__lists_migrants_soonest_first(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    client = api_as(dispatcher)
    rows = client.get(f"{API}/residents/expiring/").json()["results"]
    assert [(r["id"], r["days_left"]) for r in rows] == [(reg.li.pk, 10)]
    assert client.get(f"{API}/residents/expiring/", {"within_days": 5}).json()["results"] == []


# --- houses, rentals, vehicles, tags -------------------------------------------------------------
def test_house_api__patch__sets_details_for_an_editor_only(
    reg: RegistryWorld, api_as: Api, commissioner_a: User, persona: Callable[[str], User]
) -> None:
    url = f"{API}/houses/{reg.world.house_a.pk}/"
    response = api_as(commissioner_a).patch(url, {"floors": 4, "use": "mixed"}, format="json")
    assert response.status_code == 200
    assert (response.json()["floors"], response.json()["owner"]["name"]) == (4, "王建国")
    butler = api_as(persona("p-butler"))
    assert butler.get(url).json()["house_number"] == "红旗巷1号"
    assert butler.patch(url, {"floors": 5}, format="json").status_code == 403


def test_vehicle_api__plate_as_typed_and_taken(
    reg: RegistryWorld, api_as: Api, commissioner_b: User
) -> None:
    client = api_as(commissioner_b)
    taken = client.post(
        f"{API}/vehicles/", {"plate": "川L·12345", "owner": reg.li.pk}, format="json"
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "vehicle.plate_taken")
    made = client.post(
        f"{API}/vehicles/", {"plate": "川 lf 12345", "owner": reg.li.pk}, format="json"
    )
    assert made.status_code == 201
    assert (made.json()["plate"], made.json()["new_energy"], made.json()["place"]["id"]) == (
        "川LF12345",
        True,
        reg.world.unit_b.pk,
    )
    bad = client.post(f"{API}/vehicles/", {"plate": "川LA12345", "owner": reg.li.pk}, format="json")
    assert (bad.status_code, bad.json()["code"]) == (400, "vehicle.plate_new_energy")
    # an owner from another courtyard is not someone they can name
    other = client.post(
        f"{API}/vehicles/", {"plate": "川L77777", "owner": reg.wang.pk}, format="json"
    )
    assert (other.status_code, other.json()["code"]) == (400, "resident.unknown")
    assert client.delete(f"{API}/vehicles/{made.json()['id']}/").status_code == 204
    assert not Vehicle.objects.filter(plate="川LF12345").exists()


def test_rental_api__create_and_inspect(
    reg: RegistryWorld, api_as: Api, commissioner_b: User
) -> None:
    client = api_as(commissioner_b)
    response = client.post(
        f"{API}/rentals/",
        {"place": reg.world.house_b.pk, "landlord_name": "外地房东", "tenants": [reg.li.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    inspected = client.post(f"{API}/rentals/{pk}/inspect/", {"note": "消防通道畅通"}, format="json")
    assert inspected.json()["last_inspected_on"] == str(clock.today())
    stale = client.get(f"{API}/rentals/", {"not_inspected_since": str(clock.today())})
    assert {r["id"] for r in stale.json()["results"]} == {reg.rental_b.pk}


def test_care_tag_api__standard_and_custom(
    reg: RegistryWorld, api_as: Api, dispatcher: User, commissioner_a: User
) -> None:
    made = api_as(dispatcher).post(
        f"{API}/care-tags/",
        {"place": reg.world.community.pk, "label": "独居需每日问候"},
        format="json",
    )
    assert made.status_code == 201
    codes = [
        t["code"]
        for t in api_as(commissioner_a).get(f"{API}/care-tags/", HTTP_ACCEPT_LANGUAGE="en").json()
    ]
    assert codes[:7] == [
        "elderly_alone",
        "left_behind_child",
        "migrant_child",
        "disability",
        "low_income",
        "veteran",
        "serious_illness",
    ]
    assert made.json()["code"] in codes
    added = api_as(commissioner_a).post(
        f"{API}/residents/{reg.wang.pk}/tags/", {"tag": made.json()["code"]}, format="json"
    )
    assert {t["code"] for t in added.json()["tags"]} == {"elderly_alone", made.json()["code"]}


# --- the people-house-car overview ---------------------------------------------------------------
def test_overview_api__courtyard__people_rentals_cars_and_tags(
    reg: RegistryWorld, api_as: Api, commissioner_b: User, dispatcher: User
) -> None:
    a = api_as(dispatcher).get(f"{API}/places/{reg.world.courtyard_a.pk}/overview/").json()
    assert a["counts"]["households"] == 1
    assert a["counts"]["residents"] == 3
    assert a["counts"]["vehicles"] == 1
    assert [v["plate"] for v in a["vehicles_elsewhere"]] == ["川L12345"]
    (house,) = a["houses"]
    assert (house["house"]["house_number"], house["house"]["self_built"]) == ("红旗巷1号", True)
    assert [m["name"] for m in house["households"][0]["members"]] == ["王秀英", "王建国", "王小明"]
    assert {t["code"]: t["count"] for t in a["care_tags"]} == {
        "elderly_alone": 1,
        "left_behind_child": 1,
    }
    b = api_as(commissioner_b).get(f"{API}/places/{reg.world.courtyard_b.pk}/overview/").json()
    (house_b,) = b["houses"]
    (rental,) = house_b["rentals"]
    assert (rental["landlord_display"], [t["name"] for t in rental["tenants"]]) == (
        "王建国",
        ["李四"],
    )
    assert [v["plate"] for v in house_b["vehicles"]] == ["川LD12345"]
    assert b["counts"]["migrant"] == 1


def test_overview_api__resident__sees_their_household_in_their_house_only(
    reg: RegistryWorld, api_as: Api, resident: User
) -> None:
    client = api_as(resident)
    mine = client.get(f"{API}/places/{reg.world.unit_a.pk}/overview/").json()
    assert mine["counts"]["residents"] == 3
    assert mine["houses"][0]["house"]["house_number"] == ""  # the house's details are not theirs
    for above in (reg.world.house_a, reg.world.courtyard_a):  # only their part of it
        response = client.get(f"{API}/places/{above.pk}/overview/")
        assert response.status_code == 200
        counts = response.json()["counts"]
        assert (counts["residents"], counts["vehicles"], counts["rentals"]) == (3, 0, 0)
    assert client.get(f"{API}/places/{reg.world.courtyard_b.pk}/overview/").status_code == 404
    assert client.get(f"{API}/places/{reg.world.unit_b.pk}/overview/").status_code == 404


def test_overview_api__place_seen_but_without_registry_rights__is_forbidden(
    reg: RegistryWorld, api_as: Api
) -> None:
    from sanan.accounts.roles import Role
    from tests.factories import UserFactory

    # residents' registry rights over courtyard A, and a handler's view of the whole community
    user: User = UserFactory(  # type: ignore[assignment]
        roles=[
            (Role.RESIDENT, reg.world.unit_a),
            (Role.HANDLER, reg.world.community, reg.world.department),
        ]
    )
    response = api_as(user).get(f"{API}/places/{reg.world.courtyard_b.pk}/overview/")
    assert (response.status_code, response.json()["code"]) == (403, "auth.forbidden")


def test_overview_api__community__is_too_large_a_summary(
    reg: RegistryWorld, api_as: Api, dispatcher: User
) -> None:
    response = api_as(dispatcher).get(f"{API}/places/{reg.world.community.pk}/overview/")
    assert (response.status_code, response.json()["code"]) == (400, "registry.overview_level")


def _grow(reg: RegistryWorld, n: int, start: int = 0) -> None:
    """``n`` more households of two in courtyard A's unit and B's, each tagged, with a car."""
    from sanan.registry.services import rental_create, vehicle_register

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
            registration_expires_on=clock.today() + dt.timedelta(days=i),
        )
        resident_tag_add(actor=ACTOR, resident=member, tag="disability")
        vehicle_register(actor=ACTOR, plate=f"川L{i:05d}", owner=head)
        rental_create(actor=ACTOR, place=unit, tenants=[member], landlord=head)


@pytest.mark.parametrize(
    "path",
    [
        "residents/",
        "residents/expiring/",
        "households/",
        "rentals/",
        "vehicles/",
        "houses/",
        "overview-a",
        "overview-b",
    ],
)
def test_registry_api__query_count__does_not_grow_with_rows(
    reg: RegistryWorld, api_as: Api, dispatcher: User, path: str
) -> None:
    client = api_as(dispatcher)
    if path.startswith("overview"):
        place = reg.world.courtyard_a if path.endswith("a") else reg.world.house_b
        path = f"places/{place.pk}/overview/"

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/{path}")
        assert response.status_code == 200
        return len(queries)

    _grow(reg, 2)  # every kind of row present (an empty prefetch costs no query)
    count()  # the first request of a session also saves the session
    small = count()
    _grow(reg, 12, start=100)
    assert count() == small
    assert small <= 14


def test_overview_api__courtyard__stays_within_a_fixed_query_budget(
    reg: RegistryWorld,
    api_as: Api,
    dispatcher: User,
    django_assert_max_num_queries: Any,
) -> None:
    _grow(reg, 20)
    client = api_as(dispatcher)
    with django_assert_max_num_queries(14):
        response = client.get(f"{API}/places/{reg.world.courtyard_a.pk}/overview/")
    assert response.json()["counts"]["residents"] == 3 + 20  # 10 households of two in A1-101


# --- schema --------------------------------------------------------------------------------------
def test_registry_api__schema__documents_every_endpoint(db: None) -> None:
    import yaml
    from django.test import Client

    schema = yaml.safe_load(Client().get("/api/schema/").content)
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/registry/residents/", "get"),
        ("/api/v1/registry/residents/", "post"),
        ("/api/v1/registry/residents/search/", "post"),
        ("/api/v1/registry/residents/{id}/", "patch"),
        ("/api/v1/registry/residents/{id}/reveal/", "post"),
        ("/api/v1/registry/residents/{id}/move-out/", "post"),
        ("/api/v1/registry/residents/{id}/move-in/", "post"),
        ("/api/v1/registry/residents/{id}/change-household/", "post"),
        ("/api/v1/registry/residents/{id}/history/", "get"),
        ("/api/v1/registry/residents/expiring/", "get"),
        ("/api/v1/registry/households/", "post"),
        ("/api/v1/registry/houses/{id}/", "patch"),
        ("/api/v1/registry/rentals/{id}/inspect/", "post"),
        ("/api/v1/registry/vehicles/{id}/", "delete"),
        ("/api/v1/registry/care-tags/", "get"),
        ("/api/v1/registry/places/{id}/overview/", "get"),
    ]:
        assert method in paths[path], (method, path)
    reveal = paths["/api/v1/registry/residents/{id}/reveal/"]["post"]
    assert {"200", "403"} <= set(reveal["responses"])
