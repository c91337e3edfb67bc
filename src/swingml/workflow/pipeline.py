"""Ordered stages, each timed and recorded in ``summary.json``; the one way through a run.

A stage is a function ``(StageContext) -> StageOutcome`` in a ``swingml.stages`` module, named
``module:function`` and imported when it runs: the command line starts without importing LightGBM,
MLflow or Ray.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.io.store import RunStore


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
    "features": "swingml.stages.features:STAGE",
    "targets": "swingml.stages.targets:STAGE",
    "prep": "swingml.stages.prep:STAGE",
    "select": "swingml.stages.select:STAGE",
    "tune": "swingml.stages.tune:run",
    "train": "swingml.stages.train:run",
    "predict_batch": "swingml.stages.predict:batch",
}

RUN_ORDER: tuple[str, ...] = tuple(STAGES)
BUILDS: tuple[str, ...] = RUN_ORDER[: RUN_ORDER.index("predict_batch")]
"""The stages that build a run from its candles, each reading what the ones before it wrote.
Prediction reads champions from a registry that may live elsewhere, so it runs alone."""


def stage_fn(target: str) -> Any:
    """The function ``module:function`` names (a stage, or a command's body beside one)."""
    module_name, _, func_name = target.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def run_stage(name: str, ctx: StageContext, fn: StageFn | None = None) -> StageOutcome:
    """Run one stage, record its status, wall time and task counts in ``summary.json``."""
    body: StageFn = fn if fn is not None else stage_fn(STAGES[name])
    ctx.store.root.mkdir(parents=True, exist_ok=True)
    ctx.store.begin_stage(name)
    start = time.perf_counter()
    ctx.console.print(f"[bold]stage {name}[/bold] …")
    try:
        outcome = body(ctx)
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
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    ctx.store.record_stage(name, entry)
    ctx.console.print(f"[green]stage {name} done[/green] in {entry['wall_s']:.1f} s")
    return outcome


def run_all(ctx: StageContext) -> dict[str, StageOutcome]:
    """Run every stage in order."""
    return {name: run_stage(name, ctx) for name in RUN_ORDER}


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
