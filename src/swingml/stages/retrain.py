"""Stage glue of ``swingml retrain``: champions refit on newer candles, promoted through a gate.

Bars of ``data.dir`` after the stored candles are taken (as ``predict batch`` takes them), features
and targets brought up to date. Each champion whose variant has events resolved since its data
end gets a challenger: the same features, parameters and rounds refit on every labelled event to
the last closed bar (``production.refit_all``), registered as a new version that records what it
saw and the gate's decision (``training.gate``); the ``champion`` alias moves only when the gate
passes (or ``--force``). A re-run registers nothing twice (same model on the same data is the
same version) and finishes what a killed run left: a version is registered before its alias
moves, so each model is served by its old champion or wholly by the new one.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from swingml.errors import BadInputError
from swingml.modeling.space import ParamValue
from swingml.orchestration import Task, check_failures, make_executor
from swingml.orchestration.tasks import task_key
from swingml.registry.mlflow_registry import CHAMPION, DATA_TAGS, ModelCard, model_name
from swingml.targets.grid import Variant
from swingml.training.gate import GateDecision, decide, gate_rows
from swingml.training.model import booster_from_text, predict
from swingml.training.production import TrainPlan, production_plan, refit_all
from swingml.tuning.stages import spec
from swingml.workflow.loading import load_events, load_inputs, read_best_params
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.serving import open_registry, refresh_derived, take_new_history

TASK_VERSION = "retrain-1"
"""Part of every task key here: bump it when a task's output changes meaning for the same inputs."""


def retrain_task(
    root: str,
    variant_id: str,
    features: tuple[str, ...],
    cutoff: pd.Timestamp,
    horizon: int,
    params: dict[str, ParamValue],
    plan: TrainPlan,
    rounds: int,
    champion: str,
    since: str,
    gate_fraction: float,
) -> dict[str, Any]:
    """The challenger refit on everything, and the gate's evidence (in a worker).

    ``champion`` is the champion's model text, ``since`` its last training event: events after
    it are new. The newest ``gate_fraction`` of them are the gate events; the challenger's recipe
    is refit once more without them, and both that copy and the champion score them.
    """
    events = load_events(root, Variant.from_id(variant_id), features, cutoff, horizon)
    labelled = events.y >= 0
    when = events.stamps[events.bars]
    new = np.flatnonzero(labelled & np.asarray(when > pd.Timestamp(since)))
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
        "last_event": str(when[labelled].max()),
        "y": events.y[held],
        "champion_proba": predict(old, X, old.current_iteration()),
        "challenger_proba": predict(copy.booster, X, copy.best_iteration),
        "example": events.X[labelled][-3:],
    }


def _walkforward_record(store: Any, every: str) -> dict[str, tuple[float, float]]:
    """Per model: (walk-forward AP refit every ``every``, AP never refit), if the run has one."""
    path = store.dataset("walkforward_scores")
    if not path.is_file():
        return {}
    scores = pd.read_parquet(path).pivot(index="main_id", columns="cadence", values="macro_ap")
    if every not in scores or "never" not in scores:
        return {}
    return {str(m): (float(r[every]), float(r["never"])) for m, r in scores.iterrows()}


def run(ctx: StageContext, force: bool = False) -> StageOutcome:
    """``swingml retrain``: refit each champion on newer data; the gate decides who serves."""
    config, store = ctx.config, ctx.store
    taken = take_new_history(ctx, "retrain")
    refresh_derived(ctx, "retrain")
    inputs = load_inputs(config, store)
    chosen = read_best_params(store)
    holdout = pd.read_parquet(store.dataset("holdout")).set_index("main_id")
    best_iteration = holdout["best_iteration"].to_dict()
    recipe = config.slice_hash("training", "retrain", "run")
    registry = open_registry(config, store)
    plan = production_plan(config, spec(1).early_stopping)
    section = config.retrain
    tasks, champions = [], {}
    for main_id, entry in chosen.items():
        name = model_name(main_id, config.data.interval, config.registry.model_prefix)
        current = registry.load_champion(name)
        if current is None or main_id not in best_iteration:
            continue
        version, tags, booster = current
        since = tags.get("trained_last_event") or str(inputs.cutoff)
        champions[main_id] = (name, version, tags)
        variant = Variant.from_id(str(entry["variant_id"]))
        params = dict(entry.get("params") or {})
        rounds = int(best_iteration[main_id])
        args: tuple[Any, ...] = (inputs.root, variant.id, inputs.features, inputs.cutoff)
        args += (variant.horizon(config.targets), params, plan, rounds)
        args += (booster.model_to_string(), since, section.gate_fraction)
        parts = (variant.id, version, since, inputs.fingerprint, json.dumps(params, sort_keys=True))
        key = task_key(retrain_task, TASK_VERSION, *parts, recipe)
        tasks.append(Task(key, retrain_task, args, label=main_id))
    results = make_executor(config, store, ctx.console).run("retrain", tasks)
    check_failures(results, config, "retrain")
    done = {r.label: r.value for r in results if r.ok and r.value.get("new_events")}
    if not done:
        ctx.console.print(
            "retrain: nothing to retrain (no event resolved since the champions' data)"
        )
        details = {"new_bars": taken, "retrained": 0, "promoted": 0}
        return StageOutcome(tasks=len(tasks), failed_tasks=0, details=details)
    record = _walkforward_record(store, section.every)
    outcomes: dict[str, dict[str, Any]] = {}
    for main_id, item in done.items():
        name, old_version, tags = champions[main_id]
        y, champion_p = np.asarray(item["y"]), np.asarray(item["champion_proba"])
        challenger_p = np.asarray(item["challenger_proba"])
        ruling = decide(y, champion_p, challenger_p, section.margin, section.min_gate_events,
                        record.get(main_id))  # fmt: skip
        if force:
            forced = f"forced (--force); the gate said: {ruling.reason}"
            ruling = GateDecision(True, forced, ruling.figures)
        card = _challenger_card(item, name, tags, old_version, ruling, inputs.features)
        new_version = registry.register([card])[0].version
        if ruling.promote and new_version != old_version:
            registry.promote(name, new_version, CHAMPION, ruling.reason, move="retrain")
        outcomes[main_id] = {"model": name, "champion_was": old_version, "version": new_version}
        outcomes[main_id].update(promoted=ruling.promote, reason=ruling.reason, **ruling.figures)
        verdict = "promoted" if ruling.promote else "kept the champion"
        ctx.console.print(f"retrain {name}: v{new_version} {verdict}: {ruling.reason}")
    promoted = sum(o["promoted"] for o in outcomes.values())
    ctx.console.print(f"retrain: {len(outcomes)} challenger(s), {promoted} promoted")
    details = {"new_bars": taken, "retrained": len(outcomes), "promoted": promoted}
    details["models"] = outcomes
    failed = sum(not r.ok for r in results)
    return StageOutcome(tasks=len(tasks), failed_tasks=failed, details=details)


def _challenger_card(
    item: dict[str, Any],
    name: str,
    champion_tags: dict[str, str],
    champion_version: str,
    ruling: GateDecision,
    features: tuple[str, ...],
) -> ModelCard:
    """The challenger's registry card: the champion's recipe and scores, what it saw, the gate."""
    metrics = {k: float(v) for k, v in champion_tags.items() if _is_metric(k, v)}
    metrics.update(ruling.figures)
    saw = {
        "data_role": "served",
        "trained_through": item["last_event"],
        "trained_last_event": item["last_event"],
        "trained_rows": str(item["rows"]),
        "evaluated_version": champion_tags.get("evaluated_version", champion_version),
        "gate_decision": "promoted" if ruling.promote else "refused",
        "gate_reason": ruling.reason,
        "retrained_from": champion_version,
    }
    return ModelCard(
        name=name,
        booster=booster_from_text(str(item["model"])),
        variant_id=champion_tags["variant_id"],
        params=json.loads(champion_tags.get("params", "{}")),
        features=features,
        data_fingerprint=champion_tags.get("data_fingerprint", ""),
        metrics=metrics,
        input_example=pd.DataFrame(item["example"], columns=list(features)),
        interval=champion_tags.get("interval", ""),
        tags={k: v for k, v in saw.items() if k in DATA_TAGS or k == "retrained_from"},
        serve=False,
    )


def _is_metric(key: str, value: str) -> bool:
    if not key.startswith(("holdout_", "prior_", "random_", "stage1_")):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


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
