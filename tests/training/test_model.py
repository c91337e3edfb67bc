"""The model wrapper: fixed SPEC parameters, binned once, deterministic."""

from __future__ import annotations

import numpy as np

from swingml.training.metrics import macro_ap
from swingml.training.model import (
    FIXED_PARAMS,
    TrainSettings,
    binned_dataset,
    fit,
    lgb_params,
    predict,
)


def _data(n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    y = np.where(X[:, 0] > 0.5, 1, np.where(X[:, 1] > 0.5, 2, 0))
    return X, y


def test_fixed_parameters_win_over_tuned_ones() -> None:
    params = lgb_params({"objective": "binary", "num_leaves": 50}, 1000, seed=7, threads=1)
    for key, value in FIXED_PARAMS.items():
        assert params[key] == value
    assert params["num_leaves"] == 50
    assert params["seed"] == 7 and params["num_threads"] == 1
    assert params["bagging_freq"] == 5 and params["bagging_fraction"] == 0.8


def test_fit_on_subsets_is_deterministic_and_learns() -> None:
    X, y = _data()
    full = binned_dataset(X, [f"f{i}" for i in range(8)])
    train, valid = np.arange(400), np.arange(400, 500)
    a = fit(full, y, train, valid, {}, TrainSettings(100, 10, 3))
    b = fit(full, y, train, valid, {}, TrainSettings(100, 10, 3))
    np.testing.assert_array_equal(a.valid_proba, b.valid_proba)
    assert 1 <= a.best_iteration <= 100
    assert macro_ap(y[valid], a.valid_proba) > 0.8
    np.testing.assert_allclose(a.valid_proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(predict(a.booster, X[valid], a.best_iteration), a.valid_proba)


def test_labels_can_change_between_fits_on_the_same_binned_rows() -> None:
    X, y = _data()
    full = binned_dataset(X, [f"f{i}" for i in range(8)])
    train, valid = np.arange(400), np.arange(400, 500)
    flipped = (y + 1) % 3
    a = fit(full, y, train, valid, {}, TrainSettings(30, 10, 3))
    b = fit(full, flipped, train, valid, {}, TrainSettings(30, 10, 3))
    assert np.mean(a.valid_proba.argmax(1) == y[valid]) > 0.8
    assert np.mean(b.valid_proba.argmax(1) == flipped[valid]) > 0.8
