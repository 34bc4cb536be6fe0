"""Double bright: a member's public card (no sign-in, QR code) shows identity, posts and
commitments; commitments are tracked to fulfilment with evidence; residents comment; the
leader's overview counts what is due and overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from sanan.core import clock as sanan_clock
from sanan.core.errors import DomainError
from sanan.organisation import selectors, services
from sanan.organisation.models import CommitmentComment, CommitmentState, MemberProfile
from tests.organisation.world import OrgWorld

pytestmark = pytest.mark.django_db


def _card(org: OrgWorld) -> MemberProfile:
    services.post_assign(
        actor="tests",
        holder=org.member_a,
        post_type=org.commissioner_type,
        place=org.world.courtyard_a,
        organisation=org.branch,
    )
    return services.member_profile_ensure(
        actor="tests", user=org.member_a, place=org.world.courtyard_a, motto="有事找我"
    )


def _promise(org: OrgWorld, days: int = 10, title: str = "每月走访院内独居老人"):  # type: ignore[no-untyped-def]
    if not MemberProfile.objects.filter(user=org.member_a, motto="有事找我").exists():
        _card(org)
    return services.commitment_publish(
        actor=org.fresh(org.member_a),
        member=org.member_a,
        place=org.world.courtyard_a,
        title=title,
        due_on=sanan_clock.today() + dt.timedelta(days=days),
    )


def test_card__public_with_posts_commitments_and_qr(org: OrgWorld, client) -> None:  # type: ignore[no-untyped-def]
    commitment = _promise(org)
    profile = MemberProfile.objects.get(user=org.member_a)
    page = client.get(f"/org/card/{profile.card_token}/").content.decode()
    assert "党员甲" in page
    assert "有事找我" in page
    assert "院落专员" in page or "Courtyard commissioner" in page
    assert commitment.title in page
    assert org.member_a.phone_masked not in page
    qr = client.get(f"/org/card/{profile.card_token}/qr.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    assert b'<svg xmlns="http://www.w3.org/2000/svg"' in qr.content
    assert client.get("/org/card/nope/").status_code == 404
    api = client.get(f"/api/v1/org/cards/{profile.card_token}/").json()
    assert api["commitments"][0]["title"] == commitment.title
    assert api["posts"][0]["post_type"] == "courtyard_commissioner"


def test_commitment__fulfilled_with_evidence(org: OrgWorld) -> None:
    commitment = _promise(org)
    with pytest.raises(DomainError) as err:
        services.commitment_fulfil(
            actor=org.fresh(org.member_a), commitment=commitment, evidence=""
        )
    assert err.value.code == "commitment.evidence_required"
    done = services.commitment_fulfil(
        actor=org.fresh(org.member_a), commitment=commitment, evidence="已走访5户独居老人"
    )
    assert done.state == CommitmentState.FULFILLED
    assert done.fulfilled_on == sanan_clock.today()
    with pytest.raises(DomainError) as err:
        services.commitment_fulfil(actor=org.fresh(org.member_a), commitment=done, evidence="x")
    assert err.value.code == "commitment.not_open"


def test_commitment__someone_else_may_not_fulfil_it(org: OrgWorld) -> None:
    commitment = _promise(org)
    with pytest.raises(DomainError) as err:
        services.commitment_fulfil(
            actor=org.fresh(org.wo.commissioner_a), commitment=commitment, evidence="x"
        )
    assert err.value.status_code == 403


def test_commitment__due_date_not_in_the_past(org: OrgWorld) -> None:
    with pytest.raises(DomainError) as err:
        _promise(org, days=-1)
    assert err.value.code == "commitment.due_in_past"


def test_commitment__resident_comments_from_the_card(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    commitment = _promise(org)
    profile = MemberProfile.objects.get(user=org.member_a)
    client = web_as(org.wo.resident)
    page = client.get(f"/org/card/{profile.card_token}/").content.decode()
    assert f"/org/commitments/{commitment.pk}/comment/" in page
    response = client.post(f"/org/commitments/{commitment.pk}/comment/", {"body": "谢谢关心"})
    assert response.status_code == 302
    assert CommitmentComment.objects.get(commitment=commitment).author == org.wo.resident
    assert "谢谢关心" in client.get(f"/org/card/{profile.card_token}/").content.decode()
    # a resident of courtyard B cannot see courtyard A's commitment
    outsider = org.wo.commissioner_b
    assert (
        web_as(outsider)
        .post(f"/org/commitments/{commitment.pk}/comment/", {"body": "x"})
        .status_code
        == 404
    )


def test_overview__counts_due_and_overdue(org: OrgWorld, clock, web_as, api_as) -> None:  # type: ignore[no-untyped-def]
    _promise(org, days=3, title="修好楼道灯")
    _promise(org, days=60, title="组织一次清洁")
    done = _promise(org, days=5, title="走访老人")
    services.commitment_fulfil(actor=org.fresh(org.member_a), commitment=done, evidence="已完成")
    clock.shift(dt.timedelta(days=4))
    figures = selectors.commitment_figures(user=org.fresh(org.wo.leader))
    assert (figures.open, figures.overdue, figures.due_soon, figures.fulfilled) == (2, 1, 0, 1)
    page = web_as(org.wo.leader).get("/org/overview/").content.decode()
    assert 'data-testid="overdue">1<' in page
    assert "修好楼道灯" in page
    body = api_as(org.wo.leader).get("/api/v1/org/overview/").json()
    assert body["commitments"]["overdue"] == 1
    assert body["coverage"] == {"total": 2, "covered": 1, "gaps": 1, "commissioners": 1}
    assert api_as(org.wo.resident).get("/api/v1/org/overview/").status_code == 404


def test_commitments_page__member_publishes_and_fulfils(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    _card(org)
    client = web_as(org.member_a)
    due = (sanan_clock.today() + dt.timedelta(days=7)).isoformat()
    response = client.post(
        "/org/commitments/",
        {"action": "publish", "title": "清理院内杂物", "place": org.world.courtyard_a.pk,
         "due_on": due},
    )  # fmt: skip
    assert response.status_code == 302
    commitment = selectors.commitment_list(user=org.fresh(org.member_a)).get()
    client.post(
        "/org/commitments/", {"action": "fulfil", "pk": commitment.pk, "evidence": "已清理"}
    )
    commitment.refresh_from_db()
    assert commitment.state == CommitmentState.FULFILLED
    assert commitment.evidence == "已清理"
