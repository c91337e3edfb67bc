"""How a tuning stage's grant becomes its tasks' work: wall windows, time shares, trial counts.

Pure apart from reading the clock for a deadline: the stage gets each task's share of the stage
here and builds the Task objects (their keys included) from it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from swingml.config import Config
from swingml.modeling.space import ParamValue
from swingml.targets.grid import Variant, main_variants
from swingml.tuning import budget
from swingml.tuning.budget import Grant
from swingml.tuning.driver import StudyPlan
from swingml.tuning.stages import StageSpec
from swingml.tuning.tasks import cv_plan, train_settings

STARTUP_S = 4.0
"""Wall time a stage loses to starting its workers, kept out of the studies' time limits."""

EventCounts = Mapping[tuple[str, str, int, float, float], int]
"""Events per variant, keyed ``(symbol, kind, w, s, k)``."""


def workers(config: Config) -> int:
    """How many tasks run at once."""
    return config.executor.max_concurrent_processes or os.cpu_count() or 1


def slots(config: Config, tasks: int) -> int:
    """How many of a stage's ``tasks`` run at once (at least one)."""
    return min(workers(config), max(tasks, 1))


def config_hash(config: Config) -> str:
    """The config sections every tuning task's output depends on (part of each task key)."""
    return config.slice_hash("tuning", "split", "targets", "grid", "run")


@dataclass(frozen=True)
class Window:
    """The wall time a stage's tasks may use: ``usable_s`` seconds, until ``deadline``
    (``time.time()``); both unbounded under a trials budget, where the counts decide."""

    usable_s: float
    deadline: float


def window(grant: Grant) -> Window:
    """The stage's window from now: its limit less the workers' start-up."""
    if grant.trials:
        return Window(float("inf"), float("inf"))
    usable = max(grant.limit - STARTUP_S, 0.0)
    return Window(usable, time.time() + usable)


@dataclass(frozen=True)
class ScreenSlice:
    """One screen task: a main variant's variants, its time share and its count of variants."""

    main_id: str
    variant_ids: list[str]
    horizon: int
    share_s: float
    count: int | None


def screen_slices(
    config: Config, sizes: EventCounts, grant: Grant, span: Window
) -> list[ScreenSlice]:
    """The screen's tasks, largest first (that packs the workers best).

    Each gets a time share proportional to its expected work (``budget.screen_weight``), or
    under a trials budget its dealt count of variants (``budget.deal``).
    """
    groups = main_variants(config)
    weights = {
        m: budget.screen_weight([sizes.get((v.symbol, v.kind, v.w, v.s, v.k), 0) for v in group])
        for m, group in groups.items()
    }
    room = budget.SLACK * span.usable_s * slots(config, len(groups))
    capacity = room / max(sum(weights.values()), 1.0)
    order = sorted(groups, key=lambda m: -weights[m])
    counts = budget.deal(grant, order, [len(groups[m]) for m in order])
    return [
        ScreenSlice(
            main_id=m,
            variant_ids=[v.id for v in groups[m]],
            horizon=groups[m][0].horizon(config.targets),
            share_s=weights[m] * capacity if not grant.trials else float("inf"),
            count=counts[m],
        )
        for m in order
    ]


def study_counts(
    config: Config, stage: StageSpec, models: Sequence[str], grant: Grant, span: Window
) -> tuple[float, dict[str, int | None]]:
    """Each study's time limit (an equal slice of the stage's window) and its count of trials:
    dealt from a trials budget (never over the stage's cap), replayed, or None (the clock)."""
    per_study = span.usable_s * slots(config, len(models)) / max(len(models), 1)
    cap = stage.max_trials(config.tuning)
    return per_study, budget.deal(grant, models, [cap] * len(models))


def study_plan(
    config: Config,
    stage: StageSpec,
    model: tuple[str, str],
    optimum: Mapping[str, ParamValue] | None,
    limits: tuple[float, int | None],
    key: str,
    journal: Path,
) -> StudyPlan:
    """The plan of one study of ``model`` (main id, variant id) under task ``key``: its space
    around ``optimum``, CV, time limit and trial count (``limits``), journal and name."""
    main_id, variant_id = model
    return StudyPlan(
        stage=stage.number,
        model_id=main_id,
        variant_id=variant_id,
        space=stage.search_space(optimum),
        cv=cv_plan(config, stage),
        settings=train_settings(config, stage),
        max_trials=stage.max_trials(config.tuning),
        time_limit_s=limits[0],
        journal=None if config.tuning.storage else journal,
        storage_url=config.tuning.storage,
        start_params=optimum,
        baseline=stage.baseline,
        study_name=f"stage{stage.number}-{main_id}-{key_suffix(key)}",
        n_trials=limits[1],
    )


def key_suffix(key: str) -> str:
    """The hash part of a task key: names a study and its journal."""
    return key.rsplit("-", 1)[-1]


def horizon(config: Config, variant_id: str) -> int:
    """The label horizon (bars) of a variant."""
    return Variant.from_id(variant_id).horizon(config.targets)
