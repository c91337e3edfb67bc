"""Stage glue of ``swingml train``: production models, hold-out scores, registration (SPEC §8).

Each main variant trains in a worker (``training.tasks.train_task``) with its best tuned
parameters on all development data (the last ``training.validation_fraction`` validates, purged,
for early stopping) and is scored on the hold-out against the class-prior baseline and its
stage-1 model: that is the *evaluated* model. The worker then refits the same recipe on every
labelled event to the last closed bar, for the evaluated model's best iteration: the *served*
model. The parent writes ``training/models/<main_id>.txt`` (evaluated), ``training/holdout.parquet``
and the evaluated model's hold-out predictions, and registers both in MLflow: the evaluated
version for the record, the served version (tagged with the evaluated version and its scores)
under the champion rule.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from swingml.errors import StageFailedError
from swingml.inference.store import PROBA
from swingml.io.store import RunStore, exclusive_lock
from swingml.orchestration import Task, TaskResult
from swingml.registry.mlflow_registry import (
    MlflowRegistry,
    ModelCard,
    RegisteredVersion,
    model_name,
)
from swingml.training.cards import train_card
from swingml.training.holdout import finite, holdout_predictions, score_summary, score_table
from swingml.training.tasks import train_task
from swingml.tuning.tasks import TASK_VERSION
from swingml.workflow.loading import ProductionModels, production_models
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.runner import Plan, Stage
from swingml.workflow.serving import open_registry

REFIT_VERSION = "served-refit-1"
"""Part of the task key: the task also refits the served model since this version."""


@dataclass(frozen=True)
class _Planned:
    models: ProductionModels
    registry: MlflowRegistry


def _plan(ctx: StageContext, key: str | None) -> Plan[_Planned]:
    """One task per main variant; the registry is opened (created) before any worker starts."""
    config = ctx.config
    models = production_models(config, ctx.store)
    registry = open_registry(config, ctx.store, create=True)  # once, before any worker starts
    config_hash = config.slice_hash("training", "tuning", "split", "targets", "run")
    tasks = [
        Task(
            models.task_key(train_task, recipe, TASK_VERSION, REFIT_VERSION, config_hash),
            train_task,
            (models.job(recipe),),
            label=recipe.main_id,
        )
        for recipe in models.recipes
    ]
    return Plan(_Planned(models, registry), tasks)


def _finish(ctx: StageContext, planned: _Planned, results: list[TaskResult]) -> dict[str, Any]:
    """Write the models and hold-out predictions, register both versions, write the table."""
    config, store, registry = ctx.config, ctx.store, planned.registry
    done = [r.value for r in results if r.ok]
    fingerprint = _fingerprint(store, planned.models)
    for item in done:
        store.save("model", str(item["model"]), main_id=item["main_id"])
    store.save("holdout_predictions", holdout_predictions(done, PROBA))
    card = functools.partial(
        train_card,
        features=planned.models.inputs.features,
        cutoff=planned.models.inputs.cutoff,
        fingerprint=fingerprint,
        interval=config.data.interval,
    )
    names = [_name(ctx, item) for item in done]
    table = score_table(done)
    start = time.perf_counter()
    evaluated, versions = _register(registry, card, done, names)
    register_s = time.perf_counter() - start
    _add_versions(table, names, evaluated, versions)
    store.save("holdout", table)
    details: dict[str, Any] = {
        "models": len(done),
        "registered": len(versions),
        "evaluated_versions": len(evaluated),
        "champions": sum(v.champion for v in versions),
        **score_summary(table),
        "register_s": round(register_s, 3),
        "tracking_uri": registry.tracking_uri,
        "data_fingerprint": fingerprint,
    }
    ctx.console.print(
        f"registered {len(versions)} served model(s), refit on all data, and the "
        f"{len(evaluated)} evaluated one(s); {details['beats_prior']}/{len(done)} beat the class "
        f"prior, {details['beats_random']}/{len(done)} the expected AP of a random ranking"
    )
    return {k: finite(v) for k, v in details.items()}


STAGE = Stage("train", plan=_plan, finish=_finish)
"""Train, score and register the champions of every main variant (run it through ``run``)."""


def run(ctx: StageContext) -> StageOutcome:
    """``swingml train``: train, score and register the champions of every main variant."""
    with _training_lock(ctx.store):
        return STAGE(ctx)


def _name(ctx: StageContext, item: dict[str, Any]) -> str:
    """The registered name of a task result's model."""
    registry = ctx.config.registry
    return model_name(str(item["main_id"]), ctx.config.data.interval, registry.model_prefix)


def _register(
    registry: MlflowRegistry,
    card: Callable[..., ModelCard],
    done: list[dict[str, Any]],
    names: list[str],
) -> tuple[list[RegisteredVersion], list[RegisteredVersion]]:
    """Register the evaluated models, then the served ones, each naming its evaluated version."""
    evaluated = registry.register([card(i, None, name=n) for i, n in zip(done, names, strict=True)])
    pairs = zip(done, names, evaluated, strict=True)
    return evaluated, registry.register([card(i, v.version, name=n) for i, n, v in pairs])


def _add_versions(
    table: pd.DataFrame,
    names: list[str],
    evaluated: list[RegisteredVersion],
    versions: list[RegisteredVersion],
) -> None:
    """The hold-out table's registry columns: model name, served version, evaluated version, and
    whether the served version is now the champion (one row per task result, as ``names``)."""
    if not len(table):
        return
    by_name = {v.name: v for v in versions}
    table["model"] = names
    table["version"] = [by_name[m].version for m in names]
    table["evaluated_version"] = [v.version for v in evaluated]
    table["champion"] = [by_name[m].champion for m in names]


def _fingerprint(store: RunStore, models: ProductionModels) -> str:
    """The data fingerprint of the run (manifest), or of the tuning inputs when it has none."""
    manifest = store.read_manifest()
    if manifest.get("fingerprints") and manifest.get("input_fingerprint"):
        return str(manifest["input_fingerprint"])
    return models.inputs.fingerprint


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
