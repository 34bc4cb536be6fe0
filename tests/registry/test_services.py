"""Registry writes: registering people once, moves that keep their history, protected numbers,
revealing them with a reason, houses, rentals, vehicles and care tags."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from sanan.audit.models import AuditEvent
from sanan.core import clock
from sanan.core.errors import DomainError
from sanan.registry.models import (
    CareTag,
    Household,
    Relation,
    ResidenceEvent,
    ResidenceEventKind,
    Resident,
    ResidentStatus,
    ResidentTag,
    Vehicle,
)
from sanan.registry.services import (
    ResidentAlreadyRegistered,
    care_tag_create,
    care_tags_ensure_standard,
    house_profile_set,
    household_create,
    household_set_head,
    rental_create,
    rental_inspect,
    rental_update,
    resident_change_household,
    resident_move_in,
    resident_move_out,
    resident_register,
    resident_reveal,
    resident_tag_add,
    resident_tag_remove,
    resident_update,
    vehicle_register,
    vehicle_update,
)
from sanan.registry.testing import fake_id_number
from tests.personas import World
from tests.registry.world import (
    ACTOR,
    LANDLINE,
    LI_ID,
    LI_PHONE,
    WANG_ID,
    WANG_JIANGUO_ID,
    WANG_PHONE,
    RegistryWorld,
)

FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


def _table_dump(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (constant table names)
        return "\n".join("|".join(str(v) for v in row) for row in cursor.fetchall())


def _runs(value: str, length: int = 7) -> set[str]:
    digits = "".join(ch for ch in value if ch.isalnum())
    return {digits[i : i + length] for i in range(len(digits) - length + 1)}


# --- protected at rest ---------------------------------------------------------------------------
def test_resident__numbers_at_rest__no_seven_digits_of_them_anywhere_in_the_tables(
    reg: RegistryWorld,
) -> None:
    dump = "\n".join(
        _table_dump(t)
        for t in (
            "registry_resident",
            "registry_household",
            "registry_residenceevent",
            "audit_auditevent",
        )
    )
    for secret in (WANG_ID, WANG_PHONE, LANDLINE, WANG_JIANGUO_ID, LI_PHONE):
        leaked = {run for run in _runs(secret) if run in dump}
        assert not leaked, f"part of a protected number is stored in clear: {leaked}"


def test_resident__numbers__are_masked_indexed_and_decrypt_back(reg: RegistryWorld) -> None:
    wang = reg.wang
    assert wang.id_number_masked == f"{WANG_ID[:3]}{'*' * 11}{WANG_ID[-4:]}"
    assert wang.phone_masked == "139****0001"
    assert wang.phone2_masked == "0833-***3456"
    assert wang.id_number_encrypted.startswith("v1:aes-256-gcm:")
    assert (wang.id_number_reveal(), wang.phone_reveal(), wang.phone2_reveal()) == (
        WANG_ID,
        WANG_PHONE,
        LANDLINE,
    )
    assert (wang.gender, wang.birth_date, wang.age is not None) == (
        "female",
        dt.date(1950, 5, 1),
        True,
    )


def test_resident__plain_number_written_around_the_services__is_refused_by_the_database(
    reg: RegistryWorld,
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.filter(pk=reg.wang.pk).update(phone_encrypted=WANG_PHONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.filter(pk=reg.wang.pk).update(id_number_masked=WANG_ID)


# --- registering ---------------------------------------------------------------------------------
def test_resident__register_with_a_place__founds_a_household_with_them_as_head(
    world: World,
) -> None:
    resident = resident_register(actor=ACTOR, place=world.unit_b, name="  赵  六 ")
    household = Household.objects.get(pk=resident.household_id)
    assert household.head_id == resident.pk
    assert household.place == world.unit_b
    assert household.code == f"{world.unit_b.code}-01"
    assert resident.name == "赵 六"
    assert resident.place == world.unit_b
    assert resident.relation_to_head == Relation.HEAD
    assert list(resident.events.values_list("kind", flat=True)) == [ResidenceEventKind.MOVED_IN]
    actions = list(AuditEvent.objects.order_by("-seq").values_list("action", flat=True)[:3])
    assert actions[:2] == ["resident.registered", "household.created"]


@pytest.mark.parametrize(
    "typed",
    [
        WANG_ID,
        WANG_ID.lower(),
        f" {WANG_ID[:6]} {WANG_ID[6:14]} {WANG_ID[14:]} ",
        WANG_ID.translate(FULL),
    ],
    ids=["same", "lower", "spaces", "full-width"],
)
def test_resident__id_number_already_registered__points_to_them_and_adds_nothing(
    reg: RegistryWorld, typed: str
) -> None:
    before = (Resident.objects.count(), Household.objects.count(), _last_seq())
    with pytest.raises(ResidentAlreadyRegistered) as info:
        resident_register(actor=ACTOR, place=reg.world.unit_b, name="王秀英", id_number=typed)
    assert info.value.code == "resident.already_registered"
    assert info.value.status_code == 409
    assert info.value.resident_id == reg.wang.pk
    assert WANG_ID not in str(info.value.message)
    assert (Resident.objects.count(), Household.objects.count(), _last_seq()) == before


def test_resident__update_to_someone_elses_id_number__points_to_them(reg: RegistryWorld) -> None:
    with pytest.raises(ResidentAlreadyRegistered) as info:
        resident_update(actor=ACTOR, resident=reg.li, id_number=WANG_JIANGUO_ID)
    assert info.value.resident_id == reg.jianguo.pk


def test_resident__second_head__is_refused(reg: RegistryWorld) -> None:
    with pytest.raises(DomainError, match=r"household\.head_taken"):
        resident_register(actor=ACTOR, household=reg.household_a, name="王二")


def test_resident__birth_date_or_gender_against_the_id_number__must_agree(world: World) -> None:
    number = fake_id_number(birth_date=dt.date(1961, 10, 1), sequence=12)  # female
    with pytest.raises(DomainError, match=r"resident\.birth_date_mismatch"):
        resident_register(
            actor=ACTOR,
            place=world.unit_b,
            name="甲",
            id_number=number,
            birth_date=dt.date(1961, 1, 10),
        )
    with pytest.raises(DomainError, match=r"resident\.gender_mismatch"):
        resident_register(
            actor=ACTOR, place=world.unit_b, name="甲", id_number=number, gender="male"
        )
    resident = resident_register(
        actor=ACTOR,
        place=world.unit_b,
        name="甲",
        id_number=number,
        gender="female",
        birth_date=dt.date(1961, 10, 1),
    )
    assert (resident.gender, resident.birth_date) == ("female", dt.date(1961, 10, 1))


def test_resident__bad_input__names_the_field(world: World) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"name": " "}, "resident.name_required", "name"),
        ({"id_number": "123"}, "resident.id_number_length", "id_number"),
        ({"phone": "12345"}, "phone.invalid_mobile", "phone"),
        ({"phone2": "0833-12"}, "phone.invalid_landline", "phone2"),
        ({"residence_type": "tourist"}, "resident.residence_type_invalid", "residence_type"),
        (
            {"registration_expires_on": dt.date(2030, 1, 1)},
            "resident.expiry_not_applicable",
            "registration_expires_on",
        ),
        (
            {"moved_in_on": clock.today() + dt.timedelta(days=1)},
            "registry.date_in_future",
            "moved_in_on",
        ),
    ]
    for extra, code, field in cases:
        kwargs: dict[str, Any] = {"actor": ACTOR, "place": world.unit_b, "name": "乙", **extra}
        with pytest.raises(DomainError) as info:
            resident_register(**kwargs)
        assert (info.value.code, list(info.value.fields)) == (code, [field])
    assert not Resident.objects.filter(place=world.unit_b).exists()


def test_household__in_a_courtyard_or_a_house_with_units__is_refused(world: World) -> None:
    for place in (world.courtyard_a, world.house_a):
        with pytest.raises(DomainError, match=r"household\.wrong_place"):
            household_create(actor=ACTOR, place=place)


# --- updating ------------------------------------------------------------------------------------
def test_resident__update_phone__changes_index_and_mask_and_audits_names_only(
    reg: RegistryWorld,
) -> None:
    resident = resident_update(
        actor=ACTOR, resident=reg.wang, phone="139 1234 9999", phone2="", work_or_school="社区食堂"
    )
    resident.refresh_from_db()
    assert resident.phone_masked == "139****9999"
    assert resident.phone2_masked == ""
    assert resident.phone2_encrypted == ""
    assert resident.phone_reveal() == "13912349999"
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.action == "resident.updated"
    assert event.data == {"fields": ["phone", "phone2", "work_or_school"]}
    assert "9999" not in str(event.data) + event.object_label


def test_resident__update_nothing__writes_nothing(reg: RegistryWorld) -> None:
    before = _last_seq()
    resident_update(actor=ACTOR, resident=reg.wang, name="王秀英", phone=WANG_PHONE)
    assert _last_seq() == before


def test_resident__gender_with_an_id_number__changes_only_with_it(reg: RegistryWorld) -> None:
    with pytest.raises(DomainError, match=r"resident\.gender_mismatch"):
        resident_update(actor=ACTOR, resident=reg.wang, gender="male")
    new_id = fake_id_number(birth_date=dt.date(1951, 6, 2), sequence=43)  # male
    resident = resident_update(actor=ACTOR, resident=reg.wang, id_number=new_id)
    assert (resident.gender, resident.birth_date) == ("male", dt.date(1951, 6, 2))
    assert resident.id_number_masked.endswith(new_id[-4:])


def test_resident__head_becomes_a_spouse__household_loses_its_head(reg: RegistryWorld) -> None:
    resident_update(actor=ACTOR, resident=reg.wang, relation_to_head=Relation.SPOUSE)
    assert Household.objects.get(pk=reg.household_a.pk).head_id is None
    household_set_head(actor=ACTOR, household=reg.household_a, resident=reg.jianguo)
    household = Household.objects.get(pk=reg.household_a.pk)
    assert household.head_id == reg.jianguo.pk
    assert Resident.objects.get(pk=reg.jianguo.pk).relation_to_head == Relation.HEAD


def test_household__head_from_another_household__is_refused(reg: RegistryWorld) -> None:
    with pytest.raises(DomainError, match=r"household\.head_not_member"):
        household_set_head(actor=ACTOR, household=reg.household_a, resident=reg.li)


# --- moves and their history ---------------------------------------------------------------------
def test_resident__move_out_then_back_in__keeps_every_step(reg: RegistryWorld) -> None:
    today = clock.today()
    out_on = today - dt.timedelta(days=30)
    resident_move_out(actor=ACTOR, resident=reg.wang, on=out_on, reason="去成都投靠子女")
    wang = Resident.objects.get(pk=reg.wang.pk)
    assert (wang.status, wang.moved_out_on) == (ResidentStatus.MOVED_OUT, out_on)
    assert Household.objects.get(pk=reg.household_a.pk).head_id is None  # the head left

    resident_move_in(
        actor=ACTOR,
        resident=wang,
        household=reg.household_a,
        on=today,
        relation_to_head=Relation.HEAD,
        reason="回来居住",
    )
    wang.refresh_from_db()
    assert (wang.status, wang.moved_in_on, wang.moved_out_on) == (
        ResidentStatus.ACTIVE,
        today,
        None,
    )
    assert Household.objects.get(pk=reg.household_a.pk).head_id == wang.pk
    history = list(ResidenceEvent.objects.filter(resident=wang).values_list("kind", "on", "reason"))
    assert history == [
        (ResidenceEventKind.MOVED_IN, dt.date(1975, 3, 1), ""),
        (ResidenceEventKind.MOVED_OUT, out_on, "去成都投靠子女"),
        (ResidenceEventKind.MOVED_IN, today, "回来居住"),
    ]


def test_resident__change_household__moves_place_and_records_from_and_to(
    reg: RegistryWorld,
) -> None:
    resident_change_household(
        actor=ACTOR,
        resident=reg.xiaoming,
        household=reg.household_b,
        on=clock.today(),
        relation_to_head=Relation.OTHER_RELATIVE,
        reason="随父母租住",
    )
    xiaoming = Resident.objects.get(pk=reg.xiaoming.pk)
    assert (xiaoming.household_id, xiaoming.place_id) == (
        reg.household_b.pk,
        reg.world.unit_b.pk,
    )
    event = xiaoming.events.order_by("-id").first()
    assert event is not None
    assert event.kind == ResidenceEventKind.HOUSEHOLD_CHANGED
    assert (event.from_household_id, event.to_household_id) == (
        reg.household_a.pk,
        reg.household_b.pk,
    )
    assert (event.from_place_id, event.to_place_id, event.place_id) == (
        reg.world.unit_a.pk,
        reg.world.unit_b.pk,
        reg.world.unit_b.pk,
    )
    event.reason = "edited"
    with pytest.raises(ValueError, match="never changed"):
        event.save()


def test_resident__move_dated_before_the_recorded_history__is_refused(
    reg: RegistryWorld,
) -> None:
    """王小明 was registered today without a moving-in date: a move cannot predate that."""
    with pytest.raises(DomainError) as info:
        resident_change_household(
            actor=ACTOR,
            resident=reg.xiaoming,
            household=reg.household_b,
            on=clock.today() - dt.timedelta(days=3),
        )
    assert (info.value.code, list(info.value.fields)) == ("resident.move_before_history", ["on"])


def test_resident__impossible_moves__are_refused(reg: RegistryWorld) -> None:
    with pytest.raises(DomainError, match=r"resident\.move_before_move_in"):
        resident_move_out(actor=ACTOR, resident=reg.wang, on=dt.date(1970, 1, 1))
    with pytest.raises(DomainError, match=r"registry\.date_in_future"):
        resident_move_out(actor=ACTOR, resident=reg.wang, on=clock.today() + dt.timedelta(1))
    with pytest.raises(DomainError, match=r"resident\.already_living_here"):
        resident_move_in(
            actor=ACTOR, resident=reg.wang, household=reg.household_b, on=clock.today()
        )
    with pytest.raises(DomainError, match=r"resident\.same_household"):
        resident_change_household(
            actor=ACTOR, resident=reg.wang, household=reg.household_a, on=clock.today()
        )
    resident_move_out(actor=ACTOR, resident=reg.jianguo, on=clock.today(), deceased=True)
    with pytest.raises(DomainError, match=r"resident\.deceased"):
        resident_move_in(
            actor=ACTOR, resident=reg.jianguo, household=reg.household_a, on=clock.today()
        )
    with pytest.raises(DomainError, match=r"resident\.not_living_here"):
        resident_change_household(
            actor=ACTOR, resident=reg.jianguo, household=reg.household_b, on=clock.today()
        )


# --- revealing -----------------------------------------------------------------------------------
def test_resident__reveal__needs_a_reason_and_writes_nothing_without_one(
    reg: RegistryWorld,
) -> None:
    before = _last_seq()
    for reason in ("", "   ", "看", " x "):
        with pytest.raises(DomainError) as info:
            resident_reveal(actor=ACTOR, resident=reg.wang, reason=reason)
        assert (info.value.code, list(info.value.fields)) == ("pii.reason_required", ["reason"])
    assert _last_seq() == before


def test_resident__reveal__returns_the_numbers_and_audits_the_fields_not_the_values(
    reg: RegistryWorld,
) -> None:
    shown = resident_reveal(
        actor=ACTOR, resident=reg.wang, reason=" 核实低保申请 ", fields=["phone2", "id_number"]
    )
    assert shown == {"id_number": WANG_ID, "phone2": LANDLINE}
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.reason, event.object_id) == (
        "pii.revealed",
        "核实低保申请",
        str(reg.wang.pk),
    )
    assert event.data == {"field": "id_number,phone2"}
    assert event.place_path == reg.world.unit_a.path
    assert WANG_ID[-7:] not in str(event.data) + event.object_label


# --- houses, rentals, vehicles -------------------------------------------------------------------
def test_house_profile__set_twice__updates_in_place_and_only_a_house_may_have_one(
    reg: RegistryWorld,
) -> None:
    profile = house_profile_set(actor=ACTOR, house=reg.world.house_a, floors=4, use="mixed")
    assert profile.pk == reg.house_a.pk
    assert (profile.floors, profile.use, profile.house_number) == (4, "mixed", "红旗巷1号")
    assert profile.owner_display == "王建国"
    with pytest.raises(DomainError, match=r"house\.wrong_place"):
        house_profile_set(actor=ACTOR, house=reg.world.unit_a, floors=2)
    with pytest.raises(DomainError, match=r"house\.floors_invalid"):
        house_profile_set(actor=ACTOR, house=reg.world.house_a, floors=0)


def test_rental__dates_tenants_and_inspection(reg: RegistryWorld) -> None:
    with pytest.raises(DomainError, match=r"rental\.ends_before_start"):
        rental_create(
            actor=ACTOR,
            place=reg.world.unit_a,
            starts_on=dt.date(2026, 5, 1),
            ends_on=dt.date(2026, 4, 1),
        )
    with pytest.raises(DomainError, match=r"rental\.wrong_place"):
        rental_create(actor=ACTOR, place=reg.world.courtyard_a)
    rental = rental_update(actor=ACTOR, rental=reg.rental_b, tenants=[reg.li, reg.xiaoming])
    assert set(rental.tenants.values_list("name", flat=True)) == {"李四", "王小明"}
    rental_inspect(actor=ACTOR, rental=rental, on=clock.today(), note="消防检查合格")
    rental_inspect(actor=ACTOR, rental=rental, on=clock.today() - dt.timedelta(days=9))
    rental.refresh_from_db()
    assert rental.last_inspected_on == clock.today()  # an older inspection does not go back
    assert (
        AuditEvent.objects.filter(action="rental.inspected", object_id=str(rental.pk)).count() == 2
    )


def test_vehicle__plate_as_typed__is_normalised_and_unique(reg: RegistryWorld) -> None:
    assert (reg.car_a.plate, reg.car_a.new_energy) == ("川L12345", False)
    assert (reg.car_b.plate, reg.car_b.new_energy) == ("川LD12345", True)
    with pytest.raises(DomainError) as info:
        vehicle_register(actor=ACTOR, plate="川 l 1 2 3 4 5", owner=reg.li)
    assert (info.value.code, info.value.status_code) == ("vehicle.plate_taken", 409)
    assert Vehicle.objects.count() == 2
    vehicle = vehicle_register(actor=ACTOR, plate="川L54321", owner=reg.li)
    assert vehicle.place == reg.world.unit_b  # where the owner lives
    with pytest.raises(DomainError, match=r"vehicle\.plate_taken"):
        vehicle_update(actor=ACTOR, vehicle=vehicle, plate="川L12345")
    with pytest.raises(DomainError, match=r"vehicle\.place_required"):
        vehicle_register(actor=ACTOR, plate="川L99999")


# --- care tags -----------------------------------------------------------------------------------
def test_care_tags__standard_seven__exist_with_stable_codes(db: None) -> None:
    tags = care_tags_ensure_standard()
    assert [t.code for t in tags] == [
        "elderly_alone",
        "left_behind_child",
        "migrant_child",
        "disability",
        "low_income",
        "veteran",
        "serious_illness",
    ]
    assert CareTag.objects.count() >= 7
    assert care_tags_ensure_standard() == tags  # idempotent


def test_care_tags__add_is_idempotent_remove_says_whether_it_did(reg: RegistryWorld) -> None:
    resident_tag_add(actor=ACTOR, resident=reg.wang, tag="elderly_alone", note="子女在外地")
    assert ResidentTag.objects.filter(resident=reg.wang).count() == 1
    assert ResidentTag.objects.get(resident=reg.wang).note == "子女在外地"
    custom = care_tag_create(actor=ACTOR, place=reg.world.community, label="需要轮椅通道")
    assert custom.code.startswith("custom-")
    assert not custom.is_standard
    resident_tag_add(actor=ACTOR, resident=reg.wang, tag=custom, since=dt.date(2025, 1, 1))
    assert resident_tag_remove(actor=ACTOR, resident=reg.wang, tag="elderly_alone") is True
    assert resident_tag_remove(actor=ACTOR, resident=reg.wang, tag="elderly_alone") is False
    assert list(
        ResidentTag.objects.filter(resident=reg.wang).values_list("tag__code", flat=True)
    ) == [custom.code]
    with pytest.raises(DomainError, match=r"care_tag\.unknown"):
        resident_tag_add(actor=ACTOR, resident=reg.wang, tag="nonexistent")
    with pytest.raises(DomainError, match=r"care_tag\.exists"):
        care_tag_create(actor=ACTOR, place=reg.world.community, label=" 需要轮椅通道 ")


# --- scoping and audit labels --------------------------------------------------------------------
def test_registry_models__visible_to__means_resident_view_not_place_view(
    reg: RegistryWorld, handler: Any, commissioner_a: Any
) -> None:
    """A department handler sees the community's places, never its people."""
    from sanan.registry.models import HouseProfile, ResidenceEvent, Vehicle

    for model in (Resident, Household, ResidenceEvent, HouseProfile, Vehicle, ResidentTag):
        assert not model.objects.visible_to(handler).exists(), model  # type: ignore[attr-defined]
    assert set(Resident.objects.visible_to(commissioner_a)) == {reg.wang, reg.jianguo, reg.xiaoming}


def test_resident__audit_log__names_them_masked(reg: RegistryWorld) -> None:
    event = AuditEvent.objects.filter(action="resident.registered", object_id=str(reg.li.pk)).get()
    assert event.object_label == f"李* #{reg.li.pk}"
    assert event.place_path == reg.world.unit_b.path


def test_resident_search__name_starting_like_a_plate__is_still_a_name(
    world: World, admin: Any
) -> None:
    from sanan.registry.selectors import resident_search

    person = resident_register(actor=ACTOR, place=world.unit_b, name="云中鹤")
    assert list(resident_search(user=admin, q="云中")) == [person]
    assert list(resident_search(user=admin, q="云中鹤")) == [person]


def test_resident__reveal__a_two_character_reason_such_as_callback_is_enough(
    reg: RegistryWorld,
) -> None:
    shown = resident_reveal(actor=ACTOR, resident=reg.wang, reason="回访")
    assert shown  # 回访 (call-back) is how staff say why, and it is accepted


def test_resident_search__by_id_number__the_tags_come_with_the_resident_in_one_query(
    reg: RegistryWorld, admin: Any, django_assert_num_queries: Any
) -> None:
    """A lookup by ID number reads the resident and its care tags with one query (after the
    user's grants): the tags as a separate query read them exactly as they are stored, in the
    care tags' order, with their dates, notes and labels."""
    from sanan.registry.selectors import resident_search
    from sanan.registry.services import care_tag_create, resident_tag_add

    custom = care_tag_create(actor=ACTOR, place=reg.world.community, label="独居需探访")
    resident_tag_add(actor=ACTOR, resident=reg.wang, tag=custom, note="每周二")
    resident_tag_add(
        actor=ACTOR, resident=reg.wang, tag="low_income", since=dt.date(2020, 3, 1), note="低保户"
    )
    stored = [
        (t.pk, t.tag.code, t.tag.display_label, t.since, t.note, t.created_at, t.tag.place_id)
        for t in ResidentTag.objects.filter(resident=reg.wang).select_related("tag").order_by("tag")
    ]
    assert len(stored) == 3
    admin = type(admin).objects.get(pk=admin.pk)  # grants not read yet, as in a request
    with django_assert_num_queries(2):  # grants, resident with tags
        (found,) = resident_search(user=admin, id_number=WANG_ID)
        shown = [
            (t.pk, t.tag.code, t.tag.display_label, t.since, t.note, t.created_at, t.tag.place_id)
            for t in found.tags.all()
        ]
    assert found == reg.wang
    assert shown == stored
    with django_assert_num_queries(1):  # a resident without tags: still one query
        (plain,) = resident_search(user=admin, id_number=LI_ID)
        assert list(plain.tags.all()) == []
