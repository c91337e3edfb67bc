"""Stage glue of ``swingml walkforward``: each champion replayed over the hold-out on a cadence.

One task per main variant (``training.tasks.walkforward_task``) loads its events and replays every
cadence of ``retrain`` ("never", ``retrain.every``, each of ``retrain.compare``;
``training.walkforward.replay``). The parent writes the out-of-sample predictions
(``walkforward/predictions.parquet``) and, per model and cadence, the walk-forward macro AP, its
lift over a random ranking with the report's calibrated interval, and the AP of each
``retrain.every`` step (``walkforward/scores.parquet``).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.io.store import write_parquet_atomic
from swingml.orchestration import Task, TaskResult
from swingml.report.skill import lift_interval
from swingml.training.tasks import walkforward_task
from swingml.training.trades import PROBA, by_predicted_class, confident
from swingml.training.walkforward import (
    NEVER,
    cadence_summary,
    step_scores,
    summary_row,
    top_decile_summary,
)
from swingml.workflow.loading import ProductionModels, production_models
from swingml.workflow.pipeline import StageContext
from swingml.workflow.runner import Plan, Stage

TASK_VERSION = "walkforward-3"
"""Part of every task key here: bump it when a task's output changes meaning for the same inputs."""
SCOPE = "features and parameters chosen on the development period; models refit on the past only"


def _plan(ctx: StageContext, key: str | None) -> Plan[ProductionModels]:
    """One task per main variant: every cadence of ``retrain`` replayed over the hold-out."""
    config = ctx.config
    models = production_models(config, ctx.store)
    config_hash = config.slice_hash("training", "tuning", "split", "targets", "run", "retrain")
    cadences = (config.retrain.every, tuple(config.retrain.compare))
    tasks = [
        Task(
            models.task_key(walkforward_task, recipe, TASK_VERSION, config_hash),
            walkforward_task,
            (models.job(recipe), *cadences),
            label=recipe.main_id,
        )
        for recipe in models.recipes
    ]
    return Plan(models, tasks)


def _finish(
    ctx: StageContext, models: ProductionModels, results: list[TaskResult]
) -> dict[str, Any]:
    """Write the predictions, scores, trades and confident tables; print and return a summary."""
    config, store, cutoff = ctx.config, ctx.store, models.inputs.cutoff
    done = [r.value for r in results if r.ok]
    predictions = pd.concat(done, ignore_index=True) if done else pd.DataFrame()
    scores = _scores(predictions, config, cutoff) if len(predictions) else pd.DataFrame()
    store.save("walkforward_predictions", predictions)
    store.save("walkforward_scores", scores)
    fee = config.retrain.fee
    top = confident(predictions, fee) if len(predictions) else pd.DataFrame()
    write_parquet_atomic(
        store.dataset("walkforward_trades"),
        by_predicted_class(predictions, fee) if len(predictions) else pd.DataFrame(),
    )
    store.save("walkforward_confident", top)
    summary = cadence_summary(scores) if len(scores) else {}
    _print(ctx, summary)
    return {
        "models": len(done),
        "start": str(cutoff),
        "every": config.retrain.every,
        "cadences": summary,
        "fee": fee,
        "top_decile": top_decile_summary(top) if len(top) else {},
        "scope": SCOPE,
    }


STAGE = Stage("walkforward", plan=_plan, finish=_finish)
"""``swingml walkforward``: replay every champion over the hold-out at each cadence."""
run = STAGE


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


def _print(ctx: StageContext, summary: dict[str, dict[str, Any]]) -> None:
    ctx.console.print(f"walk-forward over the hold-out ({SCOPE}):")
    for cadence, figures in summary.items():
        label = "never (the development model)" if cadence == NEVER else f"every {cadence}"
        ctx.console.print(
            f"  {label}: mean macro AP {figures['macro_ap_mean']:.4f}, mean lift "
            f"{figures['lift_mean']:+.4f}; lift > 0 for {figures['lift_above_zero']}/"
            f"{figures['models']}, interval above 0 for {figures['interval_above_zero']}"
        )
