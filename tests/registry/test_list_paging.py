"""Registry lists over many residents: counted up to a cap ("more than 1,000"), pages that go on
past the cap, every row once in address order, scoped and filtered by ranges of place paths, and
a number of queries that does not depend on the page. The cap is lowered here so a few dozen
residents are "many"."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sanan.accounts.models import User
from sanan.core.pagination import CappedPageNumberPagination, CappedPaginator
from sanan.places.models import Place
from sanan.registry import selectors
from sanan.registry.models import Resident, ResidentStatus, _next_path, under
from tests.registry.test_api import API, Api, _grow
from tests.registry.test_pages import EN, _names, _text
from tests.registry.world import RegistryWorld

Web = Any


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CappedPaginator, "count_cap", 7)
    monkeypatch.setattr(CappedPageNumberPagination, "page_size", 4)


def _expected(user: User) -> list[int]:
    """Residents living here in the user's scope, in the list's order, by a plain query."""
    roots = [a.place.path for a in user.role_assignments.select_related("place")]
    rows = Resident.objects.filter(status=ResidentStatus.ACTIVE)
    mine = [
        r for r in rows.select_related("place") if any(r.place.path.startswith(p) for p in roots)
    ]
    mine.sort(key=lambda r: (r.place.path, r.household_id, r.pk))
    return [r.pk for r in mine]


def test_resident_api__list_over_the_cap__says_more_and_pages_on(
    reg: RegistryWorld, api_as: Api, dispatcher: User, small_pages: None
) -> None:
    _grow(reg, 6)  # 4 + 12 residents living here
    expected = _expected(dispatcher)
    assert len(expected) == 16
    client = api_as(dispatcher)
    seen: list[int] = []
    page = 1
    while True:
        response = client.get(f"{API}/residents/", {"page": page})
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["count"], body["count_capped"]) == (7, True)  # "more than 7"
        seen += [row["id"] for row in body["results"]]
        if body["next"] is None:
            break
        page += 1
    assert seen == expected  # every resident once, in address order, past the cap
    assert page == 4
    assert client.get(f"{API}/residents/", {"page": 5}).status_code == 404


def test_resident_api__list_under_the_cap__counts_exactly(
    reg: RegistryWorld, api_as: Api, commissioner_a: User, small_pages: None
) -> None:
    body = api_as(commissioner_a).get(f"{API}/residents/").json()
    assert (body["count"], body["count_capped"]) == (3, False)
    assert [row["id"] for row in body["results"]] == _expected(commissioner_a)
    assert body["next"] is None


def test_resident_api__list_queries__the_same_on_every_page(
    reg: RegistryWorld, api_as: Api, dispatcher: User, small_pages: None
) -> None:
    _grow(reg, 6)
    client = api_as(dispatcher)
    client.get(f"{API}/residents/")  # the session's first request saves the session

    def queries(page: int, **filters: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{API}/residents/", {"page": page, **filters})
        assert response.status_code == 200
        return len(captured)

    # Pages within the counted rows and past them (4 a page, 7 counted); a filtered list.
    assert queries(1) == queries(2) == queries(3) == queries(4)
    assert queries(1, tag="disability") == queries(2, tag="disability") == queries(1)


def test_resident_page__over_the_cap__says_more_than(
    reg: RegistryWorld, web_as: Web, dispatcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CappedPaginator, "count_cap", 7)
    _grow(reg, 30)  # 64 residents: more than one page of 25, more than the cap
    client: Client = web_as(dispatcher)
    first = client.get("/registry/", **EN)
    assert "More than 7 residents found" in _text(first)
    assert "Page 1" in _text(first)
    assert "Page 1 of" not in _text(first)
    last = client.get("/registry/", {"page": "3"}, **EN)
    assert len(_names(last)) == 64 - 50
    assert "Next" not in _text(last)


def test_resident_list__filter_by_place__same_rows_as_a_prefix_match(
    reg: RegistryWorld, dispatcher: User
) -> None:
    _grow(reg, 4)
    for place in (reg.world.courtyard_a, reg.world.unit_b, reg.world.community):
        listed = selectors.filter_by_place(selectors.resident_list(user=dispatcher), place)
        plain = Resident.objects.filter(place__path__startswith=place.path)
        assert sorted(r.pk for r in listed) == sorted(plain.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("path", "after"),
    [("0001", "0002"), ("00010009", "0001000A"), ("0001000Z", "0001001"), ("ZZZZ", None)],
)
def test_next_path__first_path_after_a_subtree(path: str, after: str | None) -> None:
    assert _next_path(path) == after


def test_under__a_range_holding_exactly_the_subtree(reg: RegistryWorld) -> None:
    for place in (reg.world.community, reg.world.courtyard_a, reg.world.house_b):
        inside = set(Place.objects.filter(under(place.path, "")).values_list("pk", flat=True))
        prefixed = Place.objects.filter(path__startswith=place.path).values_list("pk", flat=True)
        assert inside == set(prefixed)
        assert len(inside) > 1
