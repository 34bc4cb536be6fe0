"""Dual-reporting pages and API per role: unit members claim for their own unit, residents
rate on their phone, staff publish and evaluate; outsiders get 404; pinned query counts."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from openpyxl import load_workbook

from sanan.accounts.models import User
from sanan.dualreport import services
from sanan.dualreport.models import Claim, ClaimState, Rating
from tests.dualreport.conftest import TODAY, Dual

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "home", "evaluation", "new_task"),
    [
        ("p-dispatcher", 200, 200, 200),
        ("p-leader", 200, 200, 200),
        ("p-admin", 200, 200, 200),
        ("p-unitmember", 200, 200, 404),
        ("p-resident", 200, 404, 404),
        ("p-committee", 200, 200, 404),
        ("p-handler", 404, 404, 404),
        ("p-commissioner-a", 404, 404, 404),
        ("p-butler", 404, 404, 404),
    ],
)
def test_dual_pages__per_role(
    dual: Dual, web_as: Callable, username: str, home: int, evaluation: int, new_task: int
) -> None:
    client = web_as(User.objects.get(username=username))
    assert client.get("/dual/").status_code == home
    assert client.get("/dual/evaluation/").status_code == evaluation
    assert client.get("/dual/tasks/new/").status_code == new_task


def test_dual_task_page__outsider_404(dual: Dual, web_as, persona, demo) -> None:  # type: ignore[no-untyped-def]
    task = dual.task()
    assert web_as(persona("unitmember")).get(f"/dual/tasks/{task.pk}/").status_code == 404
    assert web_as(dual.fresh(dual.resident)).get(f"/dual/tasks/{task.pk}/").status_code == 200


def test_dual_flow__claim_report_rate_through_pages(dual: Dual, web_as) -> None:  # type: ignore[no-untyped-def]
    task = dual.task(slots=1)
    unit = web_as(dual.fresh(dual.member_a))
    page = unit.get(f"/dual/tasks/{task.pk}/").content.decode()
    assert 'data-testid="claim"' in page
    assert (
        unit.post(f"/dual/tasks/{task.pk}/claim/", {"registration": dual.reg_a.pk}).status_code
        == 302
    )
    other = web_as(dual.fresh(dual.member_b))
    refused = other.post(f"/dual/tasks/{task.pk}/claim/", {"registration": dual.reg_b.pk})
    assert refused.status_code == 409
    assert "last place" in refused.content.decode() or "最后" in refused.content.decode()
    claim = Claim.objects.get(task=task)
    assert (
        other.post(f"/dual/tasks/{task.pk}/claim/", {"registration": dual.reg_a.pk}).status_code
        == 404
    )
    bad = unit.post(
        f"/dual/claims/{claim.pk}/complete/", {"hours": "2", "people": "3", "evidence": ""}
    )
    assert bad.status_code == 400
    done = unit.post(
        f"/dual/claims/{claim.pk}/complete/", {"hours": "2", "people": "3", "evidence": "清理完毕"}
    )
    assert done.status_code == 302
    resident = web_as(dual.fresh(dual.resident))
    home = resident.get("/dual/").content.decode()
    assert 'data-testid="rateable"' in home
    rated = resident.post(f"/dual/claims/{claim.pk}/rate/", {"stars": "5", "comment": "好"})
    assert rated.status_code == 302
    assert Rating.objects.get(claim=claim).stars == 5
    assert unit.post(f"/dual/claims/{claim.pk}/rate/", {"stars": "1"}).status_code == 403


def test_dual_api__claim_race_message_and_scoping(dual: Dual, api_as) -> None:  # type: ignore[no-untyped-def]
    staff = api_as(dual.fresh(dual.dispatcher))
    created = staff.post("/api/v1/dualreport/tasks/", {
        "place": dual.world.courtyard_b.pk, "title": "B院义诊", "slots": 1, "hours_per_slot": 2,
        "starts_on": TODAY.isoformat(), "due_on": TODAY.isoformat(),
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    won = api_as(dual.fresh(dual.member_a)).post(f"/api/v1/dualreport/tasks/{pk}/claim/", {})
    assert won.status_code == 201
    lost = api_as(dual.fresh(dual.member_b)).post(f"/api/v1/dualreport/tasks/{pk}/claim/", {})
    assert lost.status_code == 409
    assert lost.json()["code"] == "dual_task.full"
    regs = api_as(dual.fresh(dual.member_b)).get("/api/v1/dualreport/registrations/").json()
    assert [r["id"] for r in regs] == [dual.reg_b.pk]
    assert regs[0]["contact_phone"] in ("", "139****2222") or "*" in regs[0]["contact_phone"]
    assert api_as(dual.fresh(dual.resident)).get("/api/v1/dualreport/registrations/").json() == []
    bad = staff.post("/api/v1/dualreport/tasks/", {
        "place": dual.world.courtyard_b.pk, "title": "x", "slots": 0, "hours_per_slot": 2,
        "starts_on": TODAY.isoformat(), "due_on": TODAY.isoformat(),
    }, format="json")  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["code"] == "dual_task.slots_invalid"
    evaluation = staff.get(f"/api/v1/dualreport/evaluation/?year={TODAY.year}").json()
    assert {row["name"] for row in evaluation} == {dual.reg_a.name, dual.reg_b.name}


def test_dual_home__queries_do_not_grow(dual: Dual, web_as, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    dual.task()
    client = web_as(dual.fresh(dual.member_a))
    client.get("/dual/")
    with django_assert_max_num_queries(20) as one:
        client.get("/dual/")
    for i in range(4):
        task = dual.task(title=f"任务{i}", hours_per_slot=1)
        services.task_claim(actor=dual.fresh(dual.member_b), task=task, registration=dual.reg_b)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/dual/")


def test_dual_evaluation__xlsx(dual: Dual, web_as) -> None:  # type: ignore[no-untyped-def]
    task = dual.task()
    claim = services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    services.claim_complete(
        actor=dual.fresh(dual.member_a), claim=claim, hours=3, people=2, evidence="ok"
    )
    response = web_as(dual.fresh(dual.leader)).get(f"/dual/evaluation.xlsx?year={TODAY.year}")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    by_name = {r[0]: r for r in rows[1:] if r and r[0]}
    assert by_name[dual.reg_a.name][2:4] == (1, 1)
    assert by_name[dual.reg_a.name][5] == 3.0
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.DONE
