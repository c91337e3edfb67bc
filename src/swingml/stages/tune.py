"""Stage glue of ``swingml tune``: the budgeted tuning stages (SPEC §7-§8) on the run store.

Every stage is a row of ``tuning.stages.STAGES`` and one runner executes it: a stage whose
``models`` are the ``variants`` screens each main variant's variants with default parameters
(one task per main variant); any other stage runs one study per model that ``tuning.policy``
picks, started from the optima of its ``seed_from`` stage, with its space, CV and early stopping.
Tasks load their own rows (``swingml.tuning.tasks``). The parent writes the catalog's ``tune_*``
datasets: per stage its results, the budget ledger, the trials each study ran (replayed by a
re-run under a minutes budget) and, after every stage, ``best_params.json`` (what training uses).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.io.store import RunStore, write_json_atomic, write_parquet_atomic
from swingml.modeling.space import ParamValue
from swingml.orchestration import Task, TaskResult, check_failures, make_executor
from swingml.orchestration.tasks import task_key
from swingml.targets.grid import Variant, main_variants, variants
from swingml.tuning import budget, policy, records, tasks
from swingml.tuning.budget import Grant, StageReport
from swingml.tuning.driver import StudyPlan, StudyResult
from swingml.tuning.stages import STAGES, StageSpec, best_per_main, shares, spec
from swingml.tuning.tasks import TASK_VERSION
from swingml.workflow.loading import Inputs, event_counts, load_events, load_inputs
from swingml.workflow.pipeline import StageContext, StageOutcome

STARTUP_S = 4.0
"""Wall time a stage loses to starting its workers, kept out of the studies' time limits."""


def _workers(config: Config) -> int:
    return config.executor.max_concurrent_processes or os.cpu_count() or 1


def _config_hash(config: Config) -> str:
    return config.slice_hash("tuning", "split", "targets", "grid", "run")


def _report(
    results: Sequence[TaskResult], wall: Callable[[Any], float], slots: int, **kw: Any
) -> StageReport:
    """A stage's report; reused tasks are charged their recorded wall, spread over ``slots``."""
    recorded = sum(wall(r.value) for r in results if r.ok and r.reused)
    failed, reused = sum(not r.ok for r in results), sum(r.reused for r in results)
    return StageReport(
        len(results), failed, reused_tasks=reused, reused_s=recorded / max(slots, 1), **kw
    )


def _results(store: RunStore, number: int) -> pd.DataFrame:
    """What stage ``number`` left for later stages: its best per main variant, or its studies."""
    name = "tune_best" if spec(number).models == "variants" else "tune_results"
    path = store.dataset(name, number=number)
    if not path.is_file():
        raise BadInputError(str(path), "missing", f"run `swingml tune --stage {number}` first")
    return pd.read_parquet(path)


def _screen(ctx: StageContext, inputs: Inputs, stage: StageSpec, grant: Grant) -> StageReport:
    """A stage over every variant: default parameters, one task per main variant."""
    config, store = ctx.config, ctx.store
    usable = max(grant.limit - STARTUP_S, 0.0) if not grant.trials else 0.0
    deadline = time.time() + usable if not grant.trials else float("inf")
    groups = main_variants(config)
    sizes = event_counts(store, config.data.symbols)
    weights = {
        m: budget.screen_weight([sizes.get((v.symbol, v.kind, v.w, v.s, v.k), 0) for v in group])
        for m, group in groups.items()
    }
    slots = min(_workers(config), len(groups))
    capacity = budget.SLACK * usable * slots / max(sum(weights.values()), 1.0)
    order = sorted(groups, key=lambda m: -weights[m])  # largest first packs the workers best
    counts = budget.deal(grant, order, [len(groups[m]) for m in order])
    work: list[Task] = []
    for main_id in order:
        ids = [v.id for v in groups[main_id]]
        share = weights[main_id] * capacity if not grant.trials else float("inf")
        args = (
            load_events,
            inputs.root,
            ids,
            inputs.features,
            inputs.cutoff,
            groups[main_id][0].horizon(config.targets),
            tasks.cv_plan(config, stage),
            tasks.train_settings(config, stage),
            config.tuning.min_train_rows,
            share,
            deadline,
            counts[main_id],
        )
        # a replayed count repeats what the cached result did, so only a trials budget keys it
        count = counts[main_id] if grant.trials else None
        key = task_key(
            tasks.screen_task, TASK_VERSION, ids, count, inputs.fingerprint, _config_hash(config)
        )
        work.append(Task(key, tasks.screen_task, args, label=main_id))
    results = make_executor(config, store, ctx.console).run(f"tune-stage{stage.number}", work)
    check_failures(results, config, f"tune-stage{stage.number}")
    board = tasks.leaderboard(
        variants(config), [row for r in results if r.ok for row in r.value["rows"]]
    )
    write_parquet_atomic(store.dataset("tune_leaderboard"), board)
    best = best_per_main(board) if len(board) else board
    write_parquet_atomic(store.dataset("tune_best"), best)
    return _report(
        results,
        lambda value: float(value["wall_s"]),
        slots,
        trials=int((board["wall_s"] > 0).sum()) if len(board) else 0,
        best_score=float(board["score"].max()) if len(board) else float("nan"),
        models=len(best),
    )


def _study_tasks(
    ctx: StageContext,
    inputs: Inputs,
    stage: StageSpec,
    models: pd.DataFrame,
    start: Mapping[str, Mapping[str, ParamValue]],
    grant: Grant,
) -> list[Task]:
    """One study task per model; each gets an equal slice of the stage's wall time, or of its
    trials (never more than the stage's trial cap), or the count it ran before."""
    config, store = ctx.config, ctx.store
    workers = min(_workers(config), max(len(models), 1))
    usable = max(grant.limit - STARTUP_S, 0.0) if not grant.trials else float("inf")
    per_study = usable * workers / max(len(models), 1)
    deadline = time.time() + usable
    ids = [str(m) for m in models["main_id"]] if len(models) else []
    cap = stage.max_trials(config.tuning)
    n_trials = budget.deal(grant, ids, [cap] * len(ids))
    work: list[Task] = []
    for row in models.to_dict("records"):
        main_id, variant_id = str(row["main_id"]), str(row["variant_id"])
        optimum = start.get(main_id)
        key = task_key(
            tasks.study_task,
            TASK_VERSION,
            stage.number,
            variant_id,
            json.dumps(optimum, sort_keys=True),
            n_trials[main_id] if grant.trials else None,
            inputs.fingerprint,
            _config_hash(config),
        )
        suffix = key.rsplit("-", 1)[-1]
        journal = store.dataset("tune_study", number=stage.number, study=f"{main_id}-{suffix}")
        plan = StudyPlan(
            stage=stage.number,
            model_id=main_id,
            variant_id=variant_id,
            space=stage.search_space(optimum),
            cv=tasks.cv_plan(config, stage),
            settings=tasks.train_settings(config, stage),
            max_trials=cap,
            time_limit_s=per_study,
            journal=None if config.tuning.storage else journal,
            storage_url=config.tuning.storage,
            start_params=optimum,
            baseline=stage.baseline,
            study_name=f"stage{stage.number}-{main_id}-{suffix}",
            n_trials=n_trials[main_id],
        )
        horizon = Variant.from_id(variant_id).horizon(config.targets)
        args = (
            load_events,
            inputs.root,
            variant_id,
            inputs.features,
            inputs.cutoff,
            horizon,
            plan,
            deadline,
        )
        work.append(Task(key, tasks.study_task, args, label=main_id))
    return work


def _studies(ctx: StageContext, inputs: Inputs, stage: StageSpec, grant: Grant) -> StageReport:
    """A stage of studies: its models and their starting points by the stage's spec."""
    config, store = ctx.config, ctx.store
    seed = _results(store, stage.seed_from) if stage.seed_from is not None else None
    models = policy.stage_models(stage, _results(store, 1), seed, config.tuning.stage4_models)
    start = policy.start_params(stage, models, seed)
    work = _study_tasks(ctx, inputs, stage, models, start, grant)
    results = make_executor(config, store, ctx.console).run(f"tune-stage{stage.number}", work)
    check_failures(results, config, f"tune-stage{stage.number}")
    done: dict[str, StudyResult] = {
        t.label: r.value for t, r in zip(work, results, strict=True) if r.ok
    }
    for study in done.values():
        if stage.cv == "rolling" and study.extra.get("folds"):
            record = tasks.folds_record(study, stage.number)
            write_json_atomic(store.dataset("tune_folds", main_id=study.model_id), record)
    frame = tasks.study_frame(models, done)
    write_parquet_atomic(store.dataset("tune_results", number=stage.number), frame)
    slots = min(_workers(config), max(len(work), 1))
    return _report(
        results,
        lambda value: float(value.extra.get("wall_s", 0.0)),
        slots,
        trials=int(frame["trials"].sum()) if len(frame) else 0,
        best_score=float(frame["score"].max()) if len(frame) else float("nan"),
        models=len(frame),
        counts={str(m): int(t) for m, t in zip(frame["main_id"], frame["trials"], strict=True)},
    )


def best_params(store: RunStore) -> dict[str, dict[str, Any]]:
    """``tuning/best_params.json`` from the stages' stored results (``policy.best_params``)."""
    found = {
        s.number: pd.read_parquet(path)
        for s in STAGES
        if s.models != "variants"
        and (path := store.dataset("tune_results", number=s.number)).is_file()
    }
    return policy.best_params(_results(store, 1), found)


def _stage_key(inputs: Inputs, config: Config, number: int, spent_before: Sequence[float]) -> str:
    """What a stage's work depends on: its inputs, the config and the earlier stages' spend."""
    return task_key(
        run_stages, TASK_VERSION, number, spent_before, inputs.fingerprint, _config_hash(config)
    )


def run_stages(ctx: StageContext, numbers: Sequence[int]) -> StageOutcome:
    """Run the given tuning stages in order, each within its share plus carried-over budget.

    Stage 1 may borrow up to its own share again to screen every variant; the overrun is a debt
    the later stages pay, so the stages together keep to ``tuning.budget``. Work reused from an
    earlier attempt is charged what it cost then, and the trials each study ran are recorded and,
    under a minutes budget, replayed, so a resumed run grants every stage what the uninterrupted
    run would have.
    """
    config, store = ctx.config, ctx.store
    inputs = load_inputs(config, store)
    if inputs.dropped:
        ctx.console.print(f"leak guard dropped {len(inputs.dropped)} selected column(s)")
    unit = config.tuning.budget_unit
    ledger = records.read_ledger(store)
    n_tasks = failed = 0
    for number in numbers:
        spent_before = [
            float(ledger["stages"].get(str(n), {}).get("spent_s", 0.0)) for n in range(1, number)
        ]
        total = budget.total(config.tuning.budget, unit)
        account = budget.grant(total, shares(config.tuning), spent_before)
        limit = spec(number).limit_s(account.budget_s, account.share_s)
        key = _stage_key(inputs, config, number, spent_before)
        stage = spec(number)
        # only a study's count replays exactly (its finished trials): a screen's count of
        # variants reached is not recorded, so stage 1 never replays, and trials deal themselves
        studies = stage.models != "variants"
        replays = unit == "minutes" and studies
        grant = Grant(unit, limit, records.replay(store, number, key) if replays else {})
        start = time.perf_counter()
        runner = _screen if stage.models == "variants" else _studies
        report = runner(ctx, inputs, stage, grant)
        wall = time.perf_counter() - start
        previous = ledger["stages"].get(str(number), {})
        spent = budget.spent(grant, report, wall, previous, key)
        if studies:
            records.record(store, number, key, report.counts)
        ledger["stages"][str(number)] = budget.ledger_entry(
            stage.name, unit, key, account, limit, spent, wall, report, len(grant.replay)
        )
        write_json_atomic(store.dataset("tune_ledger"), ledger)
        write_json_atomic(store.dataset("best_params"), best_params(store))
        n_tasks += report.tasks
        failed += report.failed
        what = "trial(s)" if grant.trials else "s"
        ctx.console.print(
            f"tuning stage {number}: {report.models} model(s), {report.trials} trial(s), "
            f"{report.reused_tasks} of {report.tasks} task(s) reused, "
            f"spent {spent:.1f} of {account.budget_s:.1f} {what}"
            + (f" (may borrow up to {limit:.1f})" if limit > account.budget_s else "")
        )
    total = budget.total(config.tuning.budget, unit)
    details = budget.details(unit, total, ledger)
    return StageOutcome(tasks=n_tasks, failed_tasks=failed, details=details)


def run(ctx: StageContext) -> StageOutcome:
    """``swingml tune``: every stage of ``tuning.stages.STAGES`` in order."""
    return run_stages(ctx, [s.number for s in STAGES])
