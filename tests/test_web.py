"""The web surface: health check, API schema and docs (no CDN), 404s that never turn into 500s,
each role's home page, and the two languages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import yaml
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import translation
from rest_framework.test import APIClient

import sanan
from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.core.views import not_found, server_error
from sanan.organisation.models import Organisation
from tests.personas import PERSONA_FOR_ROLE, World

HTML_LANG = re.compile(r'<html lang="([^"]+)"')


def _html_lang(response: object) -> str:
    match = HTML_LANG.search(response.content.decode())  # type: ignore[attr-defined]
    assert match is not None
    return match.group(1)


# --- health --------------------------------------------------------------------------------------
def test_healthz__database_up__reports_ok(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] == connection.vendor
    assert body["version"] == sanan.__version__
    assert "no-cache" in response["Cache-Control"]  # a proxy must never answer for it


def test_healthz__post__is_not_allowed(db: None) -> None:
    assert Client().post("/healthz").status_code == 405


# --- API schema and docs -------------------------------------------------------------------------
@pytest.fixture
def schema(db: None) -> dict:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    return yaml.safe_load(response.content)


def test_api_schema__yaml__is_openapi_3_with_the_places_api(schema: dict) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Sanan API"
    for path in (
        "/api/v1/places/",
        "/api/v1/places/{id}/",
        "/api/v1/places/locate/",
        "/api/v1/me/",
        "/api/v1/audit/events/",
    ):
        assert "get" in schema["paths"][path], path


def test_api_schema__every_operation__has_an_id_and_responses(schema: dict) -> None:
    operation_ids = []
    for path, operations in schema["paths"].items():
        assert path.startswith("/api/v1/"), path
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation["responses"], f"{method} {path}"
            operation_ids.append(operation["operationId"])
    assert len(operation_ids) == len(set(operation_ids))


def test_api_schema__every_reference__resolves(schema: dict) -> None:
    text = json.dumps(schema)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert refs
    assert refs <= set(schema["components"]["schemas"])


def test_api_schema__locate__names_the_coordinate_systems(schema: dict) -> None:
    params = {p["name"]: p for p in schema["paths"]["/api/v1/places/locate/"]["get"]["parameters"]}
    assert params["lat"]["required"] is True
    assert params["lng"]["required"] is True
    assert set(params["system"]["schema"]["enum"]) == {"wgs84", "gcj02", "bd09"}


def test_api_schema__json__says_the_same(schema: dict) -> None:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content)["paths"].keys() == schema["paths"].keys()


def test_api_docs__page__uses_only_our_own_static_files(db: None) -> None:
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html
    assert "https://" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        # the start-up script comes from the page's own URL: no inline script (CSP)
        assert asset.startswith(("/static/", "/api/docs/?script")), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        b"".join(served.streaming_content if served.streaming else [served.content])


# --- not found -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/places/abc/", "/api/v2/places/"])
def test_not_found__api_path__answers_json(db: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_not_found__api_path_signed_in__answers_json(
    world: World, leader: User, api_as: Callable[[User], APIClient]
) -> None:
    response = api_as(leader).get("/api/v1/places/999999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_not_found__page__answers_html(db: None) -> None:
    response = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "This page does not exist" in response.content.decode()


def test_not_found__page_signed_in__answers_html(
    world: World, leader: User, web_as: Callable[[User], Client]
) -> None:
    response = web_as(leader).get("/places/999999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "not in the places you look after" in response.content.decode()


def test_server_error__api_path__answers_json_and_says_nothing_was_saved() -> None:
    response = server_error(RequestFactory().get("/api/v1/places/"))
    assert response.status_code == 500
    body = json.loads(response.content)
    assert body["code"] == "server.error"


def test_server_error__page__answers_html(db: None) -> None:
    response = server_error(RequestFactory().get("/places/1/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_not_found_handler__page__answers_html(db: None) -> None:
    request = RequestFactory().get("/anything/")
    response = not_found(request)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- home pages ----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_home__each_role__shows_that_roles_label(
    world: World,
    persona: Callable[[str], User],
    web_as: Callable[[User], Client],
    role: Role,
) -> None:
    user = persona(PERSONA_FOR_ROLE[role])
    response = web_as(user).get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    with translation.override("en"):
        label = str(role.label)
    assert f'data-role="{role.value}"' in html
    assert f'<span data-testid="role-label">{label}</span>' in html
    assert user.display_name in html
    for organisation in Organisation.objects.filter(memberships__user=user):
        assert organisation.name in html  # a handler sees whom they act for


def test_home__commissioner__lists_their_courtyard_and_no_other(
    world: World, commissioner_a: User, web_as: Callable[[User], Client]
) -> None:
    html = web_as(commissioner_a).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My courtyards" in html
    assert f'href="/places/{world.courtyard_a.pk}/"' in html
    assert f'href="/places/{world.courtyard_b.pk}/"' not in html


def test_home__audit_link__only_for_those_who_may_read_the_log(
    world: World,
    commissioner_a: User,
    leader: User,
    web_as: Callable[[User], Client],
) -> None:
    assert 'href="/audit/"' not in web_as(commissioner_a).get("/").content.decode()
    assert 'href="/audit/"' in web_as(leader).get("/").content.decode()


def test_home__role_label__is_translated_in_chinese(
    world: World, leader: User, web_as: Callable[[User], Client]
) -> None:
    with translation.override("zh-hans"):
        chinese = str(Role.LEADER.label)
    with translation.override("en"):
        assert chinese != str(Role.LEADER.label)  # there is a translation
    html = web_as(leader).get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f'<span data-testid="role-label">{chinese}</span>' in html


def test_home__anonymous__goes_to_sign_in(db: None) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


# --- languages -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "lang", "sign_in"),
    [
        ("en", "en", "Sign in"),
        ("en-US,en;q=0.9", "en", "Sign in"),
        ("zh-hans", "zh-CN", "登录"),
        ("zh-CN,zh;q=0.9", "zh-CN", "登录"),
        ("fr", "zh-CN", "登录"),
    ],
    ids=["en", "en-US", "zh-hans", "zh-CN", "other-falls-back-to-chinese"],
)
def test_language__accept_language__chooses_the_page_language(
    db: None, accept: str, lang: str, sign_in: str
) -> None:
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept)
    assert _html_lang(response) == lang
    assert sign_in in response.content.decode()


def test_language__switcher__keeps_the_choice_over_the_browsers(db: None) -> None:
    client = Client()
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'action="/i18n/setlang/"' in page.content.decode()
    assert 'name="language" value="en"' in page.content.decode()

    response = client.post(
        "/i18n/setlang/",
        {"language": "en", "next": "/accounts/login/"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies["sanan_language"].value == "en"

    again = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert _html_lang(again) == "en"
    assert 'name="language" value="zh-hans"' in again.content.decode()  # and back again


def test_language__switcher__refuses_to_send_people_off_site(db: None) -> None:
    response = Client().post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_language__api_errors__follow_accept_language(db: None) -> None:
    english = APIClient().get("/api/v1/places/", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = APIClient().get("/api/v1/places/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert english["code"] == chinese["code"] == "auth.not_authenticated"
    assert english["message"] != chinese["message"]


# --- headers -------------------------------------------------------------------------------------
def test_response__headers__carry_a_request_id_and_refuse_framing(db: None) -> None:
    response = Client().get("/accounts/login/", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    generated = Client().get("/accounts/login/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
