"""Stage glue of ``swingml tune``: the four budgeted tuning stages (SPEC §7-§8) on the run store.

The parent reads the selected features, the hold-out cutoff and the budget ledger, hands one task
per main variant (stage 1) or per study (stages 2-4) to the executor, and writes each stage's
results under ``tuning/``. Tasks load their own rows (paths in, small results out); the pure work
is in ``swingml.tuning``. Files written:

- ``tuning/stage1/leaderboard.parquet`` (every variant), ``tuning/stage1/best.parquet`` (36)
- ``tuning/stage<N>/results.parquet`` (N = 2..4: one row per study)
- ``tuning/studies/stage<N>/<model>-<key>.log`` (Optuna journals, resumable)
- ``tuning/folds/<main_id>.json`` (the rolling CV folds of stage 3)
- ``tuning/budget.json`` (the ledger), ``tuning/trials.json`` (what each task ran, replayed by a
  re-run) and ``tuning/best_params.json`` (what training uses)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.loading import Inputs, load_events, load_inputs
from swingml.modeling.cv import folds_report
from swingml.modeling.rows import VariantRows
from swingml.modeling.space import ParamValue, snap
from swingml.orchestration import Task, TaskResult, make_executor
from swingml.orchestration.tasks import task_key
from swingml.pipeline import StageContext, StageOutcome
from swingml.store import (
    RunStore,
    read_json,
    write_json_atomic,
    write_parquet_atomic,
)
from swingml.targets.grid import Variant, main_variants, variants
from swingml.training.model import TrainSettings
from swingml.tuning import budget
from swingml.tuning.driver import (
    CvPlan,
    StudyPlan,
    StudyResult,
    make_folds,
    run_study,
    screen_all,
)
from swingml.tuning.stages import (
    StageSpec,
    best_per_main,
    spec,
    top_models,
    window_representatives,
)

TASK_VERSION = "tune-5"
"""Part of every task key here: bump it when a task's output changes meaning for the same inputs."""
STARTUP_S = 4.0
"""Wall time a stage loses to starting its workers, kept out of the studies' time limits."""


# ---- task functions (run in workers) -----------------------------------------------------------


def screen_task(
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
    """Stage 1 for one main variant: every variant with default parameters, in its time share
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
        events = [load_events(root, v, features, cutoff, horizon) for v in group]
        mask = np.logical_and.reduce([e.dev for e in events])
        labels = {v.id: e.y[mask] for v, e in zip(group, events, strict=True)}
        event_sets.append((events[0].rows(mask), labels))
    rows = screen_all(event_sets, {}, cv, settings, min_rows, stop, max_variants)
    return {"rows": [r.__dict__ for r in rows], "wall_s": time.perf_counter() - began}


def study_task(
    root: str,
    variant_id: str,
    features: tuple[str, ...],
    cutoff: pd.Timestamp,
    horizon: int,
    plan: StudyPlan,
    deadline: float,
) -> StudyResult:
    """Stages 2-4: one study of one model, within its trial count or time limit and deadline."""
    began = time.perf_counter()
    events = load_events(root, Variant.from_id(variant_id), features, cutoff, horizon)
    rows = events.rows(events.dev)
    limit = max(min(plan.time_limit_s, deadline - time.time()), 0.0)
    result = run_study(replace(plan, time_limit_s=limit), rows)
    folds = make_folds(rows.bars, horizon, plan.cv)
    report = folds_report(folds, rows.bars, pd.Series(events.stamps)) if folds else []
    extra = {"folds": report, "horizon": horizon, "wall_s": time.perf_counter() - began}
    return replace(result, extra=extra)


# ---- the stages (parent side) ------------------------------------------------------------------


@dataclass(frozen=True)
class StageReport:
    """What one stage did, for the ledger and ``summary.json``."""

    tasks: int
    failed: int
    trials: int
    best_score: float
    models: int
    reused_tasks: int = 0
    reused_s: float = 0.0
    """Recorded wall of the reused tasks, spread over the workers: what they cost when they ran."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """What each task ran (trials, or variants screened), by model: replayed by a re-run."""


@dataclass(frozen=True)
class Grant:
    """What a stage may spend: ``limit`` seconds or trials, and the counts to replay."""

    unit: str
    limit: float
    replay: Mapping[str, int]

    @property
    def trials(self) -> bool:
        """Whether the budget is counted in trials (else wall seconds)."""
        return self.unit == "trials"


def _workers(config: Config) -> int:
    return config.executor.max_concurrent_processes or os.cpu_count() or 1


def _settings(config: Config, stage: StageSpec) -> TrainSettings:
    return TrainSettings(
        num_rounds=config.tuning.num_rounds,
        early_stopping=stage.early_stopping,
        seed=config.run.seed,
        threads=config.executor.threads_per_worker,
        max_bin=config.tuning.max_bin,
    )


def _cv(config: Config, stage: StageSpec) -> CvPlan:
    tuning = config.tuning
    return CvPlan(stage.cv, tuning.cv_folds, tuning.validation_fraction, tuning.max_train_rows)


def _config_hash(config: Config) -> str:
    return config.slice_hash("tuning", "split", "targets", "grid", "run")


def _failed(results: Sequence[TaskResult]) -> int:
    return sum(not r.ok for r in results)


def _reused(results: Sequence[TaskResult], wall: Callable[[Any], float], slots: int) -> float:
    """The recorded wall time of the reused tasks, as stage wall time on ``slots`` workers."""
    recorded = sum(wall(r.value) for r in results if r.ok and r.reused)
    return recorded / max(slots, 1)


def _read_frame(store: RunStore, name: str, hint: str, **keys: object) -> pd.DataFrame:
    path = store.dataset(name, **keys)
    if not path.is_file():
        raise BadInputError(str(path), "missing", hint)
    return pd.read_parquet(path)


def _grid_frame(config: Config) -> pd.DataFrame:
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
        for i, v in enumerate(variants(config))
    ]
    return pd.DataFrame(rows)


SLACK = 0.85
"""Share of a stage-1 slot's time the task slices add up to; the rest absorbs loading overhead."""
PER_VARIANT_COST = 50.0
"""Fixed cost of screening one variant, in events' worth of work (loading, binning, a model)."""


def _screen_weights(
    config: Config, store: RunStore, groups: Mapping[str, Sequence[Variant]]
) -> dict[str, float]:
    """Expected stage-1 work of each main variant: its variants' events plus a fixed cost each.

    Each task's time share is proportional to it, so large variants are not starved by small ones.
    """
    counts: dict[tuple[str, str, int, float, float], int] = {}
    for symbol in config.data.symbols:
        table = pd.read_parquet(store.targets_path(symbol), columns=["kind", "w", "s", "k"])
        sizes = table.groupby(["kind", "w", "s", "k"], observed=True).size().reset_index()
        for row in sizes.to_dict("records"):
            key = (symbol, str(row["kind"]), int(row["w"]), float(row["s"]), float(row["k"]))
            counts[key] = int(row[0])
    return {
        main_id: sum(
            counts.get((v.symbol, v.kind, v.w, v.s, v.k), 0) + PER_VARIANT_COST for v in group
        )
        for main_id, group in groups.items()
    }


def _screen_counts(
    grant: Grant, groups: Mapping[str, Sequence[Variant]], order: Sequence[str]
) -> dict[str, int | None]:
    """Per main variant, how many variants its stage-1 task screens (None: until its deadline).

    A replayed count wins; with a trials budget, the stage's trials are dealt to the tasks by
    their number of variants (largest first); in minutes, the clock decides.
    """
    counts: dict[str, int | None] = {m: grant.replay.get(m) for m in order}
    if grant.trials:
        dealt = budget.split_trials(int(grant.limit), [len(groups[m]) for m in order])
        for main_id, count in zip(order, dealt, strict=True):
            counts[main_id] = counts[main_id] if counts[main_id] is not None else count
    return counts


def _stage1(ctx: StageContext, inputs: Inputs, grant: Grant) -> StageReport:
    config, store = ctx.config, ctx.store
    stage = spec(1)
    usable = max(grant.limit - STARTUP_S, 0.0) if not grant.trials else 0.0
    deadline = time.time() + usable if not grant.trials else float("inf")
    cv, settings = _cv(config, stage), _settings(config, stage)
    groups = main_variants(config)
    weights = _screen_weights(config, store, groups)
    slots = min(_workers(config), len(groups))
    capacity = SLACK * usable * slots / max(sum(weights.values()), 1.0)
    # the largest first (longest-processing-time order packs the workers best)
    order = sorted(groups, key=lambda m: -weights[m])
    counts = _screen_counts(grant, groups, order)
    tasks: list[Task] = []
    for main_id in order:
        group = groups[main_id]
        ids = [v.id for v in group]
        horizon = group[0].horizon(config.targets)
        args = (
            inputs.root,
            ids,
            inputs.features,
            inputs.cutoff,
            horizon,
            cv,
            settings,
            config.tuning.min_train_rows,
            weights[main_id] * capacity if not grant.trials else float("inf"),
            deadline,
            counts[main_id],
        )
        # a replayed count repeats what the cached result did, so only a trials budget keys it
        count = counts[main_id] if grant.trials else None
        parts = (ids, count, inputs.fingerprint, _config_hash(config))
        key = task_key(screen_task, TASK_VERSION, *parts)
        tasks.append(Task(key, screen_task, args, label=main_id))
    results = make_executor(config, store, ctx.console).run("tune-stage1", tasks)
    rows = [row for r in results if r.ok for row in r.value["rows"]]
    scored = pd.DataFrame(
        rows,
        columns=[
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
        ],
    )
    board = _grid_frame(config).merge(scored, on="variant_id", how="inner")
    board = board.sort_values("order", kind="mergesort").reset_index(drop=True)
    write_parquet_atomic(store.dataset("tune_leaderboard"), board)
    best = best_per_main(board) if len(board) else board
    write_parquet_atomic(store.dataset("tune_best"), best)
    trained = int((board["wall_s"] > 0).sum()) if len(board) else 0
    top = float(board["score"].max()) if len(board) else float("nan")
    screened = {
        task.label: sum(row["wall_s"] > 0 for row in result.value["rows"])
        for task, result in zip(tasks, results, strict=True)
        if result.ok
    }
    return StageReport(
        len(tasks),
        _failed(results),
        trained,
        top,
        len(best),
        reused_tasks=sum(r.reused for r in results),
        reused_s=_reused(results, lambda value: float(value["wall_s"]), slots),
        counts=screened,
    )


def _study_tasks(
    config: Config,
    store: RunStore,
    inputs: Inputs,
    stage: StageSpec,
    models: pd.DataFrame,
    start: Mapping[str, Mapping[str, ParamValue]],
    grant: Grant,
) -> tuple[list[Task], float]:
    """One study task per row of ``models``; each gets an equal slice of the stage's wall time,
    or of its trials (never more than the stage's trial cap), or the count it ran before."""
    workers = min(_workers(config), max(len(models), 1))
    usable = max(grant.limit - STARTUP_S, 0.0) if not grant.trials else float("inf")
    per_study = usable * workers / max(len(models), 1)
    deadline = time.time() + usable
    ids = [str(m) for m in models["main_id"]] if len(models) else []
    cap = stage.max_trials(config.tuning)
    dealt = budget.split_trials(int(grant.limit), [cap] * len(ids)) if grant.trials else []
    n_trials: dict[str, int | None] = {m: grant.replay.get(m) for m in ids}
    for main_id, count in zip(ids, dealt, strict=False):
        n_trials[main_id] = n_trials[main_id] if n_trials[main_id] is not None else count
    tasks: list[Task] = []
    for row in models.to_dict("records"):
        main_id, variant_id = str(row["main_id"]), str(row["variant_id"])
        variant = Variant.from_id(variant_id)
        optimum = start.get(main_id)
        space = stage.search_space(optimum)
        key = task_key(
            study_task,
            TASK_VERSION,
            stage.number,
            variant_id,
            json.dumps(optimum, sort_keys=True),
            n_trials[main_id] if grant.trials else None,
            inputs.fingerprint,
            _config_hash(config),
        )
        plan = StudyPlan(
            stage=stage.number,
            model_id=main_id,
            variant_id=variant_id,
            space=space,
            cv=_cv(config, stage),
            settings=_settings(config, stage),
            max_trials=stage.max_trials(config.tuning),
            time_limit_s=per_study,
            journal=None if config.tuning.storage else _journal(store, stage, main_id, key),
            storage_url=config.tuning.storage,
            start_params=optimum,
            baseline=stage.baseline,
            study_name=f"stage{stage.number}-{main_id}-{key.rsplit('-', 1)[-1]}",
            n_trials=n_trials[main_id],
        )
        horizon = variant.horizon(config.targets)
        args = (inputs.root, variant_id, inputs.features, inputs.cutoff, horizon, plan, deadline)
        tasks.append(Task(key, study_task, args, label=main_id))
    return tasks, per_study


def _journal(store: RunStore, stage: StageSpec, main_id: str, key: str) -> Path:
    suffix = key.rsplit("-", 1)[-1]
    return store.dataset("tune_study", number=stage.number, study=f"{main_id}-{suffix}")


def _run_studies(
    ctx: StageContext,
    inputs: Inputs,
    stage: StageSpec,
    models: pd.DataFrame,
    start: Mapping[str, Mapping[str, ParamValue]],
    grant: Grant,
) -> tuple[pd.DataFrame, StageReport]:
    config, store = ctx.config, ctx.store
    tasks, _ = _study_tasks(config, store, inputs, stage, models, start, grant)
    results = make_executor(config, store, ctx.console).run(f"tune-stage{stage.number}", tasks)
    rows: list[dict[str, Any]] = []
    for model, result in zip(models.to_dict("records"), results, strict=True):
        if not result.ok:
            continue
        study: StudyResult = result.value
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
        if stage.cv == "rolling" and study.extra.get("folds"):
            write_json_atomic(
                store.dataset("tune_folds", main_id=study.model_id),
                {
                    "main_id": study.model_id,
                    "variant_id": study.variant_id,
                    "stage": stage.number,
                    "horizon_bars": study.extra.get("horizon"),
                    "folds": study.extra["folds"],
                },
            )
    frame = pd.DataFrame(
        rows,
        columns=[
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
        ],
    )
    write_parquet_atomic(store.dataset("tune_results", number=stage.number), frame)
    top = float(frame["score"].max()) if len(frame) else float("nan")
    trials = int(frame["trials"].sum()) if len(frame) else 0
    slots = min(_workers(config), max(len(tasks), 1))
    report = StageReport(
        len(tasks),
        _failed(results),
        trials,
        top,
        len(frame),
        reused_tasks=sum(r.reused for r in results),
        reused_s=_reused(results, lambda value: float(value.extra.get("wall_s", 0.0)), slots),
        counts={str(m): int(t) for m, t in zip(frame["main_id"], frame["trials"], strict=True)},
    )
    return frame, report


def _params_by(frame: pd.DataFrame, column: str) -> dict[Any, dict[str, ParamValue]]:
    out: dict[Any, dict[str, ParamValue]] = {}
    for row in frame.to_dict("records"):
        params = json.loads(str(row["params"]))
        if params and np.isfinite(float(row["score"])):
            out[row[column]] = params
    return out


def _stage1_best(store: RunStore) -> pd.DataFrame:
    return _read_frame(store, "tune_best", hint="run `swingml tune --stage 1` first")


def _stage2(ctx: StageContext, inputs: Inputs, grant: Grant) -> StageReport:
    reps = window_representatives(_stage1_best(ctx.store))
    return _run_studies(ctx, inputs, spec(2), reps, {}, grant)[1]


def _stage3(ctx: StageContext, inputs: Inputs, grant: Grant) -> StageReport:
    best = _stage1_best(ctx.store)
    stage2 = _read_frame(
        ctx.store, "tune_results", hint="run `swingml tune --stage 2` first", number=2
    )
    by_window = _params_by(stage2, "w")
    stage = spec(3)
    start = {
        str(row["main_id"]): snap(by_window[int(row["w"])], stage.search_space())
        for row in best.to_dict("records")
        if int(row["w"]) in by_window
    }
    return _run_studies(ctx, inputs, stage, best, start, grant)[1]


def _stage3_results(store: RunStore) -> pd.DataFrame:
    return _read_frame(store, "tune_results", hint="run `swingml tune --stage 3` first", number=3)


def _stage4(ctx: StageContext, inputs: Inputs, grant: Grant) -> StageReport:
    stage3 = _stage3_results(ctx.store)
    top = top_models(stage3, ctx.config.tuning.stage4_models)
    start = {str(k): v for k, v in _params_by(top, "main_id").items()}
    return _run_studies(ctx, inputs, spec(4), top, start, grant)[1]


RUNNERS: dict[int, Callable[[StageContext, Inputs, Grant], StageReport]] = {
    1: _stage1,
    2: _stage2,
    3: _stage3,
    4: _stage4,
}


# ---- best parameters, ledger, entry points -----------------------------------------------------


def best_params(store: RunStore) -> dict[str, dict[str, Any]]:
    """Per main variant: its stage-1 variant and the best parameters tuning found for it.

    The best rolling-CV trial of stage 3 or 4 wins unless LightGBM's defaults score at least as
    well on the same folds (``stage`` 0); without a stage-3 result, the window's stage-2 optimum
    (projected onto the stage-3 space), else the defaults.
    """
    best = _stage1_best(store)
    candidates: dict[str, list[tuple[float, int, dict[str, ParamValue]]]] = {}
    for number in (3, 4):
        path = store.dataset("tune_results", number=number)
        if path.is_file():
            for found in pd.read_parquet(path).to_dict("records"):
                score = float(found["score"])
                main_id = str(found["main_id"])
                if np.isfinite(score) and str(found["params"]) != "{}":
                    candidate = (score, number, json.loads(str(found["params"])))
                    candidates.setdefault(main_id, []).append(candidate)
                baseline = float(found.get("baseline_score", float("nan")))
                if np.isfinite(baseline):
                    candidates.setdefault(main_id, []).append((baseline, 0, {}))
    stage2_path = store.dataset("tune_results", number=2)
    by_window = _params_by(pd.read_parquet(stage2_path), "w") if stage2_path.is_file() else {}
    out: dict[str, dict[str, Any]] = {}
    for row in best.to_dict("records"):
        main_id = str(row["main_id"])
        entry: dict[str, Any] = {
            "variant_id": str(row["variant_id"]),
            "stage1_score": float(row["score"]),
        }
        if main_id in candidates:
            score, number, params = max(candidates[main_id], key=lambda c: (c[0], -c[1]))
            entry.update(params=params, cv_score=score, stage=number)
        elif int(row["w"]) in by_window:
            window_best = by_window[int(row["w"])]
            entry.update(params=snap(window_best, spec(3).search_space()), cv_score=None, stage=2)
        else:
            entry.update(params={}, cv_score=None, stage=1)
        out[main_id] = entry
    return out


def _ledger(store: RunStore) -> dict[str, Any]:
    path = store.dataset("tune_ledger")
    data: dict[str, Any] = read_json(path) if path.is_file() else {}
    data.setdefault("stages", {})
    return data


def _details(config: Config, ledger: Mapping[str, Any]) -> dict[str, Any]:
    stages = ledger.get("stages", {})
    spent = sum(float(s.get("spent_s", 0.0)) for s in stages.values())
    details: dict[str, Any] = {
        "budget_unit": config.tuning.budget_unit,
        "budget_s": round(_total(config), 3),
        "spent_s": round(spent, 3),
    }
    for number in sorted(stages, key=int):
        details[f"stage{number}"] = stages[number]
    return details


def _total(config: Config) -> float:
    """The whole tuning budget in its unit: seconds (minutes x 60) or trials."""
    tuning = config.tuning
    return tuning.budget * 60.0 if tuning.budget_unit == "minutes" else tuning.budget


def _stage_key(inputs: Inputs, config: Config, number: int, spent_before: Sequence[float]) -> str:
    """What a stage's work depends on: its inputs, the config and the earlier stages' spend."""
    return task_key(
        run_stages, TASK_VERSION, number, spent_before, inputs.fingerprint, _config_hash(config)
    )


def _replay(store: RunStore, number: int, key: str) -> dict[str, int]:
    """The counts the tasks of this stage ran when the same stage (same key) ran before."""
    path = store.dataset("tune_trials")
    recorded = read_json(path).get(f"stage{number}", {}) if path.is_file() else {}
    if recorded.get("key") != key:
        return {}
    return {str(m): int(n) for m, n in recorded.get("counts", {}).items()}


def _record(store: RunStore, number: int, key: str, counts: Mapping[str, int]) -> None:
    path = store.dataset("tune_trials")
    data: dict[str, Any] = read_json(path) if path.is_file() else {}
    data[f"stage{number}"] = {"key": key, "counts": dict(sorted(counts.items()))}
    write_json_atomic(path, data)


def _spent(
    grant: Grant, report: StageReport, wall_s: float, previous: Mapping[str, Any], key: str
) -> float:
    """What the stage is charged: its trials, or the wall it took plus the recorded cost of the
    work it reused; a stage that reused everything is charged what it was charged before."""
    if grant.trials:
        return float(report.trials)
    if report.reused_tasks == report.tasks and previous.get("key") == key:
        return float(previous["spent_s"])
    return wall_s + report.reused_s


def run_stages(ctx: StageContext, numbers: Sequence[int]) -> StageOutcome:
    """Run the given tuning stages in order, each within its share plus carried-over budget.

    Stage 1 may borrow up to its own share again to screen every variant; the overrun is a debt
    the later stages pay, so the four stages together keep to ``tuning.budget``. Work reused from
    an earlier attempt is charged what it cost then, and the counts each task ran are recorded
    and replayed, so a resumed run grants every stage what the uninterrupted run would have.
    """
    config, store = ctx.config, ctx.store
    inputs = load_inputs(config, store)
    if inputs.dropped:
        ctx.console.print(f"leak guard dropped {len(inputs.dropped)} selected column(s)")
    unit = config.tuning.budget_unit
    ledger = _ledger(store)
    tasks = failed = 0
    for number in numbers:
        spent_before = [
            float(ledger["stages"].get(str(n), {}).get("spent_s", 0.0)) for n in range(1, number)
        ]
        account = budget.grant(_total(config), config.tuning.shares, spent_before)
        limit = spec(number).limit_s(account.budget_s, account.share_s)
        key = _stage_key(inputs, config, number, spent_before)
        grant = Grant(unit, limit, _replay(store, number, key))
        start = time.perf_counter()
        report = RUNNERS[number](ctx, inputs, grant)
        wall = time.perf_counter() - start
        previous = ledger["stages"].get(str(number), {})
        spent = _spent(grant, report, wall, previous, key)
        _record(store, number, key, report.counts)
        ledger["stages"][str(number)] = {
            "name": spec(number).name,
            "unit": unit,
            "key": key,
            "budget_s": round(account.budget_s, 3),
            "limit_s": round(limit, 3),
            "share_s": round(account.share_s, 3),
            "carried_over_s": round(account.carried_over_s, 3),
            "spent_s": round(spent, 3),
            "wall_s": round(wall, 3),
            "reused_tasks": report.reused_tasks,
            "reused_s": round(report.reused_s, 3),
            "replayed_tasks": len(grant.replay),
            "trials": report.trials,
            "models": report.models,
            "best_score": None if not np.isfinite(report.best_score) else report.best_score,
            "failed_tasks": report.failed,
        }
        write_json_atomic(store.dataset("tune_ledger"), ledger)
        write_json_atomic(store.dataset("best_params"), best_params(store))
        tasks += report.tasks
        failed += report.failed
        what = "trial(s)" if grant.trials else "s"
        ctx.console.print(
            f"tuning stage {number}: {report.models} model(s), {report.trials} trial(s), "
            f"{report.reused_tasks} of {report.tasks} task(s) reused, "
            f"spent {spent:.1f} of {account.budget_s:.1f} {what}"
            + (f" (may borrow up to {limit:.1f})" if limit > account.budget_s else "")
        )
    return StageOutcome(tasks=tasks, failed_tasks=failed, details=_details(config, ledger))


def run(ctx: StageContext) -> StageOutcome:
    """``swingml tune``: stages 1 to 4."""
    return run_stages(ctx, (1, 2, 3, 4))


def stage1(ctx: StageContext) -> StageOutcome:
    """``swingml tune --stage 1``: every variant with default parameters."""
    return run_stages(ctx, (1,))


def stage2(ctx: StageContext) -> StageOutcome:
    """``swingml tune --stage 2``: TPE over broad ranges, one representative per window."""
    return run_stages(ctx, (2,))


def stage3(ctx: StageContext) -> StageOutcome:
    """``swingml tune --stage 3``: the seed grid with rolling CV, all main variants."""
    return run_stages(ctx, (3,))


def stage4(ctx: StageContext) -> StageOutcome:
    """``swingml tune --stage 4``: narrowed ranges around the best models' optimum."""
    return run_stages(ctx, (4,))
