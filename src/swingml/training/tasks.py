"""The training-side tasks workers run: train, walk-forward replay and retrain of one model.

Every task takes a :class:`ModelJob` first (``workflow.loading.ProductionModels.job``): the row
loader (the stage passes ``swingml.workflow.loading.load_events``: training never imports the
workflow layer), the run root, the model's main and variant ids, the features, the hold-out
cutoff, the label horizon, its tuned parameters and the production plan; it returns values the
stage writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from swingml.io import parted
from swingml.io.store import RunStore
from swingml.modeling.rows import Events
from swingml.modeling.space import ParamValue
from swingml.targets.grid import Variant
from swingml.training.gate import gate_rows
from swingml.training.model import booster_from_text, predict
from swingml.training.production import TrainPlan, refit_all, train_and_score
from swingml.training.trades import forward_moves
from swingml.training.walkforward import NEVER, cadences, replay, when

EventLoader = Callable[[str, Variant, tuple[str, ...], pd.Timestamp, int], Events]
"""``(run root, variant, features, hold-out cutoff, horizon) -> Events``: how a task reads a
variant's rows (``swingml.workflow.loading.load_events``)."""


@dataclass(frozen=True)
class ModelJob:
    """One production model's rows and recipe: what every task here starts from (picklable)."""

    load: EventLoader
    root: str
    main_id: str
    variant_id: str
    features: tuple[str, ...]
    cutoff: pd.Timestamp
    horizon: int
    params: dict[str, ParamValue]
    plan: TrainPlan

    def events(self) -> Events:
        """The variant's events, through the loader."""
        variant = Variant.from_id(self.variant_id)
        return self.load(self.root, variant, self.features, self.cutoff, self.horizon)


EXAMPLE_ROWS = 3
"""Rows of the input example a registered version records."""


def train_task(job: ModelJob) -> dict[str, Any]:
    """Load one variant's rows, train and score its evaluated model, refit the served one."""
    start = time.perf_counter()
    events, params, plan = job.events(), job.params, job.plan
    dev = events.rows(events.dev)
    X_hold, y_hold = events.X[events.holdout], events.y[events.holdout]
    labelled = events.y >= 0
    try:
        result = train_and_score(dev, X_hold, y_hold, params, plan)
        served = refit_all(events.rows(labelled), params, plan, result.best_iteration)
    except ValueError as exc:
        raise ValueError(f"{job.variant_id}: {exc}") from None
    example = X_hold[:EXAMPLE_ROWS] if len(y_hold) else dev.X[:EXAMPLE_ROWS]
    ends = np.minimum(events.bars[labelled] + job.horizon, len(events.stamps) - 1)
    last_label = events.stamps[ends]
    return {
        "main_id": job.main_id,
        "variant_id": job.variant_id,
        "model": result.booster.model_to_string(num_iteration=result.best_iteration),
        "served_model": served.booster.model_to_string(),
        "served_rows": served.train_rows,
        "served_through": str(last_label.max()) if len(last_label) else str(job.cutoff),
        "served_last_event": _last(events.stamps[events.bars[labelled]]),
        "dev_last_event": _last(events.stamps[dev.bars]),
        "best_iteration": result.best_iteration,
        "train_rows": result.train_rows,
        "valid_rows": result.valid_rows,
        "purged_rows": result.purged_rows,
        "holdout_rows": result.holdout_rows,
        "holdout_classes": result.holdout_classes,
        **result.scores,
        "params": json.dumps(params, sort_keys=True),
        "example": example,
        "holdout_timestamps": events.stamps[events.bars[events.holdout]].asi8,
        "holdout_labels": y_hold,
        "holdout_proba": predict(result.booster, X_hold, result.best_iteration),
        "wall_s": time.perf_counter() - start,
    }


def _last(stamps: pd.DatetimeIndex) -> str:
    return str(stamps.max()) if len(stamps) else ""


def walkforward_task(
    job: ModelJob,
    every: str,
    compare: tuple[str, ...],
) -> pd.DataFrame:
    """Every cadence's out-of-sample predictions of one variant's events from ``cutoff`` on."""
    variant = Variant.from_id(job.variant_id)
    events = job.events()
    close = parted.read_frame(RunStore(job.root).candles_path(variant.symbol), ["close"])["close"]
    frames = []
    rounds: int | None = None  # the development model's best iteration, which refits keep
    for cadence in cadences(every, compare):  # "never" first
        try:
            frame = replay(events, job.cutoff, cadence, job.params, job.plan, rounds)
        except ValueError as exc:
            raise ValueError(f"{job.variant_id} ({cadence.name}): {exc}") from None
        if cadence.name == NEVER and len(frame):
            rounds = int(frame["best_iteration"].iloc[0])
        rows = frame.pop("row").to_numpy(np.int64)
        frame.insert(0, "main_id", job.main_id)
        frame.insert(1, "variant_id", job.variant_id)
        frame.insert(2, "cadence", cadence.name)
        frame.insert(3, "timestamp", when(events)[rows])
        frame.insert(4, "label", events.y[rows].astype(np.int8))
        bars = events.bars[rows]
        moves = forward_moves(close.to_numpy(np.float64), bars, job.horizon, variant.side)
        frames.append(pd.concat([frame, moves], axis=1))
    return pd.concat(frames, ignore_index=True)


def retrain_task(
    job: ModelJob,
    rounds: int,
    champion: str,
    since: str,
    gate_fraction: float,
) -> dict[str, Any]:
    """The challenger of ``main_id`` refit on everything, and the gate's evidence.

    ``champion`` is the champion's model text, ``since`` its last training event: events after
    it are new. The newest ``gate_fraction`` of them are the gate events; the challenger's recipe
    is refit once more without them, and both that copy and the champion score them.
    """
    events, params, plan = job.events(), job.params, job.plan
    labelled = events.y >= 0
    stamps = when(events)
    new = np.flatnonzero(labelled & np.asarray(stamps > pd.Timestamp(since)))
    if not len(new):
        return {"new_events": 0}
    held = gate_rows(new, gate_fraction)
    before = labelled.copy()
    before[held] = False
    challenger = refit_all(events.rows(labelled), params, plan, rounds)
    copy = refit_all(events.rows(before), params, plan, rounds) if len(held) else challenger
    X = events.X[held]
    old = booster_from_text(champion)
    return {
        "new_events": len(new),
        "model": challenger.booster.model_to_string(),
        "rows": challenger.train_rows,
        "last_event": str(stamps[labelled].max()),
        "y": events.y[held],
        "champion_proba": predict(old, X, old.current_iteration()),
        "challenger_proba": predict(copy.booster, X, copy.best_iteration),
        "example": events.X[labelled][-EXAMPLE_ROWS:],
    }
