"""Posts and areas: assigning a courtyard commissioner grants the scoped role, removing the post
revokes it, and the coverage (service, API, page) shows the gap at once."""

from __future__ import annotations

import pytest

from sanan.accounts.models import RoleAssignment
from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import Role
from sanan.core.errors import DomainError
from sanan.organisation import selectors, services
from sanan.organisation.models import Post, PostType
from tests.organisation.world import OrgWorld

pytestmark = pytest.mark.django_db


def _assign(org: OrgWorld, holder=None, place=None) -> Post:  # type: ignore[no-untyped-def]
    return services.post_assign(
        actor=org.fresh(org.committee),
        holder=holder or org.member_a,
        post_type=org.commissioner_type,
        place=place or org.world.courtyard_b,
        organisation=org.branch,
    )


def test_post_types__nine_standard_posts_are_data() -> None:
    codes = set(PostType.objects.values_list("code", flat=True))
    assert len(codes) >= 9
    assert {"courtyard_commissioner", "policy_explainer", "rental_inspector"} <= codes
    assert PostType.objects.get(code="courtyard_commissioner").grants_role == Role.COMMISSIONER


def test_post__assign__grants_the_commissioner_role_over_the_courtyard(org: OrgWorld) -> None:
    member = org.fresh(org.member_a)
    assert not permissions_for(member).can("visit.record", org.world.courtyard_b)
    post = _assign(org)
    member = org.fresh(org.member_a)
    perms = permissions_for(member)
    assert Role.COMMISSIONER in perms.roles
    assert perms.can("visit.record", org.world.courtyard_b)
    assert perms.can("resident.edit", org.world.house_b)
    assert not perms.can("visit.record", org.world.courtyard_a)
    assert post.organisation == org.branch
    assert _assign(org).pk == post.pk  # idempotent


def test_post__end__revokes_the_role_and_opens_a_gap(org: OrgWorld) -> None:
    post = _assign(org)
    cov = selectors.coverage(user=org.fresh(org.committee))
    row_b = next(c for c in cov.courtyards if c.courtyard == org.world.courtyard_b)
    assert [p.holder for p in row_b.posts] == [org.member_a]

    services.post_end(actor=org.fresh(org.committee), post=post, reason="moved away")
    assert not RoleAssignment.objects.filter(
        user=org.member_a, role=Role.COMMISSIONER, place=org.world.courtyard_b
    ).exists()
    assert not permissions_for(org.fresh(org.member_a)).can("visit.record", org.world.house_b)
    cov = selectors.coverage(user=org.fresh(org.committee))
    assert org.world.courtyard_b in [c.courtyard for c in cov.gaps]
    with pytest.raises(DomainError) as err:
        services.post_end(actor=org.fresh(org.committee), post=post)
    assert err.value.code == "post.already_ended"


def test_post__end__keeps_the_role_while_another_post_grants_it(org: OrgWorld) -> None:
    first = _assign(org)
    other = PostType.objects.create(
        code="deputy_commissioner", name="副院落专员", grants_role=Role.COMMISSIONER,
        covers_courtyards=True,
    )  # fmt: skip
    services.post_assign(
        actor=org.fresh(org.committee),
        holder=org.member_a,
        post_type=other,
        place=org.world.courtyard_b,
    )
    services.post_end(actor=org.fresh(org.committee), post=first)
    assert permissions_for(org.fresh(org.member_a)).can("visit.record", org.world.courtyard_b)


def test_post__assign__a_commissioner_covers_a_courtyard_only(org: OrgWorld) -> None:
    with pytest.raises(DomainError) as err:
        _assign(org, place=org.world.area)
    assert err.value.code == "post.courtyard_required"
    assert not Post.objects.filter(place__path__startswith=org.world.area.path).exists()


def test_post__assign__needs_the_manage_right(org: OrgWorld) -> None:
    with pytest.raises(DomainError) as err:  # in sight, not allowed: 403
        services.post_assign(
            actor=org.fresh(org.wo.commissioner_b),
            holder=org.member_a,
            post_type=org.commissioner_type,
            place=org.world.courtyard_b,
        )
    assert err.value.status_code == 403


def test_coverage__counts_gaps_and_commissioners(org: OrgWorld) -> None:
    _assign(org, place=org.world.courtyard_a)
    cov = selectors.coverage(user=org.fresh(org.committee))
    assert (cov.total, cov.covered, cov.commissioners) == (2, 1, 1)
    assert [c.courtyard for c in cov.gaps] == [org.world.courtyard_b]


def test_coverage__query_count_does_not_grow(org: OrgWorld, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    _assign(org, place=org.world.courtyard_a)
    _assign(org, holder=org.member_b, place=org.world.courtyard_b)
    user = org.fresh(org.committee)
    permissions_for(user)
    with django_assert_num_queries(2):
        selectors.coverage(user=user)


# --- API --------------------------------------------------------------------------------------


def test_api__assign_and_end_post(org: OrgWorld, api_as) -> None:  # type: ignore[no-untyped-def]
    client = api_as(org.committee)
    response = client.post(
        "/api/v1/org/posts/",
        {
            "holder": org.member_b.pk,
            "post_type": "courtyard_commissioner",
            "place": org.world.courtyard_a.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    post_id = response.json()["id"]
    coverage = client.get("/api/v1/org/coverage/").json()
    assert coverage["covered"] == 1
    assert [g["code"] for g in coverage["gaps"]] == ["t-court-b"]
    row = next(r for r in coverage["courtyards"] if r["courtyard"]["code"] == "t-court-a")
    assert row["commissioners"][0]["name"] == "党员乙"

    ended = client.post(f"/api/v1/org/posts/{post_id}/end/", {"reason": "test"}, format="json")
    assert ended.status_code == 200
    assert ended.json()["ended_on"]
    coverage = client.get("/api/v1/org/coverage/").json()
    assert coverage["covered"] == 0
    assert len(coverage["gaps"]) == 2
    again = client.post(f"/api/v1/org/posts/{post_id}/end/", {}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "post.already_ended"


def test_api__assign_post__403_for_a_commissioner_and_404_outside(org: OrgWorld, api_as) -> None:  # type: ignore[no-untyped-def]
    body = {"holder": org.member_b.pk, "post_type": "courtyard_commissioner"}
    response = api_as(org.wo.commissioner_a).post(
        "/api/v1/org/posts/", {**body, "place": org.world.courtyard_a.pk}, format="json"
    )
    assert response.status_code == 403
    response = api_as(org.wo.commissioner_a).post(
        "/api/v1/org/posts/", {**body, "place": org.world.courtyard_b.pk}, format="json"
    )
    assert response.status_code == 404
    assert not Post.objects.filter(place__path__startswith=org.world.area.path).exists()


def test_api__chart_lists_branch_members_by_seniority(org: OrgWorld, api_as) -> None:  # type: ignore[no-untyped-def]
    tree = api_as(org.committee).get("/api/v1/org/organisations/").json()
    party = next(n for n in tree if n["code"] == "t-party")
    branch = next(c for c in party["children"] if c["code"] == "t-branch")
    assert next(m["user"]["name"] for m in branch["members"]) == "张书记"
    assert branch["members"][0]["position"] == "secretary"


# --- pages ------------------------------------------------------------------------------------


def test_page__coverage_shows_commissioner_then_the_gap_after_removal(
    org: OrgWorld, web_as
) -> None:  # type: ignore[no-untyped-def]
    post = _assign(org, place=org.world.courtyard_a)
    client = web_as(org.committee)
    page = client.get("/org/coverage/").content.decode()
    assert "党员甲" in page
    assert 'data-testid="gap-count">1<' in page
    assert 'data-testid="cell-t-court-b"' in page

    response = client.post(f"/org/posts/{post.pk}/end/", {"next": "/org/coverage/"})
    assert response.status_code == 302
    page = client.get("/org/coverage/").content.decode()
    assert 'data-testid="gap-count">2<' in page
    row_a = page.split('data-testid="row-t-court-a"')[1].split("</li>")[0]
    assert 'data-testid="gap"' in row_a
    assert 'data-testid="commissioner"' not in row_a


def test_page__assign_from_coverage_page(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.committee)
    response = client.post(
        "/org/posts/assign/",
        {
            "place": org.world.courtyard_b.pk,
            "holder": org.member_b.pk,
            "post_type": org.commissioner_type.pk,
        },
    )
    assert response.status_code == 302
    assert Post.objects.current().get(place=org.world.courtyard_b).holder == org.member_b
    assert permissions_for(org.fresh(org.member_b)).can("visit.record", org.world.house_b)


def test_page__coverage_for_a_commissioner_has_no_forms(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    page = web_as(org.wo.commissioner_a).get("/org/coverage/").content.decode()
    assert "A院" in page
    assert "B院" not in page.split('data-testid="coverage-list"')[1]
    assert "/org/posts/assign/" not in page
    response = web_as(org.wo.commissioner_a).post(
        "/org/posts/assign/",
        {
            "place": org.world.courtyard_a.pk,
            "holder": org.member_b.pk,
            "post_type": org.commissioner_type.pk,
        },
    )
    assert response.status_code in (302, 403)
    assert not Post.objects.filter(place__path__startswith=org.world.area.path).exists()


def test_page__org_chart(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    page = web_as(org.wo.resident).get("/org/").content.decode()
    assert "测试小区党支部" in page
    assert "张书记" in page
