"""Production training of one main variant and its hold-out scores (SPEC §8).

The model trains with its tuned parameters on all development rows, the last part validating
(purged) for early stopping; on the hold-out it is compared with the class-prior baseline, with
the expected score of a random ranking (the stricter bar on small hold-outs) and with its stage-1
counterpart (default parameters, trained exactly as stage 1 trained it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import lightgbm as lgb
import numpy as np

from swingml.config import Config
from swingml.modeling.cv import Fold, chronological_split
from swingml.modeling.rows import VariantRows
from swingml.modeling.space import ParamValue
from swingml.training.metrics import (
    NUM_CLASSES,
    class_prior_proba,
    macro_ap,
    per_class_ap,
    random_macro_ap,
)
from swingml.training.model import TrainSettings, binned_dataset, fit, fit_rounds, predict


@dataclass(frozen=True)
class TrainPlan:
    """How a production model trains, and how its stage-1 counterpart was trained."""

    num_rounds: int
    early_stopping: int
    validation_fraction: float
    seed: int
    threads: int
    max_bin: int
    stage1_num_rounds: int
    stage1_early_stopping: int
    stage1_validation_fraction: float
    stage1_max_train: int


def production_plan(config: Config, stage1_early_stopping: int) -> TrainPlan:
    """How the run's production models train (``training``) and stage 1 trained (``tuning``;
    its early stopping is the stage table's, passed in by the caller)."""
    return TrainPlan(
        num_rounds=config.training.num_rounds,
        early_stopping=config.training.early_stopping,
        validation_fraction=config.training.validation_fraction,
        seed=config.run.seed,
        threads=config.executor.threads_per_worker,
        max_bin=config.tuning.max_bin,
        stage1_num_rounds=config.tuning.num_rounds,
        stage1_early_stopping=stage1_early_stopping,
        stage1_validation_fraction=config.tuning.validation_fraction,
        stage1_max_train=config.tuning.max_train_rows,
    )


@dataclass(frozen=True)
class ProductionResult:
    """The trained booster, its split sizes and its hold-out scores."""

    booster: lgb.Booster
    best_iteration: int
    train_rows: int
    valid_rows: int
    purged_rows: int
    holdout_rows: int
    holdout_classes: int
    scores: dict[str, float]


def holdout_scores(y: np.ndarray, proba: np.ndarray, prefix: str) -> dict[str, float]:
    """``<prefix>_macro_ap`` and ``<prefix>_ap_class<c>`` (NaN for a class absent from ``y``)."""
    scores: dict[str, float] = {f"{prefix}_macro_ap": macro_ap(y, proba)}
    per_class = per_class_ap(y, proba)
    for c in range(NUM_CLASSES):
        scores[f"{prefix}_ap_class{c}"] = per_class.get(c, float("nan"))
    return scores


@dataclass(frozen=True)
class ProductionFit:
    """A production model trained on some rows: booster, best iteration, rows it trained on."""

    booster: lgb.Booster
    best_iteration: int
    train_rows: int


def _split(rows: VariantRows, plan: TrainPlan) -> Fold:
    split = chronological_split(rows.bars, rows.horizon, plan.validation_fraction)
    if split is None:
        raise ValueError(f"too few development rows ({len(rows.y)}) to train and validate")
    return split


def fit_production(
    rows: VariantRows, params: dict[str, ParamValue], plan: TrainPlan
) -> ProductionFit:
    """The production model on ``rows`` (binned on them alone), as ``train_and_score`` trains it."""
    split = _split(rows, plan)
    full = binned_dataset(rows.X, rows.feature_names, plan.threads, plan.max_bin)
    settings = TrainSettings(plan.num_rounds, plan.early_stopping, plan.seed, plan.threads)
    model = fit(full, rows.y, split.train, split.valid, params, settings)
    return ProductionFit(model.booster, model.best_iteration, len(split.train))


def refit_all(
    rows: VariantRows, params: dict[str, ParamValue], plan: TrainPlan, rounds: int
) -> ProductionFit:
    """The production model refit on every row of ``rows`` for ``rounds`` rounds (the best
    iteration its evaluated development model stopped at), binned on those rows alone."""
    if len(rows.y) < 2:
        raise ValueError(f"too few rows ({len(rows.y)}) to refit")
    full = binned_dataset(rows.X, rows.feature_names, plan.threads, plan.max_bin)
    settings = TrainSettings(rounds, plan.early_stopping, plan.seed, plan.threads)
    booster = fit_rounds(full, rows.y, params, settings)
    return ProductionFit(booster, rounds, len(rows.y))


def train_and_score(
    dev: VariantRows,
    X_hold: np.ndarray,
    y_hold: np.ndarray,
    params: dict[str, ParamValue],
    plan: TrainPlan,
) -> ProductionResult:
    """Train the production model on ``dev`` and score it, the prior and stage 1 on the hold-out."""
    split = _split(dev, plan)
    full = binned_dataset(dev.X, dev.feature_names, plan.threads, plan.max_bin)
    settings = TrainSettings(plan.num_rounds, plan.early_stopping, plan.seed, plan.threads)
    model = fit(full, dev.y, split.train, split.valid, params, settings)
    scores = holdout_scores(y_hold, predict(model.booster, X_hold, model.best_iteration), "holdout")
    prior = class_prior_proba(dev.y[split.train], len(y_hold))
    scores.update(holdout_scores(y_hold, prior, "prior"))
    scores["random_macro_ap"] = random_macro_ap(y_hold)
    scores["stage1_holdout_macro_ap"] = float("nan")
    stage1 = chronological_split(
        dev.bars, dev.horizon, plan.stage1_validation_fraction, plan.stage1_max_train
    )
    if stage1 is not None:
        defaults = replace(
            settings, num_rounds=plan.stage1_num_rounds, early_stopping=plan.stage1_early_stopping
        )
        baseline = fit(full, dev.y, stage1.train, stage1.valid, {}, defaults)
        proba = predict(baseline.booster, X_hold, baseline.best_iteration)
        scores["stage1_holdout_macro_ap"] = macro_ap(y_hold, proba)
    return ProductionResult(
        booster=model.booster,
        best_iteration=model.best_iteration,
        train_rows=len(split.train),
        valid_rows=len(split.valid),
        purged_rows=split.purged,
        holdout_rows=len(y_hold),
        holdout_classes=len(np.unique(y_hold)),
        scores=scores,
    )
