"""Production training: tuned model, class-prior baseline and stage-1 model on the hold-out."""

from __future__ import annotations

import numpy as np
import pytest

from swingml.modeling.rows import VariantRows
from swingml.training.production import TrainPlan, train_and_score

PLAN = TrainPlan(
    num_rounds=200,
    early_stopping=20,
    validation_fraction=0.15,
    seed=1,
    threads=1,
    max_bin=63,
    stage1_num_rounds=100,
    stage1_early_stopping=10,
    stage1_validation_fraction=0.2,
    stage1_max_train=10_000,
)


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = np.where(X[:, 0] > 0.5, 1, np.where(X[:, 1] > 0.5, 2, 0)).astype(np.int64)
    return X, y


def test_the_tuned_model_beats_the_prior_on_the_holdout() -> None:
    X, y = _rows(700, 0)
    dev = VariantRows(X[:600], y[:600], np.arange(600) * 3, tuple(f"f{i}" for i in range(6)), 4)
    result = train_and_score(dev, X[600:], y[600:], {"num_leaves": 15}, PLAN)
    assert result.holdout_rows == 100 and result.holdout_classes == 3
    assert result.train_rows + result.valid_rows + result.purged_rows == 600
    assert result.valid_rows == 90
    scores = result.scores
    assert scores["holdout_macro_ap"] > scores["prior_macro_ap"] + 0.3
    assert scores["prior_macro_ap"] == pytest.approx(1 / 3)
    assert scores["stage1_holdout_macro_ap"] > scores["prior_macro_ap"]
    assert {f"holdout_ap_class{c}" for c in range(3)} <= set(scores)
    again = train_and_score(dev, X[600:], y[600:], {"num_leaves": 15}, PLAN)
    assert again.booster.model_to_string() == result.booster.model_to_string()


def test_too_few_rows_is_an_error() -> None:
    X, y = _rows(1, 1)
    dev = VariantRows(X, y, np.arange(1), ("a", "b", "c", "d", "e", "f"), 4)
    with pytest.raises(ValueError, match="too few"):
        train_and_score(dev, X, y, {}, PLAN)
