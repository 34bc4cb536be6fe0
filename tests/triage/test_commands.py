"""``sanan triage``: classify in bulk (plain lines, JSON lines, standard input), evaluate
with cross-validation and a confusion table, train into the var dir with an audit row."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sanan.audit.models import AuditEvent
from sanan.workorders.seed import LEVEL_1_CODES
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


def _classify(arg: str, monkeypatch: pytest.MonkeyPatch | None = None, stdin: str = "") -> list:
    out = io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("triage", "classify", arg, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_triage__classify__one_text_a_line(var_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "texts.txt"
    lines = [
        "路灯不亮了，晚上黑黢黢的",
        "",
        "家里停水了，一滴水都莫得",
        "The bins have not been emptied",
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _classify(str(src))
    assert [r["line"] for r in rows] == [1, 3, 4]  # blank lines skipped, numbers kept
    assert [r["level1"] for r in rows] == ["infrastructure", "utilities", "sanitation"]
    assert rows[0]["level2"] == "street_light"
    for r in rows:
        assert 0 < r["confidence"] <= 1
        assert r["alternatives"][0] == {"code": r["level1"], "confidence": r["confidence"]}
        assert all(a["code"] in LEVEL_1_CODES for a in r["alternatives"])
        assert "text" not in r  # the texts are not echoed back


def test_triage__classify__json_lines_from_standard_input(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = "\n".join([
        json.dumps({"id": "H-1", "text": "楼上漏水漏得凶，说了也不管"}, ensure_ascii=False),
        json.dumps({"id": 7, "text": "消防通道被车子堵死了"}, ensure_ascii=False),
        json.dumps({"id": 8, "title": "no text here"}),
        json.dumps({"id": 9, "text": "   "}),
        "{not json, taken as a text line",
    ])  # fmt: skip
    rows = _classify("-", monkeypatch, stdin)
    assert rows[0]["id"] == "H-1"
    assert rows[0]["level1"] == "neighbour_dispute"
    assert rows[1]["id"] == 7
    assert rows[1]["level1"] == "fire_safety"
    assert rows[2] == {"line": 3, "id": 8, "error": "no text field"}
    assert rows[3]["id"] == 9
    assert rows[3]["level1"] is None
    assert rows[3]["alternatives"] == []
    assert rows[4]["line"] == 5
    assert rows[4]["level1"] in LEVEL_1_CODES


def test_triage__classify__missing_file_is_a_clear_error(var_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("triage", "classify", str(tmp_path / "nope.txt"))
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("triage", "classify", str(binary))


def test_triage__evaluate__prints_accuracy_macro_f1_and_the_confusion_table(
    var_dir: Path,
) -> None:
    out = io.StringIO()
    call_command("triage", "evaluate", "--seed-only", "--folds", "2", stdout=out)
    text = out.getvalue()
    assert "2-fold cross-validation" in text
    line = next(x for x in text.splitlines() if x.startswith("[tfidf] cross-validation"))
    accuracy = float(line.split("accuracy ")[1].split(",")[0])
    macro_f1 = float(line.split("macro-F1 ")[1].split(" ")[0])
    assert 0.3 < accuracy <= 1
    assert 0.3 < macro_f1 <= 1
    rows = [x for x in text.splitlines() if len(x.split()) == len(LEVEL_1_CODES) + 2]
    assert len(rows) == len(LEVEL_1_CODES)
    assert [row.split()[1] for row in rows] == sorted(LEVEL_1_CODES)
    counted = sum(int(c) for row in rows for c in row.split()[2:] if c.isdigit())
    assert counted == int(text.split(" examples")[0])  # every example predicted once


def test_triage__train__stores_the_model_and_audits_it(var_dir: Path) -> None:
    path = var_dir / "triage" / "model.pkl"
    before = path.stat().st_mtime_ns
    out, err = io.StringIO(), io.StringIO()
    call_command("triage", "train", "--seed-only", stdout=out, stderr=err)
    assert path.stat().st_mtime_ns > before
    assert "trained tfidf" in out.getvalue()
    assert "seed examples" in err.getvalue()
    event = AuditEvent.objects.filter(action="triage.model_trained").latest("seq")
    assert event.data["method"] == "tfidf"
    assert event.data["orders"] == 0
    assert event.data["categories"] == len(LEVEL_1_CODES)


def test_triage__train__registered_on_the_worker_queue() -> None:
    from sanan.notifications.config import QueueConfig
    from sanan.notifications.worker import build_queue

    queue = build_queue(QueueConfig(kind="memory", url="", path=None))
    periodic = {t.name for t in queue.huey._registry.periodic_tasks}
    assert "sanan.triage.retrain" in periodic
    assert "sanan.tick" in periodic


def test_triage__retrain__nightly_run_keeps_the_chosen_method_and_adds_the_orders(
    var_dir: Path, wo: OrderWorld
) -> None:
    from sanan.triage import model as triage_model
    from sanan.triage.tasks import retrain

    wo.submit(description="A1号门口的路灯不亮了")
    summary = retrain()
    model = triage_model.current_model()
    assert model.method == "tfidf"
    assert model.meta["sources"]["orders"] == 1
    assert "1 orders" in summary
    event = AuditEvent.objects.filter(action="triage.model_trained").latest("seq")
    assert event.actor is None
