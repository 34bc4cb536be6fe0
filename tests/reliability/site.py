"""A throwaway Sanan installation driven as an operator drives it, and the real server in front
of it: the ``sanan`` CLI in subprocesses, ``sanan serve`` in a process group of its own (so
that ``kill -9`` takes the server and every worker process at once, as a power cut would),
and clients that submit orders over HTTP with idempotency keys.

``new_site(tmp, engine)`` gives a temporary ``SANAN_VAR_DIR``; on SQLite its file-backed
database, on PostgreSQL a database created for the test (on the server of ``DATABASE_URL``)
and dropped afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import pytest

Engine = Literal["sqlite", "postgresql"]


def pg_admin_url() -> Any:
    return urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")


def psql(sql: str) -> None:
    url = pg_admin_url()
    env = {**os.environ, "PGPASSWORD": unquote(url.password or "")}
    subprocess.run(
        ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", unquote(url.username or "postgres"), "-d", "postgres", "-v", "ON_ERROR_STOP=1",
         "-qc", sql],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip


@dataclass
class Site:
    """One Sanan installation, driven through its CLI."""

    var_dir: Path
    env: dict[str, str]
    engine: Engine = "sqlite"

    @property
    def database(self) -> Path:
        return self.var_dir / "sanan.sqlite3"

    def sanan(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "sanan.cli", *args],
            env=env or self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        if check and proc.returncode != 0:
            pytest.fail(f"sanan {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def count(self, sql: str) -> int:
        """One number read straight from the database (not through Sanan), e.g. while the
        server is writing."""
        if self.engine == "sqlite":
            with contextlib.closing(sqlite3.connect(self.database, timeout=20)) as conn:
                return int(conn.execute(sql).fetchone()[0])
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            return int(row[0]) if row else 0

    def shell_json(self, code: str, marker: str = "RESULT=") -> Any:
        """Run ``code`` in ``sanan shell``; it prints one line ``RESULT=<json>``."""
        out = self.sanan("shell", "-c", code).stdout
        line = next(line for line in out.splitlines() if line.startswith(marker))
        return json.loads(line.removeprefix(marker))


@contextmanager
def new_site(var_dir: Path, engine: Engine, *, like: Site | None = None) -> Iterator[Site]:
    """A new installation; ``like``: a copy of that one (its var directory and database),
    which must not be running."""
    if like is not None:
        shutil.copytree(like.var_dir, var_dir)
    env = {**os.environ, "SANAN_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "sanan.settings"}
    env.pop("DATABASE_URL", None)
    if engine == "sqlite":
        yield Site(var_dir=var_dir, env=env, engine=engine)
        return
    name = f"sanan_site_test_{uuid.uuid4().hex[:10]}"
    template = f' TEMPLATE "{urlsplit(like.env["DATABASE_URL"]).path[1:]}"' if like else ""
    psql(f'CREATE DATABASE "{name}"{template}')
    try:
        env["DATABASE_URL"] = pg_admin_url()._replace(path=f"/{name}").geturl()
        yield Site(var_dir=var_dir, env=env, engine=engine)
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class DemoSite:
    """An installation with the demo community (places, people, routing) and the resident's
    API token, built once and copied by each test that needs one (``new_site(like=...)``)."""

    site: Site
    setup: dict[str, Any]


@contextmanager
def demo_site(var_dir: Path, engine: Engine) -> Iterator[DemoSite]:
    with new_site(var_dir, engine) as site:
        site.sanan("demo", "--orders", "0", "--no-registry")
        yield DemoSite(site, site.shell_json(SETUP_CODE))


# --- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``sanan serve`` (Sanan's production configuration: granian unless ``SANAN_WEB_SERVER``
    says otherwise) for ``site`` on ``port``, in a session of its own: ``kill()`` sends SIGKILL
    to the server and every worker process at once. Its log goes to ``server.log`` in the
    site's folder."""

    def __init__(self, site: Site, port: int, *, workers: int = 2) -> None:
        self.site, self.port = site, port
        self.log = site.var_dir / "server.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sanan.cli", "serve", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "--no-collectstatic"],
                env=site.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        self.wait_ready()

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server stopped:\n{self._log_tail()}")
            try:
                probe = HTTPConnection("127.0.0.1", self.port, timeout=5)
                probe.request("GET", "/healthz")
                ok = probe.getresponse().status == 200
                probe.close()
                if ok:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not answer /healthz in time:\n{self._log_tail()}")

    def kill(self) -> None:
        """kill -9 the master and all its workers at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def serving(site: Site, port: int) -> Iterator[Server]:
    server = Server(site, port)
    try:
        yield server
    finally:
        server.stop()


# --- intake over HTTP ----------------------------------------------------------------------------

SETUP_CODE = """
import json
from rest_framework.authtoken.models import Token
from sanan.accounts.models import User
from sanan.places.models import Place
from sanan.workorders.models import Category
user = User.objects.get(username="resident")
token, _ = Token.objects.get_or_create(user=user)
houses = list(Place.objects.filter(kind="house").order_by("code").values_list("pk", flat=True))
cats = [c.pk for c in Category.objects.filter(depth=2, questions__isnull=True).order_by("path")]
print("RESULT=" + json.dumps({"token": token.key, "houses": houses, "categories": cats}))
"""


@dataclass
class Submission:
    key: str
    body: str
    status: int | None = None  # None: no answer (the connection broke)
    order: int | None = None
    replayed: bool = False
    error: str = ""
    sent: bool = False  # the request reached the server (it was connected)
    started: float = 0.0  # time.monotonic() when the client began sending it

    @property
    def acknowledged(self) -> bool:
        return self.status in (200, 201) and self.order is not None


@dataclass
class Intake:
    """Residents' submissions of orders over HTTP, each with its own Idempotency-Key."""

    token: str
    houses: list[int]
    categories: list[int]
    submissions: list[Submission] = field(default_factory=list)

    @classmethod
    def prepare(cls, setup: dict[str, Any], n: int, tag: str) -> Intake:
        intake = cls(setup["token"], setup["houses"], setup["categories"])
        for i in range(n):
            body = json.dumps({
                "category": intake.categories[i % len(intake.categories)],
                "place": intake.houses[i * 17 % len(intake.houses)],
                "description": f"楼道灯不亮了（{tag} 第{i}次）",
                "channel": "api",
            }, ensure_ascii=False)  # fmt: skip
            intake.submissions.append(Submission(f"{tag}-{i:04d}-{uuid.uuid4().hex[:8]}", body))
        return intake

    def send(self, port: int, sub: Submission, *, timeout: float = 30) -> Submission:
        """POST one submission; what the client saw is recorded in a fresh ``Submission``."""
        seen = Submission(sub.key, sub.body, started=time.monotonic())
        conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.connect()
            seen.sent = True
            conn.request("POST", "/api/v1/orders/", body=sub.body.encode(), headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": "application/json",
                "Idempotency-Key": sub.key,
            })  # fmt: skip
            resp = conn.getresponse()
            payload = resp.read()
            seen.status = resp.status
            seen.replayed = resp.getheader("Idempotent-Replayed") == "true"
            if resp.status in (200, 201):
                seen.order = int(json.loads(payload)["id"])
            else:
                seen.error = payload[:300].decode(errors="replace")
        except (OSError, TimeoutError, ValueError, HTTPException) as exc:  # the server went away
            seen.error = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        return seen

    def burst(
        self,
        port: int,
        *,
        threads: int,
        during: Callable[[Burst], None] = lambda burst: None,
        only: list[Submission] | None = None,
    ) -> list[Submission]:
        """Send the submissions (``only`` these, if given) from ``threads`` clients at once,
        each as fast as the server answers, and return what each client saw. A client stops
        when the server is gone (connection refused): what it had not sent stays unanswered.
        ``during(burst)`` runs alongside (it may kill the server, or take a backup); it sees
        the acknowledged submissions so far and may stop the clients."""
        todo = list(self.submissions if only is None else only)
        burst = Burst(len(todo))

        def client() -> None:
            while (i := burst.take()) is not None:
                seen = self.send(port, todo[i], timeout=20)
                burst.record(i, seen)
                if not seen.sent:
                    return

        workers = [threading.Thread(target=client) for _ in range(threads)]
        for w in workers:
            w.start()
        try:
            during(burst)
        finally:
            for w in workers:
                w.join(timeout=120)
        return [burst.seen.get(i) or Submission(s.key, s.body) for i, s in enumerate(todo)]


class Burst:
    """The clients' shared queue and what they have been told so far."""

    def __init__(self, n: int) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._n = n
        self.seen: dict[int, Submission] = {}

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._n:
                return None
            self._next += 1
            return self._next - 1

    def record(self, i: int, seen: Submission) -> None:
        with self._lock:
            self.seen[i] = seen

    def acknowledged(self) -> list[Submission]:
        with self._lock:
            return [s for s in self.seen.values() if s.acknowledged]

    def stop(self) -> None:
        """No new submissions; those being sent finish."""
        with self._lock:
            self._n = self._next
