"""The attack surface: ``sanan check --deploy`` under the production settings of
docs/operations.md, the security headers (Content-Security-Policy, HSTS, nosniff, framing,
referrer), cookies (Secure, HttpOnly, SameSite), CSRF on pages and on session-authenticated API
calls, and no inline script in any template (the policy forbids it)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from sanan.accounts.models import User
from tests.personas import PERSONA_PASSWORD, World

ROOT = Path(__file__).resolve().parents[2]

# Production, as docs/operations.md describes it: behind an HTTPS proxy.
PRODUCTION_ENV = {
    "SANAN_DEBUG": "0",
    "SANAN_SECURE": "1",
    "SANAN_SSL_REDIRECT": "1",
    "SANAN_BEHIND_PROXY": "1",
    "SANAN_ALLOWED_HOSTS": "sanan.example.cn",
    "SANAN_CSRF_TRUSTED_ORIGINS": "https://sanan.example.cn",
}


def _production(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SANAN_", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' plugin, not by servers
    env.update(PRODUCTION_ENV)
    env["SANAN_VAR_DIR"] = str(tmp_path / "var")
    env["SANAN_SECRET_KEY"] = secrets.token_urlsafe(60)
    return subprocess.run(
        [sys.executable, "-m", "sanan", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy__production_settings__no_security_warning(tmp_path: Path) -> None:
    done = _production(tmp_path, "check", "--deploy")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not re.findall(r"\(security\.\w+\)", output), output
    assert "ERRORS" not in output


def test_check_deploy__production_settings__no_warning_at_all(tmp_path: Path) -> None:
    done = _production(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr


def test_production_settings__cookies_and_transport_are_secure(tmp_path: Path) -> None:
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "k: getattr(s, k) for k in ['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER', "
        "'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', 'DEBUG', 'SESSION_COOKIE_AGE']}))"
    )
    done = _production(tmp_path, "shell", "-c", script)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
        "DEBUG": False,
        "SESSION_COOKIE_AGE": 12 * 3600,
    }


# --- headers -------------------------------------------------------------------------------


def _policy(value: str) -> dict[str, list[str]]:
    parts = (p.split() for p in value.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/", "/orders/new/", "/api/v1/me/", "/api/docs/", "/healthz"]
)
def test_headers__every_answer__policy_nosniff_no_framing(world: World, path: str) -> None:
    client = Client()
    client.force_login(User.objects.get(username="p-resident"))
    response = client.get(path)
    assert response.status_code in (200, 302), (path, response.status_code)
    policy = _policy(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]  # nothing inline, nothing from elsewhere
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_headers__api_docs__load_their_script_from_a_file(world: World) -> None:
    client = Client()
    client.force_login(User.objects.get(username="p-admin"))
    html = client.get("/api/docs/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html), "inline script"


@pytest.mark.django_db
@override_settings(
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_headers__over_https__hsts_and_secure_cookies(world: World) -> None:
    client = Client()
    login = client.get("/accounts/login/", secure=True)
    assert login["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csrf = login.cookies["csrftoken"]
    assert csrf["secure"]
    assert csrf["samesite"] == "Lax"
    signed_in = client.post(
        "/accounts/login/",
        {"username": "p-resident", "password": PERSONA_PASSWORD,
         "csrfmiddlewaretoken": csrf.value},
        secure=True,
    )  # fmt: skip
    assert signed_in.status_code == 302
    session = signed_in.cookies["sessionid"]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"


@pytest.mark.django_db
def test_headers__plain_http__no_hsts(world: World) -> None:
    assert "Strict-Transport-Security" not in Client().get("/accounts/login/")


# --- CSRF ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_csrf__sign_in_without_the_token__refused_with_a_page(world: World) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        "/accounts/login/", {"username": "p-resident", "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 403
    assert client.session.get("_auth_user_id") is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/orders/new/", {"description": "x"}),
        ("/hotline/knowledge/new/", {"question": "x"}),
        ("/registry/residents/new/", {"name": "x"}),
        ("/org/ledger/visit/", {"topics": "x"}),
    ],
)
def test_csrf__signed_in_form_without_the_token__refused_nothing_written(
    world: World, path: str, body: dict[str, str]
) -> None:
    from tests.hostile.support import row_counts

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="p-dispatcher"))
    before = row_counts()
    assert client.post(path, body).status_code == 403
    assert row_counts() == before


@pytest.mark.django_db
def test_csrf__session_api_call_without_the_token__refused_with_the_error_shape(
    world: World,
) -> None:
    client = APIClient(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(username="p-resident"))
    response = client.post("/api/v1/orders/", {"description": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "auth.forbidden"
    assert "CSRF" in response.json()["message"]


@pytest.mark.django_db
def test_csrf__token_api_call__needs_no_csrf_token(world: World) -> None:
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=User.objects.get(username="p-resident"))
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/orders/", {}, format="json", HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 400  # validated, not refused for CSRF


# --- no inline script --------------------------------------------------------------------------

_INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"  # a script element
    r"|\son[a-z]+\s*=\s*[\"']"  # an event handler attribute
    r"|[\"']\s*javascript:",  # a javascript: URL
    re.I,
)
KNOWN_INLINE: set[str] = set()


def _templates() -> dict[str, str]:
    found = {}
    for folder in (ROOT / "src" / "sanan").rglob("templates"):
        for path in folder.rglob("*.html"):
            found[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")
    return found


def test_templates__no_inline_script__beyond_the_known_ones() -> None:
    offenders = {name for name, text in _templates().items() if _INLINE.search(text)}
    assert offenders == KNOWN_INLINE


def test_templates__load_nothing_from_another_origin() -> None:
    """Scripts, styles, fonts and images are Sanan's own files: nothing is fetched from a CDN
    or any other site (personal data stays in the country, pages work offline)."""
    external = re.compile(
        r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I
    )
    offenders = sorted(name for name, text in _templates().items() if external.search(text))
    assert offenders == []
