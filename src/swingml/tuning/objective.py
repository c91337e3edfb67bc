"""The tuning objective: mean validation macro AP over a variant's purged folds.

Fold scores are reported to the trial one by one (step = fold index) so that a pruner can stop a
hopeless trial after a few folds instead of training all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import optuna

from swingml.modeling.cv import Fold
from swingml.modeling.space import ParamValue, Space, suggest
from swingml.training.metrics import macro_ap, prior_macro_ap
from swingml.training.model import BinnedDataset, TrainSettings, fit


@dataclass(frozen=True)
class FoldScores:
    """Validation macro AP, its class-prior baseline and the best iteration of each fold."""

    scores: tuple[float, ...]
    best_iterations: tuple[int, ...]
    priors: tuple[float, ...] = ()

    @property
    def mean(self) -> float:
        """The objective value: the mean over folds (NaN if there is none)."""
        valid = [s for s in self.scores if np.isfinite(s)]
        return float(np.mean(valid)) if valid else float("nan")

    @property
    def lift(self) -> float:
        """Mean over folds of macro AP minus the class-prior macro AP of the same rows.

        Comparable across variants whose validation rows hold different classes (a fold with a
        single class scores AP 1 whatever the model does, and lift 0).
        """
        pairs = [s - p for s, p in zip(self.scores, self.priors, strict=True) if np.isfinite(s)]
        return float(np.mean(pairs)) if pairs else float("nan")


def evaluate(
    full: BinnedDataset,
    labels: np.ndarray,
    folds: Sequence[Fold],
    params: dict[str, ParamValue],
    settings: TrainSettings,
    on_fold: Callable[[int, float], None] | None = None,
) -> FoldScores:
    """Train one model per fold and score it; ``on_fold(i, score)`` may raise to stop early."""
    scores: list[float] = []
    iterations: list[int] = []
    priors: list[float] = []
    for i, fold in enumerate(folds):
        result = fit(full, labels, fold.train, fold.valid, params, settings)
        score = macro_ap(labels[fold.valid], result.valid_proba)
        scores.append(score)
        iterations.append(result.best_iteration)
        priors.append(prior_macro_ap(labels[fold.valid]))
        if on_fold is not None:
            on_fold(i, score)
    return FoldScores(tuple(scores), tuple(iterations), tuple(priors))


def make_objective(
    full: BinnedDataset,
    labels: np.ndarray,
    folds: Sequence[Fold],
    space: Space,
    settings: TrainSettings,
) -> Callable[[optuna.Trial], float]:
    """An Optuna objective over ``space``; fold scores go to the pruner as they come."""

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, space)

        def report(step: int, score: float) -> None:
            trial.report(score if np.isfinite(score) else 0.0, step)
            if step + 1 < len(folds) and trial.should_prune():
                raise optuna.TrialPruned()

        result = evaluate(full, labels, folds, params, settings, report)
        trial.set_user_attr("fold_scores", list(result.scores))
        trial.set_user_attr("best_iterations", list(result.best_iterations))
        trial.set_user_attr("lift", result.lift)
        trial.set_user_attr("params", params)
        return result.mean

    return objective
