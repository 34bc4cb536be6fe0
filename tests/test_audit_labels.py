"""Every audit action the code writes has a readable name in the audit log."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from sanan.audit.labels import action_label

SRC = Path(__file__).resolve().parent.parent / "src" / "sanan"
# `audit_record(... action="x.y" ...)` and `AuditEntry(... action="x.y" ...)`
WRITE = re.compile(r"(?:audit_record|AuditEntry)\((?P<args>[^()]*(?:\([^()]*\)[^()]*)*)\)", re.S)
ACTION = re.compile(r"\baction=\"([a-z0-9_]+\.[a-z0-9_]+)\"")


def written_actions() -> set[str]:
    codes: set[str] = set()
    for path in SRC.rglob("*.py"):
        for call in WRITE.finditer(path.read_text(encoding="utf-8")):
            codes.update(ACTION.findall(call.group("args")))
    return codes


def test_audit_actions__every_code_written__has_a_label() -> None:
    codes = written_actions()
    assert len(codes) > 40  # the scan finds the calls
    unnamed = sorted(code for code in codes if action_label(code) == code)
    assert unnamed == []


def test_audit_actions__work_order_steps__are_named_by_the_state_machine() -> None:
    with translation.override("en"):
        assert action_label("work_order.dispatch") == "Work order: Dispatch"
        assert action_label("work_order.no_such_step") == "work_order.no_such_step"
    with translation.override("zh-hans"):
        assert action_label("work_order.dispatch") == "工单：派单"
