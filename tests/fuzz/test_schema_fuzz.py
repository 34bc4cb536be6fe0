"""Schema fuzzing of the whole API (schemathesis over ``/api/schema/``), in process through
the WSGI application, as the administrator, as a resident and without signing in.

Every operation gets a few generated requests, valid ones and invalid ones, derandomized: the
same requests on every run, so a failure reproduces. The checks: no 5xx; the status code,
content type and body of every answer conform to the schema; and without credentials an
operation that the schema says needs them answers 401, never data (``ignored_auth``). All
failures of a role are collected and reported together, one line per operation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode, checks

from sanan.accounts.models import User
from tests.personas import World

pytestmark = pytest.mark.django_db

# Generated requests per operation and mode; about 160 operations, the whole module well
# under two minutes on the CI machine.
EXAMPLES = {"admin": 2, "resident": 2, "anonymous": 1}

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    """Hundreds of requests a minute from one address: the rate limits are tested elsewhere
    (tests/hostile/test_rate_limits.py)."""
    settings.RATE_SIGN_IN_PER_MINUTE = 10**9
    settings.RATE_PUBLIC_WRITES_PER_MINUTE = 10**9


def _application() -> Any:
    """The WSGI application, without closing the database connection after each request (as
    Django's test client does): the test's transaction, and SQLite's in-memory test database,
    must outlive the requests."""
    django_app = get_wsgi_application()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = django_app(environ, start_response)
            try:
                return list(response)
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return app


@functools.cache
def _schema() -> Any:
    """Loaded once per test process: the schema does not change while the tests run."""
    return schemathesis.openapi.from_wsgi("/api/schema/", _application())


def _has_input(operation: Any) -> bool:
    """Whether a request to the operation can be made invalid at all."""
    return bool(len(operation.path_parameters) or len(operation.query) or len(operation.body))


def _fuzz(
    examples: int,
    headers: dict[str, str],
    extra_checks: list[Any] | None = None,
) -> list[str]:
    """Run every operation; the failures, one line each."""
    schema = _schema()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [GenerationMode.POSITIVE]
        if _has_input(operation):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            run = _runner(operation, mode, examples, headers, [*CHECKS, *(extra_checks or [])])
            try:
                run()
            except Unsatisfiable:  # e.g. a free-text path parameter: nothing invalid to send
                continue
            except (Exception, BaseExceptionGroup) as error:  # every failure is reported
                summary = " ".join(str(error).split())[:400]
                failures.append(f"{operation.label} ({mode.value}): {summary}")
    return failures


def _runner(
    operation: Any, mode: Any, examples: int, headers: dict[str, str], check_list: list[Any]
) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=check_list)

    return run


def _token(username: str) -> str:
    token, _created = Token.objects.get_or_create(user=User.objects.get(username=username))
    return token.key


def _headers(key: str | None = None) -> dict[str, str]:
    base = {"Accept-Language": "en"}
    return {**base, "Authorization": f"Token {key}"} if key else base


def _assert_none(failures: list[str]) -> None:
    assert not failures, f"{len(failures)} operations failed:\n" + "\n".join(failures)


def test_api_fuzz__as_the_administrator(world: World) -> None:
    _assert_none(_fuzz(EXAMPLES["admin"], _headers(_token("p-admin"))))


def test_api_fuzz__as_a_resident(world: World) -> None:
    _assert_none(_fuzz(EXAMPLES["resident"], _headers(_token("p-resident"))))


def test_api_fuzz__without_signing_in(world: World) -> None:
    _assert_none(_fuzz(EXAMPLES["anonymous"], _headers(), [checks.ignored_auth]))
