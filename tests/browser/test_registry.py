"""The registry's pages in a real browser: the commissioner on a phone walks from their courtyard
to its people-house-car page, finds a resident by name and opens them; the dispatcher at a desk
registers a resident, mistypes the ID number, reads the error, fixes it, and shows the phone
number with a reason. Every registry page is saved at phone and desk size for people to look at.

The demo has no registry yet, so each test registers a few households in courtyard 1 through the
services (the live server shares the test's database).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .support import DESK, EN, LANGS, PHONE, ZH, Demo, Lang, sign_in, translated

pytestmark = pytest.mark.browser

NEW_PHONE = "13912345670"


@dataclass(frozen=True)
class Seeded:
    courtyard: int
    house: int
    unit: int
    free_unit: int  # a flat where the dispatcher starts a new household
    ouyang: int  # 欧阳秀兰, elderly and living alone
    household: int  # 陈志强's household
    rental: int
    vehicle: int
    new_id: str  # a valid ID number nobody has yet


def _seed() -> Seeded:
    """Three households in courtyard 1 of the demo, with a rental, a car and care tags."""
    from sanan.core import clock
    from sanan.places.models import Place, PlaceKind
    from sanan.registry.services import (
        house_profile_set,
        rental_create,
        resident_register,
        vehicle_register,
    )
    from sanan.registry.testing import fake_id_number

    def id_number(year: int, sequence: int) -> str:
        return fake_id_number(birth_date=dt.date(year, 3, 9), sequence=sequence, region="511112")

    today = clock.today()
    courtyard = Place.objects.get(code="hq-c01")
    houses = list(
        Place.objects.filter(path__startswith=courtyard.path, kind=PlaceKind.HOUSE).order_by("path")
    )
    units = [
        list(Place.objects.filter(path__startswith=h.path, kind=PlaceKind.UNIT).order_by("path"))
        for h in houses[:2]
    ]
    actor = "browser-tests"
    ouyang = resident_register(
        actor=actor,
        place=units[0][0],
        name="欧阳秀兰",
        id_number=id_number(1946, 902),
        phone="13912340001",
        moved_in_on=dt.date(1980, 5, 1),
        tags=["elderly_alone"],
    )
    chen = resident_register(
        actor=actor,
        place=units[0][1],
        name="陈志强",
        id_number=id_number(1979, 903),
        phone="13912340002",
        work_or_school="乐山港务",
    )
    resident_register(
        actor=actor,
        household=chen.household,
        name="陈小雨",
        id_number=id_number(2015, 904),
        relation_to_head="child",
        work_or_school="红旗小学",
        tags=["left_behind_child"],
    )
    ma = resident_register(
        actor=actor,
        place=units[1][0],
        name="马丽",
        id_number=id_number(1995, 906),
        phone="13912340003",
        residence_type="migrant",
        moved_in_on=today - dt.timedelta(days=120),
        registration_expires_on=today + dt.timedelta(days=5),
    )
    house_profile_set(
        actor=actor,
        house=houses[0],
        house_number="红旗巷1号",
        owner=chen,
        floors=3,
        self_built=True,
    )
    rental = rental_create(
        actor=actor,
        place=units[1][0],
        landlord=chen,
        tenants=[ma],
        starts_on=today - dt.timedelta(days=120),
        registration_state="registered",
    )
    vehicle = vehicle_register(actor=actor, plate="川LZ9001", owner=chen, place=houses[0])
    vehicle_register(actor=actor, plate="川LDZ9012", owner=ma, place=courtyard)
    return Seeded(
        courtyard=courtyard.pk,
        house=houses[0].pk,
        unit=units[0][0].pk,
        free_unit=units[1][-1].pk,
        ouyang=ouyang.pk,
        household=chen.household_id,
        rental=rental.pk,
        vehicle=vehicle.pk,
        new_id=id_number(1988, 907),
    )


def _field(page: Any, label: str) -> Any:
    """A form field by its label (which may go on with "(required)")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\b"))


def _no_sideways_scroll(page: Any, what: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{what} scrolls sideways by {overflow}px"


def _shoot(page: Any, screenshot_dir: Path, name: str, size: str, lang: Lang) -> None:
    path = screenshot_dir / f"registry-{name}-{size}-{lang.locale}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_commissioner_on_a_phone_finds_a_resident_of_their_courtyard(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from django.utils.translation import gettext_lazy as _

    seeded = _seed()
    page = open_page(ZH, viewport=PHONE)
    sign_in(page, "commissioner", live_demo.password)

    page.locator("main").get_by_role("link", name="1号院").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("1号院")
    page.get_by_test_id("people-house-car").click()  # loaded into the place page by HTMX

    overview = page.get_by_test_id("overview")
    expect(overview.get_by_role("heading", level=1)).to_have_text("1号院")
    main = page.locator("main")
    for text in ("欧阳秀兰", "陈志强", "陈小雨", "马丽", "川LZ9001", "红旗巷1号"):
        expect(main).to_contain_text(text)
    expect(main).to_contain_text(translated(_("Elderly, living alone"), ZH))
    _no_sideways_scroll(page, "the people-house-car page")
    _shoot(page, screenshot_dir, "journey-overview", "phone", ZH)

    page.get_by_role("searchbox").fill("欧阳")
    page.get_by_role("button", name=translated(_("Search"), ZH), exact=True).click()
    results = page.get_by_test_id("results")
    expect(results.get_by_role("link", name="欧阳秀兰")).to_be_visible()
    expect(results.get_by_role("link")).to_have_count(1)
    assert "欧阳" in page.url or "%E6%AC%A7%E9%98%B3" in page.url  # a name may be in the address
    _no_sideways_scroll(page, "the search results")
    _shoot(page, screenshot_dir, "journey-search", "phone", ZH)

    results.get_by_role("link", name="欧阳秀兰").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("欧阳秀兰")
    assert urlsplit(page.url).path == f"/registry/residents/{seeded.ouyang}/"
    expect(page.get_by_test_id("phone-masked")).to_have_text("139****0001")
    expect(page.get_by_text(translated(_("Show a full number"), ZH), exact=True)).to_have_count(0)
    _no_sideways_scroll(page, "the resident page")
    _shoot(page, screenshot_dir, "journey-resident", "phone", ZH)

    # Courtyard 2 is not theirs: its people-house-car page does not exist for them.
    response = page.goto(f"/registry/places/{live_demo.place_pk('hq-c02')}/")
    assert response is not None
    assert response.status == 404


def test_dispatcher_registers_a_resident_then_reveals_the_phone(
    live_demo: Demo, open_page: Any, screenshot_dir: Path
) -> None:
    from django.utils.translation import gettext_lazy as _

    from sanan.audit.models import AuditEvent
    from sanan.registry.models import Resident

    seeded = _seed()
    lang = EN
    page = open_page(lang, viewport=DESK)
    sign_in(page, "dispatcher", live_demo.password)
    tiles = page.get_by_test_id("registry-tiles")  # loaded into the home page by HTMX
    tiles.get_by_role("link", name=translated(_("Register a resident"), lang)).click()

    page.get_by_label(translated(_("Courtyard"), lang), exact=True).select_option(
        str(seeded.courtyard)
    )
    home = page.locator("#id_home")
    expect(home.locator(f'option[value="p:{seeded.free_unit}"]')).to_have_count(1)
    home.select_option(f"p:{seeded.free_unit}")
    _field(page, translated(_("Name"), lang)).fill("赵一鸣")
    wrong = seeded.new_id[:-1] + ("0" if seeded.new_id[-1] != "0" else "1")
    _field(page, translated(_("ID number"), lang)).fill(wrong)
    _field(page, translated(_("Phone"), lang)).fill(NEW_PHONE)
    page.get_by_role("button", name=translated(_("Register"), lang), exact=True).click()

    alert = page.locator(".reg-errors")
    expect(alert).to_contain_text(
        translated(_("The check digit does not match: please check the ID number again."), lang)
    )
    field_error = page.locator("#field-id_number .field-error")
    expect(field_error).to_contain_text(
        translated(_("The last character does not match the others."), lang)
    )
    expect(page.locator("#id_id_number")).to_have_attribute("aria-invalid", "true")
    _shoot(page, screenshot_dir, "journey-form-error", "desk", lang)
    assert not Resident.objects.filter(name="赵一鸣").exists()

    page.locator("#id_id_number").fill(seeded.new_id)
    page.get_by_role("button", name=translated(_("Register"), lang), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("赵一鸣")
    created = Resident.objects.get(name="赵一鸣")
    assert urlsplit(page.url).path == f"/registry/residents/{created.pk}/"
    expect(page.get_by_test_id("phone-masked")).to_have_text("139****5670")
    assert NEW_PHONE not in page.content()

    page.get_by_text(translated(_("Show a full number"), lang)).click()
    page.get_by_label(translated(_("ID number"), lang), exact=True).uncheck()
    page.get_by_label(translated(_("Why do you need the full number?"), lang)).fill("回访")
    page.get_by_role("button", name=translated(_("Show"), lang), exact=True).click()
    revealed = page.get_by_test_id("revealed")
    expect(revealed).to_contain_text(NEW_PHONE)
    expect(revealed.get_by_role("link", name=NEW_PHONE)).to_have_attribute(
        "href", f"tel:{NEW_PHONE}"
    )
    assert seeded.new_id not in page.content()  # only the phone was asked for
    assert NEW_PHONE not in page.url
    _shoot(page, screenshot_dir, "journey-revealed", "desk", lang)
    event = AuditEvent.objects.filter(action="pii.revealed").latest("seq")
    assert (event.reason, event.data["field"], event.object_id) == (
        "回访",
        "phone",
        str(created.pk),
    )

    page.get_by_role("button", name=translated(_("Hide the numbers"), lang)).click()
    expect(page.get_by_test_id("revealed")).to_have_count(0)
    assert NEW_PHONE not in page.content()


def _csv(rows: list[list[str]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _import_file(seeded: Seeded, *, bad: bool = False) -> bytes:
    from sanan.places.models import Place
    from sanan.registry.testing import fake_id_number

    unit = Place.objects.get(pk=seeded.free_unit)
    house = Place.objects.get(path=unit.path[: -Place.steplen])
    rows = [["序号", "姓名", "身份证号", "联系电话", "院落", "门牌号", "房号", "与户主关系"]]
    for i, name in enumerate(("刘一", "刘二", "刘三")):
        number = fake_id_number(
            birth_date=dt.date(1970 + i, 1, 5), sequence=910 + i, region="511112"
        )
        if bad and i == 1:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")
        relation = "户主" if i == 0 else "子女"
        rows.append(
            [str(i + 1), name, number, f"1391234{i:04d}", "1号院", house.name, unit.name, relation]
        )
    return _csv(rows)


def test_dispatcher_imports_a_spreadsheet_with_the_wizard(
    live_demo: Demo, open_page: Any, screenshot_dir: Path, tmp_path: Path
) -> None:
    """Upload, check the columns, check every row (a progress bar while it runs), import."""
    from django.utils.translation import gettext_lazy as _

    from sanan.registry.models import Resident

    seeded = _seed()
    lang = EN
    page = open_page(lang, viewport=DESK)
    sign_in(page, "dispatcher", live_demo.password)
    page.goto("/registry/")
    page.get_by_role("link", name=translated(_("Import a spreadsheet"), lang)).click()
    upload = tmp_path / "刘家.csv"
    upload.write_bytes(_import_file(seeded))
    page.get_by_label(translated(_("Spreadsheet"), lang)).set_input_files(str(upload))
    page.get_by_role("button", name=translated(_("Upload and read the columns"), lang)).click()

    job = page.get_by_test_id("import-job")
    expect(job).to_have_attribute("data-state", "uploaded")
    expect(page.locator("select[name=col_1]")).to_have_value("name")
    page.get_by_role("button", name=translated(_("Check every row"), lang)).click()
    expect(page.get_by_test_id("import-job")).to_have_attribute(
        "data-state", "checked", timeout=20_000
    )
    _shoot(page, screenshot_dir, "journey-import-checked", "desk", lang)
    assert not Resident.objects.filter(name__in=["刘一", "刘二", "刘三"]).exists()

    page.get_by_role("button", name=translated(_("Import now"), lang)).click()
    expect(page.get_by_test_id("import-job")).to_have_attribute(
        "data-state", "done", timeout=20_000
    )
    assert Resident.objects.filter(name__in=["刘一", "刘二", "刘三"]).count() == 3


def _pages(seeded: Seeded) -> dict[str, str]:
    return {
        "list": "/registry/?q=陈",
        "resident": f"/registry/residents/{seeded.ouyang}/",
        "courtyard": f"/registry/places/{seeded.courtyard}/",
        "house": f"/registry/places/{seeded.house}/",
        "household": f"/registry/households/{seeded.household}/",
        "expiring": "/registry/expiring/",
        "register": f"/registry/residents/new/?courtyard={seeded.courtyard}",
        "edit": f"/registry/residents/{seeded.ouyang}/edit/",
        "move-out": f"/registry/residents/{seeded.ouyang}/move-out/",
        "change-household": f"/registry/residents/{seeded.ouyang}/change-household/",
        "house-details": f"/registry/houses/{seeded.house}/edit/",
        "rental": f"/registry/rentals/{seeded.rental}/edit/",
        "vehicle": f"/registry/vehicles/{seeded.vehicle}/edit/",
    }


def test_registry_screenshots_phone_and_desk(
    live_demo: Demo, open_page: Any, screenshot_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every registry page at phone (390x844) and desk (1440x900) size, in both languages, for
    people to look at in test-results/screenshots/; on the phone nothing may stick out."""
    from sanan.accounts.models import User
    from sanan.registry import imports

    seeded = _seed()
    dispatcher = User.objects.get(username="dispatcher")
    uploaded, _parsed = imports.import_job_create(
        actor=dispatcher, file=_import_file(seeded), filename="刘家.csv"
    )
    refused, parsed = imports.import_job_create(
        actor=dispatcher, file=_import_file(seeded, bad=True), filename="刘家-有错.csv"
    )
    monkeypatch.setattr(imports, "job_runner", imports._run_job_inline)  # here, at once
    imports.import_job_start(actor=dispatcher, job=refused, mapping=parsed.mapping, dry_run=True)
    pages = {
        **_pages(seeded),
        "import": "/registry/import/",
        "import-columns": f"/registry/import/{uploaded.pk}/",
        "import-refused": f"/registry/import/{refused.pk}/",
    }
    for lang in LANGS:
        for size_name, size in (("phone", PHONE), ("desk", DESK)):
            page = open_page(lang, viewport=size)
            sign_in(page, "dispatcher", live_demo.password)
            for name, url in pages.items():
                response = page.goto(url)
                assert response is not None
                assert response.status == 200, name
                _shoot(page, screenshot_dir, name, size_name, lang)
                _no_sideways_scroll(page, f"{name} at {size}")
            if size == DESK:  # the courtyard board's printout: no buttons, no search
                page.emulate_media(media="print")
                page.goto(f"/registry/places/{seeded.courtyard}/")
                expect(page.get_by_role("searchbox")).to_be_hidden()
                expect(page.locator(".reg-rental button").first).to_be_hidden()
                expect(page.locator("main")).to_contain_text("欧阳秀兰")
                _shoot(page, screenshot_dir, "courtyard-print", size_name, lang)
            page.context.close()
