"""The contact ledger: a visit records what was discussed; a problem found becomes a work order
in one step (channel: commissioner's discovery), keeps the link, and the order's outcome shows on
the ledger; the figures are counted from the ledger and the loop; unvisited households are
listed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils.translation import override

from sanan.core.errors import DomainError
from sanan.organisation import selectors, services
from sanan.organisation.models import Visit, VisitProblem
from sanan.workorders import services as wo_services
from sanan.workorders.models import Channel, WorkOrder
from sanan.workorders.state import Resolution, State
from tests.organisation.world import OrgWorld

pytestmark = pytest.mark.django_db


def _visit(org: OrgWorld, *problems: services.ProblemInput, household=None) -> Visit:  # type: ignore[no-untyped-def]
    return services.visit_record(
        actor=org.fresh(org.wo.commissioner_a),
        household=household or org.household_a,
        topics="聊了聊老人的身体和楼道照明",
        problems=problems,
    )


def test_visit__problem_becomes_a_linked_discovery_order(org: OrgWorld) -> None:
    visit = _visit(
        org,
        services.ProblemInput("楼道灯坏了", category=org.wo.street_light),
        services.ProblemInput("门口杂物已帮忙清理", solved_on_spot=True),
    )
    problems = list(visit.problems.order_by("id"))
    order = problems[0].work_order
    assert order is not None
    assert order.channel == Channel.DISCOVERY
    assert order.is_discovery
    assert order.reporter == org.wo.commissioner_a
    assert order.place == org.world.unit_a
    assert order.description == "楼道灯坏了"
    assert problems[1].work_order is None
    assert problems[1].solved_on_spot


def test_visit__outcome_of_the_order_shows_on_the_ledger(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    visit = _visit(org, services.ProblemInput("楼道灯坏了", category=org.wo.street_light))
    order = visit.problems.get().work_order
    client = web_as(org.wo.commissioner_a)
    page = client.get(f"/org/ledger/visits/{visit.pk}/").content.decode()
    assert order.reference in page
    with override("zh-hans"):
        assert str(State.REGISTERED.label) in page

    figures = selectors.ledger_figures(user=org.fresh(org.wo.commissioner_a))
    assert (figures.problems_collected, figures.problems_ordered, figures.problems_solved) == (
        1,
        1,
        0,
    )
    finished = org.wo.drive(order, State.FINISHED)
    wo_services.work_order_callback(
        actor=org.fresh(org.wo.dispatcher),
        order=finished,
        resolution="solved",
        satisfaction="satisfied",
    )
    page = client.get(f"/org/ledger/visits/{visit.pk}/").content.decode()
    outcome = page.split('data-testid="outcome"')[1].split("</span>")[0]
    with override("zh-hans"):
        assert str(State.CALLBACK.label) in outcome
        assert str(Resolution.SOLVED.label) in outcome
    assert "✓" in outcome
    figures = selectors.ledger_figures(user=org.fresh(org.wo.commissioner_a))
    assert figures.problems_solved == 1
    ledger = client.get("/org/ledger/").content.decode()
    assert 'data-testid="problems-solved">1<' in ledger
    assert 'data-testid="households-served">1<' in ledger


def test_visit__not_solved_rating_does_not_count_as_solved(org: OrgWorld) -> None:
    visit = _visit(org, services.ProblemInput("楼道灯坏了", category=org.wo.street_light))
    order = org.wo.drive(visit.problems.get().work_order, State.FINISHED)
    wo_services.work_order_callback(
        actor=org.fresh(org.wo.dispatcher),
        order=order,
        resolution="not_solved",
        satisfaction="dissatisfied",
    )
    assert selectors.ledger_figures(user=org.fresh(org.wo.leader)).problems_solved == 0


def test_visit__a_refused_order_writes_nothing(org: OrgWorld) -> None:
    org.wo.street_light.active = False
    org.wo.street_light.save(update_fields=["active"])
    with pytest.raises(DomainError) as err:
        _visit(org, services.ProblemInput("楼道灯坏了", category=org.wo.street_light))
    assert err.value.code == "work_order.category_inactive"
    assert not Visit.objects.filter(visitor=org.wo.commissioner_a).exists()
    assert not WorkOrder.objects.filter(place__path__startswith=org.world.area.path).exists()


def test_visit__needs_topics_and_one_outcome_per_problem(org: OrgWorld) -> None:
    with pytest.raises(DomainError) as err:
        services.visit_record(
            actor=org.fresh(org.wo.commissioner_a), household=org.household_a, topics="  "
        )
    assert err.value.code == "visit.topics_required"
    with pytest.raises(DomainError) as err:
        _visit(org, services.ProblemInput("x", category=org.wo.street_light, solved_on_spot=True))
    assert err.value.code == "visit.problem_solved_and_ordered"
    assert not Visit.objects.filter(visitor=org.wo.commissioner_a).exists()


def test_visit__other_courtyard_is_out_of_sight(org: OrgWorld, api_as) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as err:  # noqa: PT011 (Http404)
        _visit(org, household=org.household_b)
    assert "404" in type(err.value).__name__ or err.value.__class__.__name__ == "Http404"
    response = api_as(org.wo.commissioner_a).post(
        "/api/v1/org/visits/",
        {"household": org.household_b.pk, "topics": "x"},
        format="json",
    )
    assert response.status_code == 404
    assert not Visit.objects.filter(visitor=org.wo.commissioner_a).exists()


def test_problem__noted_then_made_an_order(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    visit = _visit(org, services.ProblemInput("下水道有异味"))
    problem = visit.problems.get()
    client = web_as(org.wo.commissioner_a)
    response = client.post(
        f"/org/ledger/problems/{problem.pk}/order/", {"category": org.wo.street_light.pk}
    )
    assert response.status_code == 302
    problem.refresh_from_db()
    assert problem.work_order is not None
    assert problem.work_order.category == org.wo.street_light
    with pytest.raises(DomainError) as err:
        services.visit_problem_to_work_order(
            actor=org.fresh(org.wo.commissioner_a), problem=problem, category=org.wo.street_light
        )
    assert err.value.code == "visit.problem_already_handled"
    assert WorkOrder.objects.filter(place__path__startswith=org.world.area.path).count() == 1


def test_api__record_a_visit_with_an_order(org: OrgWorld, api_as) -> None:  # type: ignore[no-untyped-def]
    client = api_as(org.wo.commissioner_a)
    response = client.post(
        "/api/v1/org/visits/",
        {
            "household": org.household_a.pk,
            "topics": "了解独居老人近况",
            "problems": [{"description": "路灯不亮", "category": "street_light"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["problems"][0]["work_order"]["state"] == "registered"
    assert client.get("/api/v1/org/ledger/").json() == {
        "visits": 1,
        "households_served": 1,
        "problems_collected": 1,
        "problems_ordered": 1,
        "problems_solved": 0,
    }
    assert api_as(org.wo.resident).get("/api/v1/org/visits/").status_code == 404
    assert api_as(org.wo.leader).get("/api/v1/org/visits/").json()["count"] == 1
    assert api_as(org.wo.commissioner_b).get("/api/v1/org/visits/").json()["count"] == 0


def test_page__record_a_visit_on_the_phone(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.wo.commissioner_a)
    form = client.get("/org/ledger/visit/").content.decode()
    assert org.household_a.code in form
    assert org.household_b.code not in form
    response = client.post(
        "/org/ledger/visit/",
        {
            "household": org.household_a.pk,
            "topics": "聊了垃圾分类",
            "problem-0": "垃圾桶坏了",
            "category-0": org.wo.street_light.pk,
            "problem-1": "",
        },
    )
    assert response.status_code == 302
    visit = Visit.objects.get(visitor=org.wo.commissioner_a)
    assert VisitProblem.objects.get(visit=visit).work_order is not None
    assert response.url == f"/org/ledger/visits/{visit.pk}/"
    bad = client.post("/org/ledger/visit/", {"household": org.household_a.pk, "topics": ""})
    assert bad.status_code == 400
    assert Visit.objects.filter(visitor=org.wo.commissioner_a).count() == 1


def test_not_visited__lists_households_after_n_days(org: OrgWorld, clock, web_as) -> None:  # type: ignore[no-untyped-def]
    user = org.fresh(org.wo.leader)
    assert set(selectors.households_not_visited(user=user, days=30)) == {
        org.household_a,
        org.household_b,
    }
    _visit(org)
    assert list(selectors.households_not_visited(user=user, days=30)) == [org.household_b]
    clock.shift(dt.timedelta(days=31))
    assert set(selectors.households_not_visited(user=org.fresh(org.wo.leader), days=30)) == {
        org.household_a,
        org.household_b,
    }
    page = web_as(org.wo.commissioner_a).get("/org/ledger/not-visited/?days=30").content.decode()
    assert f'data-testid="household-{org.household_a.pk}"' in page
    assert f'data-testid="household-{org.household_b.pk}"' not in page


def test_ledger__query_count_does_not_grow(org: OrgWorld, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        _visit(org, services.ProblemInput("灯坏了", category=org.wo.street_light))
    user = org.fresh(org.wo.leader)
    from sanan.accounts.permissions import permissions_for

    permissions_for(user)
    with django_assert_num_queries(2):
        visits = list(selectors.visit_list(user=user))
        for v in visits:
            for p in v.problems.all():
                assert p.work_order.state


def test_home__commissioner_sees_households_due_a_visit(org: OrgWorld, web_as) -> None:  # type: ignore[no-untyped-def]
    client = web_as(org.wo.commissioner_a)
    tiles = client.get("/org/nav/").content.decode()
    assert 'data-testid="due-visits"' in tiles
    _visit(org)
    tiles = client.get("/org/nav/").content.decode()
    assert 'data-testid="due-visits"' not in tiles  # the one household has been seen
    assert 'data-testid="record-visit"' in tiles
