"""One LightGBM multiclass model around ``lgb.train``, with the fixed parameters of SPEC §8.

A variant's rows are binned once into a :class:`lightgbm.Dataset` (raw data kept); every fold and
trial trains on row subsets of it, which reuse its bin mappers instead of re-binning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import lightgbm as lgb
import numpy as np

from swingml.config.devices import with_device
from swingml.modeling.space import ParamValue, resolve
from swingml.training.metrics import NUM_CLASSES

Booster: TypeAlias = lgb.Booster
"""A trained model, named so for the packages that hold one without importing LightGBM."""
BinnedDataset: TypeAlias = lgb.Dataset
"""Rows binned once (``binned_dataset``), named so for the packages that train on subsets."""

FIXED_PARAMS: dict[str, Any] = {
    "objective": "multiclass",
    "num_class": NUM_CLASSES,
    "metric": "multi_logloss",
    "boosting": "gbdt",
    "verbosity": -1,
    "bagging_freq": 5,
    "bagging_fraction": 0.8,
    "deterministic": True,
    "force_col_wise": True,
}
"""Parameters no stage tunes (SPEC §8); ``seed`` and ``num_threads`` come from the config."""

DATASET_PARAMS: dict[str, Any] = {
    "verbosity": -1,
    "max_bin": 255,
    "feature_pre_filter": False,
}
"""Binning settings, fixed so one binned Dataset serves every trial whatever it tunes."""


@dataclass(frozen=True)
class TrainSettings:
    """How one model trains: round cap, early stopping, seed, threads, histogram bins."""

    num_rounds: int
    early_stopping: int
    seed: int
    threads: int = 1
    max_bin: int = 255


@dataclass(frozen=True)
class FitResult:
    """A trained booster, its best iteration and its validation class probabilities."""

    booster: lgb.Booster
    best_iteration: int
    valid_proba: np.ndarray


def lgb_params(
    params: Mapping[str, ParamValue], train_rows: int, seed: int, threads: int
) -> dict[str, Any]:
    """The full LightGBM parameter dict: tuned values, then the fixed ones (which win).

    In an executor worker given a device (``training.device``), its device parameters are added,
    so every model trained through ``fit`` (tuning and production) trains on that device.
    """
    full: dict[str, Any] = dict(resolve(params, train_rows))
    full.update(FIXED_PARAMS)
    full.update(seed=seed, num_threads=threads)
    return with_device(full)


def binned_dataset(
    X: np.ndarray, feature_names: Sequence[str], threads: int = 1, max_bin: int = 255
) -> lgb.Dataset:
    """Bin ``X`` once (``max_bin`` bins per feature); training subsets share its bin mappers."""
    data = np.ascontiguousarray(X, dtype=np.float32)
    dataset = lgb.Dataset(
        data,
        label=np.zeros(len(data), dtype=np.float64),
        feature_name=list(feature_names),
        params={**DATASET_PARAMS, "num_threads": threads, "max_bin": max_bin},
        free_raw_data=False,
    )
    return dataset.construct()


def _subset(full: lgb.Dataset, rows: np.ndarray, labels: np.ndarray) -> lgb.Dataset:
    part = full.subset(np.asarray(rows, dtype=np.int32).tolist())
    part.construct()
    part.set_label(np.asarray(labels, dtype=np.float64)[rows])
    return part


def fit(
    full: lgb.Dataset,
    labels: np.ndarray,
    train_rows: np.ndarray,
    valid_rows: np.ndarray,
    params: Mapping[str, ParamValue],
    settings: TrainSettings,
) -> FitResult:
    """Train on ``train_rows`` of ``full`` and stop early on ``valid_rows`` (multi_logloss).

    The one place a model is fitted: tuning's folds, production models and their stage-1
    counterparts all come through here.
    """
    train_set = _subset(full, train_rows, labels)
    valid_set = _subset(full, valid_rows, labels)
    stop = lgb.early_stopping(settings.early_stopping, first_metric_only=True, verbose=False)
    booster = lgb.train(
        lgb_params(params, len(train_rows), settings.seed, settings.threads),
        train_set,
        num_boost_round=settings.num_rounds,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[stop],
    )
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    X = np.asarray(full.get_data())
    proba = predict(booster, X[np.asarray(valid_rows)], best)
    return FitResult(booster, int(best), proba)


def fit_rounds(
    full: lgb.Dataset, labels: np.ndarray, params: Mapping[str, ParamValue], settings: TrainSettings
) -> lgb.Booster:
    """Train on every row of ``full`` for exactly ``settings.num_rounds`` rounds (no validation).

    A refit on all the data a model may see: its rounds were chosen earlier, by early stopping.
    """
    rows = np.arange(full.num_data())
    booster = lgb.train(
        lgb_params(params, len(rows), settings.seed, settings.threads),
        _subset(full, rows, labels),
        num_boost_round=settings.num_rounds,
    )
    return booster


def booster_from_text(text: str) -> lgb.Booster:
    """A booster from its model text (``Booster.model_to_string``), as tasks hand them around."""
    return lgb.Booster(model_str=text)


def predict(booster: lgb.Booster, X: np.ndarray, num_iteration: int | None = None) -> np.ndarray:
    """Class probabilities, shape ``(rows, 3)``."""
    if len(X) == 0:
        return np.zeros((0, NUM_CLASSES))
    out = booster.predict(np.asarray(X, dtype=np.float32), num_iteration=num_iteration)
    return np.asarray(out, dtype=np.float64).reshape(len(X), NUM_CLASSES)
