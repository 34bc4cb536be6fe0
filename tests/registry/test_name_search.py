"""Search by part of a name: the pairs of characters of the names (``ResidentNameGram``) narrow
the search, and it finds exactly what comparing every name would (``name__icontains``), in the
searcher's scope, after registering, renaming and importing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection as db_connection

from sanan.accounts.models import User
from sanan.registry import selectors
from sanan.registry.models import Resident, ResidentNameGram, ResidentStatus, name_grams
from sanan.registry.selectors import resident_search
from sanan.registry.services import resident_register, resident_update
from tests.personas import World
from tests.registry.test_import_export import csv_bytes, new_id, run
from tests.registry.world import ACTOR, RegistryWorld

NAMES = [
    "王秀英", "王秀", "秀英王", "王王王", "王王", "欧阳秀英", "司马王秀", "李", "张 伟",
    "Anna Wang", "ANNA", "阿依古丽·买买提", "王_秀", "王%秀", "秀秀秀英",
]  # fmt: skip


def ids(qs: Any) -> list[int]:
    return sorted(r.pk for r in qs)


def test_name_grams__pairs_of_neighbouring_characters_once_each() -> None:
    assert name_grams("王秀英") == ["王秀", "秀英"]
    assert name_grams("王王王") == ["王王"]
    assert name_grams("王") == []
    assert name_grams("") == []


@pytest.mark.parametrize("walk_from", [selectors.NAME_PAIR_WALK_FROM, 3, 1])
def test_name_search__finds_what_comparing_every_name_finds(
    world: World, admin: User, monkeypatch: pytest.MonkeyPatch, walk_from: int
) -> None:
    """Every part of every name, and text that is in none, on both databases; through the
    pairs of characters, or (pairs more common than ``walk_from``) comparing names in order."""
    monkeypatch.setattr(selectors, "NAME_PAIR_WALK_FROM", walk_from)
    units = [world.unit_a, world.unit_b]
    for k, name in enumerate(NAMES):
        resident_register(actor=ACTOR, place=units[k % 2], name=name)
    rng = random.Random(11)
    queries = {name[i:j] for name in NAMES for i in range(len(name)) for j in range(i + 1, i + 5)}
    queries |= {"王秀王", "英秀", "秀英英", "王_", "%秀", "anna w", "ann", "赵"}
    queries |= {"".join(rng.sample("王秀英李张伟", 2)) for _ in range(20)}
    everyone = Resident.objects.all()
    for query in sorted(queries):
        expected = ids(everyone.filter(name__icontains=" ".join(query.split())))
        assert ids(resident_search(user=admin, name=query, status=None)) == expected, query
        if query.strip():
            assert ids(resident_search(user=admin, q=query, status=None)) == expected, query


def test_name_search__only_in_the_searchers_scope(
    reg: RegistryWorld, commissioner_a: User, commissioner_b: User
) -> None:
    other = resident_register(actor=ACTOR, place=reg.world.unit_b, name="王秀兰")

    assert ids(resident_search(user=commissioner_a, name="王秀")) == [reg.wang.pk]
    assert ids(resident_search(user=commissioner_b, name="王秀")) == [other.pk]
    assert ids(resident_search(user=commissioner_b, name="秀英")) == []


def test_name_search__a_renamed_resident_is_found_by_the_new_name_only(
    reg: RegistryWorld, admin: User
) -> None:
    resident_update(actor=ACTOR, resident=reg.li, name="李秀梅")

    assert ids(resident_search(user=admin, name="秀梅")) == [reg.li.pk]
    assert ids(resident_search(user=admin, name="李四")) == []
    assert set(ResidentNameGram.objects.filter(resident=reg.li).values_list("gram", flat=True)) == {
        "李秀",
        "秀梅",
    }


def test_name_search__moved_out_residents_by_status(reg: RegistryWorld, admin: User) -> None:
    Resident.objects.filter(pk=reg.xiaoming.pk).update(status=ResidentStatus.MOVED_OUT)

    assert ids(resident_search(user=admin, name="小明")) == []
    assert ids(resident_search(user=admin, name="小明", status=None)) == [reg.xiaoming.pk]


def test_name_search__imported_and_reimported_names(reg: RegistryWorld, dispatcher: User) -> None:
    header = ["姓名", "身份证号", "院落", "门牌号", "房号", "与户主关系"]
    rows = [["赵秀芳", new_id(301), "A院", "A1号", "101室", "子女"],
            ["钱秀芳", new_id(302), "B院", "B1号", "101室", "子女"]]  # fmt: skip
    assert run(csv_bytes([header, *rows]), dispatcher).ok

    found = resident_search(user=dispatcher, name="秀芳")
    assert sorted(r.name for r in found) == ["赵秀芳", "钱秀芳"]

    rows[0][0] = "赵秀云"
    report = run(csv_bytes([header, *rows]), dispatcher)

    assert report.counts["updated"] == 1
    assert [r.name for r in resident_search(user=dispatcher, name="秀芳")] == ["钱秀芳"]
    assert [r.name for r in resident_search(user=dispatcher, name="秀云")] == ["赵秀云"]


def test_name_search__every_resident_has_the_pairs_of_their_name(reg: RegistryWorld) -> None:
    """What the services wrote is exactly what the names give (the migration writes the same
    for residents registered before it)."""
    stored = set(ResidentNameGram.objects.values_list("resident_id", "gram"))
    expected = {(r.pk, g) for r in Resident.objects.all() for g in name_grams(r.name)}
    assert stored == expected


@pytest.mark.parametrize("page", [1, 2])
def test_name_search__api_list_queries_do_not_grow_with_the_page(
    world: World, admin: User, api_as: Any, django_assert_num_queries: Any, page: int
) -> None:
    for k in range(60):
        resident_register(actor=ACTOR, place=world.unit_a, name=f"王秀{chr(0x4E00 + k)}")
    client = api_as(admin)
    client.get("/api/v1/registry/residents/", {"name": "王秀"})  # warm: content types, tags
    # session, user, grants, tag choices, how common 王秀 is, keys, rows with their tags
    with django_assert_num_queries(7):
        response = client.get("/api/v1/registry/residents/", {"name": "王秀", "page": page})
    assert response.status_code == 200
    assert response.data["count"] == 60


def test_name_search__the_migration_writes_the_pairs_of_every_name(world: World) -> None:
    """Residents registered before the pairs existed get them from the migration, exactly as
    the services would have written them."""
    import importlib

    from django.apps import apps

    for k, name in enumerate(NAMES):
        resident_register(actor=ACTOR, place=[world.unit_a, world.unit_b][k % 2], name=name)
    ResidentNameGram.objects.all().delete()
    migration = importlib.import_module("sanan.registry.migrations.0005_resident_name_grams")

    class Editor:  # what the migration uses of a schema editor (SQLite refuses a real one
        connection = db_connection  # inside the test's transaction)

        @staticmethod
        def execute(sql: str) -> None:
            with db_connection.cursor() as cursor:
                cursor.execute(sql)

    migration.write_grams(apps, Editor())

    stored = sorted(ResidentNameGram.objects.values_list("resident_id", "gram"))
    assert stored == sorted((r.pk, g) for r in Resident.objects.all() for g in name_grams(r.name))
