"""The report's statistics agree with the project's metrics and with LightGBM."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from swingml.report.skill import (
    MIN_SAMPLES,
    LiftInterval,
    calibration,
    confusion,
    lift_interval,
    pr_curve,
    resample_counts,
    weighted_ap,
)
from swingml.report.tables import gains, target_balance
from swingml.training.metrics import average_precision, macro_ap, random_macro_ap


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet([1.0, 1.0, 1.0], n)
    proba[1] = proba[0]  # ties form one step, as in average_precision
    return y, proba


def test_weighted_ap_equals_average_precision_on_the_repeated_rows() -> None:
    y, proba = _data(40, 1)
    counts = resample_counts(40, 30, np.random.default_rng(2))
    assert (counts[0] == 1).all() and (counts.sum(axis=1) == 40).all()
    for c in range(3):
        fast = weighted_ap(counts, y == c, proba[:, c])
        slow = [average_precision(np.repeat(y == c, k), np.repeat(proba[:, c], k)) for k in counts]
        np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_lift_point_is_macro_ap_minus_random_ranking_ap() -> None:
    y, proba = _data(30, 3)
    interval = lift_interval(y, proba, seed=0)
    assert interval.lift == pytest.approx(macro_ap(y, proba) - random_macro_ap(y), abs=1e-12)
    assert interval.low <= interval.high
    assert lift_interval(y, proba, seed=0) == interval  # seeded: the page is reproducible


def _hold_outs(count: int, n: int, signal: float, seed: int) -> list[LiftInterval]:
    """Lift intervals of ``count`` simulated hold-outs of ``n`` events (3 classes, 50/30/20);
    scores independent of the labels when ``signal`` is 0 (shuffled labels)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        y = rng.choice(3, size=n, p=(0.5, 0.3, 0.2))
        logits = signal * np.eye(3)[y] + rng.normal(size=(n, 3))
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        out.append(lift_interval(y, proba, seed=i, samples=MIN_SAMPLES))
    return out


def test_skill_free_scores_show_skill_no_more_often_than_nominal() -> None:
    # 90 % interval: skill-free hold-outs should show skill (lower end > 0) on <= 5 %. The plain
    # percentile range showed it on 41 of these 400 (repeated events inflate every resample's
    # lift); the centred, widened range on 14. docs/benchmarks/report.md has 20 to 200 events.
    intervals = _hold_outs(400, 30, 0.0, seed=11)
    assert abs(np.mean([i.lift for i in intervals])) < 0.01  # the random-ranking bar is exact
    shown = sum(i.demonstrated for i in intervals)
    assert shown <= 24  # 6 %: nominal 5 % plus one binomial standard error (4.4 hold-outs)


def test_planted_signal_shows_skill_on_most_hold_outs() -> None:
    intervals = _hold_outs(100, 30, 1.0, seed=12)
    assert sum(i.demonstrated for i in intervals) >= 85


def test_a_model_with_one_score_for_every_event_has_its_lift_inside_the_interval() -> None:
    y = np.array([1] * 10 + [2] * 3)
    interval = lift_interval(y, np.tile([0.02, 0.76, 0.22], (13, 1)), seed=3)
    assert interval.lift < 0 and not interval.demonstrated
    assert interval.low <= interval.lift <= interval.high


def test_a_model_with_skill_shows_it() -> None:
    y = np.random.default_rng(5).integers(0, 3, 30)
    skilled = lift_interval(y, np.eye(3)[y] * 0.8 + 0.1, seed=1)
    assert skilled.demonstrated and skilled.low > 0.2


def test_curves_confusion_and_calibration() -> None:
    y = np.array([0, 1, 2, 1, 0, 2])
    proba = np.eye(3)[[0, 1, 1, 1, 2, 2]] * 0.7 + 0.1
    matrix = confusion(y, proba)
    assert matrix.sum() == 6 and np.trace(matrix) == 4 and matrix[2, 1] == 1
    recall, precision = pr_curve(y == 1, proba[:, 1])
    assert recall[0] == 0.0 and recall[-1] == 1.0 and precision[-1] == pytest.approx(2 / 6)
    mean_p, observed, rows = calibration(y == 1, proba[:, 1])
    assert rows.sum() == 6
    assert observed.tolist() == pytest.approx([0.0, 2 / 3])
    assert mean_p.tolist() == pytest.approx([0.1, 0.8])


def test_gains_read_from_the_model_text_equal_lightgbm(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + 0.5 * X[:, 3] > 0).astype(int) + (X[:, 1] > 1).astype(int)
    params = {"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1}
    names = [f"f{i}" for i in range(5)]
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=names), 20)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    expected = pd.Series(booster.feature_importance("gain"), index=names)
    read = gains(path)
    pd.testing.assert_series_equal(read, expected[expected > 0], check_names=False, rtol=1e-6)


def test_target_balance_counts_events_once_per_threshold() -> None:
    rows = []
    for s in (1.0, 1.5):
        for k in (0.5, 1.0):
            rows.append(
                {
                    "symbol": "BTCUSDT",
                    "w": 3,
                    "kind": "high_breakout",
                    "s": s,
                    "k": k,
                    "events": 10 if s == 1.0 else 6,
                    "class_0": 1,
                    "class_1": 2,
                    "class_2": 3,
                    "unknown": 0,
                }
            )
    table = target_balance(pd.DataFrame(rows))
    assert table["events"].tolist() == [16]
    assert table[["class_0", "class_1", "class_2"]].iloc[0].tolist() == [4, 8, 12]
