"""The demo community's organisation: every courtyard shows its commissioner, removing one shows
the gap at once, and the figures come from what the simulated year wrote."""

from __future__ import annotations

from collections import Counter

import pytest

from sanan.accounts.models import User
from sanan.organisation import selectors, services
from sanan.organisation.demo import build_organisation_demo
from sanan.organisation.models import (
    Commitment,
    CommitmentState,
    Event,
    Membership,
    Post,
    RedButler,
    Visit,
)
from sanan.places.models import Place, PlaceKind
from sanan.registry.services import household_create
from sanan.workorders.models import Channel

pytestmark = pytest.mark.django_db


def test_demo__every_courtyard_has_its_commissioner(demo: Place, web_as) -> None:  # type: ignore[no-untyped-def]
    leader = User.objects.get(username="leader")
    cov = selectors.coverage(user=leader)
    assert cov.total == 55
    assert cov.covered == 55
    assert cov.commissioners == 15
    assert not cov.gaps
    page = web_as(leader).get("/org/coverage/").content.decode()
    assert 'data-testid="gap-count">0<' in page
    assert page.count('data-testid="commissioner"') == 55


def test_demo__removing_a_commissioner_shows_the_gap(demo: Place, web_as) -> None:  # type: ignore[no-untyped-def]
    committee = User.objects.get(username="committee")
    post = Post.objects.current().get(place__code="hq-c07", post_type__covers_courtyards=True)
    client = web_as(committee)
    assert client.post(f"/org/posts/{post.pk}/end/").status_code == 302
    page = client.get("/org/coverage/").content.decode()
    assert 'data-testid="gap-count">1<' in page
    gaps = page.split('data-testid="gaps"')[1].split("</section>")[0]
    assert "7号院" in gaps
    assert len(selectors.coverage(user=User.objects.get(username="leader")).gaps) == 1


def test_demo__party_members_posts_and_butlers(demo: Place) -> None:
    branch_members = Membership.objects.filter(
        organisation__code="branch-hq", ended_on__isnull=True
    ).count()
    assert 55 <= branch_members <= 65
    types = Counter(Post.objects.current().values_list("post_type__code", flat=True))
    assert len(types) == 9
    assert RedButler.objects.filter(ended_on__isnull=True).count() == 30
    assert not Visit.objects.filter(code__startswith="demo-v-").exists()  # no registry, no year


def test_demo__visits_find_problems_that_become_orders(demo: Place) -> None:
    """With households in the registry the year runs (here a few households, so the test stays
    quick): visits whose problems go round the work-order loop, commitments, Red Butlers'
    activity and the monthly flag-raising."""
    units = Place.objects.filter(path__startswith=demo.path, kind=PlaceKind.UNIT).order_by("code")
    for unit in units[:40]:
        household_create(actor="tests", place=unit)
    build_organisation_demo(seed=2018, progress=lambda _line: None)
    visits = Visit.objects.filter(code__startswith="demo-v-")
    assert visits.count() > 100
    leader = User.objects.get(username="leader")
    figures = selectors.ledger_figures(user=leader)
    assert figures.visits == visits.count()
    assert 0 < figures.households_served <= 40
    ordered = [
        p for v in selectors.visit_list(user=leader) for p in v.problems.all() if p.work_order
    ]
    assert ordered
    assert all(p.work_order.channel == Channel.DISCOVERY for p in ordered)
    assert figures.problems_solved > 0
    assert Event.objects.filter(kind="flag_raising").count() >= 12
    assert Commitment.objects.filter(state=CommitmentState.FULFILLED).exists()
    assert Commitment.objects.filter(state=CommitmentState.PUBLISHED).exists()
    butlers = selectors.butler_list(user=leader)
    assert sum(b.disputes for b in butlers) > 0  # type: ignore[attr-defined]
    count = Visit.objects.count()
    build_organisation_demo(seed=2018, progress=lambda _line: None)
    assert Visit.objects.count() == count  # idempotent


def test_demo__card_of_a_commissioner(demo: Place, client) -> None:  # type: ignore[no-untyped-def]
    user = User.objects.get(username="commissioner")
    profile = services.member_profile_ensure(actor="tests", user=user, place=demo)
    page = client.get(f"/org/card/{profile.card_token}/").content.decode()
    assert "李建国" in page
