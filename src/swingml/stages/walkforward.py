"""Stage glue of ``swingml walkforward``: each champion replayed over the hold-out on a cadence.

One task per main variant loads its events and replays every cadence of ``retrain`` ("never",
``retrain.every``, each of ``retrain.compare``; ``training.walkforward.replay``). The parent writes
the out-of-sample predictions (``walkforward/predictions.parquet``) and, per model and cadence, the
walk-forward macro AP, its lift over a random ranking with the report's calibrated interval, and
the AP of each ``retrain.every`` step (``walkforward/scores.parquet``).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.io import parted
from swingml.io.store import RunStore, write_parquet_atomic
from swingml.modeling.space import ParamValue
from swingml.orchestration import Task, check_failures, make_executor
from swingml.orchestration.tasks import task_key
from swingml.report.skill import lift_interval
from swingml.targets.grid import Variant
from swingml.training.production import TrainPlan, production_plan
from swingml.training.trades import by_predicted_class, confident, forward_moves
from swingml.training.walkforward import (
    NEVER,
    cadences,
    replay,
    step_scores,
    summary_row,
    when,
)
from swingml.tuning.stages import spec
from swingml.workflow.loading import load_events, load_inputs, read_best_params
from swingml.workflow.pipeline import StageContext, StageOutcome

TASK_VERSION = "walkforward-3"
"""Part of every task key here: bump it when a task's output changes meaning for the same inputs."""
PROBA = ("proba_0", "proba_1", "proba_2")
SCOPE = "features and parameters chosen on the development period; models refit on the past only"


def walkforward_task(
    root: str,
    main_id: str,
    variant_id: str,
    features: tuple[str, ...],
    cutoff: pd.Timestamp,
    horizon: int,
    params: dict[str, ParamValue],
    plan: TrainPlan,
    every: str,
    compare: tuple[str, ...],
) -> pd.DataFrame:
    """Every cadence's out-of-sample predictions of one variant's events from ``cutoff`` on."""
    variant = Variant.from_id(variant_id)
    events = load_events(root, variant, features, cutoff, horizon)
    close = parted.read_frame(RunStore(root).candles_path(variant.symbol), ["close"])["close"]
    frames = []
    rounds: int | None = None  # the development model's best iteration, which refits keep
    for cadence in cadences(every, compare):  # "never" first
        try:
            frame = replay(events, cutoff, cadence, params, plan, rounds)
        except ValueError as exc:
            raise ValueError(f"{variant_id} ({cadence.name}): {exc}") from None
        if cadence.name == NEVER and len(frame):
            rounds = int(frame["best_iteration"].iloc[0])
        rows = frame.pop("row").to_numpy(np.int64)
        frame.insert(0, "main_id", main_id)
        frame.insert(1, "variant_id", variant_id)
        frame.insert(2, "cadence", cadence.name)
        frame.insert(3, "timestamp", when(events)[rows])
        frame.insert(4, "label", events.y[rows].astype(np.int8))
        moves = forward_moves(close.to_numpy(np.float64), events.bars[rows], horizon, variant.side)
        frames.append(pd.concat([frame, moves], axis=1))
    return pd.concat(frames, ignore_index=True)


def _scores(predictions: pd.DataFrame, config: Config, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per model and cadence: walk-forward AP, lift with its interval, AP per step."""
    rows = []
    for (main_id, cadence), group in predictions.groupby(["main_id", "cadence"], sort=False):
        y = group["label"].to_numpy(np.int64)
        proba = group[list(PROBA)].to_numpy(np.float64)
        when = pd.DatetimeIndex(group["timestamp"])
        steps = step_scores(y, proba, when, cutoff, config.retrain.every)
        row: dict[str, Any] = {"main_id": main_id, "cadence": cadence}
        row["refits"] = int(group["refit_at"].nunique())
        row.update(summary_row(y, proba, steps))
        seed = (zlib.crc32(f"{main_id}/{cadence}".encode()) + config.run.seed) % (2**32)
        interval = lift_interval(y, proba, seed)
        row.update(lift=interval.lift, lift_low=interval.low, lift_high=interval.high)
        row["step_ap"] = json.dumps([round(float(v), 6) for v in steps.to_numpy()])
        rows.append(row)
    return pd.DataFrame(rows)


def _by_cadence(scores: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The summary's per-cadence means, and how many models show skill (interval above 0)."""
    out: dict[str, dict[str, Any]] = {}
    for cadence, group in scores.groupby("cadence", sort=False):
        out[str(cadence)] = {
            "models": len(group),
            "macro_ap_mean": round(float(group["macro_ap"].mean()), 6),
            "lift_mean": round(float(group["lift"].mean()), 6),
            "lift_above_zero": int((group["lift"] > 0).sum()),
            "interval_above_zero": int((group["lift_low"] > 0).sum()),
            "step_ap_std_mean": round(float(group["step_ap_std"].mean()), 6),
        }
    return out


def run(ctx: StageContext) -> StageOutcome:
    """``swingml walkforward``: replay every champion over the hold-out at each cadence."""
    config, store = ctx.config, ctx.store
    inputs = load_inputs(config, store)
    chosen = read_best_params(store)
    plan = production_plan(config, spec(1).early_stopping)
    config_hash = config.slice_hash("training", "tuning", "split", "targets", "run", "retrain")
    tasks: list[Task] = []
    for main_id, entry in chosen.items():
        variant = Variant.from_id(str(entry["variant_id"]))
        params = dict(entry.get("params") or {})
        args = (
            inputs.root,
            main_id,
            variant.id,
            inputs.features,
            inputs.cutoff,
            variant.horizon(config.targets),
            params,
            plan,
            config.retrain.every,
            tuple(config.retrain.compare),
        )
        key = task_key(
            walkforward_task,
            TASK_VERSION,
            variant.id,
            json.dumps(params, sort_keys=True),
            inputs.fingerprint,
            config_hash,
        )
        tasks.append(Task(key, walkforward_task, args, label=main_id))
    results = make_executor(config, store, ctx.console).run("walkforward", tasks)
    check_failures(results, config, "walkforward")
    done = [r.value for r in results if r.ok]
    predictions = pd.concat(done, ignore_index=True) if done else pd.DataFrame()
    scores = _scores(predictions, config, inputs.cutoff) if len(predictions) else pd.DataFrame()
    write_parquet_atomic(store.dataset("walkforward_predictions"), predictions)
    write_parquet_atomic(store.dataset("walkforward_scores"), scores)
    fee = config.retrain.fee
    top = confident(predictions, fee) if len(predictions) else pd.DataFrame()
    write_parquet_atomic(
        store.dataset("walkforward_trades"),
        by_predicted_class(predictions, fee) if len(predictions) else pd.DataFrame(),
    )
    write_parquet_atomic(store.dataset("walkforward_confident"), top)
    summary = _by_cadence(scores) if len(scores) else {}
    _print(ctx, summary)
    details: dict[str, Any] = {
        "models": len(done),
        "start": str(inputs.cutoff),
        "every": config.retrain.every,
        "cadences": summary,
        "fee": fee,
        "top_decile": _top_decile(top) if len(top) else {},
        "scope": SCOPE,
    }
    return StageOutcome(tasks=len(tasks), failed_tasks=len(tasks) - len(done), details=details)


def _top_decile(top: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per cadence: precision of the top-decile predictions vs the class's base rate, and the
    mean trade net of the fee (over models and the two trading classes)."""
    out = {}
    for cadence, group in top.groupby("cadence", sort=False):
        out[str(cadence)] = {
            "precision_mean": round(float(group["precision"].mean()), 6),
            "base_rate_mean": round(float(group["base_rate"].mean()), 6),
            "trade_mean": round(float(group["trade_mean"].mean()), 6),
        }
    return out


def _print(ctx: StageContext, summary: dict[str, dict[str, Any]]) -> None:
    ctx.console.print(f"walk-forward over the hold-out ({SCOPE}):")
    for cadence, figures in summary.items():
        label = "never (the development model)" if cadence == NEVER else f"every {cadence}"
        ctx.console.print(
            f"  {label}: mean macro AP {figures['macro_ap_mean']:.4f}, mean lift "
            f"{figures['lift_mean']:+.4f}; lift > 0 for {figures['lift_above_zero']}/"
            f"{figures['models']}, interval above 0 for {figures['interval_above_zero']}"
        )
