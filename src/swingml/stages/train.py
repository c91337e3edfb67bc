"""Stage glue of ``swingml train``: production models, hold-out scores, registration (SPEC §8).

Each main variant trains in a worker with its best tuned parameters on all development data (the
last ``training.validation_fraction`` validates, purged, for early stopping) and is scored on the
hold-out against the class-prior baseline and its stage-1 model: that is the *evaluated* model.
The worker then refits the same recipe on every labelled event to the last closed bar, for the
evaluated model's best iteration: the *served* model. The parent writes
``training/models/<main_id>.txt`` (evaluated), ``training/holdout.parquet`` and the evaluated
model's hold-out predictions, and registers both in MLflow: the evaluated version for the record,
the served version (tagged with the evaluated version and its scores) under the champion rule.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.errors import StageFailedError
from swingml.inference.store import PROBA
from swingml.io.store import RunStore, exclusive_lock, write_bytes_atomic, write_parquet_atomic
from swingml.modeling.space import ParamValue
from swingml.orchestration import Task, check_failures, make_executor
from swingml.orchestration.tasks import task_key
from swingml.registry.mlflow_registry import ModelCard, model_name
from swingml.targets.grid import Variant
from swingml.training.model import booster_from_text, predict
from swingml.training.production import TrainPlan, production_plan, refit_all, train_and_score
from swingml.tuning.stages import spec
from swingml.tuning.tasks import TASK_VERSION
from swingml.workflow.loading import Inputs, load_events, load_inputs, read_best_params
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.serving import open_registry

EXAMPLE_ROWS = 3
BULKY: tuple[str, ...] = ("model", "served_model", "example", "holdout_timestamps")
BULKY += ("holdout_labels", "holdout_proba")
"""Task result keys that go to the model files, the registry and the hold-out predictions, not
to the hold-out table."""
REFIT_VERSION = "served-refit-1"
"""Part of the task key: the task also refits the served model since this version."""


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
    """Load one variant's rows, train and score its evaluated model, refit the served one."""
    start = time.perf_counter()
    events = load_events(root, Variant.from_id(variant_id), features, cutoff, horizon)
    dev = events.rows(events.dev)
    X_hold, y_hold = events.X[events.holdout], events.y[events.holdout]
    labelled = events.y >= 0
    try:
        result = train_and_score(dev, X_hold, y_hold, params, plan)
        served = refit_all(events.rows(labelled), params, plan, result.best_iteration)
    except ValueError as exc:
        raise ValueError(f"{variant_id}: {exc}") from None
    example = X_hold[:EXAMPLE_ROWS] if len(y_hold) else dev.X[:EXAMPLE_ROWS]
    last_label = events.stamps[np.minimum(events.bars[labelled] + horizon, len(events.stamps) - 1)]
    return {
        "main_id": main_id,
        "variant_id": variant_id,
        "model": result.booster.model_to_string(num_iteration=result.best_iteration),
        "served_model": served.booster.model_to_string(),
        "served_rows": served.train_rows,
        "served_through": str(last_label.max()) if len(last_label) else str(cutoff),
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


def _card(
    item: dict[str, Any], served: str | None, config: Config, inputs: Inputs, fingerprint: str
) -> ModelCard:
    """The registry card of a task's evaluated model (``served`` None), or of its served model
    refit on all data, which records ``served`` (its evaluated version) and that one's scores."""
    metrics = {k: float(item[k]) for k in METRIC_COLUMNS}
    metrics["holdout_rows"] = float(item["holdout_rows"])
    if served is None:
        text, saw = str(item["model"]), {"data_role": "evaluated"}
        saw.update(trained_rows=item["train_rows"], trained_through=str(inputs.cutoff))
        saw["trained_last_event"] = item["dev_last_event"]
    else:
        text, saw = str(item["served_model"]), {"data_role": "served", "evaluated_version": served}
        saw.update(trained_rows=item["served_rows"], trained_through=item["served_through"])
        saw["trained_last_event"] = item["served_last_event"]
    return ModelCard(
        name=model_name(str(item["main_id"]), config.data.interval, config.registry.model_prefix),
        booster=booster_from_text(text),
        variant_id=str(item["variant_id"]),
        params=json.loads(str(item["params"])),
        features=inputs.features,
        data_fingerprint=fingerprint,
        metrics=metrics,
        input_example=pd.DataFrame(item["example"], columns=list(inputs.features)),
        interval=config.data.interval,
        tags={k: str(v) for k, v in saw.items()},
        serve=served is not None,
    )


def _last(stamps: pd.DatetimeIndex) -> str:
    return str(stamps.max()) if len(stamps) else ""


def _holdout_predictions(done: list[dict[str, Any]]) -> pd.DataFrame:
    """The evaluated models' hold-out predictions: what the report's intervals are read from."""
    frames = [
        pd.DataFrame(
            {
                "main_id": item["main_id"],
                "timestamp": pd.to_datetime(np.asarray(item["holdout_timestamps"]), utc=True),
                "label": np.asarray(item["holdout_labels"], dtype=np.int8),
                **{p: np.asarray(item["holdout_proba"])[:, c] for c, p in enumerate(PROBA)},
            }
        )
        for item in done
    ]
    columns = ["main_id", "timestamp", "label", *PROBA]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


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
            REFIT_VERSION,
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
    for item in done:
        text = str(item["model"]).encode()
        write_bytes_atomic(store.dataset("model", main_id=item["main_id"]), text)
    write_parquet_atomic(store.dataset("holdout_predictions"), _holdout_predictions(done))
    card = functools.partial(_card, config=config, inputs=inputs, fingerprint=fingerprint)
    table = pd.DataFrame([{k: v for k, v in d.items() if k not in BULKY} for d in done])
    start = time.perf_counter()
    evaluated = registry.register([card(item, served=None) for item in done])
    pairs = zip(done, evaluated, strict=True)
    versions = registry.register([card(i, served=v.version) for i, v in pairs])
    register_s = time.perf_counter() - start
    if len(table):
        by_name = {v.name: v for v in versions}
        names = [
            model_name(m, config.data.interval, config.registry.model_prefix)
            for m in table["main_id"]
        ]
        table["model"] = names
        table["version"] = [by_name[m].version for m in names]
        table["evaluated_version"] = [v.version for v in evaluated]
        table["champion"] = [by_name[m].champion for m in names]
    write_parquet_atomic(store.dataset("holdout"), table)
    beats = int((table["holdout_macro_ap"] > table["prior_macro_ap"]).sum()) if len(table) else 0
    skill = int((table["holdout_macro_ap"] > table["random_macro_ap"]).sum()) if len(table) else 0
    details: dict[str, Any] = {
        "models": len(done),
        "registered": len(versions),
        "evaluated_versions": len(evaluated),
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
        f"registered {len(versions)} served model(s), refit on all data, and the "
        f"{len(evaluated)} evaluated one(s); {beats}/{len(done)} beat the class prior, "
        f"{skill}/{len(done)} the expected AP of a random ranking"
    )
    return StageOutcome(tasks=len(tasks), failed_tasks=len(tasks) - len(done), details=details)
