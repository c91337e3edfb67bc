"""The tuning tasks workers run, and the tables their results become.

Tasks take a row loader (the stage passes ``swingml.workflow.loading.load_events``: tuning
never imports the workflow layer), paths and small plans, load their own rows through it and
return small results: ``screen_task`` screens the variants of one main variant with default
parameters (the stage that tunes ``variants``), ``study_task`` runs one study of one model (every
other stage). The parent turns the results into the stage's tables with the helpers below.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.modeling.cv import folds_report
from swingml.modeling.rows import VariantRows
from swingml.targets.grid import Variant
from swingml.training.model import TrainSettings
from swingml.training.tasks import EventLoader
from swingml.tuning.driver import CvPlan, StudyPlan, StudyResult, make_folds, run_study, screen_all
from swingml.tuning.stages import StageSpec

TASK_VERSION = "tune-5"
"""Part of every tuning and training task key (``stages/tune.py``, ``stages/train.py``): bump it
when a task's output changes meaning for the same inputs."""

SCREEN_COLUMNS = (
    "variant_id",
    "score",
    "lift",
    "valid_classes",
    "valid_minority",
    "best_iteration",
    "train_rows",
    "valid_rows",
    "purged_rows",
    "wall_s",
)
"""One row per screened variant (the leaderboard adds the grid columns)."""

STUDY_COLUMNS = (
    "main_id",
    "variant_id",
    "w",
    "order",
    "score",
    "lift",
    "baseline_score",
    "valid_rows",
    "valid_minority",
    "params",
    "fold_scores",
    "trials",
    "pruned",
    "folds",
    "spent_s",
)
"""One row per study: ``tuning/stage<N>/results.parquet``."""


def train_settings(config: Config, stage: StageSpec) -> TrainSettings:
    """How each model of ``stage`` trains."""
    tuning, threads = config.tuning, config.executor.threads_per_worker
    return TrainSettings(
        tuning.num_rounds, stage.early_stopping, config.run.seed, threads, tuning.max_bin
    )


def cv_plan(config: Config, stage: StageSpec) -> CvPlan:
    """Which splits ``stage`` scores on."""
    tuning = config.tuning
    return CvPlan(stage.cv, tuning.cv_folds, tuning.validation_fraction, tuning.max_train_rows)


def screen_task(
    load: EventLoader,
    root: str,
    variant_ids: list[str],
    features: tuple[str, ...],
    cutoff: pd.Timestamp,
    horizon: int,
    cv: CvPlan,
    settings: TrainSettings,
    min_rows: int,
    time_share_s: float,
    deadline: float,
    max_variants: int | None,
) -> dict[str, Any]:
    """Screen every variant of one main variant with default parameters, in its time share
    (or, with ``max_variants``, its count of trials).

    Variants that share event rows (same kind and s, different k) are binned once; the sets
    with the most events (smallest s) come first, so a cut-short task still covers both kinds.
    Returns the rows and the task's wall time (what a resumed run charges when it reuses them).
    """
    began = time.perf_counter()
    stop = min(time.time() + time_share_s, deadline)
    groups: dict[tuple[float, str], list[Variant]] = {}
    for variant_id in variant_ids:
        variant = Variant.from_id(variant_id)
        groups.setdefault((variant.s, variant.kind), []).append(variant)
    event_sets: list[tuple[VariantRows, Mapping[str, np.ndarray]]] = []
    for _, group in sorted(groups.items(), key=lambda item: item[0]):
        events = [load(root, v, features, cutoff, horizon) for v in group]
        mask = np.logical_and.reduce([e.dev for e in events])
        labels = {v.id: e.y[mask] for v, e in zip(group, events, strict=True)}
        event_sets.append((events[0].rows(mask), labels))
    rows = screen_all(event_sets, {}, cv, settings, min_rows, stop, max_variants)
    return {"rows": [r.__dict__ for r in rows], "wall_s": time.perf_counter() - began}


def study_task(
    load: EventLoader,
    root: str,
    variant_id: str,
    features: tuple[str, ...],
    cutoff: pd.Timestamp,
    horizon: int,
    plan: StudyPlan,
    deadline: float,
) -> StudyResult:
    """One study of one model, within its trial count or time limit and deadline."""
    began = time.perf_counter()
    events = load(root, Variant.from_id(variant_id), features, cutoff, horizon)
    rows = events.rows(events.dev)
    limit = max(min(plan.time_limit_s, deadline - time.time()), 0.0)
    result = run_study(replace(plan, time_limit_s=limit), rows)
    folds = make_folds(rows.bars, horizon, plan.cv)
    report = folds_report(folds, rows.bars, pd.Series(events.stamps)) if folds else []
    extra = {"folds": report, "horizon": horizon, "wall_s": time.perf_counter() - began}
    return replace(result, extra=extra)


def grid_frame(grid: Iterable[Variant]) -> pd.DataFrame:
    """The variant grid as a table (``order`` = grid position), joined to stage-1 rows."""
    rows = [
        {
            "variant_id": v.id,
            "main_id": v.main_id,
            "symbol": v.symbol,
            "w": v.w,
            "kind": v.kind,
            "side": v.side,
            "s": v.s,
            "k": v.k,
            "order": i,
        }
        for i, v in enumerate(grid)
    ]
    return pd.DataFrame(rows)


def leaderboard(grid: Iterable[Variant], rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Every screened variant with its grid columns, in grid order."""
    scored = pd.DataFrame(rows, columns=list(SCREEN_COLUMNS))
    board = grid_frame(grid).merge(scored, on="variant_id", how="inner")
    return board.sort_values("order", kind="mergesort").reset_index(drop=True)


def study_frame(models: pd.DataFrame, studies: Mapping[str, StudyResult]) -> pd.DataFrame:
    """One row per finished study, in the order of ``models`` (``studies`` keyed by main id)."""
    rows: list[dict[str, Any]] = []
    for model in models.to_dict("records"):
        study = studies.get(str(model["main_id"]))
        if study is None:
            continue
        rows.append(
            {
                "main_id": study.model_id,
                "variant_id": study.variant_id,
                "w": int(model["w"]),
                "order": int(model["order"]),
                "score": study.best_score,
                "lift": study.lift,
                "baseline_score": study.baseline_score,
                "valid_rows": study.valid_rows,
                "valid_minority": study.valid_minority,
                "params": json.dumps(study.best_params, sort_keys=True),
                "fold_scores": json.dumps(list(study.fold_scores)),
                "trials": study.trials,
                "pruned": study.pruned,
                "folds": study.folds,
                "spent_s": round(study.spent_s, 3),
            }
        )
    return pd.DataFrame(rows, columns=list(STUDY_COLUMNS))


def folds_record(study: StudyResult, stage: int) -> dict[str, Any]:
    """``tuning/folds/<main_id>.json``: the rolling CV folds a study scored on."""
    return {
        "main_id": study.model_id,
        "variant_id": study.variant_id,
        "stage": stage,
        "horizon_bars": study.extra.get("horizon"),
        "folds": study.extra["folds"],
    }
