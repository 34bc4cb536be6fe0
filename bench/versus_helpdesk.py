"""Sanan side by side with django-helpdesk: the same machine, database engine, server and load.

    .venv/bin/python bench/versus_helpdesk.py                 # set up (once), measure, print ratios
    .venv/bin/python bench/versus_helpdesk.py --records 100000 --rounds 2 --seconds 15
    .venv/bin/python bench/versus_helpdesk.py --update-docs   # also rewrite docs/performance.md
    .venv/bin/python bench/versus_helpdesk.py --setup-only    # build the two populations only

django-helpdesk is what a community might install instead: a Django ticket tracker. It is
installed at a pinned version into a virtualenv of its own (``<data>/helpdesk-venv``, never into
Sanan's), with a minimal Django project written by this script (``<data>/helpdesk-project``).
Both applications then run under the same gunicorn (same version, same worker count and class)
on the same database engine (PostgreSQL on 127.0.0.1:5432 by default, databases
``bench_helpdesk`` and ``bench_sanan_versus``; or SQLite files with ``--engine sqlite``), each
holding ``--records`` open items (tickets, work orders) with their first event, and one load
driver (this file, ``--driver``, in another process) sends the same kind of requests to both:

(a) **create**: helpdesk ``POST /api/tickets/`` (its REST API, a staff token) against Sanan
    ``POST /api/v1/orders/`` (a resident's token and an ``Idempotency-Key``). Sanan does more
    per order: place and courtyard, routing to a department, SLA deadlines, the intake event,
    an audit row in a hash chain, an outbox row; helpdesk writes the ticket and its first
    follow-up and renders its notification e-mails (to Django's dummy e-mail backend).
(b) **list**: the staff list of open items, as a person waits for it: helpdesk's ticket list
    page and the JSON request its table makes for the first 25 rows (two requests, one
    latency) against Sanan's dispatcher's board and the handler's queue (one page each, rows
    rendered on the server).
(c) **item**: one item's page for staff, items taken at random: helpdesk
    ``/tickets/<id>/`` against Sanan ``/orders/<id>/`` (as the dispatcher).

The runs are interleaved (A, B, then B, A, …) since the machine is shared, each a closed loop of
``--connections`` connections for ``--seconds`` after a warm-up; the figures kept are the
median of the rounds. Every answer must be the expected status (201, 200), and every 201 must
be a row in the database afterwards: otherwise the run stops with exit status 1.

Why one Python load driver rather than wrk: both applications answer tens to a few hundred
requests a second here, where the driver spends well under a millisecond of CPU a request; it
is already the intake benchmark's driver, needs nothing from outside PyPI, can log in (session
cookies), make every POST unique and check every status, and it costs both sides the same.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from suite_common import (  # noqa: E402 (bench/ on the path first)
    DOC,
    machine,
    percentile,
    replace_block,
    say,
    write_results,
)

BIN = Path(sys.executable).parent
DATA = Path(os.environ.get("SANAN_BENCH_DATA", "/work/bench-data"))
PINS = ["django-helpdesk==2.6.1", "Django==5.2.19", "gunicorn==27.0.1", "psycopg[binary]==3.3.9"]
PG = "postgres://postgres@127.0.0.1:5432/"
HD_DB, SANAN_DB = "bench_helpdesk", "bench_sanan_versus"
BEGIN, END = "<!-- versus-bench:begin -->", "<!-- versus-bench:end -->"

# --- the django-helpdesk project ----------------------------------------------------------------

HD_SETTINGS = '''"""A minimal Django project serving django-helpdesk (bench/versus_helpdesk.py)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "rest_framework.authtoken", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "hdproj.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "hdproj.wsgi.application"
if os.environ.get("BENCH_ENGINE", "postgres") == "postgres":
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": "%(db)s", "USER": "postgres",
        "HOST": "127.0.0.1", "PORT": "5432", "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True,
    }}
else:
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "helpdesk.sqlite3"),
        "CONN_MAX_AGE": 60, "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"},
    }}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en"
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True
STATIC_URL = "/static/"
SITE_ID = 1
LOGIN_URL = "/login/"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": [
    "rest_framework.authentication.TokenAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]}
HELPDESK_TEAMS_MODE_ENABLED = False
'''
HD_URLS = """from django.urls import include, path

urlpatterns = [path("", include("helpdesk.urls", namespace="helpdesk"))]
"""
HD_WSGI = """import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproj.settings")
application = get_wsgi_application()
"""
HD_MANAGE = """import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproj.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""

# Runs inside the helpdesk project (``manage.py shell``): the staff user, a queue, ``TARGET``
# open tickets spread over the last 30 days with their first follow-up, the staff token and a
# logged-in session, a sample of ticket ids.
HD_POPULATE = """
import datetime as dt, json, random
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from helpdesk.models import FollowUp, Queue, Ticket
User = get_user_model()
staff, made = User.objects.get_or_create(username="staff", defaults={"is_staff": True,
    "is_superuser": True, "email": "staff@example.org"})
queue, _ = Queue.objects.get_or_create(slug="hotline", defaults={"title": "Hotline"})
now = timezone.now()
rng = random.Random(2018)
have = Ticket.objects.count()
started = time.perf_counter()
while have < TARGET:
    n = min(10000, TARGET - have)
    with transaction.atomic():
        tickets = [Ticket(
            title="bench %d" % i, queue=queue,
            submitter_email="resident%d@example.org" % (i % 5000),
            status=rng.choice([1, 1, 1, 2]), priority=rng.choice([1, 2, 3, 3, 3, 4, 5]),
            description="压力测试工单：路灯不亮了，第%d次" % i,
            created=now - dt.timedelta(minutes=rng.randint(10, 60 * 24 * 30)),
            modified=now, secret_key="%012x" % i,
        ) for i in range(have, have + n)]
        Ticket.objects.bulk_create(tickets, batch_size=1000)
        FollowUp.objects.bulk_create([FollowUp(
            ticket=t, date=t.created, title="Ticket Opened", comment=t.description,
            public=True, new_status=1) for t in tickets], batch_size=1000)
    have += n
    print("  helpdesk: %d/%d tickets" % (have, TARGET), flush=True)
if time.perf_counter() - started > 1:
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
token, _ = Token.objects.get_or_create(user=staff)
client = Client()
client.force_login(staff)
ids = list(Ticket.objects.filter(title__startswith="bench ").order_by("?")
           .values_list("pk", flat=True)[:500])
print("SETUP=" + json.dumps({"token": token.key, "session": client.cookies["sessionid"].value,
    "queue": queue.pk, "ids": ids, "records": Ticket.objects.count(),
    "open": Ticket.objects.filter(status__in=[1, 2]).count(),
    "seconds": time.perf_counter() - started}))
"""
HD_COUNT = """
from helpdesk.models import Ticket
print("COUNT=%d" % Ticket.objects.filter(title__startswith="versus ").count())
"""

# Runs inside Sanan (``sanan shell``, bench/ on the path): ``TARGET`` open orders through the
# work-order benchmark's population (bulk_create, then the table copies itself), each with its
# intake event; the resident's token; logged-in sessions of the dispatcher and the handler.
SANAN_POPULATE = """
import json, time
from django.db import connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token
from sanan.accounts.models import User
from sanan.places.models import Place
from sanan.workorders.models import Category, WorkOrder, WorkOrderEvent
from workorders_population import NOW, _populate
started = time.perf_counter()
_populate(TARGET, NOW, 0, lambda m: print(m, flush=True))
missing = WorkOrder.objects.filter(events__isnull=True)
if missing.exists():
    table, events = WorkOrder._meta.db_table, WorkOrderEvent._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {events} (order_id, at, actor_id, actor_label, action, from_state, "
            "to_state, reason_code, reason, public_note, internal_note, data, attachments) "
            f"SELECT o.id, o.created_at, o.reporter_id, '王秀英', 'submit', '', o.state, '', '', "
            f"'', '', '{{}}', '[]' FROM {table} o WHERE NOT EXISTS "
            f"(SELECT 1 FROM {events} e WHERE e.order_id = o.id)")
        cur.execute("ANALYZE")
resident = User.objects.get(username="resident")
token, _ = Token.objects.get_or_create(user=resident)
sessions = {}
for name in ("dispatcher", "handler"):
    client = Client()
    client.force_login(User.objects.get(username=name))
    sessions[name] = client.cookies["sessionid"].value
houses = list(Place.objects.filter(kind="house").order_by("code").values_list("pk", flat=True))
cats = [c.pk for c in Category.objects.filter(depth=2, questions__isnull=True).order_by("path")]
ids = list(WorkOrder.objects.filter(title__startswith="bench ").order_by("?")
           .values_list("pk", flat=True)[:500])
from sanan.workorders.state import OPEN_STATES
print("SETUP=" + json.dumps({"token": token.key, "sessions": sessions, "houses": houses,
    "categories": cats, "ids": ids, "records": WorkOrder.objects.count(),
    "open": WorkOrder.objects.filter(state__in=OPEN_STATES).count(),
    "seconds": time.perf_counter() - started}))
"""
SANAN_COUNT = """
from sanan.workorders.models import WorkOrder
print("COUNT=%d" % WorkOrder.objects.filter(idempotency_key__startswith="versus-").count())
"""


def _run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    out = subprocess.run(  # noqa: S603 (fixed programs of this script)
        cmd, env=env, cwd=cwd, check=False, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} … failed:\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
    return out.stdout


def _setup_line(text: str) -> dict[str, Any]:
    found = re.search(r"^SETUP=(.*)$", text, re.MULTILINE)
    if not found:
        raise SystemExit(f"no SETUP line in:\n{text[-2000:]}")
    return dict(json.loads(found.group(1)))


def _ensure_pg(name: str, fresh: bool) -> None:
    listed = _run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                   f"SELECT 1 FROM pg_database WHERE datname='{name}'"])  # noqa: S608 # fmt: skip
    exists = listed.strip() == "1"
    if exists and fresh:
        _run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", name])
        exists = False
    if not exists:
        _run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name])


class Helpdesk:
    name = "django-helpdesk"

    def __init__(self, data: Path, engine: str) -> None:
        self.venv = data / "helpdesk-venv"
        self.project = data / "helpdesk-project"
        self.engine = engine

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "SANAN"))}
        keep.pop("DATABASE_URL", None)
        keep.pop("VIRTUAL_ENV", None)
        return {**keep, "BENCH_ENGINE": self.engine, "PYTHONPATH": str(self.project)}

    def install(self) -> None:
        py = self.venv / "bin" / "python"
        if not py.exists():
            say(f"helpdesk: virtualenv {self.venv} ({', '.join(PINS)}) …")
            _run([str(Path(sys.base_prefix) / "bin" / "python3"), "-m", "venv", str(self.venv)])
        have = _run([str(py), "-m", "pip", "freeze"])
        if not all(p.split("[")[0].lower() + "==" + p.split("==")[1] in have.lower() for p in PINS):
            _run([str(py), "-m", "pip", "install", "--quiet", *PINS])
        (self.project / "hdproj").mkdir(parents=True, exist_ok=True)
        files = {
            "hdproj/__init__.py": "",
            "hdproj/settings.py": HD_SETTINGS % {"db": HD_DB},
            "hdproj/urls.py": HD_URLS,
            "hdproj/wsgi.py": HD_WSGI,
            "manage.py": HD_MANAGE,
        }
        for rel, text in files.items():
            (self.project / rel).write_text(text, encoding="utf-8")

    def manage(self, *args: str) -> str:
        return _run([str(self.venv / "bin" / "python"), str(self.project / "manage.py"), *args],
                    env=self.env(), cwd=self.project)  # fmt: skip

    def populate(self, records: int, fresh: bool) -> dict[str, Any]:
        if self.engine == "postgres":
            _ensure_pg(HD_DB, fresh)
        elif fresh:
            (self.project / "helpdesk.sqlite3").unlink(missing_ok=True)
        self.manage("migrate", "--no-input")
        code = f"import time\nTARGET = {records}\n{HD_POPULATE}"
        return _setup_line(self.manage("shell", "-c", code))

    def serve(self, port: int, workers: int) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 (the helpdesk venv's gunicorn)
            [str(self.venv / "bin" / "gunicorn"), "hdproj.wsgi:application",
             "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "--keep-alive", "30"],
            env=self.env(), cwd=self.project, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def ready_path(self) -> str:
        return "/login/"

    def created(self) -> int:
        found = re.search(r"COUNT=(\d+)", self.manage("shell", "-c", HD_COUNT))
        return int(found.group(1)) if found else -1

    def scenarios(self, setup: dict[str, Any]) -> dict[str, dict[str, Any]]:
        auth = {"Cookie": f"sessionid={setup['session']}"}
        query = _b64({"filtering": {"status__in": [1, 2]}, "sorting": "created",
                      "search_string": "", "sortreverse": False})  # fmt: skip
        data = (f"/datatables_ticket_list/{query}?draw=1&start=0&length=25"
                "&order%5B0%5D%5Bcolumn%5D=5&order%5B0%5D%5Bdir%5D=desc")  # fmt: skip
        return {
            "create": {
                "kind": "helpdesk-create", "expect": 201, "token": setup["token"],
                "queue": setup["queue"],
            },
            "list": {"kind": "get", "expect": 200, "headers": auth,
                     "steps": [["/tickets/"], [data]]},
            "item": {"kind": "get", "expect": 200, "headers": auth,
                     "steps": [[f"/tickets/{i}/" for i in setup["ids"]]]},
        }  # fmt: skip


def _b64(query: dict[str, Any]) -> str:
    import base64

    return base64.b64encode(json.dumps(query).encode()).decode("ascii")


class Sanan:
    name = "Sanan"

    def __init__(self, data: Path, engine: str) -> None:
        self.var = data / "versus-sanan"
        self.engine = engine

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(SANAN_VAR_DIR=str(self.var), DJANGO_SETTINGS_MODULE="sanan.settings",
                   SANAN_RATE_PUBLIC_WRITES_PER_MINUTE="100000000",
                   PYTHONPATH=os.pathsep.join([str(ROOT / "bench"),
                                               env.get("PYTHONPATH", "")]))  # fmt: skip
        if self.engine == "postgres":
            env["DATABASE_URL"] = PG + SANAN_DB
        return env

    def install(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)

    def populate(self, records: int, fresh: bool) -> dict[str, Any]:
        if self.engine == "postgres":
            _ensure_pg(SANAN_DB, fresh)
        elif fresh and self.var.exists():
            shutil.rmtree(self.var)
            self.var.mkdir(parents=True)
        marker = self.var / f"demo-{self.engine}"
        _run([str(BIN / "sanan"), "migrate", "-v", "0"], env=self.env())  # the code measured
        if not marker.exists() or fresh:
            _run([str(BIN / "sanan"), "demo", "--orders", "1", "--no-registry"], env=self.env())
            marker.touch()
        code = f"TARGET = {records}\n{SANAN_POPULATE}"
        return _setup_line(_run([str(BIN / "sanan"), "shell", "-c", code], env=self.env()))

    def serve(self, port: int, workers: int) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 (this venv's gunicorn)
            [str(BIN / "gunicorn"), "sanan.wsgi:application", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "30"],
            env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def ready_path(self) -> str:
        return "/healthz"

    def created(self) -> int:
        out = _run([str(BIN / "sanan"), "shell", "-c", SANAN_COUNT], env=self.env())
        found = re.search(r"COUNT=(\d+)", out)
        return int(found.group(1)) if found else -1

    def scenarios(self, setup: dict[str, Any]) -> dict[str, dict[str, Any]]:
        dispatcher = {"Cookie": f"sessionid={setup['sessions']['dispatcher']}"}
        handler = {"Cookie": f"sessionid={setup['sessions']['handler']}"}
        return {
            "create": {
                "kind": "sanan-create", "expect": 201, "token": setup["token"],
                "houses": setup["houses"], "categories": setup["categories"],
            },
            "list": {"kind": "get", "expect": 200, "headers": dispatcher,
                     "steps": [["/orders/board/"]]},
            "queue": {"kind": "get", "expect": 200, "headers": handler,
                      "steps": [["/orders/queue/"]]},
            "item": {"kind": "get", "expect": 200, "headers": dispatcher,
                     "steps": [[f"/orders/{i}/" for i in setup["ids"]]]},
        }  # fmt: skip


# --- the load driver (its own process, the same for both) ---------------------------------------


def _request(conn: HTTPConnection, spec: dict[str, Any], n: int, i: int, step: int) -> str:
    kind = spec["kind"]
    if kind == "get":
        paths = spec["steps"][step]
        conn.request("GET", paths[(n * 7919 + i) % len(paths)], headers=spec.get("headers", {}))
    elif kind == "sanan-create":
        body = json.dumps({
            "category": spec["categories"][(n * 7 + i) % len(spec["categories"])],
            "place": spec["houses"][(n * 31 + i * 17) % len(spec["houses"])],
            "description": f"路灯不亮了，第{n}-{i}次对比测试", "channel": "api",
        })  # fmt: skip
        conn.request("POST", "/api/v1/orders/", body=body, headers={
            "Authorization": f"Token {spec['token']}", "Content-Type": "application/json",
            "Idempotency-Key": f"versus-{uuid.uuid4().hex}",
        })  # fmt: skip
    elif kind == "helpdesk-create":
        body = json.dumps({
            "queue": spec["queue"], "title": f"versus {n}-{i}",
            "description": f"路灯不亮了，第{n}-{i}次对比测试",
            "submitter_email": f"resident{i % 5000}@example.org", "priority": 3,
        })  # fmt: skip
        conn.request("POST", "/api/tickets/", body=body, headers={
            "Authorization": f"Token {spec['token']}", "Content-Type": "application/json",
        })  # fmt: skip
    resp = conn.getresponse()
    resp.read()
    return str(resp.status)


def drive(
    spec: dict[str, Any], port: int, connections: int, warmup: float, seconds: float
) -> dict[str, Any]:
    """Closed loop: each connection sends its next item as soon as the last one is answered.
    One item is all of ``spec``'s steps in turn (its latency is their sum). Measured: the items
    started after the warm-up and before the end, however late they finish; a connection that
    has none yet (a page slower than the window) starts one more, up to four windows late.
    The rate is measured items over the time from the warm-up's end to the last answer."""
    steps = len(spec.get("steps", [[None]]))
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    give_up = stop_at + 4 * seconds
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    created = [0]
    last_end = [measure_from]

    def client(n: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        codes: dict[str, int] = {}
        made = i = 0
        end = measure_from
        while (t0 := time.perf_counter()) < stop_at or (not mine and t0 < give_up):
            i += 1
            code = ""
            for step in range(steps):
                try:
                    code = _request(conn, spec, n, i, step)
                except (OSError, TimeoutError) as exc:
                    code = type(exc).__name__
                    conn.close()
                    conn = HTTPConnection("127.0.0.1", port, timeout=60)
                if code != str(spec["expect"]):
                    break
            t1 = time.perf_counter()
            made += code == "201"
            if t0 >= measure_from:
                mine.append(t1 - t0)
                codes[code] = codes.get(code, 0) + 1
                end = t1
        conn.close()
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v
            created[0] += made
            last_end[0] = max(last_end[0], end)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = statuses.get(str(spec["expect"]), 0)
    window = max(seconds, last_end[0] - measure_from)
    return {
        "rate": ok / window, "ok": ok, "window_s": window, "errors": sum(statuses.values()) - ok,
        "statuses": statuses, "created": created[0],
        "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, path: str, server: subprocess.Popen[str]) -> None:
    for _ in range(900):
        if server.poll() is not None:
            told = server.stderr.read()[-3000:] if server.stderr else ""
            raise SystemExit(f"server on {port} stopped:\n{told}")
        try:
            probe = HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", path)
            status = probe.getresponse().status
            probe.close()
            if status in (200, 302):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on {port} did not answer {path}")


def _drive_process(spec: dict[str, Any], port: int, args: argparse.Namespace) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 (this script)
        [sys.executable, __file__, "--driver", "--port", str(port),
         "--connections", str(args.connections), "--warmup", str(args.warmup),
         "--seconds", str(args.seconds)],
        input=json.dumps(spec), check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


# --- the comparison ------------------------------------------------------------------------------

PAIRS = [  # (what, helpdesk's scenario, Sanan's scenario)
    ("create", "create", "create"),
    ("list", "list", "list"),
    ("list (handler's queue)", "list", "queue"),
    ("item", "item", "item"),
]


def compare(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data)
    apps = [Helpdesk(data, args.engine), Sanan(data, args.engine)]
    setups: dict[str, dict[str, Any]] = {}
    for app in apps:
        app.install()
        say(f"{app.name}: {args.records:,} open items ({args.engine}) …")
        setups[app.name] = app.populate(args.records, args.fresh)
        say(f"  {setups[app.name]['records']:,} items, {setups[app.name]['open']:,} open")
    if args.setup_only:
        return {
            "setups": {k: {"records": v["records"], "open": v["open"]} for k, v in setups.items()}
        }
    workers = args.workers or (os.cpu_count() or 1) + 1
    servers: dict[str, tuple[subprocess.Popen[str], int]] = {}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {a.name: {} for a in apps}
    load_before = os.getloadavg()
    try:
        for app in apps:
            port = _free_port()
            server = app.serve(port, workers)
            servers[app.name] = (server, port)
            _wait_ready(port, app.ready_path(), server)
        scen = {app.name: app.scenarios(setups[app.name]) for app in apps}
        order = [apps[0], apps[1]]
        for rnd in range(args.rounds):
            for what in args.only.split(","):
                for app in order:
                    wanted = [
                        s for s in scen[app.name] if s == what or (what == "list" and s == "queue")
                    ]
                    for name in wanted:
                        spec = scen[app.name][name]
                        res = _drive_process(spec, servers[app.name][1], args)
                        res["load"] = os.getloadavg()[0]
                        runs[app.name].setdefault(name, []).append(res)
                        say(f"  round {rnd + 1} {app.name:15} {name:7} {res['rate']:7.1f}/s "
                            f"p50 {res['p50_ms']:6.0f} ms p95 {res['p95_ms']:6.0f} ms "
                            f"errors {res['errors']} load {res['load']:.1f}")  # fmt: skip
            order.reverse()
    finally:
        for server, _port in servers.values():
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
    load_after = os.getloadavg()
    problems = []
    for app in apps:
        for name, rs in runs[app.name].items():
            for r in rs:
                if r["errors"] or not r["ok"]:
                    problems.append(f"{app.name} {name}: statuses {r['statuses']}")
        if "create" in runs[app.name]:
            made = sum(r["created"] for r in runs[app.name]["create"])
            stored = app.created()
            if stored < made:
                problems.append(f"{app.name}: {made} answered 201, {stored} in the database")
    summary: dict[str, Any] = {}
    for app in apps:
        summary[app.name] = {
            name: {
                "rate": statistics.median(r["rate"] for r in rs),
                "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                "p95_ms": statistics.median(r["p95_ms"] for r in rs),
                "n": sum(r["ok"] for r in rs),
                "runs": rs,
            }
            for name, rs in runs[app.name].items()
        }
    ratios = []
    for what, hd, sa in PAIRS:
        h, s = summary["django-helpdesk"].get(hd), summary["Sanan"].get(sa)
        if h and s:
            ratios.append({
                "what": what, "helpdesk": {k: h[k] for k in ("rate", "p50_ms", "p95_ms", "n")},
                "sanan": {k: s[k] for k in ("rate", "p50_ms", "p95_ms", "n")},
                "throughput_ratio": s["rate"] / h["rate"] if h["rate"] else float("inf"),
                "p50_ratio": s["p50_ms"] / h["p50_ms"], "p95_ratio": s["p95_ms"] / h["p95_ms"],
            })  # fmt: skip
    return {
        "records": args.records, "engine": args.engine, "workers": workers,
        "connections": args.connections, "seconds": args.seconds, "warmup": args.warmup,
        "rounds": args.rounds, "problems": problems, "ratios": ratios, "summary": summary,
        "setups": {k: {"records": v["records"], "open": v["open"]} for k, v in setups.items()},
        "load": {"before": load_before, "after": load_after},
    }  # fmt: skip


WHAT = {
    "create": "create an item over HTTP (helpdesk `POST /api/tickets/`; "
    "Sanan `POST /api/v1/orders/`)",
    "list": "staff list of open items (helpdesk ticket list + its first 25 rows; "
    "Sanan dispatcher's board)",
    "list (handler's queue)": "staff list of open items (helpdesk as above; Sanan handler's queue)",
    "item": "one item's page for staff (helpdesk `/tickets/<id>/`; Sanan `/orders/<id>/`)",
}


def markdown(result: dict[str, Any], box: dict[str, str], stamp: str) -> str:
    lines = [
        f"{result['records']:,} open items each, {result['engine']}; gunicorn {result['workers']} "
        f"sync workers each; {result['connections']} connections, closed loop, "
        f"{result['seconds']:g} s after {result['warmup']:g} s warm-up, {result['rounds']} "
        "interleaved rounds (median). Ratio = Sanan ÷ helpdesk: above 1 is Sanan ahead for "
        "throughput, below 1 for latency.",
        "",
        "| what | django-helpdesk: items/s, p50 / p95 (items timed) | Sanan: items/s, p50 / p95 "
        "(items timed) | throughput ratio | p50 ratio | p95 ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["ratios"]:
        h, s = r["helpdesk"], r["sanan"]
        lines.append(
            f"| {WHAT.get(r['what'], r['what'])} | {h['rate']:,.1f}/s, {h['p50_ms']:,.0f} / "
            f"{h['p95_ms']:,.0f} ms ({h['n']:,}) | {s['rate']:,.1f}/s, {s['p50_ms']:,.0f} / "
            f"{s['p95_ms']:,.0f} ms ({s['n']:,}) | **{r['throughput_ratio']:.2f}×** | "
            f"{r['p50_ratio']:.2f} | "
            f"{r['p95_ratio']:.2f} |"
        )
    lb, la = result["load"]["before"], result["load"]["after"]
    lines += [
        "",
        f"Measured {stamp} on {box['cpu']}, {box['cores']}, {box['ram']}; {box['python']}; "
        f"{box['db']}; git {box['commit']}; load average {lb[0]:.1f} before, {la[0]:.1f} after "
        "(1 min). Versions: " + ", ".join(PINS) + ".",
        "Command: `.venv/bin/python bench/versus_helpdesk.py "
        + " ".join(result.get("argv", []))
        + "`",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--engine", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (A,B then B,A)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (cores + 1)")
    parser.add_argument("--only", default="create,list,item", help="comma-separated")
    parser.add_argument("--data", default=str(DATA), help="venv, project and SQLite files")
    parser.add_argument("--fresh", action="store_true", help="rebuild both populations")
    parser.add_argument("--setup-only", action="store_true")
    parser.add_argument("--out", default="", help="results file stem (JSON and .md)")
    parser.add_argument("--update-docs", action="store_true", help=f"rewrite the block in {DOC}")
    parser.add_argument("--driver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.driver:
        spec = json.loads(sys.stdin.read())
        print(json.dumps(drive(spec, args.port, args.connections, args.warmup, args.seconds)))
        return 0
    random.seed(2018)
    result = compare(args)
    result["argv"] = [a for a in argv if a != "--update-docs"]
    if args.setup_only:
        print(json.dumps(result))
        return 0
    box = machine()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["machine"], result["date"] = box, stamp
    text = markdown(result, box, stamp)
    print(text)
    print()
    for r in result["ratios"]:
        print(f"ratio Sanan/helpdesk, {r['what']}: throughput {r['throughput_ratio']:.2f}×, "
              f"p50 {r['p50_ratio']:.2f}, p95 {r['p95_ratio']:.2f}")  # fmt: skip
    stem = args.out or str(Path(args.data) / "results" / f"versus-{time.strftime('%Y%m%d-%H%M')}")
    write_results(Path(stem), result, text)
    if result["problems"]:
        print("WRONG ANSWERS:", *result["problems"], sep="\n  ")
        return 1
    if args.update_docs:
        replace_block(BEGIN, END, text)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
