"""Hostile spreadsheets for the registry import: fake workbooks, old and empty files,
undecodable bytes, script and formula text in the cells, NUL bytes, a traversal file name.
A file that cannot be read is refused with a clear message and a stable code and leaves no
job; a readable one becomes a job whose page shows every cell escaped, whose check reports
bad rows by number, and whose apply writes nothing while any row is bad."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from sanan.registry import exports, imports
from sanan.registry.models import Resident
from sanan.registry.models_io import ImportJob
from sanan.registry.testing import fake_id_number
from tests.hostile.conftest import Hostile
from tests.hostile.support import assert_refused, assert_shown_escaped, nothing_written

pytestmark = pytest.mark.django_db

API = "/api/v1/registry"
HEADER = ["序号", "姓名", "身份证号", "联系电话", "院落", "门牌号", "房号", "与户主关系"]
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|'/C calc'!A0"


def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _zip(entries: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return out.getvalue()


def _client(h: Hostile) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(h.user("dispatcher"))
    return client


def _upload(h: Hostile, data: bytes, name: str) -> Any:
    return _client(h).post(
        f"{API}/imports/", {"file": SimpleUploadedFile(name, data)}, format="multipart"
    )


UNREADABLE: dict[str, tuple[bytes, str, str]] = {
    "zip-header-then-garbage": (b"PK\x03\x04" + b"\x00" * 100, "a.xlsx", "import.unreadable"),
    "zip-that-is-not-a-workbook": (_zip({"a.txt": "hello"}), "a.xlsx", "import.unreadable"),
    "zip-with-php-inside": (
        _zip({"shell.php": "<?php system($_GET['c']); ?>"}), "a.xlsx", "import.unreadable"
    ),
    "old-excel-97": (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "a.xls", "import.old_excel"),
    "undecodable-bytes": (bytes(range(256)) * 4, "a.csv", "import.encoding_unknown"),
    "empty-file": (b"", "a.csv", "validation.invalid"),
}  # fmt: skip


@pytest.mark.parametrize(("data", "name", "code"), list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_import__unreadable_file__refused_no_job(
    hostile: Hostile, data: bytes, name: str, code: str
) -> None:
    with nothing_written():
        response = _upload(hostile, data, name)
    assert_refused(response, 400, code, field="file")


def test_import__traversal_and_script_in_the_file_name__kept_as_a_plain_name(
    hostile: Hostile,
) -> None:
    name = f"../../etc/{SCRIPT}.csv"
    response = _upload(hostile, _csv([HEADER, [1, "王五"]]), name)
    assert response.status_code == 201, response.content
    job = ImportJob.objects.get(pk=response.json()["job"]["id"])
    assert "/" not in job.filename
    assert ".." not in job.filename
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(hostile.user("dispatcher"))
    page = client.get(f"/registry/import/{job.pk}/").content.decode()
    assert "<script>alert(1)" not in page


def _hostile_rows() -> list[list[Any]]:
    first = fake_id_number(birth_date=dt.date(1985, 6, 1), sequence=21)
    second = fake_id_number(birth_date=dt.date(1985, 6, 1), sequence=22)
    third = fake_id_number(birth_date=dt.date(1985, 6, 1), sequence=23)
    return [
        HEADER,
        [1, SCRIPT, first, "13811112222", "A院", "A1号", "101室", "子女"],
        [2, FORMULA, second, "13811113333", "A院", "A1号", "101室", "子女"],
        [3, "王\x00五", third, "13811114444", "A院", "A1号", "101室", "子女"],
        [4, "长" * 10_000, third[:17] + "0", "13811115555", "A院", "A1号", "101室", "子女"],
    ]


def test_import__hostile_cells__page_escaped_bad_rows_named_nothing_imported(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(imports, "job_runner", imports._run_job_inline)
    client = _client(hostile)
    response = _upload(hostile, _csv(_hostile_rows()), "居民.csv")
    assert response.status_code == 201, response.content
    job_id = response.json()["job"]["id"]
    residents = Resident.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"{API}/imports/{job_id}/apply/", {}, format="json")
    assert started.status_code == 202, started.content
    job = client.get(f"{API}/imports/{job_id}/").json()
    assert job["state"] == "refused", job
    bad_rows = {p["row"] for p in job["problems"]}
    assert bad_rows == {5}, job["problems"]  # the over-long name (and its wrong check digit)
    assert all(len(p["message"]) > 8 for p in job["problems"]), job["problems"]
    assert Resident.objects.count() == residents
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(hostile.user("dispatcher"))
    page = web.get(f"/registry/import/{job_id}/").content.decode()
    assert "<script>alert(1)" not in page


def test_import__script_and_formula_names__stored_as_text_exported_harmless(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(imports, "job_runner", imports._run_job_inline)
    client = _client(hostile)
    rows = _hostile_rows()[:4]
    job_id = _upload(hostile, _csv(rows), "居民.csv").json()["job"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{API}/imports/{job_id}/apply/", {}, format="json")
    assert client.get(f"{API}/imports/{job_id}/").json()["state"] == "done"
    script = Resident.objects.get(name=SCRIPT)
    assert Resident.objects.filter(name=FORMULA).exists()
    assert Resident.objects.filter(name="王五").exists()  # the NUL byte left out
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(hostile.user("dispatcher"))
    assert_shown_escaped(web.get(f"/registry/residents/{script.pk}/").content.decode(), SCRIPT)
    for fmt in ("csv", "xlsx"):
        data, _result = exports.export_bytes(
            kind="residents", actor=hostile.user("dispatcher"), fmt=fmt
        )
        if fmt == "csv":
            rows_out = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(data)).active
            assert sheet is not None
            rows_out = [[str(c or "") for c in r] for r in sheet.iter_rows(values_only=True)]
        cells = [cell for row in rows_out for cell in row]
        assert FORMULA not in cells  # a spreadsheet would run it
        assert f"'{FORMULA}" in cells, fmt
