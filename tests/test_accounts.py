"""Signing in as people actually type their number, pausing after repeated failures, ending
idle sessions, and keeping phone numbers encrypted."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from rest_framework.test import APIClient

from sanan import settings as production_settings
from sanan.accounts.models import PHONE_PURPOSE, User
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant, user_create, user_set_phone
from sanan.core import crypto
from sanan.core.errors import DomainError
from sanan.places.models import Place
from tests.factories import PASSWORD, UserFactory
from tests.personas import PERSONA_PASSWORD, World

LOGIN = "/accounts/login/"
WRONG = "not-the-password-1"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

# p-commissioner-a's number is 139 0000 0002.
FULL_WIDTH = "13900000002".translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def _sign_in(client: Client, login: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": login, "password": password}, **EN, **extra)


def _signed_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


# --- signing in ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "login",
    [
        "13900000002",
        "139 0000 0002",
        "139-0000-0002",
        "+86 13900000002",
        "0086 139 0000 0002",
        FULL_WIDTH,
        "p-commissioner-a",
        "P-Commissioner-A",
    ],
    ids=["digits", "spaces", "dashes", "plus86", "0086", "full-width", "username", "any-case"],
)
def test_login__as_people_type_it__signs_in(world: World, commissioner_a: User, login: str) -> None:
    client = Client()
    response = _sign_in(client, login, PERSONA_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _signed_in_as(client) == commissioner_a.pk
    home = client.get("/", **EN)
    with translation.override("en"):
        assert str(Role.COMMISSIONER.label) in home.content.decode()


def test_login__demo_number_with_spaces__signs_in(demo: Place) -> None:
    client = Client()
    response = _sign_in(client, "138 0833 0002", settings.DEMO_PASSWORD)
    assert response.status_code == 302
    assert _signed_in_as(client) == User.objects.get(username="commissioner").pk


def test_login__wrong_password__says_so_and_stays_on_the_page(
    world: World, commissioner_a: User
) -> None:
    client = Client()
    response = _sign_in(client, "139 0000 0002", WRONG)
    html = response.content.decode()
    assert response.status_code == 200
    assert "The mobile number/username or the password is not right" in html
    assert 'name="password"' in html
    assert 'value="139 0000 0002"' in html  # what they typed is kept, the password is not
    assert WRONG not in html
    assert _signed_in_as(client) is None


def test_login__unknown_number__says_the_same_as_a_wrong_password(world: World) -> None:
    unknown = _sign_in(Client(), "137 0000 9999", WRONG).content.decode()
    assert "The mobile number/username or the password is not right" in unknown


def test_login__wrong_password__in_chinese(world: World) -> None:
    response = Client().post(
        LOGIN, {"username": "13900000002", "password": WRONG}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "手机号/用户名或密码不正确" in response.content.decode()


def test_login__after_the_failure_limit__is_paused_even_with_the_right_password(
    world: World, commissioner_a: User
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "13900000002", WRONG).status_code == 200
    assert _sign_in(client, "13900000002", WRONG).status_code == 429  # the last failure

    response = _sign_in(client, "13900000002", PERSONA_PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Sign-in paused" in html
    assert f"paused for {settings.LOGIN_COOLOFF_MINUTES} minutes" in html
    assert _signed_in_as(client) is None


def test_login__paused_account__opens_again_after_the_cooloff(
    world: World, commissioner_a: User, time_machine: Any
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "13900000002", WRONG)
    assert _sign_in(client, "13900000002", PERSONA_PASSWORD).status_code == 429
    time_machine.shift(dt.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES + 1))
    assert _sign_in(client, "13900000002", PERSONA_PASSWORD).status_code == 302


def test_login__failures_on_one_account__do_not_pause_another(
    world: World, commissioner_a: User, commissioner_b: User
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "13900000002", WRONG)
    assert _sign_in(client, "13900000003", PERSONA_PASSWORD).status_code == 302


def test_login__after_the_failure_limit__another_spelling_of_the_number_is_paused_too(
    world: World, commissioner_a: User
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "13900000002", WRONG)
    assert _sign_in(client, "139 0000 0002", PERSONA_PASSWORD).status_code == 429


def test_login__api_token_after_the_failure_limit__gives_no_token_even_with_the_right_password(
    world: World, commissioner_a: User
) -> None:
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"username": "13900000002", "password": WRONG})
    response = client.post(
        "/api/v1/auth/token/", {"username": "13900000002", "password": PERSONA_PASSWORD}
    )
    assert response.status_code >= 400
    assert "token" not in response.json()


def test_login__api_token_after_the_failure_limit__is_paused_with_a_code(
    world: World, commissioner_a: User
) -> None:
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"username": "13900000002", "password": WRONG})
    response = client.post(
        "/api/v1/auth/token/", {"username": "13900000002", "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 429
    assert response.json()["code"] == "auth.locked_out"


# --- idle sessions -------------------------------------------------------------------------------
def test_session__idle_past_the_timeout__signs_out(
    world: World, commissioner_a: User, time_machine: Any
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    client.force_login(commissioner_a)
    idle = dt.timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
    assert client.get("/", **EN).status_code == 200

    time_machine.shift(idle - dt.timedelta(minutes=1))
    assert client.get("/", **EN).status_code == 200  # activity restarts the clock

    time_machine.shift(idle + dt.timedelta(minutes=1))
    response = client.get("/", **EN)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert _signed_in_as(client) is None
    login_page = client.get(response["Location"], **EN)
    assert "signed out after a period of inactivity" in login_page.content.decode()


def test_session__steady_use__stays_signed_in(
    world: World, commissioner_a: User, time_machine: Any
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    client.force_login(commissioner_a)
    step = dt.timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES - 1)
    for _ in range(4):  # more than two timeouts in all, never idle for one
        assert client.get("/", **EN).status_code == 200
        time_machine.shift(step)
    assert client.get("/", **EN).status_code == 200


# --- phone numbers -------------------------------------------------------------------------------
def test_user__phone__is_stored_encrypted_masked_and_revealable(db: None) -> None:
    user = UserFactory(phone="138 1234 0002")
    stored = User.objects.get(pk=user.pk)
    assert "13812340002" not in stored.phone_encrypted
    assert "12340002" not in stored.phone_encrypted
    assert stored.phone_encrypted.startswith(f"v1:{settings.PII_CIPHER}:")
    assert "13812340002" not in (stored.phone_index or "")
    assert stored.phone_masked == "138****0002"
    assert stored.phone_reveal() == "13812340002"


def test_user__phone__cannot_be_decrypted_for_another_purpose(db: None) -> None:
    user = UserFactory(phone="13812340003")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(user.phone_encrypted, purpose="resident.id_number")


def test_user__phone_with_sm4__round_trips(db: None, settings: Any) -> None:
    settings.PII_CIPHER = "sm4-gcm"
    user = UserFactory(phone="13812340004")
    assert user.phone_encrypted.startswith("v1:sm4-gcm:")
    assert User.objects.get(pk=user.pk).phone_reveal() == "13812340004"


def test_user__phone_after_key_rotation__still_reads_and_new_numbers_use_the_new_key(
    db: None, settings: Any
) -> None:
    before = UserFactory(phone="13812340005")
    settings.PII_KEYS = {"k9": b"\x07" * 32, **settings.PII_KEYS}
    settings.PII_CURRENT_KEY_ID = "k9"
    after = UserFactory(phone="13812340006")
    assert crypto.key_id_of(after.phone_encrypted) == "k9"
    assert User.objects.get(pk=before.pk).phone_reveal() == "13812340005"
    assert User.objects.get(pk=after.pk).phone_reveal() == "13812340006"


def test_user__same_phone_in_another_format__is_taken(world: World) -> None:
    with pytest.raises(DomainError) as caught:
        user_create(
            actor="tests", username="newcomer", password=PASSWORD, phone="+86 139-0000-0001"
        )
    assert caught.value.code == "user.phone_taken"
    assert "phone" in caught.value.fields
    assert not User.objects.filter(username="newcomer").exists()


def test_user__set_phone_to_someone_elses__is_taken(world: World, resident: User) -> None:
    with pytest.raises(DomainError) as caught:
        user_set_phone(actor="tests", user=resident, phone="13900000002")
    assert caught.value.code == "user.phone_taken"
    assert User.objects.get(pk=resident.pk).phone_reveal() == "13900000001"


@pytest.mark.parametrize("phone", ["12345", "2390000000", "139000000012", "电话"])
def test_user__invalid_phone__is_refused(db: None, phone: str) -> None:
    with pytest.raises(DomainError) as caught:
        user_create(actor="tests", username="bad-phone", password=PASSWORD, phone=phone)
    assert caught.value.code == "phone.invalid_mobile"


def test_user__phone_index__finds_the_same_number_in_any_format(db: None) -> None:
    index = crypto.blind_index("13812340007", purpose=PHONE_PURPOSE)
    user = UserFactory(phone="１３８ １２３４ ０００７")
    assert user.phone_index == index


# --- passwords ---------------------------------------------------------------------------------
def test_password__server_configuration__hashes_with_argon2() -> None:
    """The tests run Argon2 at a test-sized cost (tests/personas.py); the server's own list
    must still start with full-strength Argon2."""
    assert production_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def test_user__password__is_stored_as_an_argon2_hash(db: None) -> None:
    user = UserFactory()
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password
    assert user.check_password(PASSWORD)


# --- creating users and roles --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("lixia", "12345678"),
        ("lixia", "password123"),
        ("lixia", "short1"),
        ("lixia2026", "lixia2026"),
    ],
    ids=["numeric", "common", "short", "like-username"],
)
def test_user__create_with_weak_password__is_refused(
    db: None, username: str, password: str
) -> None:
    with pytest.raises(DomainError) as caught:
        user_create(actor="tests", username=username, password=password)
    assert caught.value.code == "user.weak_password"
    assert caught.value.fields["password"]  # says what is wrong with it
    assert not User.objects.filter(username=username).exists()


def test_user__create_with_taken_username_in_other_case__is_refused(world: World) -> None:
    with pytest.raises(DomainError) as caught:
        user_create(actor="tests", username="P-LEADER", password=PASSWORD)
    assert caught.value.code == "user.username_taken"


def test_role__grant_handler_without_organisation__is_refused(world: World, resident: User) -> None:
    with pytest.raises(DomainError) as caught:
        role_grant(actor="tests", user=resident, role=Role.HANDLER, place=world.community)
    assert caught.value.code == "role.organisation_required"
    assert "organisation" in caught.value.fields
    assert not resident.role_assignments.filter(role=Role.HANDLER).exists()


def test_role__grant__takes_effect_on_the_next_question(
    world: World, commissioner_a: User, api_as: Callable[[User], APIClient]
) -> None:
    client = api_as(commissioner_a)
    assert client.get(f"/api/v1/places/{world.courtyard_b.pk}/").status_code == 404
    role_grant(actor="tests", user=commissioner_a, role=Role.COMMISSIONER, place=world.courtyard_b)
    assert client.get(f"/api/v1/places/{world.courtyard_b.pk}/").status_code == 200


# --- the API -------------------------------------------------------------------------------------
def test_api_token__with_a_phone_number__authenticates_the_api(world: World, leader: User) -> None:
    anonymous = APIClient()
    response = anonymous.post(
        "/api/v1/auth/token/", {"username": "+86 139 0000 0006", "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "p-leader"
    assert body["phone_masked"] == "139****0006"
    assert body["primary_role"] == "leader"
    assert [(r["role"], r["place_id"], r["place_name"]) for r in body["roles"]] == [
        ("leader", world.community.pk, world.community.name)
    ]


def test_api_token__wrong_password__gives_no_token(world: World) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "13900000006", "password": WRONG}
    )
    assert response.status_code == 400
    assert "token" not in response.json()
    assert response.json()["code"] == "validation.invalid"


def test_api_me__handler__shows_the_organisation(
    world: World, handler: User, api_as: Callable[[User], APIClient]
) -> None:
    body = api_as(handler).get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert body["primary_role"] == "handler"
    assert body["roles"][0]["organisation_id"] == world.department.pk
    with translation.override("zh-hans"):
        assert body["roles"][0]["role_label"] == str(Role.HANDLER.label)


def test_api_me__never_shows_the_full_number(
    world: World, resident: User, api_as: Callable[[User], APIClient]
) -> None:
    content = api_as(resident).get("/api/v1/me/").content.decode()
    assert "13900000001" not in content
    assert "139****0001" in content


def test_api_bad_token__is_401(world: World) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + base64.b16encode(b"x" * 20).decode())
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "auth.failed"


def test_login__after_the_failure_limit__the_username_is_paused_too_when_the_number_was_tried(
    world: World, commissioner_a: User
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "13900000002", WRONG)
    assert _sign_in(client, commissioner_a.username.upper(), PERSONA_PASSWORD).status_code == 429


def test_login__after_the_failure_limit__another_address_is_paused_too(
    world: World, commissioner_a: User
) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), commissioner_a.username, WRONG)
    fresh = Client(REMOTE_ADDR="10.9.9.9")
    assert _sign_in(fresh, "13900000002", PERSONA_PASSWORD).status_code == 429


def test_logout__get__offers_the_button_instead_of_an_error(
    world: World, commissioner_a: User
) -> None:
    client = Client()
    client.force_login(commissioner_a)
    response = client.get("/accounts/logout/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Sign out now" in response.content.decode()
    assert client.get("/").status_code == 200  # still signed in: a GET changes nothing


def test_login__expired_form__explains_in_the_users_language(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/",
        {"username": "x", "password": "y"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert 'lang="zh-CN"' in html
    with translation.override("zh-hans"):
        assert translation.gettext("This page has expired") in html


def test_session__expired_during_an_htmx_request__reloads_the_sign_in_page(
    world: World, leader: User
) -> None:
    response = Client().get("/audit/?action=place.created", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_user_create__shared_password_hash__each_account_signs_in_with_that_password() -> None:
    from django.contrib.auth import authenticate
    from django.contrib.auth.hashers import make_password
    from django.test import RequestFactory

    shared = make_password("a shared demo password")
    for name in ("demo-a", "demo-b"):
        user_create(actor="test", username=name, password_hash=shared, validate=True)
    for name in ("demo-a", "demo-b"):
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=name, password="a shared demo password")
        assert authenticate(request, username=name, password="another") is None
    assert User.objects.get(username="demo-a").password == shared


@pytest.mark.django_db
def test_user_create__password_hash__must_be_an_encoded_hash_and_not_beside_a_password() -> None:
    with pytest.raises(ValueError, match="hashing algorithm"):
        user_create(actor="test", username="plain", password_hash="sanan-demo-2026")
    with pytest.raises(TypeError):
        user_create(actor="test", username="both", password="x", password_hash="x")
    with pytest.raises(TypeError):
        user_create(actor="test", username="neither")
    assert not User.objects.filter(username__in=["plain", "both", "neither"]).exists()
