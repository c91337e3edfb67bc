"""Stage glue of ``swingml train``: production models, hold-out scores, registration (SPEC §8).

Each main variant trains in a worker with its best tuned parameters on all development data (the
last ``training.validation_fraction`` validates, purged, for early stopping) and is scored on the
hold-out against the class-prior baseline and its stage-1 model. The parent then writes
``training/models/<main_id>.txt`` and ``training/holdout.parquet`` and registers every model in
MLflow in one batch (the store is created by the parent before any worker starts).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.errors import StageFailedError
from swingml.loading import Inputs, load_events, load_inputs, read_best_params
from swingml.modeling.space import ParamValue
from swingml.orchestration import Task, check_failures, make_executor
from swingml.orchestration.tasks import task_key
from swingml.pipeline import StageContext, StageOutcome
from swingml.registry.mlflow_registry import ModelCard, model_name
from swingml.serving import open_registry
from swingml.store import RunStore, exclusive_lock, write_bytes_atomic, write_parquet_atomic
from swingml.targets.grid import Variant
from swingml.training.production import TrainPlan, production_plan, train_and_score
from swingml.tuning.stages import spec
from swingml.tuning.tasks import TASK_VERSION

EXAMPLE_ROWS = 3
BULKY = ("model", "example")
"""Task result keys that go to the model file and the registry, not to the hold-out table."""


def _plan(config: Config) -> TrainPlan:
    return production_plan(config, spec(1).early_stopping)


def train_task(
    root: str,
    main_id: str,
    variant_id: str,
    features: tuple[str, ...],
    cutoff: pd.Timestamp,
    horizon: int,
    params: dict[str, ParamValue],
    plan: TrainPlan,
) -> dict[str, Any]:
    """Load one variant's rows, train and score its production model (in a worker)."""
    start = time.perf_counter()
    events = load_events(root, Variant.from_id(variant_id), features, cutoff, horizon)
    dev = events.rows(events.dev)
    X_hold, y_hold = events.X[events.holdout], events.y[events.holdout]
    try:
        result = train_and_score(dev, X_hold, y_hold, params, plan)
    except ValueError as exc:
        raise ValueError(f"{variant_id}: {exc}") from None
    example = X_hold[:EXAMPLE_ROWS] if len(y_hold) else dev.X[:EXAMPLE_ROWS]
    return {
        "main_id": main_id,
        "variant_id": variant_id,
        "model": result.booster.model_to_string(num_iteration=result.best_iteration),
        "best_iteration": result.best_iteration,
        "train_rows": result.train_rows,
        "valid_rows": result.valid_rows,
        "purged_rows": result.purged_rows,
        "holdout_rows": result.holdout_rows,
        "holdout_classes": result.holdout_classes,
        **result.scores,
        "params": json.dumps(params, sort_keys=True),
        "example": example,
        "wall_s": time.perf_counter() - start,
    }


def _finite(value: Any) -> Any:
    """NaN becomes None so that ``summary.json`` stays valid JSON."""
    return None if isinstance(value, float) and not np.isfinite(value) else value


def _fingerprint(store: RunStore, inputs: Inputs) -> str:
    """The data fingerprint of the run (manifest), or of the tuning inputs when it has none."""
    manifest = store.read_manifest()
    if manifest.get("fingerprints") and manifest.get("input_fingerprint"):
        return str(manifest["input_fingerprint"])
    return inputs.fingerprint


METRIC_COLUMNS = (
    "holdout_macro_ap",
    "holdout_ap_class0",
    "holdout_ap_class1",
    "holdout_ap_class2",
    "prior_macro_ap",
    "random_macro_ap",
    "stage1_holdout_macro_ap",
)


@contextlib.contextmanager
def _training_lock(store: RunStore) -> Iterator[None]:
    """One ``swingml train`` per run directory at a time; a second one is refused at once."""
    path = store.dataset("train_lock")
    busy = StageFailedError(
        f"another `swingml train` is training in {store.root} (it holds {path}); this "
        "one did nothing. Wait for it to finish, then re-run to register what is missing"
    )
    with exclusive_lock(path, busy):
        yield


def run(ctx: StageContext) -> StageOutcome:
    """``swingml train``: train, score and register the champions of every main variant."""
    with _training_lock(ctx.store):
        return _run(ctx)


def _run(ctx: StageContext) -> StageOutcome:
    config, store = ctx.config, ctx.store
    inputs = load_inputs(config, store)
    chosen = read_best_params(store)
    registry = open_registry(config, store, create=True)  # once, before any worker starts
    plan = _plan(config)
    config_hash = config.slice_hash("training", "tuning", "split", "targets", "run")
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
        )
        key = task_key(
            train_task,
            TASK_VERSION,
            variant.id,
            json.dumps(params, sort_keys=True),
            inputs.fingerprint,
            config_hash,
        )
        tasks.append(Task(key, train_task, args, label=main_id))
    results = make_executor(config, store, ctx.console).run("train", tasks)
    check_failures(results, config, "train")
    done = [r.value for r in results if r.ok]
    fingerprint = _fingerprint(store, inputs)
    cards: list[ModelCard] = []
    for item in done:
        text = str(item["model"])
        write_bytes_atomic(store.dataset("model", main_id=item["main_id"]), text.encode())
        booster = lgb.Booster(model_str=text)
        metrics = {k: float(item[k]) for k in METRIC_COLUMNS}
        metrics["holdout_rows"] = float(item["holdout_rows"])
        cards.append(
            ModelCard(
                name=model_name(
                    str(item["main_id"]), config.data.interval, config.registry.model_prefix
                ),
                booster=booster,
                variant_id=str(item["variant_id"]),
                params=json.loads(str(item["params"])),
                features=inputs.features,
                data_fingerprint=fingerprint,
                metrics=metrics,
                input_example=pd.DataFrame(item["example"], columns=list(inputs.features)),
                interval=config.data.interval,
            )
        )
    table = pd.DataFrame(
        [{k: v for k, v in d.items() if k not in ("model", "example")} for d in done]
    )
    start = time.perf_counter()
    versions = registry.register(cards)
    register_s = time.perf_counter() - start
    if len(table):
        by_name = {v.name: v for v in versions}
        names = [
            model_name(m, config.data.interval, config.registry.model_prefix)
            for m in table["main_id"]
        ]
        table["model"] = names
        table["version"] = [by_name[m].version for m in names]
        table["champion"] = [by_name[m].champion for m in names]
    write_parquet_atomic(store.dataset("holdout"), table)
    beats = int((table["holdout_macro_ap"] > table["prior_macro_ap"]).sum()) if len(table) else 0
    skill = int((table["holdout_macro_ap"] > table["random_macro_ap"]).sum()) if len(table) else 0
    details: dict[str, Any] = {
        "models": len(done),
        "registered": len(versions),
        "champions": sum(v.champion for v in versions),
        "beats_prior": beats,
        "beats_random": skill,
        "holdout_macro_ap_mean": float(table["holdout_macro_ap"].mean()) if len(table) else None,
        "prior_macro_ap_mean": float(table["prior_macro_ap"].mean()) if len(table) else None,
        "random_macro_ap_mean": float(table["random_macro_ap"].mean()) if len(table) else None,
        "stage1_holdout_macro_ap_mean": (
            float(table["stage1_holdout_macro_ap"].mean()) if len(table) else None
        ),
        "register_s": round(register_s, 3),
        "tracking_uri": registry.tracking_uri,
        "data_fingerprint": fingerprint,
    }
    details = {k: _finite(v) for k, v in details.items()}
    ctx.console.print(
        f"registered {len(versions)} model version(s); {beats}/{len(done)} beat the class prior, "
        f"{skill}/{len(done)} the expected AP of a random ranking"
    )
    return StageOutcome(tasks=len(tasks), failed_tasks=len(tasks) - len(done), details=details)
