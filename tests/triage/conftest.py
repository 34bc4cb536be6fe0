"""Triage fixtures: one model trained on the seed set per test session (in a folder of its
own), and every test's var dir pointed at a copy of it, so no test trains on the request
path or writes into the real var dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from sanan.triage import model as triage_model
from sanan.triage.dataset import seed_examples
from tests.workorders.conftest import _fresh_calendar, clock, wo  # noqa: F401 - shared fixtures


@pytest.fixture(scope="session")
def seed_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var = tmp_path_factory.mktemp("triage-var")
    with override_settings(VAR_DIR=var):
        triage_model.save(triage_model.fit(seed_examples(), method="tfidf"))
    return var


@pytest.fixture
def var_dir(seed_model_dir: Path, tmp_path: Path) -> Iterator[Path]:
    var = tmp_path / "var"
    shutil.copytree(seed_model_dir, var)
    with override_settings(VAR_DIR=var):
        triage_model.forget_model()
        yield var
    triage_model.forget_model()
