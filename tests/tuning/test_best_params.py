"""What training uses: the best tuned parameters, unless the defaults did as well on the folds.

The policy is a pure function of the stages' result tables, so these tests build frames only.
"""

from __future__ import annotations

import json

import pandas as pd

from swingml.tuning.policy import best_params, stage_models, start_params
from swingml.tuning.stages import spec

BEST = pd.DataFrame(
    {
        "main_id": ["BTCUSDT-w5-high", "BTCUSDT-w5-low"],
        "variant_id": ["BTCUSDT/w5/high_breakout/s1.0/k1.0", "BTCUSDT/w5/low_breakout/s1.0/k1.0"],
        "w": [5, 5],
        "score": [0.6, 0.5],
        "order": [0, 1],
    }
)
STAGE4 = pd.DataFrame(
    {"main_id": ["BTCUSDT-w5-high"], "score": [0.57], "params": [json.dumps({"num_leaves": 44})]}
)


def _stage3(baseline: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "main_id": ["BTCUSDT-w5-high"],
            "score": [0.55],
            "baseline_score": [baseline],
            "params": [json.dumps({"num_leaves": 50})],
        }
    )


def test_the_best_rolling_cv_trial_wins() -> None:
    chosen = best_params(BEST, {3: _stage3(0.50), 4: STAGE4})
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


def test_defaults_win_when_tuning_does_not_beat_them() -> None:
    chosen = best_params(BEST, {3: _stage3(0.57), 4: STAGE4})
    assert chosen["BTCUSDT-w5-high"]["params"] == {}
    assert chosen["BTCUSDT-w5-high"]["stage"] == 0


def test_without_rolling_cv_the_windows_stage2_optimum_is_projected_on_the_seed_space() -> None:
    stage2 = pd.DataFrame(
        {"main_id": ["BTCUSDT-w5-high"], "w": [5], "score": [0.4], "params": ['{"num_leaves": 33}']}
    )
    chosen = best_params(BEST, {2: stage2})
    assert chosen["BTCUSDT-w5-low"]["stage"] == 2
    assert chosen["BTCUSDT-w5-low"]["params"] == {"num_leaves": 30}  # nearest seed-grid choice


def test_each_stage_seeds_from_the_stage_its_spec_names() -> None:
    stage2 = pd.DataFrame(
        {"main_id": ["BTCUSDT-w5-high"], "w": [5], "score": [0.4], "params": ['{"num_leaves": 33}']}
    )
    # stage 3 tunes every main variant; stage 2 tuned one per window, so both get its optimum
    models = stage_models(spec(3), BEST, stage2, count=36)
    assert list(models["main_id"]) == list(BEST["main_id"])
    start = start_params(spec(3), models, stage2)
    assert start == {m: {"num_leaves": 30} for m in BEST["main_id"]}
    # stage 4 refines the best of stage 3 from their own optimum, unprojected
    stage3 = _stage3(0.5).assign(w=5, order=0, variant_id=BEST["variant_id"][0])
    top = stage_models(spec(4), BEST, stage3, count=1)
    assert start_params(spec(4), top, stage3) == {"BTCUSDT-w5-high": {"num_leaves": 50}}
    assert start_params(spec(2), BEST, None) == {}
