"""Ordered stages, each timed and recorded in ``summary.json``; the one way through a run.

A stage is a function ``(StageContext) -> StageOutcome`` in a ``swingml.stages`` module. The
pipeline looks it up by name, so a stage that is not built yet is reported as such instead of
breaking the import of everything else.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from swingml.config import Config
from swingml.errors import BadInputError, NotBuiltError
from swingml.store import RunStore


@dataclass(frozen=True)
class StageOutcome:
    """What a stage reports: task counts and stage-specific keys for ``summary.json``."""

    tasks: int = 0
    failed_tasks: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageContext:
    """Everything a stage needs: the resolved config, the run store and a console to talk on."""

    config: Config
    store: RunStore
    console: Console


StageFn = Callable[[StageContext], StageOutcome]

# name in summary.json -> "module:function"
STAGES: dict[str, str] = {
    "data": "swingml.stages.data:prepare",
    "features": "swingml.stages.features:run",
    "targets": "swingml.stages.targets:run",
    "prep": "swingml.stages.prep:run",
    "select": "swingml.stages.select:run",
    "tune": "swingml.stages.tune:run",
    "train": "swingml.stages.train:run",
    "predict_batch": "swingml.stages.predict:batch",
}

RUN_ORDER: tuple[str, ...] = tuple(STAGES)
BUILDS: tuple[str, ...] = RUN_ORDER[: RUN_ORDER.index("predict_batch")]
"""The stages that build a run from its candles, each reading what the ones before it wrote.
Prediction reads champions from a registry that may live elsewhere, so it runs alone."""


def resolve(target: str) -> StageFn:
    """Import ``module:function``; a missing stage module is a ``NotBuiltError``."""
    module_name, _, func_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise NotBuiltError(
                f"stage {module_name.rsplit('.', 1)[-1]} is not built yet"
            ) from None
        raise
    fn: StageFn | None = getattr(module, func_name, None)
    if fn is None:
        raise NotBuiltError(f"{target} is not built yet")
    return fn


def run_stage(name: str, ctx: StageContext, fn: StageFn | None = None) -> StageOutcome:
    """Run one stage, record its status, wall time and task counts in ``summary.json``."""
    stage_fn = fn if fn is not None else resolve(STAGES[name])
    ctx.store.root.mkdir(parents=True, exist_ok=True)
    ctx.store.begin_stage(name)
    start = time.perf_counter()
    ctx.console.print(f"[bold]stage {name}[/bold] …")
    try:
        outcome = stage_fn(ctx)
    except BaseException as exc:
        status = "bad_input" if isinstance(exc, BadInputError) else "failed"
        ctx.store.record_stage(
            name,
            {
                "status": "failed",
                "reason": status,
                "error": str(exc)[:2000],
                "wall_s": round(time.perf_counter() - start, 3),
                "tasks": 0,
                "failed_tasks": 0,
            },
        )
        raise
    entry: dict[str, Any] = dict(outcome.details)
    entry.update(
        status="done",
        wall_s=round(time.perf_counter() - start, 3),
        tasks=outcome.tasks,
        failed_tasks=outcome.failed_tasks,
    )
    ctx.store.record_stage(name, entry)
    ctx.console.print(f"[green]stage {name} done[/green] in {entry['wall_s']:.1f} s")
    return outcome


def run_all(ctx: StageContext) -> dict[str, StageOutcome]:
    """Run the stages in order; from the first one not built yet on, stages are recorded skipped."""
    outcomes: dict[str, StageOutcome] = {}
    missing: str | None = None
    for name in RUN_ORDER:
        try:
            fn = resolve(STAGES[name]) if missing is None else None
        except NotBuiltError as exc:
            missing = str(exc)
            fn = None
        if fn is None:
            reason = missing or "not built yet"
            ctx.store.record_stage(
                name,
                {
                    "status": "skipped",
                    "reason": reason,
                    "wall_s": 0.0,
                    "tasks": 0,
                    "failed_tasks": 0,
                },
            )
            ctx.console.print(f"[yellow]stage {name} skipped[/yellow]: {reason}")
            continue
        outcomes[name] = run_stage(name, ctx, fn)
    return outcomes


def missing_upstream(name: str, ctx: StageContext) -> list[str]:
    """The stages before ``name`` in run order that this run has not finished (``summary.json``).

    A finished stage is trusted: each stage's own input key decides whether its outputs are
    current, so re-running the ones before it would only re-register models and re-read data.
    """
    if name not in BUILDS:
        return []
    done = ctx.store.read_summary()["stages"]
    before = BUILDS[: BUILDS.index(name)]
    return [s for s in before if done.get(s, {}).get("status") != "done"]


def run_through(name: str, ctx: StageContext, fn: StageFn | None = None) -> StageOutcome:
    """What every stage command does: run the unfinished stages it depends on, then itself."""
    for before in missing_upstream(name, ctx):
        run_stage(before, ctx)
    return run_stage(name, ctx, fn)
