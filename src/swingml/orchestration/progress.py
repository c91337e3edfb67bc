"""The one progress bar of a stage, drawn by the parent: done, running, failed and time left.

Workers never draw anything; their output goes to the task logs.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

REFRESH_S = 0.1


class StageProgress:
    """A context manager around a rich progress bar for ``total`` tasks of ``stage``."""

    def __init__(self, console: Console, stage: str, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("running {task.fields[running]} · failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(stage, total=total, running=0, failed=0)
        self._last = 0.0

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(self, done: int, running: int, failed: int, force: bool = False) -> None:
        """Show the current counts (at most every ``REFRESH_S`` seconds unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._last < REFRESH_S:
            return
        self._last = now
        self._progress.update(self._task, completed=done, running=running, failed=failed)
