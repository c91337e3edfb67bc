"""One runner for every stage: key → reuse → plan tasks → execute → failure policy → finish.

A stage module declares a :class:`Stage` (its name, how it computes its input key, how it reads
back outputs that are still current, how it plans its tasks and how it finishes) and the runner
does the rest in the same order for every stage::

    key = stage.key(ctx)                      # fingerprints of its inputs + config + version
    stage.reuse(ctx, key)                     # outputs current for this key: their summary
    plan = stage.plan(ctx, key)               # Tasks (worker functions of a domain package)
    results = execute(ctx, name, plan.tasks)  # the run's executor, then the one failure policy
    stage.finish(ctx, plan.state, results)    # write outputs (the key last), summary keys

``summary.json`` (wall, status, task counts) and the stage's start and end lines are written by
``pipeline.run_stage`` around the call. A stage that runs several batches of tasks (tuning's four
stages, selection's binning then screening) calls :func:`execute` once per batch from its plan
or finish. A stage without tasks returns an empty plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from swingml.orchestration import Task, TaskResult, check_failures, make_executor
from swingml.workflow.pipeline import StageContext, StageOutcome

S = TypeVar("S")
Details = Mapping[str, Any]


@dataclass(frozen=True)
class Plan(Generic[S]):
    """What a stage runs: its tasks, the state its ``finish`` needs, an optional result hook,
    and the results of batches the plan already ran (``ran``: counted in the stage's tasks)."""

    state: S
    tasks: Sequence[Task] = ()
    on_result: Callable[[TaskResult], None] | None = None
    ran: Sequence[TaskResult] = ()


def _no_key(ctx: StageContext) -> str | None:
    return None


@dataclass(frozen=True)
class Stage(Generic[S]):
    """A stage declared: the runner calls these in order (see the module docstring).

    ``key`` returns the stage's input key (None: nothing to reuse); ``reuse`` returns the stored
    summary keys when the outputs are current for that key, else None; ``plan`` builds the tasks;
    ``finish`` writes the outputs from the results and returns the summary keys. ``whole``: each
    task builds a part of one dataset, so any failed task fails the stage.
    """

    name: str
    plan: Callable[[StageContext, str | None], Plan[S]]
    finish: Callable[[StageContext, S, list[TaskResult]], Details]
    key: Callable[[StageContext], str | None] = _no_key
    reuse: Callable[[StageContext, str], Details | None] | None = None
    whole: bool = False

    def __call__(self, ctx: StageContext) -> StageOutcome:
        return run(self, ctx)


def execute(
    ctx: StageContext,
    name: str,
    tasks: Sequence[Task],
    *,
    whole: bool = False,
    on_result: Callable[[TaskResult], None] | None = None,
) -> list[TaskResult]:
    """Run (or reuse) ``tasks`` on the run's executor, then apply the failure policy once."""
    results = make_executor(ctx.config, ctx.store, ctx.console).run(name, tasks, on_result)
    check_failures(results, ctx.config, name, whole=whole)
    return results


def run(stage: Stage[S], ctx: StageContext) -> StageOutcome:
    """Run one declared stage (see the module docstring); its outcome for ``summary.json``."""
    key = stage.key(ctx)
    if key is not None and stage.reuse is not None:
        stored = stage.reuse(ctx, key)
        if stored is not None:
            return StageOutcome(tasks=0, failed_tasks=0, details=stored)
    plan = stage.plan(ctx, key)
    results = (
        execute(ctx, stage.name, plan.tasks, whole=stage.whole, on_result=plan.on_result)
        if plan.tasks
        else []  # a stage with nothing to run leaves its task table as it was
    )
    details = stage.finish(ctx, plan.state, results)
    every = [*plan.ran, *results]
    failed = sum(not r.ok for r in every)
    return StageOutcome(tasks=len(every), failed_tasks=failed, details=details)
