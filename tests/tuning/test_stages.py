"""Stages as data and the rules that pick each stage's models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swingml.config import TuningConfig
from swingml.errors import BadInputError
from swingml.tuning.stages import (
    STAGES,
    best_per_main,
    shares,
    spec,
    top_models,
    window_representatives,
)


def test_stage_table_matches_the_spec() -> None:
    tuning = TuningConfig()
    assert [s.early_stopping for s in STAGES] == [30, 40, 40, 50]
    assert [s.share for s in STAGES] == [0.25, 0.15, 0.35, 0.25]
    assert shares(tuning) == (0.25, 0.15, 0.35, 0.25)
    assert sum(s.share for s in STAGES) == pytest.approx(1.0)  # a new row makes room
    assert [s.cv for s in STAGES] == ["holdout", "holdout", "rolling", "rolling"]
    assert spec(3).seed_from == 2 and spec(4).seed_from == 3
    assert spec(1).max_trials(tuning) == 1
    assert spec(3).max_trials(tuning) == tuning.max_trials_stage3
    assert "num_leaves" in spec(4).search_space({"num_leaves": 50})


def _board() -> pd.DataFrame:
    rows = []
    order = 0
    for symbol in ("BTCUSDT", "ETHUSDT"):
        for w in (3, 5):
            for side in ("high", "low"):
                for k in (0.5, 1.0):
                    score = 0.4 + 0.01 * w + (0.05 if k == 1.0 else 0.0)
                    if symbol == "ETHUSDT":
                        score += 0.02
                    rows.append(
                        {
                            "main_id": f"{symbol}-w{w}-{side}",
                            "variant_id": f"{symbol}/w{w}/{side}_breakout/s1.0/k{k}",
                            "w": w,
                            "score": score,
                            "order": order,
                        }
                    )
                    order += 1
    return pd.DataFrame(rows)


def test_best_per_main_keeps_one_best_variant_each() -> None:
    best = best_per_main(_board())
    assert len(best) == 8
    assert best["main_id"].is_unique
    assert best["variant_id"].str.endswith("k1.0").all()
    assert list(best["order"]) == sorted(best["order"])


def test_ties_are_broken_by_grid_order_and_nan_ranks_last() -> None:
    board = _board()
    board["score"] = 0.5
    board.loc[0, "score"] = float("nan")
    best = best_per_main(board)
    first = best[best["main_id"] == "BTCUSDT-w3-high"].iloc[0]
    assert first["order"] == 1


def test_window_representatives_one_per_window() -> None:
    reps = window_representatives(best_per_main(_board()))
    assert sorted(reps["w"]) == [3, 5]
    assert reps["main_id"].str.startswith("ETHUSDT").all()


def test_top_models_takes_the_best_count() -> None:
    best = best_per_main(_board())
    top = top_models(best, 2)
    assert len(top) == 2
    assert set(top["main_id"]) == {"ETHUSDT-w5-high", "ETHUSDT-w5-low"}


def test_rank_shrinks_small_validation_sets() -> None:
    from swingml.tuning.stages import SHRINK_ROWS, rank_score

    big, small = rank_score(np.array([0.20, 0.30]), np.array([120, 3]))
    assert big > small  # a 0.30 lift resting on 3 rows is less convincing than 0.20 on 120
    assert rank_score(np.array([0.4]), np.array([SHRINK_ROWS]))[0] == pytest.approx(0.2)


def test_lift_and_size_decide_the_best_variant_when_given() -> None:
    board = _board()
    board["lift"] = 0.1
    board["valid_minority"] = 40
    board.loc[0, ["lift", "valid_minority"]] = [0.9, 2]  # lucky on two minority rows
    board.loc[1, ["lift", "valid_minority"]] = [0.3, 80]
    best = best_per_main(board)
    assert best[best["main_id"] == "BTCUSDT-w3-high"].iloc[0]["order"] == 1


def test_unscored_variants_fall_back_to_the_most_balanced_one() -> None:
    board = _board()
    board["lift"] = np.nan
    board["valid_minority"] = 0
    board.loc[1, "valid_minority"] = 6
    best = best_per_main(board)
    assert best[best["main_id"] == "BTCUSDT-w3-high"].iloc[0]["order"] == 1


def test_configured_shares_override_the_table_one_per_stage() -> None:
    assert shares(TuningConfig(shares=(0.4, 0.1, 0.3, 0.2))) == (0.4, 0.1, 0.3, 0.2)
    with pytest.raises(BadInputError, match=r"tuning\.shares"):
        shares(TuningConfig(shares=(0.5, 0.5)))
