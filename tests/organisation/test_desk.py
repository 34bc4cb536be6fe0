"""The desk pages of the organisation: an organisation's members and terms, posts and areas,
the kinds of post; and the Party member's scoped role that lets a member with no post sign in,
see their card and publish their own commitments."""

from __future__ import annotations

import datetime as dt

import pytest

from sanan.accounts.models import RoleAssignment
from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import Role
from sanan.core import clock as sanan_clock
from sanan.core.errors import DomainError, PermissionDenied
from sanan.organisation import selectors, services
from sanan.organisation.models import (
    Commitment,
    MemberProfile,
    Membership,
    OrganisationKind,
    Post,
    PostType,
)
from tests.factories import UserFactory
from tests.organisation.world import OrgWorld

pytestmark = pytest.mark.django_db


def _branch_member(org: OrgWorld, user) -> Membership:  # type: ignore[no-untyped-def]
    return Membership.objects.get(organisation=org.branch, user=user, ended_on__isnull=True)


# --- the Party member's role ------------------------------------------------------------------


def test_membership__party_branch_grants_the_member_role_and_a_card(org: OrgWorld) -> None:
    perms = permissions_for(org.fresh(org.member_b))
    assert Role.PARTY_MEMBER in perms.roles
    assert perms.can("commitment.publish", org.world.courtyard_b)
    assert not perms.can("visit.record", org.world.courtyard_b)
    assert not perms.can("resident.view", org.world.unit_b)  # no one's personal data
    card = MemberProfile.objects.get(user=org.member_b)
    assert card.place == org.branch.place


def test_membership__a_residents_group_grants_no_role(org: OrgWorld) -> None:
    group = services.organisation_ensure(
        actor="tests", kind=OrganisationKind.GROUP, code="t-seniors", name="老年协会",
        place=org.world.area,
    )  # fmt: skip
    person = UserFactory()
    services.membership_add(actor="tests", organisation=group, user=person)
    assert permissions_for(org.fresh(person)).roles == []
    assert not MemberProfile.objects.filter(user=person).exists()


def test_commitment__member_without_a_post_publishes_their_own(org: OrgWorld) -> None:
    member = org.fresh(org.member_b)
    assert not Post.objects.filter(holder=member).exists()
    commitment = services.commitment_publish(
        actor=member,
        member=member,
        place=org.world.courtyard_a,
        title="每周探望独居老人",
        due_on=sanan_clock.today() + dt.timedelta(days=30),
    )
    assert commitment in selectors.card_commitments(MemberProfile.objects.get(user=member))


def test_commitment__a_resident_who_is_not_a_member_may_not_publish(org: OrgWorld, persona) -> None:  # type: ignore[no-untyped-def]
    resident = persona("p-resident")
    with pytest.raises(PermissionDenied) as err:
        services.commitment_publish(
            actor=resident,
            member=resident,
            place=org.world.unit_a,
            title="我承诺",
            due_on=sanan_clock.today(),
        )
    assert err.value.code == "commitment.not_a_member"


def test_membership__end__revokes_the_role_and_ends_the_posts_held_for_the_branch(
    org: OrgWorld,
) -> None:
    committee = org.fresh(org.committee)
    services.post_assign(
        actor=committee, holder=org.member_a, post_type=org.commissioner_type,
        place=org.world.courtyard_b, organisation=org.branch,
    )  # fmt: skip
    assert org.world.courtyard_b not in [
        c.courtyard for c in selectors.coverage(user=committee).gaps
    ]
    services.membership_end(actor=committee, membership=_branch_member(org, org.member_a))
    perms = permissions_for(org.fresh(org.member_a))
    assert perms.roles == []
    assert not RoleAssignment.objects.filter(user=org.member_a).exists()
    assert org.world.courtyard_b in [c.courtyard for c in selectors.coverage(user=committee).gaps]
    with pytest.raises(DomainError) as err:
        services.membership_end(actor=committee, membership=_branch_member_any(org, org.member_a))
    assert err.value.code == "membership.already_ended"


def _branch_member_any(org: OrgWorld, user) -> Membership:  # type: ignore[no-untyped-def]
    return Membership.objects.filter(organisation=org.branch, user=user).latest("pk")


def test_membership__end__not_before_it_started(org: OrgWorld) -> None:
    membership = _branch_member(org, org.member_a)
    with pytest.raises(DomainError) as err:
        services.membership_end(
            actor=org.fresh(org.committee),
            membership=membership,
            ended_on=membership.started_on - dt.timedelta(days=1),
        )
    assert err.value.code == "membership.ends_before_start"
    assert "ended_on" in err.value.fields


# --- the organisation page: members and terms ---------------------------------------------------


def test_organisation_page__committee_adds_a_member_by_phone_with_position_and_term(
    org: OrgWorld, web_as, persona
) -> None:  # type: ignore[no-untyped-def]
    term = services.term_ensure(
        actor="tests", organisation=org.branch, name="第二届",
        starts_on=dt.date(2024, 1, 1), ends_on=None,
    )  # fmt: skip
    client = web_as(org.committee)
    page = client.get(f"/org/organisations/{org.branch.pk}/")
    assert page.status_code == 200
    assert "张书记" in page.content.decode()
    resident = persona("p-resident")
    response = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {"action": "add", "person": "139 0000 0001", "position": "committee_member",
         "term": term.pk, "started_on": "2026-01-05"},
    )  # fmt: skip
    assert response.status_code == 302
    membership = _branch_member(org, resident)
    assert (membership.position, membership.term, membership.started_on) == (
        "committee_member", term, dt.date(2026, 1, 5),
    )  # fmt: skip
    assert Role.PARTY_MEMBER in permissions_for(org.fresh(resident)).roles
    again = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {
            "action": "add",
            "person": "13900000001",
            "position": "member",
            "started_on": "2026-01-05",
        },
    )
    assert again.status_code == 400
    assert "已经是" in again.content.decode() or "already a member" in again.content.decode()


def test_organisation_page__unknown_person_and_missing_date_are_explained(
    org: OrgWorld, web_as
) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.committee)
    response = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {"action": "add", "person": "13911112222", "position": "member", "started_on": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="error-started_on"' in body
    assert "13911112222" in body  # only in the field the person typed, never in a message
    response = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {"action": "add", "person": "13911112222", "position": "member",
         "started_on": "2026-01-05"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nobody with this number or name is known in your places." in body
    assert body.count("13911112222") == 1
    assert Membership.objects.filter(organisation=org.branch).count() == 3


def test_organisation_page__end_a_membership_and_record_a_term(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.committee)
    membership = _branch_member(org, org.member_b)
    response = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {
            "action": "end",
            "membership": membership.pk,
            f"m{membership.pk}-ended_on": sanan_clock.today().isoformat(),
            f"m{membership.pk}-reason": "迁出",
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.ended_on == sanan_clock.today()
    page = client.get(f"/org/organisations/{org.branch.pk}/").content.decode()
    assert 'data-testid="former-members"' in page
    response = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {"action": "term", "name": "第三届", "starts_on": "2027-01-01", "ends_on": "2026-01-01"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "A term cannot end before it starts." in response.content.decode()
    response = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {"action": "term", "name": "第三届", "starts_on": "2027-01-01"},
    )
    assert response.status_code == 302
    assert org.branch.terms.filter(name="第三届").exists()


@pytest.mark.parametrize(
    ("username", "read", "write"),
    [
        ("p-resident", 200, 403),
        ("p-commissioner-a", 200, 403),
        ("p-dispatcher", 200, 403),
        ("p-committee", 200, 302),
        ("p-leader", 200, 302),
        ("p-admin", 200, 302),
    ],
)
def test_organisation_page__by_role(org: OrgWorld, web_as, persona, username, read, write) -> None:  # type: ignore[no-untyped-def]
    client = web_as(persona(username))
    page = client.get(f"/org/organisations/{org.branch.pk}/")
    assert page.status_code == read
    assert ('data-testid="add-member"' in page.content.decode()) == (write == 302)
    person = UserFactory(roles=[(Role.RESIDENT, org.world.unit_b)])
    response = client.post(
        f"/org/organisations/{org.branch.pk}/",
        {"action": "add", "person": person.username, "position": "member",
         "started_on": "2026-01-05"},
    )  # fmt: skip
    assert response.status_code == write


def test_organisation_page__outsider_gets_404(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    outsider = UserFactory()
    assert web_as(outsider).get(f"/org/organisations/{org.branch.pk}/").status_code == 404


# --- posts and areas ------------------------------------------------------------------------------


def test_posts_page__assign_and_end_opens_and_closes_the_gap(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.committee)
    page = client.get("/org/posts/").content.decode()
    assert 'data-testid="gap-count">2<' in page
    response = client.post(
        "/org/posts/",
        {"holder": org.member_a.pk, "post_type": org.commissioner_type.pk,
         "place": org.world.courtyard_a.pk, "started_on": "2026-01-05"},
    )  # fmt: skip
    assert response.status_code == 302
    post = Post.objects.current().get(holder=org.member_a)
    assert post.organisation == org.branch
    page = client.get("/org/posts/").content.decode()
    assert 'data-testid="gap-count">1<' in page
    assert permissions_for(org.fresh(org.member_a)).can("visit.record", org.world.house_a)
    response = client.post(f"/org/posts/{post.pk}/end/", {"next": "/org/posts/"})
    assert response.status_code == 302
    assert 'data-testid="gap-count">2<' in client.get("/org/posts/").content.decode()
    coverage = client.get("/org/coverage/").content.decode()
    assert 'data-testid="gap-count">2<' in coverage


def test_posts_page__a_commissioner_needs_a_courtyard(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    response = web_as(org.committee).post(
        "/org/posts/",
        {"holder": org.member_a.pk, "post_type": org.commissioner_type.pk,
         "place": org.world.area.pk, "started_on": "2026-01-05"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="error-place"' in body
    assert "Choose a courtyard." in body
    assert not Post.objects.filter(holder=org.member_a).exists()


def test_posts_page__filters_by_post_type_with_htmx(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    explainer = PostType.objects.get(code="policy_explainer")
    for holder, post_type in ((org.member_a, org.commissioner_type), (org.member_b, explainer)):
        services.post_assign(
            actor="tests", holder=holder, post_type=post_type, place=org.world.courtyard_a
        )
    client = web_as(org.committee)
    response = client.get("/org/posts/?type=policy_explainer", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "党员乙" in body
    assert "党员甲" not in body


def test_posts_page__list_queries_do_not_grow(
    org: OrgWorld, web_as, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.committee)
    client.get("/org/posts/")
    for i, post_type in enumerate(PostType.objects.filter(covers_courtyards=False)[:6]):
        services.post_assign(
            actor="tests", holder=org.member_a if i % 2 else org.member_b,
            post_type=post_type, place=org.world.courtyard_a,
        )  # fmt: skip
    with django_assert_max_num_queries(30) as few:
        client.get("/org/posts/", HTTP_HX_REQUEST="true")
    count_many = len(few.captured_queries)
    Post.objects.filter(post_type__code="policy_explainer").delete()
    with django_assert_max_num_queries(count_many):
        client.get("/org/posts/", HTTP_HX_REQUEST="true")


# --- kinds of post ----------------------------------------------------------------------------


def test_post_types_page__add_rename_retire_and_restore(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.committee)
    response = client.post(
        "/org/post-types/",
        {"action": "add", "name": "楼栋长", "name_en": "Building head", "description": "联系楼栋"},
    )
    assert response.status_code == 302
    new = PostType.objects.get(name="楼栋长")
    assert (new.code, new.active, new.grants_role) == ("building-head", True, "")
    response = client.post(
        "/org/post-types/",
        {"action": "rename", "pk": new.pk, f"t{new.pk}-name": "楼栋长（单元长）",
         f"t{new.pk}-name_en": "Building head"},
    )  # fmt: skip
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.name == "楼栋长（单元长）"
    services.post_assign(actor="tests", holder=org.member_a, post_type=new, place=org.world.area)
    response = client.post(
        "/org/post-types/", {"action": "retire", "pk": new.pk}, HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )  # fmt: skip
    assert "1 person still holds this post: end that post first." in response.content.decode()
    assert PostType.objects.get(pk=new.pk).active
    services.post_end(actor="tests", post=Post.objects.current().get(post_type=new))
    client.post("/org/post-types/", {"action": "retire", "pk": new.pk})
    assert not PostType.objects.get(pk=new.pk).active
    new.refresh_from_db()
    with pytest.raises(DomainError) as err:
        services.post_assign(
            actor="tests", holder=org.member_a, post_type=new, place=org.world.area
        )
    assert err.value.code == "post.type_inactive"
    client.post("/org/post-types/", {"action": "restore", "pk": new.pk})
    assert PostType.objects.get(pk=new.pk).active


def test_post_types_page__names_are_required_and_unique(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.committee)
    response = client.post(
        "/org/post-types/", {"action": "add", "name": "院落专员"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Another post already has this name." in response.content.decode()
    response = client.post(
        "/org/post-types/", {"action": "add", "name": ""}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert 'data-testid="error-name"' in response.content.decode()
    assert PostType.objects.count() == 9


@pytest.mark.parametrize(
    ("username", "read", "write"),
    [
        ("p-resident", 404, 404),
        ("p-commissioner-a", 200, 403),
        ("p-committee", 200, 302),
        ("p-admin", 200, 302),
    ],
)
def test_post_types_page__by_role(org: OrgWorld, web_as, persona, username, read, write) -> None:  # type: ignore[no-untyped-def]
    client = web_as(persona(username))
    assert client.get("/org/post-types/").status_code == read
    response = client.post("/org/post-types/", {"action": "add", "name": f"新岗位{username}"})
    assert response.status_code == write


def test_commitments_page__a_member_without_a_post_can_choose_the_branch_area(
    org: OrgWorld, web_as
) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.member_b)
    page = client.get("/org/commitments/").content.decode()
    assert 'data-testid="my-commitments"' in page
    assert f'<option value="{org.world.area.pk}">' in page
    due = (sanan_clock.today() + dt.timedelta(days=7)).isoformat()
    client.post(
        "/org/commitments/",
        {"action": "publish", "title": "组织一次院坝宣讲", "place": org.world.area.pk,
         "due_on": due},
    )  # fmt: skip
    assert Commitment.objects.get(member=org.member_b).title == "组织一次院坝宣讲"


def test_chart__a_resident_sees_who_looks_after_their_courtyard(
    org: OrgWorld, web_as, persona
) -> None:  # type: ignore[no-untyped-def]
    client = web_as(persona("p-resident"))
    page = client.get("/org/").content.decode()
    assert 'data-testid="my-courtyard-gap"' in page
    assert "/org/coverage/" not in page  # a page they cannot open is not offered
    services.post_assign(
        actor="tests", holder=org.member_a, post_type=org.commissioner_type,
        place=org.world.courtyard_a, organisation=org.branch,
    )  # fmt: skip
    page = client.get("/org/").content.decode()
    assert 'data-testid="serving-courtyard_commissioner"' in page
    card = MemberProfile.objects.get(user=org.member_a)
    assert f"/org/card/{card.card_token}/" in page
    assert "党员甲" in page


def test_overview__overdue_beyond_the_first_ten_links_to_the_full_list(
    org: OrgWorld, web_as
) -> None:  # type: ignore[no-untyped-def]
    today = sanan_clock.today()
    for i in range(12):
        services.commitment_publish(
            actor="tests", member=org.member_a, place=org.world.courtyard_a, title=f"承诺{i}",
            published_on=today - dt.timedelta(days=30), due_on=today - dt.timedelta(days=1 + i),
        )  # fmt: skip
    page = web_as(org.wo.leader).get("/org/overview/").content.decode()
    assert 'data-testid="overdue">12<' in page
    assert 'data-testid="all-overdue"' in page
    assert page.count("/org/card/") >= 10


def test_card__a_resident_elsewhere_is_told_who_may_comment(org: OrgWorld, web_as, persona) -> None:  # type: ignore[no-untyped-def]
    services.commitment_publish(
        actor="tests", member=org.member_a, place=org.world.courtyard_b, title="修好B院路灯",
        due_on=sanan_clock.today(),
    )  # fmt: skip
    card = MemberProfile.objects.get(user=org.member_a)
    page = web_as(persona("p-resident")).get(f"/org/card/{card.card_token}/").content.decode()
    assert "修好B院路灯" in page
    assert 'data-testid="comment-closed"' in page
    assert 'name="body"' not in page
