"""Red Butlers (appointment grants the role over their courtyard; activity counted from
records) and events (sign-up, QR sign-in at the door, attendance per courtyard)."""

from __future__ import annotations

import datetime as dt

import pytest

from sanan.accounts.permissions import permissions_for
from sanan.accounts.roles import Role
from sanan.core import clock as sanan_clock
from sanan.core.errors import DomainError
from sanan.organisation import selectors, services
from sanan.organisation.models import Attendance, RedButler
from tests.factories import UserFactory
from tests.organisation.world import OrgWorld

pytestmark = pytest.mark.django_db


def _butler(org: OrgWorld) -> RedButler:
    user = UserFactory(display_name="老李")
    return services.butler_appoint(
        actor=org.fresh(org.committee), user=user, origin="retiree", place=org.world.courtyard_a
    )


def test_butler__appointment_grants_and_ending_revokes_the_role(org: OrgWorld) -> None:
    butler = _butler(org)
    perms = permissions_for(org.fresh(butler.user))
    assert Role.RED_BUTLER in perms.roles
    assert perms.can("place.view", org.world.house_a)
    services.butler_end(actor=org.fresh(org.committee), butler=butler)
    assert permissions_for(org.fresh(butler.user)).roles == []


def test_butler__activity_counted_from_records(org: OrgWorld, web_as, api_as) -> None:  # type: ignore[no-untyped-def]
    butler = _butler(org)
    client = web_as(butler.user)
    for kind in ("assist", "assist", "dispute"):
        assert client.post("/org/butlers/", {"kind": kind}).status_code == 302
    row = selectors.butler_list(user=org.fresh(org.wo.leader)).get(pk=butler.pk)
    assert (row.assists, row.disputes, row.cares) == (2, 1, 0)  # type: ignore[attr-defined]
    page = web_as(org.wo.leader).get("/org/butlers/").content.decode()
    assert 'data-testid="assists">2<' in page
    assert 'data-testid="disputes">1<' in page
    body = api_as(org.wo.leader).get("/api/v1/org/butlers/").json()
    assert body["results"][0]["disputes"] == 1
    response = api_as(org.wo.commissioner_b).post(
        f"/api/v1/org/butlers/{butler.pk}/activities/", {"kind": "assist"}, format="json"
    )
    assert response.status_code in (403, 404)
    tomorrow = sanan_clock.today() + dt.timedelta(days=1)
    with pytest.raises(DomainError) as err:
        services.butler_activity_record(
            actor=org.fresh(butler.user), butler=butler, kind="assist", occurred_on=tomorrow
        )
    assert err.value.code == "butler_activity.in_future"


def _event(org: OrgWorld, hours: int = 24):  # type: ignore[no-untyped-def]
    start = sanan_clock.now() + dt.timedelta(hours=hours)
    return services.event_create(
        actor=org.fresh(org.committee),
        title="十二月升国旗仪式",
        kind="flag_raising",
        place=org.world.area,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )


def test_event__sign_up_sign_in_and_attendance_per_courtyard(org: OrgWorld, clock, web_as) -> None:  # type: ignore[no-untyped-def]
    event = _event(org)
    resident = web_as(org.wo.resident)
    assert resident.post(f"/org/events/{event.pk}/").status_code == 302
    services.event_sign_up(actor=org.fresh(org.wo.commissioner_b), event=event)
    # at the door: the QR code's page signs in; too early is refused
    checkin = f"/org/events/{event.pk}/checkin/{event.signin_token}/"
    resident.post(checkin)
    assert Attendance.objects.get(user=org.wo.resident).checked_in_at is None
    clock.shift(dt.timedelta(hours=24, minutes=5))
    resident = web_as(org.wo.resident)  # a new day, a new session
    assert resident.post(checkin).status_code == 302
    assert web_as(org.wo.commissioner_a).post(checkin).status_code == 302  # a walk-in
    wrong = f"/org/events/{event.pk}/checkin/not-the-token/"
    assert web_as(org.wo.commissioner_b).post(wrong).status_code == 403
    rows = {
        r.name: (r.signed_up, r.attended) for r in selectors.attendance_by_courtyard(event=event)
    }
    assert rows == {"A院": (1, 2), "B院": (1, 0)}
    page = web_as(org.committee).get(f"/org/events/{event.pk}/").content.decode()
    assert 'data-testid="attended">2<' in page
    assert f"/org/events/{event.pk}/qr.svg" in page
    qr = web_as(org.committee).get(f"/org/events/{event.pk}/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml"
    assert web_as(org.wo.resident).get(f"/org/events/{event.pk}/qr.svg").status_code == 403


def test_event__sign_up_closes_at_the_start_and_when_full(org: OrgWorld, clock) -> None:  # type: ignore[no-untyped-def]
    event = _event(org)
    event.capacity = 1
    event.save(update_fields=["capacity"])
    services.event_sign_up(actor=org.fresh(org.wo.resident), event=event)
    with pytest.raises(DomainError) as err:
        services.event_sign_up(actor=org.fresh(org.wo.commissioner_a), event=event)
    assert err.value.code == "event.full"
    clock.shift(dt.timedelta(hours=25))
    with pytest.raises(DomainError) as err:
        services.event_sign_up(actor=org.fresh(org.wo.commissioner_b), event=event)
    assert err.value.code == "event.started"


def test_api__events(org: OrgWorld, api_as, clock) -> None:  # type: ignore[no-untyped-def]
    start = (sanan_clock.now() + dt.timedelta(hours=2)).isoformat()
    end = (sanan_clock.now() + dt.timedelta(hours=3)).isoformat()
    body = {"title": "居民议事会", "kind": "meeting", "place": org.world.area.pk,
            "starts_at": start, "ends_at": end}  # fmt: skip
    assert (
        api_as(org.wo.resident).post("/api/v1/org/events/", body, format="json").status_code == 403
    )
    created = api_as(org.committee).post("/api/v1/org/events/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    client = api_as(org.wo.resident)
    assert client.post(f"/api/v1/org/events/{pk}/sign-up/").status_code == 200
    token = selectors.event_get_for(user=org.fresh(org.committee), pk=pk).signin_token
    response = client.post(f"/api/v1/org/events/{pk}/check-in/", {"token": token}, format="json")
    assert response.status_code == 200
    rows = client.get(f"/api/v1/org/events/{pk}/attendance/").json()
    assert rows == [{"courtyard_id": org.world.courtyard_a.pk, "name": "A院", "signed_up": 1,
                     "attended": 1}]  # fmt: skip
