"""Sanan scaled out on loopback, end to end: ``scripts/scale-out`` starts HAProxy on one
address, two ``sanan serve`` instances and two ``sanan worker`` processes on Redis,
all on a PostgreSQL database of the test's own; the test talks HTTP to the one address only,
as a phone or the hotline desk would.

Runs in the PostgreSQL run (the configured server gets a database of its own for the
deployment, dropped afterwards); skipped on SQLite, where several servers cannot share the
database. Needs HAProxy (``make frontserver``) and Redis on 127.0.0.1:6379 (or
``SANAN_TEST_SCALEOUT_REDIS``); under CI a missing one fails the test instead of skipping it.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString
from urllib.parse import quote

import psycopg
import pytest
import redis
from django.conf import settings
from psycopg import sql

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "scale-out"
REDIS = os.environ.get("SANAN_TEST_SCALEOUT_REDIS", "redis://127.0.0.1:6379")
QUEUE_DB, CACHE_DB = 11, 12  # Redis databases of this test alone: emptied when it starts
SIGN_IN_LIMIT = 8

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="the scale-out runs several servers on one PostgreSQL database; the PostgreSQL "
        "run covers it (SQLite is one machine's embedded database)",
    ),
]


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI installs it: `make frontserver`, Redis on 6379)")
    pytest.skip(what)


# --- the deployment ------------------------------------------------------------------------


@dataclass
class Deployment:
    process: subprocess.Popen[bytes]
    run_dir: Path
    port: int
    database: dict[str, Any]

    def state(self) -> dict[str, Any]:
        path = self.run_dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {"status": "starting"}

    def child(self, name: str) -> dict[str, Any]:
        (found,) = [p for p in self.state()["processes"] if p["name"] == name]
        return found

    def log(self, name: str) -> str:
        return (self.run_dir / "logs" / f"{name}.log").read_text(errors="replace")

    def output(self) -> str:
        return (self.run_dir / "scale-out.out").read_text(errors="replace")

    def query(self, text: LiteralString, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(**self.database, autocommit=True) as conn:
            cur = conn.execute(text, params)
            return cur.fetchall() if cur.description else []


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(what: str, check: Callable[[], Any], *, timeout: float, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    if not shutil.which("haproxy"):
        _missing("HAProxy is not installed")
    try:
        for db in (QUEUE_DB, CACHE_DB):
            redis.Redis.from_url(f"{REDIS}/{db}").flushdb()
    except redis.RedisError as exc:
        _missing(f"Redis does not answer at {REDIS}: {exc}")

    conf = settings.DATABASES["default"]
    server = {
        "host": conf["HOST"] or "127.0.0.1",
        "port": int(conf["PORT"] or 5432),
        "user": conf["USER"],
        "password": conf["PASSWORD"],
    }
    name = f"sanan_scaleout_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = quote(server["user"]) + (f":{quote(server['password'])}" if server["password"] else "")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SANAN_", "PYTEST_"))},
        "DATABASE_URL": f"postgres://{auth}@{server['host']}:{server['port']}/{name}",
        "SANAN_QUEUE_URL": f"{REDIS}/{QUEUE_DB}",
        "SANAN_CACHE_URL": f"{REDIS}/{CACHE_DB}",
        "SANAN_VAR_DIR": str(tmp_path / "var"),
        "SANAN_RATE_SIGN_IN_PER_MINUTE": str(SIGN_IN_LIMIT),
        "DJANGO_SETTINGS_MODULE": "sanan.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with (run_dir / "scale-out.out").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--port", str(port), "--run-dir", str(run_dir),
             "--apps", "2", "--app-workers", "1", "--workers", "2", "--start-timeout", "240"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
        )  # fmt: skip
    dep = Deployment(process, run_dir, port, {**server, "dbname": name})
    try:
        _wait(
            "the scale-out answering on its one address",
            lambda: _ready(dep),
            timeout=300,
        )
        yield dep
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _ready(dep: Deployment) -> bool:
    if dep.process.poll() is not None:
        raise AssertionError(f"scripts/scale-out exited early:\n{dep.output()}")
    return bool(dep.state()["status"] == "ready")


# --- HTTP to the one address -----------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    dep: Deployment,
    method: str,
    path: str,
    *,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> Answer:
    """One request to the front, from the loopback address ``source`` (the rate limits count
    per client address: HAProxy passes it on in X-Forwarded-For)."""
    conn = http.client.HTTPConnection("127.0.0.1", dep.port, timeout=30, source_address=(source, 0))
    sent = {"Accept": "application/json", "Accept-Language": "en", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Token {token}"
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())  # fmt: skip
    finally:
        conn.close()


def token_for(dep: Deployment, username: str) -> str:
    answer = request(
        dep, "POST", "/api/v1/auth/token/", body={"username": username, "password": PASSWORD}
    )
    assert answer.status == 200, answer.body
    return str(answer.json()["token"])


def seed(dep: Deployment) -> dict[str, int]:
    """The persona world (tests/personas.py) written through the services, in a process of
    the deployment's own settings: a community, its courtyards and ten people (passwords
    hashed at test cost; the servers check them as any Argon2 hash)."""
    code = (
        "import json, django; django.setup()\n"
        "from django.conf import settings\n"
        "settings.PASSWORD_HASHERS = ['tests.personas.FastArgon2PasswordHasher']\n"
        "from tests.personas import ensure_personas, World\n"
        "from sanan.workorders.models import Category\n"
        "ensure_personas(); w = World.load()\n"
        "print(json.dumps({'house_a': w.house_a.pk, 'department': w.department.pk,\n"
        "  'street_light': Category.objects.get(code='street_light').pk}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANAN_", "PYTEST_"))}
    env.update(_deployment_env(dep))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _deployment_env(dep: Deployment) -> dict[str, str]:
    db = dep.database
    auth = quote(db["user"]) + (f":{quote(db['password'])}" if db["password"] else "")
    return {
        "DATABASE_URL": f"postgres://{auth}@{db['host']}:{db['port']}/{db['dbname']}",
        "SANAN_QUEUE_URL": f"{REDIS}/{QUEUE_DB}",
        "SANAN_CACHE_URL": f"{REDIS}/{CACHE_DB}",
        "SANAN_VAR_DIR": str(dep.run_dir.parent / "var"),
        "DJANGO_SETTINGS_MODULE": "sanan.settings",
    }


ACCESS = re.compile(r'<(?P<pid>\d+)> (?P<method>[A-Z]+) "(?P<path>[^"]*)" (?P<status>\d{3}) ')


def served(dep: Deployment, app: str, method: str, path: str) -> list[tuple[int, int]]:
    """(process id, status) of each request ``app``'s access log shows for the path."""
    rows = []
    for line in dep.log(app).splitlines():
        m = ACCESS.search(line)
        if m and m["method"] == method and m["path"] == path:
            rows.append((int(m["pid"]), int(m["status"])))
    return rows


def inbox(dep: Deployment, token: str) -> list[dict[str, Any]]:
    answer = request(dep, "GET", "/api/v1/inbox/", token=token)
    assert answer.status == 200, answer.body
    return list(answer.json()["results"])


# --- the test --------------------------------------------------------------------------------


def test_scale_out__one_address_several_servers_workers_on_redis__orders_served_and_delivered(
    deployment: Deployment,
) -> None:
    dep = deployment
    ids = seed(dep)
    resident, dispatcher, handler = (
        token_for(dep, name) for name in ("p-resident", "p-dispatcher", "p-handler")
    )

    # Orders submitted through the one address are shared out over both app servers.
    orders = []
    for n in range(6):
        answer = request(
            dep, "POST", "/api/v1/orders/", token=resident,
            headers={"Idempotency-Key": f"scale-out-{n}"},
            body={"category": ids["street_light"], "place": ids["house_a"],
                  "description": f"A1号门口的路灯不亮了 ({n})", "channel": "resident_form"},
        )  # fmt: skip
        assert answer.status == 201, answer.body
        orders.append(answer.json()["id"])

    def orders_logged() -> dict[str, list[tuple[int, int]]]:
        rows = {app: served(dep, app, "POST", "/api/v1/orders/") for app in ("app-1", "app-2")}
        return rows if sum(len(r) for r in rows.values()) == 6 else {}

    # (a server writes its access line just after the answer: wait for the last one)
    by_app = _wait("six orders in the access logs", orders_logged, timeout=10)
    assert all(by_app.values()), f"every order went to one server: {by_app}"
    assert len({pid for rows in by_app.values() for pid, _ in rows}) >= 2

    # The workers, woken through Redis, deliver the outbox: each order's "registered" notice
    # reaches the resident's inbox.
    _wait(
        "the resident's inbox holding a notice of each order",
        lambda: set(orders) <= {item["order_id"] for item in inbox(dep, resident)},
        timeout=60,
    )

    # The dispatcher sends the first order to the department; its handler is told.
    first = orders[0]
    answer = request(
        dep, "POST", f"/api/v1/orders/{first}/dispatch/", token=dispatcher,
        body={"lead_organisation": ids["department"]},
    )  # fmt: skip
    assert answer.status == 200, answer.body
    assert answer.json()["state"] == "dispatched"
    dispatched = _wait(
        "the dispatch notice in the handler's inbox",
        lambda: [i for i in inbox(dep, handler) if i["order_id"] == first],
        timeout=60,
    )

    # The SLA sweep runs on a worker: the order's warning point passes (moved into the past,
    # as time would), a tick is queued on Redis, a worker warns and notifies the handler.
    dep.query(
        "UPDATE workorders_workorder SET escalation_at = now() - interval '1 minute' WHERE id = %s",
        (first,),
    )
    from sanan.notifications.config import parse_queue_url
    from sanan.notifications.worker import build_queue

    build_queue(parse_queue_url(f"{REDIS}/{QUEUE_DB}", var_dir=dep.run_dir)).tick()
    level = "SELECT escalation_level FROM workorders_workorder WHERE id = %s"
    _wait("the sweep warning of the order", lambda: dep.query(level, (first,))[0][0] >= 1,
          timeout=60)  # fmt: skip

    def handler_told_again() -> list[dict[str, Any]]:
        items = [i for i in inbox(dep, handler) if i["order_id"] == first]  # newest first
        return items if len(items) > len(dispatched) else []

    warned = _wait("the warning in the handler's inbox", handler_told_again, timeout=60)
    assert warned[0]["template"] != dispatched[0]["template"]
    assert "sweep: " in dep.log("worker-1") + dep.log("worker-2")

    # Static files: hashed names, a gzip copy, cacheable for a year.
    page = request(dep, "GET", "/accounts/login/", headers={"Accept": "text/html"})
    css = re.search(r"/static/sanan/sanan\.[0-9a-f]{12}\.css", page.body.decode())
    assert css, "the sign-in page links no hashed stylesheet"
    sheet = request(dep, "GET", css[0], headers={"Accept-Encoding": "gzip"})
    assert sheet.status == 200
    assert sheet.headers["content-encoding"] == "gzip"
    assert "immutable" in sheet.headers["cache-control"]

    # Sign-in attempts from one address are counted in Redis by every server together:
    # exactly the limit passes, whichever processes answer.
    sent = 0
    for source in ("127.0.0.3", "127.0.0.4"):  # the second only if a minute ended mid-burst
        if time.time() % 60 > 40:  # one counting window for the whole burst
            time.sleep(61 - time.time() % 60)
        window = int(time.time() // 60)
        statuses = [
            request(dep, "POST", "/api/v1/auth/token/", source=source,
                    body={"username": f"nobody-{n}", "password": "wrong"}).status
            for n in range(SIGN_IN_LIMIT + 4)
        ]  # fmt: skip
        sent += len(statuses)
        if int(time.time() // 60) == window:
            break
    assert statuses == [400] * SIGN_IN_LIMIT + [429] * 4

    def attempts_logged() -> dict[str, list[tuple[int, int]]]:
        rows = {app: served(dep, app, "POST", "/api/v1/auth/token/") for app in ("app-1", "app-2")}
        return rows if sum(len(r) for r in rows.values()) >= 3 + sent else {}

    tried = _wait("the sign-in attempts in the access logs", attempts_logged, timeout=10)
    assert all(len(rows) >= 3 for rows in tried.values()), tried  # both servers counted

    # An app server killed outright: the front routes around it at once, the script starts it
    # again, and it serves again.
    killed = dep.child("app-1")
    os.kill(killed["pid"], signal.SIGKILL)
    for _ in range(12):
        answer = request(dep, "GET", "/api/v1/orders/", token=resident)
        assert answer.status == 200, answer.body
    answer = request(
        dep, "POST", "/api/v1/orders/", token=resident, headers={"Idempotency-Key": "after-kill"},
        body={"category": ids["street_light"], "place": ids["house_a"],
              "description": "B1号楼道灯坏了", "channel": "resident_form"},
    )  # fmt: skip
    # Created once, even if the killed server took it before dying (the retry replays it).
    assert answer.status in (200, 201), answer.body
    count = "SELECT count(*) FROM workorders_workorder WHERE idempotency_key = 'after-kill'"
    assert dep.query(count) == [(1,)]
    _wait(
        "app-1 started again",
        lambda: dep.child("app-1")["restarts"] == 1 and dep.child("app-1")["pid"] != killed["pid"],
        timeout=40,
    )
    before = len(served(dep, "app-1", "GET", "/api/v1/orders/"))

    def app_1_serves_again() -> bool:
        assert request(dep, "GET", "/api/v1/orders/", token=resident).status == 200
        return len(served(dep, "app-1", "GET", "/api/v1/orders/")) > before

    _wait("app-1 serving through the front again", app_1_serves_again, timeout=90, every=0.5)

    # Stopping the script stops every process it started.
    group = dep.process.pid
    dep.process.send_signal(signal.SIGTERM)
    assert dep.process.wait(timeout=40) == 0, dep.output()
    assert dep.state()["status"] == "stopped"
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
