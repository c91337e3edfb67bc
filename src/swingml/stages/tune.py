"""Stage glue of ``swingml tune``: the budgeted tuning stages (SPEC §7-§8) on the run store.

Every stage is a row of ``tuning.stages.STAGES``, run as one batch of tasks by the runner's
``execute``: a stage whose ``models`` are the ``variants`` screens each main variant's variants
with default parameters (one task per main variant); any other stage runs one study per model
that ``tuning.policy`` picks, started from the optima of its ``seed_from`` stage. The tuning
package decides each stage's grant, its tasks' shares and its report (``tuning.accounts``,
``tuning.plans``, ``tuning.reports``); this module loads, builds the tasks and writes the
catalog's ``tune_*`` datasets: per stage its results, the budget ledger, the trials each study
ran (replayed by a re-run under a minutes budget) and ``best_params.json`` (what training uses).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from swingml.config import Config
from swingml.modeling.space import ParamValue
from swingml.orchestration import Task
from swingml.orchestration.tasks import task_key
from swingml.targets.grid import variants
from swingml.tuning import accounts, plans, records, reports, results, tasks
from swingml.tuning.accounts import Turn
from swingml.tuning.budget import Grant, StageReport
from swingml.tuning.driver import StudyResult
from swingml.tuning.stages import STAGES, StageSpec, best_per_main
from swingml.tuning.tasks import TASK_VERSION
from swingml.workflow.loading import Inputs, event_counts, load_events, load_inputs
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.runner import execute


def _screen(ctx: StageContext, inputs: Inputs, stage: StageSpec, grant: Grant) -> StageReport:
    """A stage over every variant: default parameters, one task per main variant."""
    config, store = ctx.config, ctx.store
    span = plans.window(grant)
    slices = plans.screen_slices(config, event_counts(store, config.data.symbols), grant, span)
    cv, settings = tasks.cv_plan(config, stage), tasks.train_settings(config, stage)
    work: list[Task] = []
    for part in slices:
        args = (
            load_events,
            inputs.root,
            part.variant_ids,
            inputs.features,
            inputs.cutoff,
            part.horizon,
            cv,
            settings,
            config.tuning.min_train_rows,
            part.share_s,
            span.deadline,
            part.count,
        )
        # a replayed count repeats what the cached result did, so only a trials budget keys it
        count = part.count if grant.trials else None
        parts = (part.variant_ids, count, inputs.fingerprint, plans.config_hash(config))
        key = task_key(tasks.screen_task, TASK_VERSION, *parts)
        work.append(Task(key, tasks.screen_task, args, label=part.main_id))
    done = execute(ctx, f"tune-stage{stage.number}", work)
    rows = [row for r in done if r.ok for row in r.value["rows"]]
    board = tasks.leaderboard(variants(config), rows)
    store.save("tune_leaderboard", board)
    best = best_per_main(board) if len(board) else board
    store.save("tune_best", best)
    return reports.screen_report(done, plans.slots(config, len(slices)), board, best)


def _study_tasks(
    ctx: StageContext,
    inputs: Inputs,
    stage: StageSpec,
    models: Sequence[tuple[str, str]],
    start: Mapping[str, Mapping[str, ParamValue]],
    grant: Grant,
) -> list[Task]:
    """One study task per model (main id, variant id), each with its slice of the stage."""
    config, store = ctx.config, ctx.store
    span = plans.window(grant)
    per_study, n_trials = plans.study_counts(config, stage, [m for m, _ in models], grant, span)
    work: list[Task] = []
    for main_id, variant_id in models:
        optimum = start.get(main_id)
        key = task_key(
            tasks.study_task,
            TASK_VERSION,
            stage.number,
            variant_id,
            json.dumps(optimum, sort_keys=True),
            n_trials[main_id] if grant.trials else None,
            inputs.fingerprint,
            plans.config_hash(config),
        )
        study = f"{main_id}-{plans.key_suffix(key)}"
        journal = store.dataset("tune_study", number=stage.number, study=study)
        limits = (per_study, n_trials[main_id])
        plan = plans.study_plan(config, stage, (main_id, variant_id), optimum, limits, key, journal)
        horizon = plans.horizon(config, variant_id)
        args = (load_events, inputs.root, variant_id, inputs.features, inputs.cutoff, horizon)
        work.append(Task(key, tasks.study_task, (*args, plan, span.deadline), label=main_id))
    return work


def _studies(ctx: StageContext, inputs: Inputs, stage: StageSpec, grant: Grant) -> StageReport:
    """A stage of studies: its models and their starting points by the stage's spec."""
    config, store = ctx.config, ctx.store
    models, start = results.study_models(store, stage, config.tuning.stage4_models)
    ids = [(str(r["main_id"]), str(r["variant_id"])) for r in models.to_dict("records")]
    work = _study_tasks(ctx, inputs, stage, ids, start, grant)
    finished = execute(ctx, f"tune-stage{stage.number}", work)
    done: dict[str, StudyResult] = {
        t.label: r.value for t, r in zip(work, finished, strict=True) if r.ok
    }
    for study in done.values():
        if stage.cv == "rolling" and study.extra.get("folds"):
            record = tasks.folds_record(study, stage.number)
            store.save("tune_folds", record, main_id=study.model_id)
    frame = tasks.study_frame(models, done)
    store.save("tune_results", frame, number=stage.number)
    return reports.study_report(finished, plans.slots(config, len(work)), frame)


def _stage_key(inputs: Inputs, config: Config, number: int, spent_before: Sequence[float]) -> str:
    """What a stage's work depends on: its inputs, the config and the earlier stages' spend.

    Keyed by :func:`run_stages`'s name, as the ledgers of earlier runs were: keep the name.
    """
    parts = (spent_before, inputs.fingerprint, plans.config_hash(config))
    return task_key(run_stages, TASK_VERSION, number, *parts)


def _take_turn(
    ctx: StageContext, inputs: Inputs, ledger: dict[str, Any], number: int
) -> StageReport:
    """Run stage ``number`` within its grant; record its charge, its trials and the best
    parameters so far."""
    config, store = ctx.config, ctx.store
    turn = Turn.open(config.tuning, ledger, number)
    key = _stage_key(inputs, config, number, turn.spent_before)
    grant = turn.grant(records.replay(store, number, key) if turn.replays else {})
    start = time.perf_counter()
    report = (_studies if turn.studies else _screen)(ctx, inputs, turn.stage, grant)
    wall = time.perf_counter() - start
    previous = ledger["stages"].get(str(number), {})
    spent, entry = turn.charge(grant, report, wall, key, previous)
    ledger["stages"][str(number)] = entry
    if turn.studies:
        records.record(store, number, key, report.counts)
    store.save("tune_ledger", ledger)
    store.save("best_params", results.best_params(store))
    ctx.console.print(turn.line(grant, report, spent))
    return report


def run_stages(ctx: StageContext, numbers: Sequence[int]) -> StageOutcome:
    """Run the given tuning stages in order, each within its share plus carried-over budget.

    Stage 1 may borrow up to its own share again to screen every variant; the overrun is a debt
    the later stages pay, so the stages together keep to ``tuning.budget``. Work reused from an
    earlier attempt is charged what it cost then, and the trials each study ran are recorded and,
    under a minutes budget, replayed, so a resumed run grants every stage what the uninterrupted
    run would have.
    """
    inputs = load_inputs(ctx.config, ctx.store)
    if inputs.dropped:
        ctx.console.print(f"leak guard dropped {len(inputs.dropped)} selected column(s)")
    ledger = records.read_ledger(ctx.store)
    done = [_take_turn(ctx, inputs, ledger, number) for number in numbers]
    n_tasks, failed = sum(r.tasks for r in done), sum(r.failed for r in done)
    details = accounts.details(ctx.config.tuning, ledger)
    return StageOutcome(tasks=n_tasks, failed_tasks=failed, details=details)


def run(ctx: StageContext) -> StageOutcome:
    """``swingml tune``: every stage of ``tuning.stages.STAGES`` in order."""
    return run_stages(ctx, [s.number for s in STAGES])
