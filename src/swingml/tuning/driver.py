"""One driver for every tuning stage: screen variants with fixed parameters (stage 1) or run one
seeded, budgeted, resumable Optuna study per model (stages 2-4).

Inputs are arrays of one variant's development rows (``VariantRows``); the caller loads them.
"""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution

from swingml.modeling.cv import Fold, chronological_split, rolling_folds
from swingml.modeling.rows import VariantRows
from swingml.modeling.space import ParamValue, Space, snap
from swingml.training.metrics import minority_rows
from swingml.training.model import TrainSettings, binned_dataset
from swingml.tuning.objective import evaluate, make_objective
from swingml.tuning.stages import CvScheme
from swingml.tuning.storage import DONE_STATES, finished_trials, open_study, storage_for


@dataclass(frozen=True)
class CvPlan:
    """Which splits a stage scores on."""

    scheme: CvScheme
    n_folds: int
    validation_fraction: float
    max_train: int


def make_folds(bars: np.ndarray, horizon: int, plan: CvPlan) -> list[Fold]:
    """The purged folds of ``plan`` over rows at ``bars`` (empty if there are too few rows)."""
    if plan.scheme == "rolling":
        return rolling_folds(bars, horizon, plan.n_folds, plan.max_train)
    fold = chronological_split(bars, horizon, plan.validation_fraction, plan.max_train)
    return [] if fold is None else [fold]


def study_seed(base: int, stage: int, model_id: str) -> int:
    """A sampler seed that differs per stage and model but never between runs."""
    return (base * 1_000_003 + stage * 7919 + zlib.crc32(model_id.encode())) % (2**31 - 1)


class ReplayableTPESampler(optuna.samplers.BaseSampler):
    """TPE whose randomness for a trial depends only on the seed and the trials finished before.

    Optuna's TPE draws from one generator that advances with every trial, so a study resumed
    after a kill (a fresh sampler over the same journal) would sample other parameters than the
    uninterrupted study. Each trial is therefore sampled by a fresh ``TPESampler`` seeded from
    ``(seed, finished trials)`` (``trial_seed``), through Optuna's public sampler interface only,
    so the resumed study continues exactly where the uninterrupted one went. TPE keeps no state
    between trials besides its generators and caches it rebuilds from the study's trials.
    """

    def __init__(self, seed: int, n_startup_trials: int) -> None:
        self.seed = seed
        self.n_startup_trials = n_startup_trials
        self.current = self.for_trial(0)

    def trial_seed(self, done: int) -> int:
        """The seed of the trial that follows ``done`` finished trials."""
        return (self.seed * 1_000_003 + done) % (2**31 - 1)

    def for_trial(self, done: int) -> optuna.samplers.TPESampler:
        """The TPE sampler of the trial that follows ``done`` finished trials."""
        return optuna.samplers.TPESampler(
            seed=self.trial_seed(done), n_startup_trials=self.n_startup_trials
        )

    def reseed_rng(self) -> None:
        self.current.reseed_rng()

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = len(study.get_trials(deepcopy=False, states=DONE_STATES))
        self.current = self.for_trial(done)
        self.current.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space: dict[str, BaseDistribution] = self.current.infer_relative_search_space(study, trial)
        return space

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        params: dict[str, Any] = self.current.sample_relative(study, trial, search_space)
        return params

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self.current.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.current.after_trial(study, trial, state, values)


@dataclass(frozen=True)
class StudyPlan:
    """Everything one study needs besides its data."""

    stage: int
    model_id: str
    variant_id: str
    space: Space
    cv: CvPlan
    settings: TrainSettings
    max_trials: int
    time_limit_s: float
    journal: Path | None
    storage_url: str | None = None
    start_params: Mapping[str, ParamValue] | None = None
    study_name: str = ""
    baseline: bool = False
    n_trials: int | None = None
    """Run exactly this many trials (a trials budget, or a replayed count), ignoring the clock."""


@dataclass(frozen=True)
class StudyResult:
    """The best trial of a study and what the study cost."""

    model_id: str
    variant_id: str
    best_params: dict[str, ParamValue]
    best_score: float
    fold_scores: tuple[float, ...]
    best_iterations: tuple[int, ...]
    trials: int
    pruned: int
    spent_s: float
    folds: int
    valid_rows: int = 0
    valid_minority: int = 0
    lift: float = float("nan")
    baseline_score: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)


def run_study(plan: StudyPlan, rows: VariantRows) -> StudyResult:
    """Run (or resume) one study until its trial cap or time limit; at least one trial finishes.

    With ``plan.n_trials`` the study runs exactly that many trials (finished ones included) and
    the clock plays no part, so the same plan gives the same study on any machine. The first
    trial is ``plan.start_params`` (projected onto the space) when given; the sampler is
    TPE seeded per stage and model; the Wilcoxon pruner stops trials whose fold scores are
    significantly below the best trial's.
    """
    start = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = make_folds(rows.bars, rows.horizon, plan.cv)
    if not folds:
        return StudyResult(plan.model_id, plan.variant_id, {}, float("nan"), (), (), 0, 0, 0.0, 0)
    full = binned_dataset(rows.X, rows.feature_names, plan.settings.threads, plan.settings.max_bin)
    labels = np.asarray(rows.y, dtype=np.int64)
    sampler = ReplayableTPESampler(
        study_seed(plan.settings.seed, plan.stage, plan.model_id), n_startup_trials=5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        pruner = optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    storage = storage_for(plan.journal, plan.storage_url)
    name = plan.study_name or f"stage{plan.stage}-{plan.model_id}"
    study = open_study(storage, name, sampler, pruner)
    done = finished_trials(study)
    if plan.start_params and not study.trials:
        study.enqueue_trial(snap(plan.start_params, plan.space), skip_if_exists=True)
    objective = make_objective(full, labels, folds, plan.space, plan.settings)
    if plan.n_trials is not None:
        study.optimize(objective, n_trials=max(plan.n_trials - done, 0))
        remaining = 0
    else:
        remaining = max(plan.max_trials - done, 0)
    if remaining and not _has_complete(study):
        study.optimize(objective, n_trials=1)
        remaining -= 1
    if remaining and _next_fits(study, start, plan.time_limit_s):

        def stop_when_spent(study: optuna.Study, _: optuna.trial.FrozenTrial) -> None:
            if not _next_fits(study, start, plan.time_limit_s):
                study.stop()

        study.optimize(objective, n_trials=remaining, callbacks=[stop_when_spent])
    minority = sum(minority_rows(labels[f.valid]) for f in folds)
    baseline = float("nan")
    if plan.baseline:
        baseline = evaluate(full, labels, folds, {}, plan.settings).mean
    result = _result(plan, study, len(folds), time.perf_counter() - start)
    return replace(
        result,
        valid_rows=sum(len(f.valid) for f in folds),
        valid_minority=minority,
        baseline_score=baseline,
    )


def _next_fits(study: optuna.Study, start: float, limit_s: float) -> bool:
    """Whether another trial, as long as the mean finished one, ends within the time limit."""
    spans = [
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in study.get_trials(deepcopy=False, states=DONE_STATES)
        if t.datetime_complete is not None and t.datetime_start is not None
    ]
    expected = float(np.mean(spans)) if spans else 0.0
    return time.perf_counter() - start + expected <= limit_s


def _has_complete(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def _result(plan: StudyPlan, study: optuna.Study, n_folds: int, spent: float) -> StudyResult:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    scored = [t for t in complete if t.value is not None and np.isfinite(t.value)]
    if not scored:
        return StudyResult(
            plan.model_id, plan.variant_id, {}, float("nan"), (), (), len(complete), 0, spent, 0
        )
    best = max(scored, key=lambda t: (t.value, -t.number))
    return StudyResult(
        model_id=plan.model_id,
        variant_id=plan.variant_id,
        best_params=dict(best.user_attrs["params"]),
        best_score=float(best.value or 0.0),
        fold_scores=tuple(best.user_attrs["fold_scores"]),
        best_iterations=tuple(best.user_attrs["best_iterations"]),
        trials=len(complete) + len(pruned),
        pruned=len(pruned),
        spent_s=spent,
        folds=n_folds,
        lift=float(best.user_attrs.get("lift", float("nan"))),
    )


MIN_CLASSES = 2
"""A stage-1 variant whose validation rows hold fewer classes gets no rank (its AP says nothing)."""


@dataclass(frozen=True)
class ScreenRow:
    """Stage 1's result for one variant."""

    variant_id: str
    score: float
    lift: float
    valid_classes: int
    valid_minority: int
    best_iteration: int
    train_rows: int
    valid_rows: int
    purged_rows: int
    wall_s: float


def screen(
    rows: VariantRows,
    labels: Mapping[str, np.ndarray],
    params: dict[str, ParamValue],
    cv: CvPlan,
    settings: TrainSettings,
    min_rows: int,
) -> list[ScreenRow]:
    """Stage 1 for variants sharing the same event rows (they differ only in ``k``, the label).

    The rows are binned once; each label vector trains one model with fixed ``params`` on the
    purged chronological split. A variant with fewer than ``min_rows`` training rows scores NaN.
    """
    folds = make_folds(rows.bars, rows.horizon, cv)
    out: list[ScreenRow] = []
    if not folds or len(folds[0].train) < min_rows:
        first = folds[0] if folds else None
        fold_rows = (len(first.train), len(first.valid), first.purged) if first else (0, 0, 0)
        nan = float("nan")
        valid = first.valid if first else np.zeros(0, dtype=np.int64)
        return [
            ScreenRow(
                v,
                nan,
                nan,
                len(np.unique(np.asarray(y)[valid])),
                minority_rows(np.asarray(y)[valid]),
                0,
                *fold_rows,
                0.0,
            )
            for v, y in labels.items()
        ]
    full = binned_dataset(rows.X, rows.feature_names, settings.threads, settings.max_bin)
    fold = folds[0]
    for variant_id, y in labels.items():
        start = time.perf_counter()
        labels_v = np.asarray(y, dtype=np.int64)
        scores = evaluate(full, labels_v, folds, params, settings)
        classes = len(np.unique(labels_v[fold.valid]))
        out.append(
            ScreenRow(
                variant_id,
                scores.mean,
                scores.lift if classes >= MIN_CLASSES else float("nan"),
                classes,
                minority_rows(labels_v[fold.valid]),
                scores.best_iterations[0],
                len(fold.train),
                len(fold.valid),
                fold.purged,
                time.perf_counter() - start,
            )
        )
    return out


def screen_all(
    event_sets: Sequence[tuple[VariantRows, Mapping[str, np.ndarray]]],
    params: dict[str, ParamValue],
    cv: CvPlan,
    settings: TrainSettings,
    min_rows: int,
    deadline: float,
    max_variants: int | None = None,
) -> list[ScreenRow]:
    """Screen several event sets in order until ``time.time()`` passes ``deadline`` or, with
    ``max_variants`` (a trials budget), until that many variants were screened.

    Sets are screened until at least one variant has a score, whatever the budget, so that every
    main variant gets a ranked stage-1 model when it has one to give; variants not reached are
    reported with a NaN score and zero wall time. Put the most informative sets (the most events)
    first.
    """
    out: list[ScreenRow] = []
    for rows, labels in event_sets:
        scored = any(np.isfinite(r.lift) for r in out)
        reached = len(out) >= max_variants if max_variants is not None else time.time() >= deadline
        if scored and reached:
            nan = float("nan")
            out.extend(ScreenRow(v, nan, nan, 0, 0, 0, 0, 0, 0, 0.0) for v in labels)
            continue
        out.extend(screen(rows, labels, params, cv, settings, min_rows))
    return out
