"""Failed tasks after a stage: listed for the user, and the one rule that fails the stage.

The executors list failures themselves (once) and return every result; every stage with tasks
then calls ``check_failures``: more than ``executor.failure_threshold`` of them failed, or any
when each task builds a part of one dataset (``whole``), and the stage fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from swingml.errors import StageFailedError
from swingml.orchestration.executor import TaskResult

if TYPE_CHECKING:
    from rich.console import Console

    from swingml.config import Config, ExecutorConfig


def cause(result: TaskResult) -> str:
    """A one-line cause: the exit status and the telling line of the error.

    For a Python exception that is the last line of the traceback; for a task the executor ended
    (timeout, memory, crash) it is the executor's own first line.
    """
    lines = (result.error or "").strip().splitlines()
    if not lines:
        return result.exit_status
    return f"{result.exit_status}: {lines[-1] if result.exit_status == 'error' else lines[0]}"


def report_failures(console: Console, stage: str, results: Sequence[TaskResult]) -> None:
    """Print a table of the failed tasks (key, label, cause, log path); nothing if none failed."""
    from rich.table import Table  # parent-only; workers import this package and stay lean

    failed = [r for r in results if not r.ok]
    if not failed:
        return
    table = Table(
        title=f"{stage}: {len(failed)} of {len(results)} tasks failed", title_justify="left"
    )
    for column in ("key", "label", "cause", "log"):
        table.add_column(column, overflow="fold")
    for r in failed:
        table.add_row(r.key, r.label, cause(r), r.log_path)
    console.print(table)


def check_failures(
    results: Sequence[TaskResult],
    config: Config | ExecutorConfig,
    stage: str = "stage",
    *,
    whole: bool = False,
) -> None:
    """Raise ``StageFailedError`` when the failed share exceeds ``executor.failure_threshold``.

    With ``whole`` the tasks build parts of one dataset (a symbol's targets, a feature block)
    that later stages need complete, so any failure fails the stage. Accepts the whole ``Config``
    or its ``executor`` section. A stage calls this after ``Executor.run`` and before using the
    results; with no tasks nothing can fail.
    """
    section = cast("ExecutorConfig", getattr(config, "executor", config))
    threshold = 0.0 if whole else section.failure_threshold
    failed = [r for r in results if not r.ok]
    if not results or len(failed) / len(results) <= threshold:
        return
    examples = "; ".join(f"{r.label or r.key} ({cause(r)})" for r in failed[:3])
    rule = (
        "each builds a part of one dataset"
        if whole
        else f"{len(failed) / len(results):.0%} > executor.failure_threshold={threshold:g}"
    )
    raise StageFailedError(
        f"{stage}: {len(failed)} of {len(results)} tasks failed ({rule}), e.g. {examples}; "
        "their logs are listed above and in the tasks table"
    )
