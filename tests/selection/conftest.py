"""A tiny real run directory (integration-test profile: synthetic candles, tiny features, targets).

Built once per session by the real ``data``, ``features`` and ``targets`` stages; tests copy it so
each one can run ``prep`` and ``select`` on a clean directory of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from rich.console import Console

from swingml.config import Config, load_config
from swingml.io.store import RunStore
from swingml.workflow import pipeline
from swingml.workflow.pipeline import StageContext

Make = Callable[..., StageContext]


def context(run_dir: Path, overrides: Sequence[str] = ()) -> StageContext:
    """A stage context on ``run_dir`` with the integration-test profile and ``overrides``."""
    config: Config = load_config("integration-test", (), list(overrides), run_dir)
    return StageContext(config, RunStore(run_dir), Console(stderr=True, quiet=True))


@pytest.fixture(scope="session")
def upstream_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory with candles, features and targets, built once."""
    root = tmp_path_factory.mktemp("upstream") / "run"
    ctx = context(root)
    for stage in ("data", "features", "targets"):
        pipeline.run_stage(stage, ctx)
    return root


@pytest.fixture(scope="session")
def selected_run(upstream_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The upstream run after ``prep`` and ``select``, built once; copy it before changing it."""
    root = tmp_path_factory.mktemp("selected") / "run"
    shutil.copytree(upstream_run, root)
    ctx = context(root)
    for stage in ("prep", "select"):
        pipeline.run_stage(stage, ctx)
    return root


def _maker(source: Path, tmp_path: Path) -> Make:
    def make(*overrides: str) -> StageContext:
        target = tmp_path / "run"
        if not target.exists():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("tasks"))
        return context(target, overrides)

    return make


@pytest.fixture
def make_run(upstream_run: Path, tmp_path: Path) -> Make:
    """``make_run(*overrides)``: a fresh copy of the upstream run and a context on it."""
    return _maker(upstream_run, tmp_path)


@pytest.fixture
def make_selected(selected_run: Path, tmp_path: Path) -> Make:
    """``make_selected(*overrides)``: a fresh copy of the selected run and a context on it."""
    return _maker(selected_run, tmp_path)
