"""Notification fixtures: the work-order world (``tests/workorders``), a local webhook
receiver, and a queue in memory. The tests need the app installed: until the lead's settings
diff lands, run them with ``--ds tests.notifications.settings``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings

from tests.workorders.conftest import _fresh_calendar, clock, wo  # noqa: F401 - fixtures

if "sanan.notifications" not in settings.INSTALLED_APPS:
    pytest.skip(
        "sanan.notifications is not installed (use --ds tests.notifications.settings)",
        allow_module_level=True,
    )


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 answering the statuses in ``script`` in turn (then
    200), recording every request it got."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> list[str]:
        return [r["headers"]["Idempotency-Key"] for r in self.requests]

    def json(self, i: int) -> Any:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                status = state.script.pop(0) if state.script else 200
                state.requests.append(
                    {"headers": dict(self.headers), "body": body, "status": status}
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
