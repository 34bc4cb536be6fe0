"""Import and export of the registry as community workers meet them: their spreadsheets (CSV in
GBK or UTF-8 with BOM, XLSX with a title row) are recognised, a file with bad rows imports
nothing and says why for each row (never quoting a number), a good file imports once and
re-importing it changes nothing; exports are masked unless revealed with a reason (audited),
and each exporter gets only their own places."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.accounts.roles import ROLE_ACTIONS, Role
from sanan.accounts.services import role_grant, user_create
from sanan.audit.models import AuditEvent
from sanan.core import clock
from sanan.core.errors import DomainError, PermissionDenied
from sanan.registry import exports, imports
from sanan.registry.models import (
    Household,
    HouseProfile,
    Relation,
    Rental,
    ResidenceEvent,
    ResidenceEventKind,
    ResidenceType,
    Resident,
    Vehicle,
)
from sanan.registry.models_io import ImportJob
from sanan.registry.services import id_number_index, phone_index
from sanan.registry.testing import fake_id_number, fake_mobile
from tests.personas import World
from tests.registry.world import LI_ID, WANG_ID, WANG_PHONE, RegistryWorld

DATA = Path(__file__).parent / "data"
API = "/api/v1/registry"
HEADER = ["序号", "姓名", "身份证号", "联系电话", "院落", "门牌号", "房号", "与户主关系"]


def new_id(sequence: int, year: int = 1985) -> str:
    return fake_id_number(birth_date=dt.date(year, 6, 1), sequence=sequence)


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]], title_row: str = "") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    if title_row:
        sheet.append([title_row])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(data: bytes, actor: User, *, dry: bool = False, kind: str = "") -> imports.ImportReport:
    parsed = imports.parse(data, kind=kind or None)
    do = imports.dry_run if dry else imports.apply
    return do(data, mapping=parsed.mapping, kind=parsed.kind, actor=actor)


def audit_count() -> int:
    return AuditEvent.objects.count()


def digits_runs(secret: str) -> set[str]:
    digits = "".join(ch for ch in secret if ch.isalnum())
    return {digits[i : i + 7] for i in range(len(digits) - 6)}


@pytest.fixture
def desk_a(world: World) -> User:
    """Community staff for courtyard A only, who can also see courtyard B (a committee role
    over the area): B is in sight but outside where they may import."""
    user = user_create(actor="tests", username="t-desk-a", password="x" * 12, validate=False)
    role_grant(actor="tests", user=user, role=Role.DISPATCHER, place=world.courtyard_a)
    role_grant(actor="tests", user=user, role=Role.COMMITTEE, place=world.area)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def commissioner_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commissioners export their courtyards (masked): see the report for roles.py."""
    actions = ROLE_ACTIONS[Role.COMMISSIONER]
    if "resident.export" not in actions:
        monkeypatch.setitem(ROLE_ACTIONS, Role.COMMISSIONER, actions | {"resident.export"})


@pytest.fixture
def inline_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run import jobs in the test's own thread and transaction (the page's jobs run in a
    thread once the request commits: ``start`` below runs the commit callbacks)."""
    monkeypatch.setattr(imports, "job_runner", imports._run_job_inline)


def start(client: APIClient, job_id: int, step: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(f"{API}/imports/{job_id}/{step}/", {}, format="json")


# --- a file with bad rows ------------------------------------------------------------------


def bad_file() -> tuple[bytes, dict[str, str]]:
    good = new_id(11)
    first17 = new_id(12)[:17]
    wrong_check = first17 + ("0" if new_id(12)[17] != "0" else "1")
    secrets = {"good": good, "wrong": wrong_check, "phone": "1381234567"}
    rows = [
        HEADER,
        [1, "赵六", good, "13811112222", "A院", "A1号", "101室", "子女"],
        [2, "钱七", wrong_check, "13811113333", "A院", "A1号", "101室", "子女"],
        [3, "孙八", new_id(13), secrets["phone"], "A院", "A1号", "101室", "子女"],
        [4, "李九", new_id(14), "13811115555", "C院", "C1号", "101室", "子女"],
        [5, "周十", new_id(15), "13811116666", "B院", "B1号", "101室", "子女"],
        [6, "赵六", good, "13811112222", "A院", "A1号", "101室", "子女"],
    ]
    return csv_bytes(rows), secrets


def test_import__bad_rows__imports_nothing_and_reports_each_row(
    reg: RegistryWorld, desk_a: User
) -> None:
    data, secrets = bad_file()
    residents, audits = Resident.objects.count(), audit_count()

    report = run(data, desk_a)

    assert not report.written
    assert Resident.objects.count() == residents
    assert audit_count() == audits
    found = {(p.row, p.column, p.code) for p in report.problems}
    assert found == {
        (3, "身份证号", "resident.id_number_checksum"),
        (4, "联系电话", "phone.invalid_mobile"),
        (5, "院落", "import.courtyard_unknown"),
        (6, "院落", "import.place_out_of_scope"),
        (7, "身份证号", "import.id_number_duplicate"),
    }
    assert report.bad_rows == [3, 4, 5, 6, 7]
    duplicate = next(p for p in report.problems if p.row == 7)
    assert "2" in duplicate.message  # points to the first row with this number
    for problem in report.problems:
        assert problem.message
        for secret in secrets.values():
            assert not [r for r in digits_runs(secret) if r in problem.message]


def test_import__bad_rows__dry_run_reports_the_same(reg: RegistryWorld, desk_a: User) -> None:
    data, _secrets = bad_file()
    applied = run(data, desk_a)
    checked = run(data, desk_a, dry=True)
    assert [p.as_dict() for p in checked.problems] == [p.as_dict() for p in applied.problems]


# --- a good file: import, re-import, change ------------------------------------------------

ZHAO_ID, QIAN_ID, SUN_ID, ZHOU_ID = new_id(21), new_id(22, 1990), new_id(23, 1970), new_id(24)


def good_rows(zhao_phone: str = "13811112222", zhao_work: str = "红旗小学") -> list[list[Any]]:
    expires = (clock.today() + dt.timedelta(days=30)).isoformat()
    return [
        [
            "序号",
            "姓名",
            "性别",
            "身份证号码",
            "手机号",
            "地址",
            "户号",
            "与户主关系",
            "人员类型",
            "工作单位/学校",
            "居住登记到期日期",
            "关爱标签",
        ],
        [
            1,
            "赵六",
            "",
            ZHAO_ID,
            zhao_phone,
            "A院 A1号 101室",
            "",
            "孙子女",
            "",
            zhao_work,
            "",
            "留守儿童",
        ],
        [
            2,
            "钱七",
            "",
            QIAN_ID,
            "0833-2123457",
            "B院B1号101室",
            "",
            "非亲属",
            "租住",
            "",
            expires,
            "",
        ],
        [3, "孙八", "", SUN_ID, "", "A院 A1号 101室", "A-NEW-1", "户主", "流动", "", "", ""],
        [4, "周九", "女", ZHOU_ID, "", "A院 A1号 101室", "A-NEW-1", "配偶", "流动", "", "", ""],
        [5, "王秀英", "女", WANG_ID, WANG_PHONE, "A院 A1号 101室", "", "户主", "", "", "", ""],
    ]


def test_import__good_file__imports_and_records_history(
    reg: RegistryWorld, dispatcher: User
) -> None:
    residents, households, audits = (
        Resident.objects.count(),
        Household.objects.count(),
        audit_count(),
    )

    report = run(csv_bytes(good_rows()), dispatcher)

    assert report.ok, report.problems
    assert report.written
    assert report.counts == {
        "created": 4,
        "updated": 0,
        "unchanged": 1,
        "households_created": 1,
    }
    assert Resident.objects.count() == residents + 4
    assert Household.objects.count() == households + 1
    zhao = Resident.objects.get(id_number_index=id_number_index(ZHAO_ID))
    assert zhao.household == reg.household_a
    assert zhao.relation_to_head == Relation.GRANDCHILD
    assert zhao.birth_date == dt.date(1985, 6, 1)
    assert zhao.phone_masked == "138****2222"
    assert zhao.id_number_reveal() == ZHAO_ID
    assert zhao.id_number_encrypted.startswith("v1:")
    assert [t.tag.code for t in zhao.tags.all()] == ["left_behind_child"]
    qian = Resident.objects.get(id_number_index=id_number_index(QIAN_ID))
    assert qian.household == reg.household_b
    assert qian.residence_type == ResidenceType.RENTER
    assert qian.phone_reveal() == "0833-2123457"
    new_household = Household.objects.get(code="A-NEW-1")
    sun = Resident.objects.get(id_number_index=id_number_index(SUN_ID))
    assert new_household.head == sun
    assert new_household.place == reg.world.unit_a
    events = ResidenceEvent.objects.filter(resident__in=[zhao, qian, sun])
    assert {e.kind for e in events} == {ResidenceEventKind.MOVED_IN}
    assert events.count() == 3
    assert audit_count() == audits + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.action == "registry.imported"
    assert event.data["created"] == 4
    assert event.place_path == reg.world.area.path  # the smallest subtree holding A and B
    assert report.job_id == ImportJob.objects.get().pk


def test_import__same_file_again__changes_nothing(reg: RegistryWorld, dispatcher: User) -> None:
    data = csv_bytes(good_rows())
    run(data, dispatcher)
    counts = (Resident.objects.count(), Household.objects.count(), ResidenceEvent.objects.count())
    audits = audit_count()
    tokens = dict(Resident.objects.values_list("pk", "phone_encrypted"))

    again = run(data, dispatcher)

    assert again.ok
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 5, "households_created": 0}
    assert (
        Resident.objects.count(),
        Household.objects.count(),
        ResidenceEvent.objects.count(),
    ) == counts
    assert audit_count() == audits + 1  # the import job's own event, nothing else
    assert dict(Resident.objects.values_list("pk", "phone_encrypted")) == tokens


def test_import__changed_row__updates_that_resident(reg: RegistryWorld, dispatcher: User) -> None:
    run(csv_bytes(good_rows()), dispatcher)
    audits = audit_count()

    report = run(csv_bytes(good_rows("13899990000", "乐山一中")), dispatcher)

    assert report.counts == {"created": 0, "updated": 1, "unchanged": 4, "households_created": 0}
    zhao = Resident.objects.get(id_number_index=id_number_index(ZHAO_ID))
    assert zhao.work_or_school == "乐山一中"
    assert zhao.phone_index == phone_index("13899990000")
    assert zhao.phone_reveal() == "13899990000"
    assert audit_count() == audits + 1


def test_import__empty_cells__keep_what_is_stored(reg: RegistryWorld, dispatcher: User) -> None:
    rows = [["姓名", "身份证号", "联系电话", "院落", "门牌号", "房号"]]
    rows.append(["王秀英", WANG_ID, "", "A院", "A1号", "101室"])
    report = run(csv_bytes(rows), dispatcher)
    assert report.counts["unchanged"] == 1
    wang = Resident.objects.get(pk=reg.wang.pk)
    assert wang.phone_reveal() == WANG_PHONE
    assert wang.relation_to_head == Relation.HEAD


def test_import__second_head__refused(reg: RegistryWorld, dispatcher: User) -> None:
    rows = [HEADER, [1, "新户主", new_id(31), "", "A院", "A1号", "101室", "户主"]]
    report = run(csv_bytes(rows), dispatcher)
    assert [p.code for p in report.problems] == ["household.head_taken"]


def test_import__person_outside_scope__is_a_bad_row(reg: RegistryWorld, desk_a: User) -> None:
    # 李四 lives in courtyard B; a row moving him to A must not touch his record.
    rows = [HEADER, [1, "李四", LI_ID, "", "A院", "A1号", "101室", "非亲属"]]
    report = run(csv_bytes(rows), desk_a)
    assert [p.code for p in report.problems] == ["import.resident_out_of_scope"]
    assert Resident.objects.get(pk=reg.li.pk).place == reg.world.unit_b


# --- file formats --------------------------------------------------------------------------


def test_parse__gbk_and_bom_csv__both_read(reg: RegistryWorld, dispatcher: User) -> None:
    rows = good_rows()
    gbk, bom = csv_bytes(rows, "gbk"), csv_bytes(rows, "utf-8-sig")
    assert gbk != bom
    for data, encoding in ((gbk, "gbk"), (bom, "utf-8-sig")):
        parsed = imports.parse(data)
        assert parsed.encoding == encoding
        assert parsed.kind == "residents"
        assert parsed.mapping["姓名"] == "name"
        assert parsed.mapping["身份证号码"] == "id_number"
        assert parsed.mapping["手机号"] == "phone"
        assert parsed.mapping["地址"] == "address"
        report = imports.dry_run(data, mapping=parsed.mapping, kind="residents", actor=dispatcher)
        assert report.ok, report.problems
        assert report.counts == {
            "created": 4,
            "updated": 0,
            "unchanged": 1,
            "households_created": 1,
        }


def test_parse__sample_files__gbk_csv_from_excel(reg: RegistryWorld, dispatcher: User) -> None:
    parsed = imports.parse(DATA / "residents_gbk.csv")
    assert parsed.encoding == "gbk"
    assert parsed.mapping == {
        "姓名": "name",
        "性别": "gender",
        "公民身份号码": "id_number",
        "联系电话": "phone",
        "院落": "courtyard",
        "门牌号": "house",
        "房号": "unit",
        "与户主关系": "relation_to_head",
        "人员类型": "residence_type",
        "出生日期": "birth_date",
    }
    # samples never show a whole number
    samples = [s for c in parsed.columns for s in c.samples]
    assert any("*" in s for s in samples)


def test_parse__xlsx_with_title_row__maps_chinese_headers(
    reg: RegistryWorld, dispatcher: User
) -> None:
    rows = [
        [
            "序号",
            "姓名",
            "性别",
            "公民身份号码",
            "联系电话",
            "院落",
            "门牌号",
            "房号",
            "与户主关系",
            "居住类型",
            "出生日期",
            "工作单位/学校",
            "入住日期",
        ],
        [
            1,
            "吴十一",
            "男",
            new_id(41),
            13822223333,
            "A院",
            "A1号",
            "101室",
            "子女",
            "户籍",
            dt.datetime.combine(dt.date(1985, 6, 1), dt.time()),  # an Excel date cell
            "乐山一中",
            dt.date(2020, 5, 4),
        ],
    ]
    data = xlsx_bytes(rows, title_row="红旗小区居民花名册（2026年）")

    parsed = imports.parse(data)

    assert parsed.format == "xlsx"
    assert parsed.header_row == 2
    assert parsed.kind == "residents"
    assert parsed.mapping == {
        "姓名": "name",
        "性别": "gender",
        "公民身份号码": "id_number",
        "联系电话": "phone",
        "院落": "courtyard",
        "门牌号": "house",
        "房号": "unit",
        "与户主关系": "relation_to_head",
        "居住类型": "residence_type",
        "出生日期": "birth_date",
        "工作单位/学校": "work_or_school",
        "入住日期": "moved_in_on",
    }
    assert parsed.missing == ()
    report = imports.apply(data, mapping=parsed.mapping, kind="residents", actor=dispatcher)
    assert report.ok, report.problems
    assert report.problems == []
    wu = Resident.objects.get(name="吴十一")
    assert wu.moved_in_on == dt.date(2020, 5, 4)
    assert wu.phone_reveal() == "13822223333"


def test_parse__xlsx_id_number_stored_as_number__explained(
    reg: RegistryWorld, dispatcher: User
) -> None:
    number = float(new_id(42)[:15] + "000")  # what Excel keeps of an 18-digit number
    data = xlsx_bytes([HEADER, [1, "郑十二", number, "", "A院", "A1号", "101室", "子女"]])
    report = run(data, dispatcher, dry=True)
    assert [p.code for p in report.problems] == ["import.id_number_as_number"]


def test_parse__column_mapping__corrected_by_hand(reg: RegistryWorld, dispatcher: User) -> None:
    rows = [
        ["name?", "证件", "tel", "where", "rel"],
        ["冯十三", new_id(43), "13833334444", "A院A1号101室", "子女"],
    ]
    data = csv_bytes(rows)
    parsed = imports.parse(data, kind="residents")
    assert "name" in parsed.missing
    mapping = imports.parse_mapping(
        "A=name,B=id_number,tel=phone,D=address,E=relation_to_head", kind="residents"
    )
    report = imports.dry_run(data, mapping=mapping, kind="residents", actor=dispatcher)
    assert report.ok, report.problems


def test_import__runs_with_the_collector_paused_and_gives_it_back(
    reg: RegistryWorld, dispatcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The garbage collector is off while an import checks and writes, but for the full
    collections it runs every ``COLLECT_EVERY_S`` at its progress points (the cyclic garbage
    of requests served beside it); back on when it ends, whether it ended well or refused the
    file."""
    import gc

    collected: list[bool] = []
    collect = gc.collect
    monkeypatch.setattr(imports, "COLLECT_EVERY_S", 0.0)
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(gc.isenabled()) or collect(*a))
    seen: list[bool] = []

    def progress(done: int, total: int, phase: str) -> None:
        seen.append(gc.isenabled())

    good = csv_bytes(
        [["姓名", "身份证号", "地址", "与户主关系"], ["冯十四", new_id(44), "A院A1号101室", "子女"]]
    )
    assert gc.isenabled()
    mapping = imports.parse(good, kind="residents").mapping
    report = imports.apply(
        good, mapping=mapping, kind="residents", actor=dispatcher, progress=progress
    )
    assert report.ok, report.problems
    assert seen
    assert not any(seen)
    assert len(collected) >= len(seen)  # one before each progress report, here
    assert not any(collected)
    assert gc.isenabled()
    with pytest.raises(DomainError):
        imports.dry_run(b"", mapping=mapping, kind="residents", actor=dispatcher)
    assert gc.isenabled()


def test_collector_pause__held_until_the_last_of_two_imports_ends_and_kept_off_if_it_was() -> None:
    import gc

    assert gc.isenabled()
    with imports._collector_paused():
        with imports._collector_paused():  # a second import, in another thread
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with imports._collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("12号院 红旗巷12号 201室", ("12号院", "红旗巷12号", "201室")),
        ("12号院红旗巷12号201室", ("12号院", "红旗巷12号", "201室")),
        ("红旗小区 3号院 红旗巷5号", ("3号院", "红旗巷5号", "")),
        ("红旗巷12号", ("", "红旗巷12号", "")),
        ("3号院", ("3号院", "", "")),
    ],
)
def test_split_address__as_community_workers_write_it(text: str, parts: tuple[str, ...]) -> None:
    assert imports.split_address(text) == parts


def test_places__demo_names__resolved_within_scope(
    demo: Any, persona: Callable[[str], User]
) -> None:
    from sanan.places.models import Place

    admin = User.objects.get(username="admin")
    index = imports.PlaceIndex(admin)
    house = Place.objects.filter(path__startswith=demo.path, kind="house").order_by("path")[0]
    unit = Place.objects.filter(path__startswith=house.path, kind="unit").order_by("path")[0]
    court = Place.objects.get(path=house.path[: -Place.steplen])
    number = court.name.removesuffix("号院")
    found = index.resolve(f"{number}号院", house.name, unit.name, "", "dwelling")
    assert found.id == unit.id
    assert index.resolve("", "", "", f"{court.name} {house.name} {unit.name}", "dwelling").id == (
        unit.id
    )
    assert index.resolve(number, house.name, unit.name.removesuffix("室"), "", "dwelling").id == (
        unit.id
    )


def test_rooms_index__answers_as_the_entry_per_room_index_does() -> None:
    """Rooms kept as sorted rows (``_Rooms``) are found, told apart and listed exactly as the
    index that files an entry per room under its house (``_Names``), before and after a room
    is added one by one and after a search everywhere."""
    from sanan.places.models import Place, PlaceKind
    from sanan.registry.imports import _Names, _Node, _Rooms

    step = Place.steplen

    def path(*parts: int) -> str:
        return "".join(f"{p:0{step}d}" for p in parts)

    rows = [
        (1000 + 100 * h + u, path(1, 1, c, h, u), name, f"r{c}-{h}-{u}")
        for c in (1, 2)
        for h in (1, 2, 3)
        for u, name in ((1, "101室"), (2, "102"), (3, "201室"), (4, "二单元201"))
        if not (c == 2 and h == 3)  # a house without rooms
    ]
    rows.reverse()  # in no particular order
    rooms, plain = _Rooms(), _Names(PlaceKind.UNIT)
    rooms.load(rows[:7])
    rooms.load(rows[7:])
    plain.extend((_Node(pk, p, PlaceKind.UNIT, name, code), (name,)) for pk, p, name, code in rows)

    def same() -> None:
        for c in (1, 2, 3):
            for h in (1, 2, 3, 4):
                house = path(1, 1, c, h)
                assert rooms.has_children(house) == plain.has_children(house), house
                for text in ("101", "101室", "102室", "201", "二单元201", "301", "1"):
                    assert [n.id for n in rooms.find(text, house)] == [
                        n.id for n in plain.find(text, house)
                    ], (house, text)
            court = path(1, 1, c)
            assert rooms.has_children(court) is plain.has_children(court) is False
            assert [n.id for n in rooms.find("201", court)] == [
                n.id for n in plain.find("201", court)
            ]
        for _pk, p, _name, _code in rows:
            assert rooms.node_at(p).id == plain.node_at(p).id  # type: ignore[union-attr]
            assert [e[0].id for e in rooms._entries_within(p)] == [
                e[0].id for e in plain._entries_within(p)
            ]
        assert rooms.node_at(path(1, 1, 9, 9, 9)) is None
        assert rooms.node_at(path(1, 1, 1, 1)) is None  # a house is not a room

    same()
    everywhere = [n.id for n in plain.find("101")]
    assert everywhere
    assert [n.id for n in rooms.find("101")] == everywhere
    same()
    extra = _Node(9999, path(1, 1, 2, 3, 1), PlaceKind.UNIT, "301室", "new")
    rooms.add(extra, "301室")
    plain.add(extra, "301室")
    rows.append((9999, extra.path, "301室", "new"))
    same()
    assert rooms.find("301", path(1, 1, 2, 3))[0] is extra


# --- houses, rentals, vehicles -------------------------------------------------------------


def test_import_houses__sets_details_and_reimport_changes_nothing(
    reg: RegistryWorld, dispatcher: User
) -> None:
    rows = [
        ["院落", "门牌号", "房主", "层数", "用途", "是否自建房", "备注"],
        ["B院", "B1号", "李大爷", "2层", "出租", "否", "临街"],
        ["A院", "红旗巷1号", "王建国", "3", "自住", "是", ""],
    ]
    first = run(csv_bytes(rows), dispatcher, kind="houses")
    assert first.ok, first.problems
    assert first.counts == {"created": 1, "updated": 0, "unchanged": 1}
    house_b = HouseProfile.objects.get(house=reg.world.house_b)
    assert (house_b.owner_name, house_b.floors, house_b.use, house_b.self_built) == (
        "李大爷",
        2,
        "rented",
        False,
    )
    assert HouseProfile.objects.get(house=reg.world.house_a).owner == reg.jianguo
    again = run(csv_bytes(rows), dispatcher, kind="houses")
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 2}


def test_import_rentals__by_place_landlord_start(reg: RegistryWorld, dispatcher: User) -> None:
    start = (clock.today() - dt.timedelta(days=10)).isoformat()
    rows = [
        ["院落", "门牌号", "房号", "房东", "租客", "起租日期", "到期日期", "登记状态"],
        ["A院", "A1号", "101室", "王建国", "王小明", start, "", "已登记"],
    ]
    first = run(csv_bytes(rows), dispatcher, kind="rentals")
    assert first.ok, first.problems
    assert first.counts == {"created": 1, "updated": 0, "unchanged": 0}
    rental = Rental.objects.get(place=reg.world.unit_a)
    assert [t.pk for t in rental.tenants.all()] == [reg.xiaoming.pk]
    assert rental.landlord_name == "王建国"
    assert run(csv_bytes(rows), dispatcher, kind="rentals").counts["unchanged"] == 1
    rows[1][7] = "已结束"
    assert run(csv_bytes(rows), dispatcher, kind="rentals").counts["updated"] == 1
    assert Rental.objects.get(pk=rental.pk).registration_state == "ended"


def test_import_rentals__unknown_tenant__bad_row(reg: RegistryWorld, dispatcher: User) -> None:
    rows = [
        ["院落", "门牌号", "房号", "房东", "租客"],
        ["A院", "A1号", "101室", "王建国", "无名氏"],
    ]
    report = run(csv_bytes(rows), dispatcher, kind="rentals")
    assert [p.code for p in report.problems] == ["import.tenant_unknown"]


def test_import_vehicles__by_plate(reg: RegistryWorld, dispatcher: User) -> None:
    rows = [
        ["车牌号", "车辆类型", "车主", "院落", "品牌颜色"],
        ["川L·54321", "小汽车", "王建国", "A院", "白色大众"],
        ["川L 12345", "货车/面包车", "王建国", "A院", ""],  # already registered: updated
        ["川L54321", "", "", "A院", ""],  # the same plate twice
    ]
    report = run(csv_bytes(rows), dispatcher, kind="vehicles")
    assert [(p.row, p.code) for p in report.problems] == [(4, "import.plate_duplicate")]
    report = run(csv_bytes(rows[:3]), dispatcher, kind="vehicles")
    assert report.counts == {"created": 1, "updated": 1, "unchanged": 0}
    car = Vehicle.objects.get(plate="川L54321")
    assert (car.owner, car.place, car.description) == (
        reg.jianguo,
        reg.world.courtyard_a,
        "白色大众",
    )
    assert Vehicle.objects.get(plate="川L12345").kind == "van_truck"
    assert run(csv_bytes(rows[:3]), dispatcher, kind="vehicles").counts["unchanged"] == 2


def test_parse__kind_guessed_from_headers() -> None:
    assert imports.parse(csv_bytes([["车牌号", "车主"], ["川L12345", "x"]])).kind == "vehicles"
    assert imports.parse(csv_bytes([["房东", "租客", "门牌号"], ["a", "b", "c"]])).kind == "rentals"
    assert imports.parse(csv_bytes([["门牌号", "层数", "用途"], ["a", "2", "c"]])).kind == "houses"
    assert imports.parse(csv_bytes([["姓名", "身份证号"], ["a", "b"]])).kind == "residents"


# --- who may import ------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["p-commissioner-a", "p-resident", "p-leader"])
def test_import__roles_without_resident_import__refused(
    reg: RegistryWorld, persona: Callable[[str], User], username: str
) -> None:
    data = csv_bytes(good_rows())
    with pytest.raises(PermissionDenied) as refused:
        run(data, persona(username), dry=True)
    assert refused.value.code == "registry.import_forbidden"


# --- export --------------------------------------------------------------------------------


def read_xlsx(data: bytes) -> tuple[Any, list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet is not None
    return sheet, [list(r) for r in sheet.iter_rows(values_only=True)]


def column(rows: list[list[Any]], header: str) -> list[Any]:
    i = rows[0].index(header)
    return [r[i] for r in rows[1:]]


def test_export__commissioner__their_courtyards_masked(
    reg: RegistryWorld, commissioner_a: User, commissioner_exports: None
) -> None:
    audits = audit_count()
    data, result = exports.export_bytes(kind="residents", actor=commissioner_a)
    sheet, rows = read_xlsx(data)
    assert rows[0][:6] == ["序号", "姓名", "性别", "出生日期", "身份证号", "联系电话"]
    assert sheet.freeze_panes == "C2"
    assert sorted(column(rows, "姓名")) == sorted(["王秀英", "王建国", "王小明"])  # not 李四
    assert set(column(rows, "院落")) == {"A院"}
    assert WANG_ID not in str(rows)
    assert reg.wang.id_number_masked in column(rows, "身份证号")
    assert result.count == 3
    assert result.revealed == ()
    assert audit_count() == audits + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.data["count"]) == ("registry.exported", 3)


def test_export__role_without_pii_reveal__cannot_reveal(
    reg: RegistryWorld, commissioner_a: User, commissioner_exports: None
) -> None:
    audits = audit_count()
    with pytest.raises(PermissionDenied) as refused:
        exports.export_bytes(kind="residents", actor=commissioner_a, reveal=True, reason="回访")
    assert refused.value.code == "pii.forbidden"
    assert audit_count() == audits


def test_export__reveal_with_reason__full_numbers_and_one_audit_row(
    reg: RegistryWorld, dispatcher: User
) -> None:
    audits = audit_count()
    data, result = exports.export_bytes(
        kind="residents", actor=dispatcher, reveal=True, reason="人口普查核对"
    )
    _sheet, rows = read_xlsx(data)
    assert WANG_ID in column(rows, "身份证号")
    assert WANG_PHONE in column(rows, "联系电话")
    assert result.count == 4
    assert result.revealed == ("id_number", "phone", "phone2")
    assert audit_count() == audits + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.action == "pii.revealed"
    assert event.reason == "人口普查核对"
    assert event.data["count"] == 4
    assert event.data["field"] == "id_number,phone,phone2"
    assert event.place_path == reg.world.community.path


def test_export__reveal_without_reason__refused(reg: RegistryWorld, dispatcher: User) -> None:
    audits = audit_count()
    out = io.BytesIO()
    with pytest.raises(DomainError) as refused:
        exports.export_write(out, kind="residents", actor=dispatcher, reveal=True, reason=" ")
    assert refused.value.code == "pii.reason_required"
    assert out.getvalue() == b""
    assert audit_count() == audits


def test_export__filters_and_csv(reg: RegistryWorld, dispatcher: User) -> None:
    data, result = exports.export_bytes(
        kind="residents",
        actor=dispatcher,
        fmt="csv",
        filters={"residence_type": "migrant"},
    )
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == exports.header_row("residents")
    assert column(rows, "姓名") == ["李四"]
    assert column(rows, "人员类型") == ["流动"]
    assert result.count == 1


@pytest.mark.parametrize("kind", ["houses", "rentals", "vehicles"])
def test_export__other_kinds__masked_and_reimportable(
    reg: RegistryWorld, dispatcher: User, kind: str
) -> None:
    data, result = exports.export_bytes(kind=kind, actor=dispatcher)
    _sheet, rows = read_xlsx(data)
    assert rows[0] == list(exports.header_row(kind))
    assert result.count == len(rows) - 1 >= 1
    assert not [r for s in (WANG_ID, LI_ID) for r in digits_runs(s) if r in str(rows)]
    report = run(data, dispatcher, kind=kind)
    assert report.ok, report.problems
    assert report.counts["created"] == 0


def test_export_then_import__residents_round_trip_changes_nothing(
    reg: RegistryWorld, dispatcher: User
) -> None:
    data, _result = exports.export_bytes(
        kind="residents", actor=dispatcher, reveal=True, reason="核对"
    )
    parsed = imports.parse(data)
    assert parsed.kind == "residents"
    report = imports.apply(data, mapping=parsed.mapping, kind="residents", actor=dispatcher)
    assert report.ok, report.problems
    assert report.counts == {"created": 0, "updated": 0, "unchanged": 4, "households_created": 0}


def test_export__masked_file_imported__id_numbers_must_be_full(
    reg: RegistryWorld, dispatcher: User
) -> None:
    data, _result = exports.export_bytes(kind="residents", actor=dispatcher)
    report = run(data, dispatcher, dry=True)
    assert {p.code for p in report.problems} == {"import.id_number_masked"}


def test_export__formula_like_text__is_not_a_formula(reg: RegistryWorld, dispatcher: User) -> None:
    from sanan.registry.services import resident_update

    resident_update(actor="tests", resident=reg.jianguo, work_or_school='=HYPERLINK("x")')
    data, _result = exports.export_bytes(kind="residents", actor=dispatcher)
    _sheet, rows = read_xlsx(data)
    assert '\'=HYPERLINK("x")' in column(rows, "工作单位/学校")


# --- commands ------------------------------------------------------------------------------


def test_registry_import_command__dry_run_then_import(
    reg: RegistryWorld, dispatcher: User, tmp_path: Path
) -> None:
    path = tmp_path / "居民.csv"
    path.write_bytes(csv_bytes(good_rows(), "gbk"))
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "registry_import",
        str(path),
        "--kind",
        "residents",
        "--dry-run",
        "--actor",
        "p-dispatcher",
        stdout=out,
        stderr=err,
    )
    assert "-> id_number" in out.getvalue()
    assert "no problems" in out.getvalue()
    assert "100%" in err.getvalue()
    assert not Resident.objects.filter(name="赵六").exists()
    call_command("registry_import", str(path), "--actor", "p-dispatcher", stdout=out, stderr=err)
    assert "imported 5 rows" in out.getvalue()
    assert Resident.objects.filter(name="赵六").exists()


def test_registry_import_command__bad_rows__listed_and_exit_status_1(
    reg: RegistryWorld, desk_a: User, tmp_path: Path
) -> None:
    data, secrets = bad_file()
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("registry_import", str(path), "--actor", "t-desk-a", stdout=out, stderr=out)
    assert failed.value.returncode == 1
    text = out.getvalue()
    assert "nothing was imported" in text
    for row in (3, 4, 5, 6, 7):
        assert f"row {row} [" in text
    for secret in secrets.values():
        assert not [r for r in digits_runs(secret) if r in text]


def test_registry_import_command__map_option(
    reg: RegistryWorld, dispatcher: User, tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([["人", "号"], ["卫十四", new_id(44)]]))
    out = io.StringIO()
    with pytest.raises(CommandError):  # no place column: a required field is missing
        call_command(
            "registry_import",
            str(path),
            "--kind",
            "residents",
            "--map",
            "A=name,B=id_number",
            "--actor",
            "p-dispatcher",
            "--dry-run",
            stdout=out,
            stderr=out,
        )


def test_registry_export_command__masked_and_revealed(
    reg: RegistryWorld, dispatcher: User, tmp_path: Path
) -> None:
    masked = tmp_path / "居民.xlsx"
    out = io.StringIO()
    call_command(
        "registry_export",
        "--kind",
        "residents",
        "--actor",
        "p-dispatcher",
        "-o",
        str(masked),
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "4 residents written" in out.getvalue()
    assert WANG_ID not in str(read_xlsx(masked.read_bytes())[1])
    revealed = tmp_path / "居民.csv"
    with pytest.raises(CommandError):
        call_command(
            "registry_export",
            "--kind",
            "residents",
            "--actor",
            "p-dispatcher",
            "-o",
            str(revealed),
            "--reveal",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert not revealed.exists()
    call_command(
        "registry_export",
        "--kind",
        "residents",
        "--actor",
        "p-dispatcher",
        "-o",
        str(revealed),
        "--reveal",
        "--reason",
        "核对",
        "--filter",
        f"place={reg.world.courtyard_a.pk}",
        stdout=out,
        stderr=io.StringIO(),
    )
    text = revealed.read_bytes().decode("utf-8-sig")
    assert WANG_ID in text
    assert LI_ID not in text


# --- API -----------------------------------------------------------------------------------


def upload(client: APIClient, data: bytes, name: str = "居民.csv") -> Any:
    file = io.BytesIO(data)
    file.name = name
    return client.post(f"{API}/imports/", {"file": file}, format="multipart")


def test_import_api__upload_check_apply(
    reg: RegistryWorld,
    dispatcher: User,
    api_as: Callable[[User], APIClient],
    inline_jobs: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = api_as(dispatcher)
    response = upload(client, csv_bytes(good_rows(), "gbk"))
    assert response.status_code == 201, response.content
    body = response.json()
    job_id = body["job"]["id"]
    assert body["job"]["state"] == "uploaded"
    assert {c["key"]: c["field"] for c in body["columns"]}["身份证号码"] == "id_number"
    assert ZHAO_ID not in response.content.decode()
    assert ImportJob.objects.get(pk=job_id).file_encrypted.startswith("v1:")

    response = start(client, job_id, "check", django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job = client.get(f"{API}/imports/{job_id}/").json()
    assert (job["state"], job["percent"], job["counts"].get("created")) == ("checked", 100, 4), job
    assert not Resident.objects.filter(name="赵六").exists()

    response = start(client, job_id, "apply", django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job = client.get(f"{API}/imports/{job_id}/").json()
    assert job["state"] == "done"
    assert Resident.objects.filter(name="赵六").exists()
    assert ImportJob.objects.get(pk=job_id).file_encrypted == ""
    response = client.post(f"{API}/imports/{job_id}/apply/", {}, format="json")
    assert response.status_code == 409


def test_import_api__bad_rows__job_refused_with_reasons(
    reg: RegistryWorld,
    desk_a: User,
    api_as: Callable[[User], APIClient],
    inline_jobs: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = api_as(desk_a)
    data, secrets = bad_file()
    job_id = upload(client, data).json()["job"]["id"]
    start(client, job_id, "apply", django_capture_on_commit_callbacks)
    response = client.get(f"{API}/imports/{job_id}/")
    job = response.json()
    assert job["state"] == "refused"
    assert job["problem_count"] == 5
    assert [p["row"] for p in job["problems"]] == [3, 4, 5, 6, 7]
    for secret in secrets.values():
        assert not [r for r in digits_runs(secret) if r in response.content.decode()]


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "The check digit does not match: please check the ID number again."),
        ("zh-hans", "校验位不符，请重新核对身份证号。"),
    ],
    ids=["en", "zh-hans"],
)
def test_import_api__bad_rows__stable_codes_and_reasons_in_the_callers_language(
    reg: RegistryWorld,
    desk_a: User,
    api_as: Callable[[User], APIClient],
    inline_jobs: None,
    django_capture_on_commit_callbacks: Any,
    language: str,
    reason: str,
) -> None:
    """The check ran in the other language: each caller reads the reasons in their own, and
    the codes are the same for both."""
    client = api_as(desk_a)
    data, _secrets = bad_file()
    job_id = upload(client, data).json()["job"]["id"]
    ran_in = "zh-hans" if language == "en" else "en"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{API}/imports/{job_id}/check/", {}, format="json", HTTP_ACCEPT_LANGUAGE=ran_in
        )
    assert response.status_code == 202, response.content
    job = client.get(f"{API}/imports/{job_id}/", HTTP_ACCEPT_LANGUAGE=language).json()
    assert job["state"] == "refused"
    by_row = {p["row"]: p for p in job["problems"]}
    assert by_row[3]["code"] == "resident.id_number_checksum"
    assert by_row[3]["message"] == reason
    assert by_row[7]["code"] == "import.id_number_duplicate"
    assert [p["code"] for p in job["problems"]] == [
        "resident.id_number_checksum",
        "phone.invalid_mobile",
        "import.courtyard_unknown",
        "import.place_out_of_scope",
        "import.id_number_duplicate",
    ]


def test_import_api__someone_elses_job__not_found(
    reg: RegistryWorld,
    dispatcher: User,
    admin: User,
    persona: Callable[[str], User],
    api_as: Callable[[User], APIClient],
) -> None:
    job_id = upload(api_as(dispatcher), csv_bytes(good_rows())).json()["job"]["id"]
    other = user_create(actor="tests", username="t-desk-2", password="x" * 12, validate=False)
    role_grant(actor="tests", user=other, role=Role.DISPATCHER, place=reg.world.community)
    assert api_as(other).get(f"{API}/imports/{job_id}/").status_code == 404


@pytest.mark.parametrize(("username", "status"), [("p-commissioner-a", 403), ("p-handler", 404)])
def test_import_api__roles_without_import(
    reg: RegistryWorld,
    persona: Callable[[str], User],
    api_as: Callable[[User], APIClient],
    username: str,
    status: int,
) -> None:
    response = upload(api_as(persona(username)), csv_bytes(good_rows()))
    assert response.status_code == status


def test_export_api__masked_download_and_reveal_rules(
    reg: RegistryWorld, dispatcher: User, api_as: Callable[[User], APIClient]
) -> None:
    client = api_as(dispatcher)
    response = client.post(f"{API}/exports/", {"kind": "residents"}, format="json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert WANG_ID not in str(read_xlsx(response.content)[1])
    response = client.post(f"{API}/exports/", {"kind": "residents", "reveal": True}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "pii.reason_required")
    response = client.post(
        f"{API}/exports/",
        {"kind": "vehicles", "format": "csv", "reveal": True, "reason": "核对车主"},
        format="json",
    )
    assert response.status_code == 200
    assert response["X-Export-Count"] == "2"


# --- throughput ----------------------------------------------------------------------------


def generated_residents(world: World, n: int) -> Iterator[list[Any]]:
    yield ["姓名", "身份证号", "联系电话", "院落", "门牌号", "房号", "户号", "与户主关系"]
    for i in range(n):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=i // 1000)
        yield [
            f"居民{i}",
            fake_id_number(birth_date=born, sequence=i % 1000),
            fake_mobile(i % 10000, prefix=f"13{i // 10000 % 10}0833"),
            "A院",
            "A1号",
            "101室",
            f"GEN-{i // 3}",
            "户主" if i % 3 == 0 else "子女",
        ]


def test_import__generated_file__bulk_path(world: World, dispatcher: User) -> None:
    data = csv_bytes(list(generated_residents(world, 1500)))
    report = run(data, dispatcher)
    assert report.ok, report.problems[:3]
    assert report.counts["created"] == 1500
    assert report.counts["households_created"] == 500
    assert Household.objects.get(code="GEN-7").head.name == "居民21"  # type: ignore[union-attr]
    assert ResidenceEvent.objects.filter(resident__name__startswith="居民").count() == 1500
    again = run(data, dispatcher)
    assert again.counts["unchanged"] == 1500


def test_import_job_problems__a_job_stored_before_reasons_kept_every_language__its_message(
    reg: RegistryWorld, desk_a: User, api_as: Callable[[User], APIClient]
) -> None:
    """A job checked before each reason was kept in every language has one message per
    problem: it is shown as it is, in either language."""
    from django.utils import translation

    from sanan.registry.imports import import_job_problems
    from sanan.registry.models_io import ImportJob

    data, _secrets = bad_file()
    job_id = upload(api_as(desk_a), data).json()["job"]["id"]
    job = ImportJob.objects.get(pk=job_id)
    old = {"row": 3, "column": "身份证号", "field": "id_number",
           "code": "resident.id_number_checksum", "message": "身份证号码校验位不对"}  # fmt: skip
    job.problems = [old]
    job.save(update_fields=["problems"])
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert import_job_problems(job) == [old]
