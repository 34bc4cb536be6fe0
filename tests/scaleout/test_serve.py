"""``sanan serve`` as an operator starts it: gunicorn with processes from the cores, static
files under hashed names with gzip copies and a year's caching, and an access log that names
nobody (no query string, no client address)."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sanan.core.serving import default_workers, web_settings

ROOT = Path(__file__).resolve().parents[2]


def test_web_settings__defaults__processes_from_the_cores_with_jitter() -> None:
    web = web_settings({})
    assert web.server == "granian"
    assert web.workers == default_workers(len(os.sched_getaffinity(0)))
    assert web.threads == 1
    assert web.max_requests_jitter == web.max_requests // 10 > 0
    assert web.access_log == "-"
    assert web_settings({"SANAN_WEB_ACCESS_LOG": "off"}).access_log == ""


def test_web_settings__a_socket_per_process_on_tcp__not_on_a_unix_socket() -> None:
    """Kept-alive connections spread over the processes by the kernel (SO_REUSEPORT): on one
    shared socket a burst of them went to whichever process woke first."""
    gunicorn = {"SANAN_WEB_SERVER": "gunicorn"}
    assert web_settings(gunicorn).reuse_port is True
    assert "SO_REUSEPORT" in web_settings(gunicorn).describe()
    assert web_settings({"SANAN_WEB_BIND": "unix:/run/sanan.sock"}).reuse_port is False
    assert web_settings({"SANAN_WEB_REUSE_PORT": "0"}).reuse_port is False


def test_gunicorn_conf__is_gunicorn_whatever_the_server_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deployment that starts gunicorn with this file itself keeps a log file, which the
    default server (granian) would refuse."""
    import importlib

    from sanan.core import gunicorn_conf

    monkeypatch.delenv("SANAN_WEB_SERVER", raising=False)
    monkeypatch.setenv("SANAN_WEB_ACCESS_LOG", "/var/log/sanan/access.log")
    assert importlib.reload(gunicorn_conf).accesslog == "/var/log/sanan/access.log"
    monkeypatch.undo()
    importlib.reload(gunicorn_conf)


def test_end_with_the_server__not_handed_on_to_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """The main process's id is for granian's workers only: a process a worker starts does not
    inherit it (it would take its parent for a dead server and exit)."""
    from sanan.core.serving import MAIN_PID_VARIABLE, end_with_the_server

    monkeypatch.setenv(MAIN_PID_VARIABLE, str(os.getpid()))  # as in granian's main process
    assert end_with_the_server() is False  # the main process itself is tied to nothing
    assert MAIN_PID_VARIABLE not in os.environ
    assert end_with_the_server({}) is False  # not started by `sanan serve` for granian


def test_web_settings__bad_value__names_the_variable() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="SANAN_WEB_WORKERS"):
        web_settings({"SANAN_WEB_WORKERS": "many"})
    with pytest.raises(ImproperlyConfigured, match="SANAN_WEB_SERVER"):
        web_settings({"SANAN_WEB_SERVER": "uwsgi"})
    with pytest.raises(ImproperlyConfigured, match="SANAN_WEB_BIND"):
        web_settings({"SANAN_WEB_BIND": "127.0.0.1:http"})
    with pytest.raises(ImproperlyConfigured, match="SANAN_WEB_ACCESS_LOG"):
        web_settings({"SANAN_WEB_ACCESS_LOG": "/var/log/sanan/access.log"})
    assert web_settings(
        {"SANAN_WEB_SERVER": "gunicorn", "SANAN_WEB_ACCESS_LOG": "/var/log/sanan/access.log"}
    ).access_log.endswith("access.log")


def test_web_settings__granian_command_line__from_the_same_settings() -> None:
    argv = web_settings(
        {"SANAN_WEB_BIND": "0.0.0.0:8080", "SANAN_WEB_WORKERS": "4", "SANAN_WEB_THREADS": "2"}
    ).granian_argv()
    assert argv[-1] == "sanan.wsgi:application"
    pairs = dict(itertools.pairwise(argv))
    assert pairs["--interface"] == "wsgi"
    assert (pairs["--host"], pairs["--port"]) == ("0.0.0.0", "8080")  # noqa: S104
    assert (pairs["--workers"], pairs["--blocking-threads"]) == ("4", "2")
    assert "--respawn-failed-workers" in argv  # a crashed process is started again
    assert "%(query_string)s" not in pairs["--access-log-fmt"]  # what someone typed stays out
    unix = web_settings({"SANAN_WEB_BIND": "unix:/run/sanan.sock"}).granian_argv()
    assert dict(itertools.pairwise(unix))["--uds"] == "/run/sanan.sock"
    quiet = web_settings({"SANAN_WEB_ACCESS_LOG": "off"}).granian_argv()
    assert "--no-access-log" in quiet
    assert "--workers-max-rss" not in argv  # off unless set: an import would end with it
    recycled = web_settings({"SANAN_WEB_MAX_RSS_MB": "1024"}).granian_argv()
    assert dict(itertools.pairwise(recycled))["--workers-max-rss"] == "1024"


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _serve(tmp_path: Path, kind: str, **more: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    """``sanan serve`` on the embedded database, as an operator starts it (``more``: further
    environment variables); answering."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SANAN_", "PYTEST_"))},
        "SANAN_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "sanan.settings",
        "SANAN_WEB_SERVER": kind,
        **more,
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = tmp_path / "serve.log"
    subprocess.run(  # the embedded database, as `make demo` would have it
        [sys.executable, "-m", "sanan.cli", "migrate", "--noinput", "-v", "0"],
        env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "sanan.cli", "serve", "--bind", f"127.0.0.1:{port}",
             "--workers", "2"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            if _get(port, "/healthz").status == 200:
                return server, port, log
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            os.killpg(server.pid, signal.SIGKILL)
            raise AssertionError(log.read_text())
        time.sleep(0.3)


@pytest.mark.own_sqlite_file
@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_serve__started_by_an_operator__static_cached_and_log_without_personal_data(
    tmp_path: Path, kind: str
) -> None:
    server, port, log = _serve(tmp_path, kind)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request(
            "GET",
            "/accounts/login/?next=/registry/residents/%3Fq%3D13900000001",
            headers={"X-Request-ID": "proxy-7f3a"},  # as a proxy in front would send it
        )
        page = conn.getresponse().read().decode()
        conn.close()
        css = re.search(r"/static/sanan/sanan\.[0-9a-f]{12}\.css", page)
        assert css, "the sign-in page links no hashed stylesheet"
        sheet = _get(port, css[0], {"Accept-Encoding": "gzip"})
        assert sheet.status == 200
        assert sheet.getheader("Content-Encoding") == "gzip"
        assert sheet.getheader("Cache-Control") == "max-age=315360000, public, immutable"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    text = log.read_text()
    assert f"{kind} on 127.0.0.1:{port}: 2 process(es) × 1 thread(s)" in text
    assert re.search(r'<\d+> GET "/accounts/login/" 200 ', text)  # the process, as both write it
    access = [line for line in text.splitlines() if '"/accounts/login/"' in line]
    assert len(access) == 1, text
    assert " 200 " in access[0]
    assert "rid=proxy-7f3a" in access[0]
    assert "13900000001" not in text
    assert "next=" not in text
    assert "127.0.0.1" not in access[0]  # and the client's address
    assert ("Shutting down: Master" if kind == "gunicorn" else "Shutting down granian") in text


@pytest.mark.own_sqlite_file
def test_serve__granian_killed_outright__its_worker_processes_end_with_it(tmp_path: Path) -> None:
    """``kill -9`` of the server's main process (as the OOM killer would): its worker
    processes end too, instead of answering on the old socket beside the server started
    again."""
    server, port, _ = _serve(tmp_path, "granian")
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    deadline = time.monotonic() + 20
    workers = [int(pid) for pid in children.read_text().split()]
    while len(workers) < 2 and time.monotonic() < deadline:  # the second may still be starting
        time.sleep(0.2)
        workers = [int(pid) for pid in children.read_text().split()]
    try:
        assert len(workers) == 2, workers
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived its server"
            time.sleep(0.1)
        with pytest.raises(ConnectionError):  # refused or reset: nothing answers on the port
            _get(port, "/healthz")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


def _workers(server: subprocess.Popen[bytes]) -> set[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    return {int(pid) for pid in children.read_text().split()}


@pytest.mark.own_sqlite_file
def test_serve__granian_worker_over_its_memory_limit__replaced_and_the_site_answers(
    tmp_path: Path,
) -> None:
    """``SANAN_WEB_MAX_RSS_MB``: a process grown past the limit is replaced, as gunicorn
    replaces one after ``SANAN_WEB_MAX_REQUESTS``, and the replacement answers. (A limit of
    1 MiB, sampled every second, replaces every process as soon as it has started.)"""
    server, port, log = _serve(
        tmp_path, "granian", SANAN_WEB_MAX_RSS_MB="1", GRANIAN_RSS_SAMPLE_INTERVAL="1"
    )
    try:
        first = _workers(server)
        seen = set(first)
        deadline = time.monotonic() + 90
        while seen >= first and time.monotonic() < deadline:  # until one of them is gone
            seen = _workers(server)
            with contextlib.suppress(ConnectionError):
                _get(port, "/healthz")
            time.sleep(0.5)
        assert first
        assert not seen >= first, "no process was replaced"
        deadline = time.monotonic() + 60
        while True:  # a replacement answers
            try:
                if _get(port, "/healthz").status == 200:
                    break
            except ConnectionError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert "recycled above 1 MiB of memory" in log.read_text()


def test_without_process_environment__a_request_carries_no_variable_of_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """granian copies the process's environment into every request's environ, passwords and
    keys included; they are taken out before the app sees the request."""
    from sanan.core.serving import without_process_environment

    monkeypatch.setenv("DATABASE_URL", "postgres://sanan:secret@db/sanan")
    monkeypatch.setenv("SERVER_NAME", "from-the-process")
    seen: dict[str, object] = {}

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        seen.update(environ)
        return [b""]

    wrapped = without_process_environment(app)
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "sanan.example",
        "HTTP_HOST": "sanan.example", "DATABASE_URL": os.environ["DATABASE_URL"],
        "wsgi.input": None,
    }  # fmt: skip
    wrapped(environ, lambda *a: None)
    assert "DATABASE_URL" not in seen
    assert seen["SERVER_NAME"] == "sanan.example"  # the request's own, kept
    assert seen["HTTP_HOST"] == "sanan.example"
