"""Signing in, end to end through the sign-in page: every sign-in, failure, lockout and
sign-out in the audit log (without the password or what was typed); two-step sign-in with an
authenticator app and recovery codes; password reset by an administrator and by email."""

from __future__ import annotations

import re
import time
from typing import Any

import time_machine
from django.core import mail
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.audit.models import AuditEvent
from sanan.audit.services import audit_verify
from tests.factories import PASSWORD
from tests.personas import World

LOGIN = "/accounts/login/"
CODE = "/accounts/login/code/"
TWO_STEP = "/accounts/two-step/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
WRONG = "not-the-password-1"
COMMISSIONER_PHONE = "139 0000 0002"  # p-commissioner-a


def _sign_in(client: Client, login: str, password: str) -> Any:
    return client.post(LOGIN, {"username": login, "password": password}, **EN)


def _signed_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _all_text(event: AuditEvent) -> str:
    return " ".join(
        [event.actor_label, event.object_label, event.reason, str(event.data), str(event.ip)]
    )


def _code(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():06d}"


def _enrol(client: Client, user: User) -> list[str]:
    """Set up two-step sign-in from the account page, as a person would; the recovery codes."""
    page = client.get(TWO_STEP, **EN)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(TWO_STEP, {"code": _code(device)}, **EN)
    assert done.status_code == 200, done.content.decode()[:500]
    return re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())


# --- the audit log ---------------------------------------------------------------------------


def test_sign_in__success_failure_and_sign_out__are_in_the_audit_log_without_what_was_typed(
    world: World, commissioner_a: User
) -> None:
    client = Client()
    assert _sign_in(client, COMMISSIONER_PHONE, WRONG).status_code == 200
    assert _sign_in(client, "no-such-person-13712345678", WRONG).status_code == 200
    assert _sign_in(client, COMMISSIONER_PHONE, PASSWORD).status_code == 302
    client.post("/accounts/logout/")

    failed = _events("auth.sign_in_failed")
    assert [e.object_id for e in failed] == [str(commissioner_a.pk), ""]
    assert [e.data["known_account"] for e in failed] == [True, False]
    (signed_in,) = _events("auth.signed_in")
    assert signed_in.actor_id == commissioner_a.pk
    assert signed_in.data == {"channel": "web"}
    (signed_out,) = _events("auth.signed_out")
    assert signed_out.actor_id == commissioner_a.pk
    assert signed_out.data == {"reason": "button"}
    for event in [*failed, signed_in, signed_out]:
        text = _all_text(event)
        for secret in (WRONG, PASSWORD, "13900000002", "13712345678", "no-such-person"):
            assert secret not in text
    assert audit_verify().ok


def test_sign_in__lockout__is_in_the_audit_log(world: World, commissioner_a: User) -> None:
    client = Client()
    for _attempt in range(5):
        _sign_in(client, COMMISSIONER_PHONE, WRONG)
    paused = _sign_in(client, COMMISSIONER_PHONE, PASSWORD)
    assert paused.status_code == 429
    locked = _events("auth.locked_out")
    assert locked
    assert {e.object_id for e in locked} == {str(commissioner_a.pk)}
    assert not _events("auth.signed_in")


def test_sign_out__after_idle_timeout__is_recorded_as_idle(
    world: World, commissioner_a: User, settings: Any
) -> None:
    client = Client()
    _sign_in(client, COMMISSIONER_PHONE, PASSWORD)
    client.get("/", **EN)  # seen now
    with time_machine.travel(time.time() + 31 * 60, tick=False):
        client.get("/", **EN)
    (signed_out,) = _events("auth.signed_out")
    assert signed_out.data == {"reason": "idle"}


def test_api_token__issued__is_in_the_audit_log(world: World, leader: User) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "13900000006", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    (issued,) = _events("auth.token_issued")
    assert issued.actor_id == leader.pk


# --- two-step sign-in ------------------------------------------------------------------------


def test_two_step__enrol_then_sign_in__asks_for_the_code_after_the_password(
    world: World, dispatcher: User
) -> None:
    client = Client()
    client.force_login(dispatcher)
    account = client.get("/accounts/account/", **EN).content.decode()
    assert "Set up two-step sign-in" in account
    codes = _enrol(client, dispatcher)
    assert len(codes) == 10
    assert len(_events("auth.totp_enrolled")) == 1
    client.post("/accounts/logout/")

    client = Client()
    after_password = _sign_in(client, "p-dispatcher", PASSWORD)
    assert after_password.status_code == 302
    assert after_password["Location"] == CODE
    assert _signed_in_as(client) is None  # the password alone does not sign in
    assert client.get("/orders/board/", **EN).status_code == 302  # still the sign-in page

    device = TOTPDevice.objects.get(user=dispatcher, confirmed=True)
    with time_machine.travel(time.time() + 40, tick=False):  # the next code, not the one used
        response = client.post(CODE, {"code": _code(device)}, **EN)
    assert response.status_code == 302
    assert _signed_in_as(client) == dispatcher.pk
    assert _events("auth.signed_in")[-1].data == {"channel": "web", "second_factor": "totp"}


def test_two_step__wrong_code__is_refused_counted_and_audited(
    world: World, dispatcher: User
) -> None:
    client = Client()
    client.force_login(dispatcher)
    _enrol(client, dispatcher)
    client = Client()
    _sign_in(client, "p-dispatcher", PASSWORD)
    refused = client.post(CODE, {"code": "000000"}, **EN)
    assert refused.status_code == 400
    assert "That code is not right" in refused.content.decode()
    assert _signed_in_as(client) is None
    assert len(_events("auth.totp_failed")) == 1


def test_two_step__too_many_wrong_codes__pauses_even_the_right_code(
    world: World, dispatcher: User, settings: Any
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own growing delay apart
    client = Client()
    client.force_login(dispatcher)
    _enrol(client, dispatcher)
    device = TOTPDevice.objects.get(user=dispatcher, confirmed=True)
    client = Client()
    _sign_in(client, "p-dispatcher", PASSWORD)
    statuses = [client.post(CODE, {"code": "000000"}, **EN).status_code for _i in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    # signing in again with the password does not buy new tries
    _sign_in(client, "p-dispatcher", PASSWORD)
    with time_machine.travel(time.time() + 40, tick=False):
        paused = client.post(CODE, {"code": _code(device)}, **EN)
    assert paused.status_code == 429
    assert _signed_in_as(client) is None


def test_two_step__recovery_code__signs_in_once(world: World, dispatcher: User) -> None:
    client = Client()
    client.force_login(dispatcher)
    codes = _enrol(client, dispatcher)
    first = Client()
    _sign_in(first, "p-dispatcher", PASSWORD)
    assert first.post(CODE, {"code": codes[0]}, **EN).status_code == 302
    assert _signed_in_as(first) == dispatcher.pk
    assert _events("auth.recovery_code_used")[-1].data == {"left": 9}
    again = Client()
    _sign_in(again, "p-dispatcher", PASSWORD)
    assert again.post(CODE, {"code": codes[0]}, **EN).status_code == 400
    assert _signed_in_as(again) is None


def test_two_step__required_by_role__must_be_set_up_before_getting_in(
    world: World, leader: User, settings: Any
) -> None:
    settings.TOTP_REQUIRED_ROLES = ["leader"]
    client = Client()
    response = _sign_in(client, "p-leader", PASSWORD)
    assert response["Location"] == TWO_STEP
    assert _signed_in_as(client) is None
    page = client.get(TWO_STEP, **EN).content.decode()
    assert "Your role requires a code from your phone" in page
    device = TOTPDevice.objects.get(user=leader, confirmed=False)
    done = client.post(TWO_STEP, {"code": _code(device)}, **EN)
    assert done.status_code == 200
    assert _signed_in_as(client) == leader.pk
    # and it cannot be turned off
    refused = client.post("/accounts/two-step/off/", {"code": _code(device, 60)}, **EN)
    assert refused.status_code == 302
    assert TOTPDevice.objects.filter(user=leader, confirmed=True).exists()
    # the API asks for it too
    token = APIClient().post(
        "/api/v1/auth/token/", {"username": "p-leader", "password": PASSWORD}, format="json"
    )
    assert token.status_code == 400
    assert token.json()["code"] == "auth.two_step_code"


def test_two_step__not_required__others_sign_in_with_the_password_alone(
    world: World, leader: User, settings: Any
) -> None:
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    client = Client()
    assert _sign_in(client, "p-leader", PASSWORD)["Location"] == "/"
    assert _signed_in_as(client) == leader.pk


def test_two_step__turned_off_with_a_code__is_audited(world: World, dispatcher: User) -> None:
    client = Client()
    client.force_login(dispatcher)
    _enrol(client, dispatcher)
    device = TOTPDevice.objects.get(user=dispatcher, confirmed=True)
    with time_machine.travel(time.time() + 40, tick=False):
        client.post("/accounts/two-step/off/", {"code": _code(device)}, **EN)
    assert not TOTPDevice.objects.filter(user=dispatcher).exists()
    assert len(_events("auth.totp_disabled")) == 1
    assert _sign_in(Client(), "p-dispatcher", PASSWORD)["Location"] == "/"


def test_two_step__api_token__needs_the_code(world: World, dispatcher: User) -> None:
    client = Client()
    client.force_login(dispatcher)
    _enrol(client, dispatcher)
    device = TOTPDevice.objects.get(user=dispatcher, confirmed=True)
    api = APIClient()
    url = "/api/v1/auth/token/"
    without = api.post(url, {"username": "p-dispatcher", "password": PASSWORD}, format="json")
    assert without.status_code == 400
    assert without.json()["code"] == "auth.two_step_code"
    with time_machine.travel(time.time() + 40, tick=False):
        body = {"username": "p-dispatcher", "password": PASSWORD, "otp": _code(device)}
        assert api.post(url, body, format="json").status_code == 200


# --- password reset --------------------------------------------------------------------------


def test_password_reset__by_an_administrator__one_time_link_audited(
    world: World, admin: User, commissioner_a: User
) -> None:
    client = Client()
    client.force_login(admin)
    page = client.post(f"/accounts/users/{commissioner_a.pk}/reset-link/", **EN)
    assert page.status_code == 200
    link = re.search(r"https?://[^<\s]+/accounts/reset/[^<\s]+", page.content.decode())
    assert link is not None
    path = "/" + link.group(0).split("/", 3)[3]
    (issued,) = _events("auth.password_reset_link_issued")
    assert issued.actor_id == admin.pk
    assert issued.object_id == str(commissioner_a.pk)

    person = Client()
    form = person.get(path, follow=True, **EN)
    assert form.status_code == 200
    new = "Bamboo-grove-by-the-river-7"
    done = person.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, **EN
    )
    assert done.status_code == 302
    assert _sign_in(Client(), COMMISSIONER_PHONE, new).status_code == 302
    assert len(_events("auth.password_reset_done")) == 1
    # the link worked once
    used = Client().get(path, follow=True, **EN).content.decode()
    assert "This link has been used or has expired" in used


def test_password_reset__link_for_someone_out_of_sight__is_not_found(
    world: World, commissioner_b: User, dispatcher: User
) -> None:
    client = Client()
    client.force_login(commissioner_b)  # may not even see the dispatcher
    assert client.post(f"/accounts/users/{dispatcher.pk}/reset-link/").status_code == 404
    client.force_login(User.objects.get(username="p-leader"))  # sees people, may not manage
    assert client.post(f"/accounts/users/{dispatcher.pk}/reset-link/").status_code == 403
    api = APIClient()
    api.force_login(commissioner_b)
    assert api.post(f"/api/v1/users/{dispatcher.pk}/reset-link/").status_code == 404
    assert not _events("auth.password_reset_link_issued")


def test_password_reset__by_email__same_answer_whether_or_not_the_account_exists(
    world: World, commissioner_a: User, settings: Any
) -> None:
    settings.EMAIL_HOST = "smtp.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    User.objects.filter(pk=commissioner_a.pk).update(email="court-a@example.org")
    assert "Forgot your password?" in Client().get(LOGIN, **EN).content.decode()
    known = Client().post(
        "/accounts/password-reset/", {"email": "Court-A@example.org"}, follow=True, **EN
    )
    unknown = Client().post(
        "/accounts/password-reset/", {"email": "nobody@example.org"}, follow=True, **EN
    )
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    for answer in (known, unknown):
        text = answer.content.decode()
        assert "If an account uses this address" in text
        assert "example.org" not in text
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["court-a@example.org"]
    path = re.search(r"/accounts/reset/\S+", mail.outbox[0].body)
    assert path is not None
    assert len(_events("auth.password_reset_requested")) == 1


def test_password_reset__by_email__limited_per_account_and_per_address(
    world: World, commissioner_a: User, settings: Any
) -> None:
    settings.EMAIL_HOST = "smtp.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RATE_PASSWORD_RESET_PER_HOUR = 3
    User.objects.filter(pk=commissioner_a.pk).update(email="court-a@example.org")
    statuses = [
        Client(REMOTE_ADDR=f"10.0.0.{n}")
        .post("/accounts/password-reset/", {"email": "court-a@example.org"})
        .status_code
        for n in range(5)
    ]
    assert statuses == [302] * 5  # the same answer every time...
    assert len(mail.outbox) == 3  # ...but three links at most an hour
    one_address = Client()
    answers = [
        one_address.post("/accounts/password-reset/", {"email": f"x{n}@example.org"}).status_code
        for n in range(4)
    ]
    assert answers == [302, 302, 302, 429]


def test_password_reset__without_email__is_not_offered(world: World, settings: Any) -> None:
    settings.EMAIL_HOST = ""
    assert Client().get("/accounts/password-reset/").status_code == 404
    assert "Forgot your password?" not in Client().get(LOGIN, **EN).content.decode()


def test_admin_site__signs_in_through_the_sign_in_page__two_step_included(
    world: World, admin: User
) -> None:
    client = Client()
    to_admin = client.get("/admin/", follow=True, **EN)
    assert to_admin.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"
    client.force_login(admin)
    _enrol(client, admin)
    client.post("/accounts/logout/")
    client = Client()
    after_password = client.post(
        LOGIN + "?next=/admin/", {"username": "p-admin", "password": PASSWORD}, **EN
    )
    assert after_password["Location"] == CODE
    assert client.get("/admin/").status_code == 302  # not yet
    device = TOTPDevice.objects.get(user=admin, confirmed=True)
    with time_machine.travel(time.time() + 40, tick=False):
        done = client.post(CODE, {"code": _code(device)}, **EN)
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admin_site__signed_in_without_admin_rights__is_refused(
    world: World, resident: User
) -> None:
    client = Client()
    client.force_login(resident)
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_two_step__required_roles_setting__an_unknown_role_stops_start_up(settings: Any) -> None:
    from sanan.accounts.checks import totp_required_roles

    settings.TOTP_REQUIRED_ROLES = ["admin", "leader"]
    assert totp_required_roles() == []
    settings.TOTP_REQUIRED_ROLES = ["admin", "boss"]
    (error,) = totp_required_roles()
    assert error.id == "sanan.accounts.E001"
    assert "boss" in error.msg
