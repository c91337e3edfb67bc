"""Law (SPEC §8): the same config and data twice give identical leaderboards, parameters, metrics.

Upstream stages run once; two run directories get copies of their outputs, then tune and train run
in each. Trial caps (not the time budget) end every study, as the law requires.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from swingml.config import load_config
from swingml.pipeline import StageContext, run_stage
from swingml.store import RunStore

OVERRIDES = (
    "data.symbols=[BTCUSDT, ETHUSDT]",
    "grid.windows=[3]",
    "tuning.budget=30",
)
INPUTS = ("candles", "features", "targets", "prep", "selection", "manifest.json")
VOLATILE = ["wall_s", "spent_s"]


def _context(run_dir: Path) -> StageContext:
    config = load_config("integration-test", (), OVERRIDES, run_dir)
    store = RunStore(run_dir)
    store.root.mkdir(parents=True, exist_ok=True)
    return StageContext(config, store, Console(stderr=True, quiet=True))


def _tune_and_train(source: Path, run_dir: Path) -> None:
    for name in INPUTS:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, run_dir / name)
        elif path.is_file():
            shutil.copy2(path, run_dir / name)
    ctx = _context(run_dir)
    run_stage("tune", ctx)
    run_stage("train", ctx)


def _frame(run_dir: Path, *parts: str) -> pd.DataFrame:
    frame = pd.read_parquet(run_dir.joinpath(*parts))
    return frame.drop(columns=[c for c in VOLATILE if c in frame.columns])


@pytest.mark.slow
def test_same_inputs_twice_give_identical_results(tmp_path: Path) -> None:
    source = tmp_path / "source"
    ctx = _context(source)
    ctx.store.write_manifest(ctx.config.model_dump(mode="json"), {})
    for stage in ("data", "features", "targets", "prep", "select"):
        run_stage(stage, ctx)
    first, second = tmp_path / "a", tmp_path / "b"
    _tune_and_train(source, first)
    _tune_and_train(source, second)

    for parts in (
        ("tuning", "stage1", "leaderboard.parquet"),
        ("tuning", "stage2", "results.parquet"),
        ("tuning", "stage3", "results.parquet"),
        ("tuning", "stage4", "results.parquet"),
    ):
        pd.testing.assert_frame_equal(_frame(first, *parts), _frame(second, *parts))
    best_a = json.loads((first / "tuning" / "best_params.json").read_text())
    best_b = json.loads((second / "tuning" / "best_params.json").read_text())
    assert best_a == best_b and len(best_a) == 4
    holdout_a = _frame(first, "training", "holdout.parquet")
    holdout_b = _frame(second, "training", "holdout.parquet")
    pd.testing.assert_frame_equal(holdout_a, holdout_b)
    models = sorted((first / "training" / "models").glob("*.txt"))
    assert len(models) == 4
    for model in models:
        assert model.read_text() == (second / "training" / "models" / model.name).read_text()
