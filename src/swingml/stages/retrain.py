"""Stage glue of ``swingml retrain``: champions refit on newer candles, promoted through a gate.

Bars of ``data.dir`` after the stored candles are taken (as ``predict batch`` takes them), features
and targets brought up to date. Each champion whose variant has events resolved since its data
end gets a challenger (``training.tasks.retrain_task``): the same features, parameters and rounds
refit on every labelled event to the last closed bar (``production.refit_all``), registered as a
new version that records what it saw and the gate's decision (``training.gate``); the
``champion`` alias moves only when the gate passes (or ``--force``). A re-run registers nothing
twice (same model on the same data is the same version) and finishes what a killed run left: a
version is registered before its alias moves, so each model is served by its old champion or
wholly by the new one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from swingml.errors import BadInputError
from swingml.io.store import RunStore
from swingml.orchestration import Task, TaskResult
from swingml.registry.mlflow_registry import CHAMPION, MlflowRegistry, model_name
from swingml.training.cards import challenger_card
from swingml.training.gate import decide, forced
from swingml.training.tasks import retrain_task
from swingml.workflow.loading import production_models
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.runner import Plan, Stage
from swingml.workflow.serving import open_registry, refresh_derived, take_new_history

TASK_VERSION = "retrain-1"
"""Part of every task key here: bump it when a task's output changes meaning for the same inputs."""


@dataclass(frozen=True)
class _Planned:
    taken: dict[str, int]
    features: tuple[str, ...]
    registry: MlflowRegistry
    champions: dict[str, tuple[str, str, dict[str, str]]]
    """Per main id: the registered name, the champion's version and its tags."""


def _plan(ctx: StageContext, key: str | None) -> Plan[_Planned]:
    """Take new bars, refresh features and targets, then one task per champion to refit."""
    config, store = ctx.config, ctx.store
    taken = take_new_history(ctx, "retrain")
    refresh_derived(ctx, "retrain")
    models = production_models(config, store)
    holdout = store.load("holdout").set_index("main_id")
    best_iteration = holdout["best_iteration"].to_dict()
    recipe_hash = config.slice_hash("training", "retrain", "run")
    registry = open_registry(config, store)
    gate = config.retrain.gate_fraction
    tasks, champions = [], {}
    for recipe in models.recipes:
        name = model_name(recipe.main_id, config.data.interval, config.registry.model_prefix)
        current = registry.load_champion(name)
        if current is None or recipe.main_id not in best_iteration:
            continue
        version, tags, booster = current
        since = tags.get("trained_last_event") or str(models.inputs.cutoff)
        champions[recipe.main_id] = (name, version, tags)
        rounds = int(best_iteration[recipe.main_id])
        args = (models.job(recipe), rounds, booster.model_to_string(), since, gate)
        task = models.task_key(retrain_task, recipe, TASK_VERSION, version, since, recipe_hash)
        tasks.append(Task(task, retrain_task, args, label=recipe.main_id))
    return Plan(_Planned(taken, models.inputs.features, registry, champions), tasks)


def _finish(
    ctx: StageContext, planned: _Planned, results: list[TaskResult], force: bool
) -> dict[str, Any]:
    """Judge each challenger through the gate, register it, move the alias where it passed."""
    done = {r.label: r.value for r in results if r.ok and r.value.get("new_events")}
    if not done:
        ctx.console.print(
            "retrain: nothing to retrain (no event resolved since the champions' data)"
        )
        return {"new_bars": planned.taken, "retrained": 0, "promoted": 0}
    record = _walkforward_record(ctx.store, ctx.config.retrain.every)
    outcomes = {
        main_id: _judge(ctx, planned, main_id, item, record.get(main_id), force)
        for main_id, item in done.items()
    }
    promoted = sum(o["promoted"] for o in outcomes.values())
    ctx.console.print(f"retrain: {len(outcomes)} challenger(s), {promoted} promoted")
    details: dict[str, Any] = {"new_bars": planned.taken, "retrained": len(outcomes)}
    details.update(promoted=promoted, models=outcomes)
    return details


def _judge(
    ctx: StageContext,
    planned: _Planned,
    main_id: str,
    item: dict[str, Any],
    walkforward: tuple[float, float] | None,
    force: bool,
) -> dict[str, Any]:
    """One challenger: the gate's ruling, its registered version, the alias moved if it passed."""
    section, registry = ctx.config.retrain, planned.registry
    name, old_version, tags = planned.champions[main_id]
    y, champion_p = np.asarray(item["y"]), np.asarray(item["champion_proba"])
    challenger_p = np.asarray(item["challenger_proba"])
    ruling = decide(y, champion_p, challenger_p, section.margin, section.min_gate_events,
                    walkforward)  # fmt: skip
    if force:
        ruling = forced(ruling)
    card = challenger_card(item, name, tags, old_version, ruling, planned.features)
    new_version = registry.register([card])[0].version
    if ruling.promote and new_version != old_version:
        registry.promote(name, new_version, CHAMPION, ruling.reason, move="retrain")
    outcome: dict[str, Any] = {"model": name, "champion_was": old_version, "version": new_version}
    outcome.update(promoted=ruling.promote, reason=ruling.reason, **ruling.figures)
    verdict = "promoted" if ruling.promote else "kept the champion"
    ctx.console.print(f"retrain {name}: v{new_version} {verdict}: {ruling.reason}")
    return outcome


def _walkforward_record(store: RunStore, every: str) -> dict[str, tuple[float, float]]:
    """Per model: (walk-forward AP refit every ``every``, AP never refit), if the run has one."""
    path = store.dataset("walkforward_scores")
    if not path.is_file():
        return {}
    scores = pd.read_parquet(path).pivot(index="main_id", columns="cadence", values="macro_ap")
    if every not in scores or "never" not in scores:
        return {}
    return {str(m): (float(r[every]), float(r["never"])) for m, r in scores.iterrows()}


def stage(force: bool = False) -> Stage[_Planned]:
    """The retrain stage; ``force`` promotes every challenger whatever the gate says."""
    return Stage("retrain", plan=_plan, finish=functools.partial(_finish, force=force))


STAGE = stage()


def run(ctx: StageContext, force: bool = False) -> StageOutcome:
    """``swingml retrain``: refit each champion on newer data; the gate decides who serves."""
    return stage(force)(ctx)


def check_same_recipe(recorded: dict[str, Any], current: dict[str, Any]) -> None:
    """Exit 2 naming the first key that differs from the run's recorded config among those that
    make the models: a retrain refits the run's recipe on newer data, nothing else."""
    for section in RECIPE:
        mine, theirs = current.get(section, {}), recorded.get(section, {})
        for key in sorted(set(mine) | set(theirs)):
            if section == "data" and key not in ("symbols", "interval"):
                continue
            if mine.get(key) != theirs.get(key):
                raise BadInputError(
                    f"{section}.{key}",
                    f"is {mine.get(key)!r} here but the run was built with {theirs.get(key)!r}",
                    "retrain with the run's own config (drop the override), or build a new run",
                )


RECIPE = ("data", "features", "targets", "grid", "split", "prep", "selection", "tuning", "training")
"""Config sections that make the models (of ``data``, only symbols and interval)."""
