"""Fixtures of the inference tests: a tiny real run with registered champions, and copies of it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
DATA_TESTS = str(Path(__file__).parents[1] / "data")  # exchange.py, the loopback exchange
for folder in (HERE, DATA_TESTS):
    if folder not in sys.path:
        sys.path.insert(0, folder)

import inference_run  # noqa: E402  (made importable just above)


@pytest.fixture(scope="session")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base run (first ``BASE_BARS`` bars, two champions), built once per session."""
    return inference_run.base_run(tmp_path_factory)


@pytest.fixture
def run_dir(base_run: Path, tmp_path: Path) -> Path:
    """A private copy of the base run that a test may change."""
    return inference_run.copy_run(base_run, tmp_path / "run")


@pytest.fixture
def data_dir(base_run: Path) -> Path:
    """The base run's ``data.dir`` (the first ``BASE_BARS`` bars; read-only)."""
    return base_run.parent / "data"
