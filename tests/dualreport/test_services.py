"""Dual-reporting: registering, publishing, claiming (places and monthly capacity),
reporting done with evidence, residents' ratings, who sees what, and the evaluation sheet."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404

from sanan.audit.models import AuditEvent
from sanan.core.errors import Conflict, DomainError, PermissionDenied
from sanan.dualreport import selectors, services
from sanan.dualreport.models import ClaimState, Registration, RegistrationKind
from tests.dualreport.conftest import TODAY, Dual

pytestmark = pytest.mark.django_db


def test_registration__phone_encrypted_and_masked(dual: Dual) -> None:
    reg = Registration.objects.get(pk=dual.reg_a.pk)
    assert reg.contact_phone_masked == "139****2222"
    assert "13911112222" not in reg.contact_phone_encrypted
    assert AuditEvent.objects.filter(action="registration.created", object_id=str(reg.pk)).exists()


def test_registration__twice__refused(dual: Dual) -> None:
    with pytest.raises(DomainError) as err:
        services.registration_create(
            actor=dual.fresh(dual.dispatcher), place=dual.community, kind=RegistrationKind.UNIT,
            organisation=dual.unit_a, contact_name="x", resources="y", capacity_hours_month=2,
        )  # fmt: skip
    assert err.value.code == "registration.already_registered"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"resources": " "}, "registration.resources_required"),
        ({"capacity_hours_month": 0}, "registration.capacity_invalid"),
        ({"contact_name": ""}, "registration.contact_required"),
        ({"contact_phone": "12"}, "phone.invalid"),
    ],
)
def test_registration__bad_input(dual: Dual, kwargs: dict, code: str) -> None:
    base = {
        "actor": dual.fresh(dual.dispatcher), "place": dual.community,
        "kind": RegistrationKind.MEMBER, "member": dual.leader, "contact_name": "周",
        "resources": "法律咨询", "capacity_hours_month": 4,
    }  # fmt: skip
    base.update(kwargs)
    with pytest.raises(DomainError) as err:
        services.registration_create(**base)
    assert err.value.code.split(".")[0] == code.split(".")[0]
    if code != "phone.invalid":
        assert err.value.code == code


def test_registration__unit_member_registers_only_their_unit(dual: Dual) -> None:
    other = services.registration_end(actor=dual.fresh(dual.member_b), registration=dual.reg_b)
    assert other.state == "ended"
    with pytest.raises(PermissionDenied):
        services.registration_create(
            actor=dual.fresh(dual.member_a), place=dual.community, kind=RegistrationKind.UNIT,
            organisation=dual.unit_b, contact_name="冒名", resources="y", capacity_hours_month=2,
        )  # fmt: skip
    again = services.registration_create(
        actor=dual.fresh(dual.member_b), place=dual.community, kind=RegistrationKind.UNIT,
        organisation=dual.unit_b, contact_name="李会计", resources="税务咨询",
        capacity_hours_month=4,
    )  # fmt: skip
    assert again.pk != dual.reg_b.pk


def test_task__publish__only_staff(dual: Dual) -> None:
    with pytest.raises(PermissionDenied):
        dual.task(actor=dual.fresh(dual.member_a))
    with pytest.raises(PermissionDenied):
        dual.task(actor=dual.fresh(dual.resident))
    task = dual.task()
    assert task.community == dual.community
    assert task.minutes_per_slot == 180


def test_claim__takes_a_place_and_is_audited(dual: Dual) -> None:
    task = dual.task()
    claim = services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    task.refresh_from_db()
    assert task.claimed_slots == 1
    assert claim.state == ClaimState.CLAIMED
    assert AuditEvent.objects.filter(action="dual_claim.claimed", object_id=str(claim.pk)).exists()
    with pytest.raises(DomainError) as err:
        services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    assert err.value.code == "dual_claim.already_claimed"


def test_claim__last_place_gone__loser_told_why(dual: Dual) -> None:
    task = dual.task(slots=1)
    services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    with pytest.raises(Conflict) as err:
        services.task_claim(actor=dual.fresh(dual.member_b), task=task, registration=dual.reg_b)
    assert err.value.code == "dual_task.full"
    assert "last place" in str(err.value.message) or "最后" in str(err.value.message)


def test_claim__for_another_unit__404(dual: Dual) -> None:
    task = dual.task()
    with pytest.raises(Http404):
        services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_b)
    with pytest.raises(Http404):
        services.task_claim(actor=dual.fresh(dual.resident), task=task, registration=dual.reg_a)


def test_claim__over_monthly_capacity__refused_with_hours_left(dual: Dual) -> None:
    first = dual.task(hours_per_slot=4)
    services.task_claim(actor=dual.fresh(dual.member_b), task=first, registration=dual.reg_b)
    second = dual.task(hours_per_slot=3, title="社区税务讲座")
    with pytest.raises(DomainError) as err:
        services.task_claim(actor=dual.fresh(dual.member_b), task=second, registration=dual.reg_b)
    assert err.value.code == "dual_claim.over_capacity"
    later = dual.task(
        hours_per_slot=3, title="下月讲座", starts_on=TODAY + dt.timedelta(days=40),
        due_on=TODAY + dt.timedelta(days=45),
    )  # fmt: skip
    services.task_claim(actor=dual.fresh(dual.member_b), task=later, registration=dual.reg_b)


def test_claim__withdraw_gives_the_place_back(dual: Dual) -> None:
    task = dual.task(slots=1)
    claim = services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    services.claim_withdraw(actor=dual.fresh(dual.member_a), claim=claim)
    task.refresh_from_db()
    assert task.claimed_slots == 0
    services.task_claim(actor=dual.fresh(dual.member_b), task=task, registration=dual.reg_b)


def test_claim__complete_and_rate(dual: Dual) -> None:
    task = dual.task()
    claim = services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    with pytest.raises(Http404):  # residents see work once it is reported done
        services.claim_rate(actor=dual.fresh(dual.resident), claim=claim, stars=5)
    with pytest.raises(DomainError) as err:
        services.claim_complete(
            actor=dual.fresh(dual.member_a), claim=claim, hours=3, people=4, evidence=""
        )
    assert err.value.code == "dual_claim.evidence_required"
    services.claim_complete(
        actor=dual.fresh(dual.member_a), claim=claim, hours=2.5, people=4,
        evidence="清理楼道杂物两车，联系人13911112222",
    )  # fmt: skip
    claim.refresh_from_db()
    assert claim.minutes == 150
    assert "13911112222" not in claim.evidence  # numbers masked before storing
    with pytest.raises(PermissionDenied):  # a unit does not rate itself
        services.claim_rate(actor=dual.fresh(dual.dispatcher), claim=claim, stars=5)
    services.claim_rate(actor=dual.fresh(dual.resident), claim=claim, stars=4, comment="很及时")
    with pytest.raises(DomainError) as err:
        services.claim_rate(actor=dual.fresh(dual.resident), claim=claim, stars=5)
    assert err.value.code == "dual_rating.already_rated"
    claim.refresh_from_db()
    assert claim.average_rating == 4.0


def test_visibility__unit_member_sees_only_their_unit(dual: Dual) -> None:
    task = dual.task()
    a = services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    b = services.task_claim(actor=dual.fresh(dual.member_b), task=task, registration=dual.reg_b)
    member_a = dual.fresh(dual.member_a)
    assert set(selectors.registration_list(user=member_a)) == {dual.reg_a}
    assert set(selectors.claim_list(user=member_a)) == {a}
    assert task in selectors.task_list(user=member_a)
    assert set(selectors.claim_list(user=dual.fresh(dual.dispatcher))) == {a, b}
    with pytest.raises(Http404):
        selectors.claim_get_for(user=member_a, pk=b.pk)


def test_visibility__resident_sees_published_tasks_and_done_work(dual: Dual, persona, demo) -> None:  # type: ignore[no-untyped-def]
    task = dual.task()
    claim = services.task_claim(actor=dual.fresh(dual.member_a), task=task, registration=dual.reg_a)
    resident = dual.fresh(dual.resident)
    assert list(selectors.task_list(user=resident)) == [task]
    assert list(selectors.registration_list(user=resident)) == []  # no contacts for residents
    assert list(selectors.claim_list(user=resident)) == []  # not done yet
    services.claim_complete(
        actor=dual.fresh(dual.member_a), claim=claim, hours=3, people=2, evidence="已完成"
    )
    assert list(selectors.claim_list(user=resident)) == [claim]
    outsider = persona("leader")  # the demo community's leader
    assert list(selectors.task_list(user=outsider)) == []


def test_evaluation__score_from_the_records(dual: Dual) -> None:
    t1 = dual.task(title="一")
    t2 = dual.task(title="二")
    c1 = services.task_claim(actor=dual.fresh(dual.member_a), task=t1, registration=dual.reg_a)
    services.task_claim(actor=dual.fresh(dual.member_a), task=t2, registration=dual.reg_a)
    services.claim_complete(
        actor=dual.fresh(dual.member_a), claim=c1, hours=3, people=2, evidence="done"
    )
    services.claim_rate(actor=dual.fresh(dual.resident), claim=c1, stars=5)
    sheet = {e.registration.pk: e for e in selectors.evaluation_sheet(
        user=dual.fresh(dual.leader), year=TODAY.year
    )}  # fmt: skip
    a = sheet[dual.reg_a.pk]
    assert (a.claimed, a.finished, a.minutes, a.ratings, a.average_rating) == (2, 1, 180, 1, 5.0)
    # registered 60 days ago (late September): Sept, Oct, Nov = 3 months × 10 h pledged
    assert a.pledged_minutes == 3 * 600
    expected = 40 * 1 / 2 + 40 * 1 + 20 * 180 / 1800
    assert a.score == pytest.approx(expected, abs=0.05)
    b = sheet[dual.reg_b.pk]
    assert (b.claimed, b.score) == (0, 0.0)
    assert (
        selectors.evaluation_sheet(user=dual.fresh(dual.member_a), year=TODAY.year)[0].registration
        == dual.reg_a
    )
