"""Macro average precision (SPEC §8) agrees with scikit-learn and handles absent classes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from swingml.training.metrics import (
    average_precision,
    class_prior_proba,
    macro_ap,
    per_class_ap,
    prior_macro_ap,
    random_macro_ap,
    random_ranking_ap,
)


@pytest.mark.parametrize("seed", range(5))
def test_macro_ap_equals_sklearn_when_every_class_is_present(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=300)
    proba = rng.dirichlet(np.ones(3), size=300)
    proba[:50] = np.round(proba[:50], 1)  # ties between scores
    onehot = np.eye(3)[y]
    expected = average_precision_score(onehot, proba, average="macro")
    assert macro_ap(y, proba) == pytest.approx(expected, abs=1e-12)


def test_average_precision_equals_sklearn_with_heavy_ties() -> None:
    rng = np.random.default_rng(9)
    positive = rng.random(500) < 0.2
    score = rng.integers(0, 4, size=500).astype(float)
    assert average_precision(positive, score) == pytest.approx(
        average_precision_score(positive, score), abs=1e-12
    )


def test_absent_class_is_left_out_of_the_mean() -> None:
    y = np.array([0, 0, 2, 2, 0, 2])
    proba = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.6, 0.2, 0.2],
            [0.1, 0.1, 0.8],
            [0.3, 0.3, 0.4],
            [0.5, 0.4, 0.1],
            [0.2, 0.1, 0.7],
        ]
    )
    scores = per_class_ap(y, proba)
    assert sorted(scores) == [0, 2]
    assert macro_ap(y, proba) == pytest.approx(1.0)
    assert np.isnan(macro_ap(np.array([], dtype=int), np.zeros((0, 3))))


def test_class_prior_baseline_scores_the_positive_rate() -> None:
    rng = np.random.default_rng(1)
    train_y = rng.integers(0, 3, size=200)
    y = rng.integers(0, 3, size=120)
    prior = class_prior_proba(train_y, len(y))
    assert prior.shape == (120, 3)
    for c, ap in per_class_ap(y, prior).items():
        assert ap == pytest.approx(np.mean(y == c))


def test_minority_rows_counts_rows_outside_the_majority_class() -> None:
    from swingml.training.metrics import minority_rows

    assert minority_rows(np.array([2, 2, 2, 0, 1])) == 2
    assert minority_rows(np.array([1, 1])) == 0
    assert minority_rows(np.array([], dtype=int)) == 0


@pytest.mark.parametrize(("n", "positives"), [(40, 1), (40, 4), (40, 13), (12, 2), (7, 7)])
def test_random_ranking_ap_is_the_mean_ap_of_random_scores(n: int, positives: int) -> None:
    rng = np.random.default_rng(n * 100 + positives)
    y = np.zeros(n, dtype=bool)
    y[:positives] = True
    draws = [average_precision(y, rng.random(n)) for _ in range(20_000)]
    # 20,000 draws: the Monte Carlo mean is within ~0.002 of the exact expectation
    assert random_ranking_ap(n, positives) == pytest.approx(np.mean(draws), abs=0.006)


def test_random_ranking_beats_the_positive_rate_on_small_samples() -> None:
    assert random_ranking_ap(40, 1) == pytest.approx(sum(1 / r for r in range(1, 41)) / 40)
    assert random_ranking_ap(40, 1) > 4 * (1 / 40)
    assert random_ranking_ap(5, 5) == 1.0
    assert np.isnan(random_ranking_ap(10, 0))
    y = np.array([0] * 30 + [1] * 6 + [2] * 4)
    assert random_macro_ap(y) > prior_macro_ap(y)
    # the gap closes as the sample grows
    big = np.repeat(y, 100)
    assert random_macro_ap(big) - prior_macro_ap(big) < 0.01
