"""What training uses: the best tuned parameters, unless the defaults did as well on the folds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from swingml.stages.tune import best_params
from swingml.store import RunStore, write_parquet_atomic


def _store(tmp_path: Path, baseline: float) -> RunStore:
    store = RunStore(tmp_path)
    best = pd.DataFrame(
        {
            "main_id": ["BTCUSDT-w5-high", "BTCUSDT-w5-low"],
            "variant_id": [
                "BTCUSDT/w5/high_breakout/s1.0/k1.0",
                "BTCUSDT/w5/low_breakout/s1.0/k1.0",
            ],
            "w": [5, 5],
            "score": [0.6, 0.5],
            "order": [0, 1],
        }
    )
    write_parquet_atomic(store.path("tuning", "stage1", "best.parquet"), best)
    stage3 = pd.DataFrame(
        {
            "main_id": ["BTCUSDT-w5-high"],
            "score": [0.55],
            "baseline_score": [baseline],
            "params": [json.dumps({"num_leaves": 50})],
        }
    )
    write_parquet_atomic(store.path("tuning", "stage3", "results.parquet"), stage3)
    stage4 = pd.DataFrame(
        {
            "main_id": ["BTCUSDT-w5-high"],
            "score": [0.57],
            "params": [json.dumps({"num_leaves": 44})],
        }
    )
    write_parquet_atomic(store.path("tuning", "stage4", "results.parquet"), stage4)
    return store


def test_the_best_rolling_cv_trial_wins(tmp_path: Path) -> None:
    chosen = best_params(_store(tmp_path, baseline=0.50))
    assert chosen["BTCUSDT-w5-high"]["params"] == {"num_leaves": 44}
    assert chosen["BTCUSDT-w5-high"]["stage"] == 4
    # no stage-3 result and no stage 2: LightGBM defaults
    assert chosen["BTCUSDT-w5-low"] == {
        "variant_id": "BTCUSDT/w5/low_breakout/s1.0/k1.0",
        "stage1_score": 0.5,
        "params": {},
        "cv_score": None,
        "stage": 1,
    }


def test_defaults_win_when_tuning_does_not_beat_them(tmp_path: Path) -> None:
    chosen = best_params(_store(tmp_path, baseline=0.57))
    assert chosen["BTCUSDT-w5-high"]["params"] == {}
    assert chosen["BTCUSDT-w5-high"]["stage"] == 0
