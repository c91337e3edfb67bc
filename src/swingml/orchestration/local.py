"""Placeholder local executor: runs tasks in-process, in order (replaced by the process pool)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence

from swingml.config import ExecutorConfig
from swingml.orchestration.executor import Task, TaskResult
from swingml.store import RunStore


class LocalExecutor:
    """Runs each task in this process; failures are reported, not raised."""

    def __init__(self, config: ExecutorConfig, store: RunStore) -> None:
        self.config = config
        self.store = store

    def run(self, stage: str, tasks: Sequence[Task]) -> list[TaskResult]:
        """Run every task in order."""
        results: list[TaskResult] = []
        for task in tasks:
            start = time.perf_counter()
            try:
                value = task.fn(*task.args)
                results.append(
                    TaskResult(
                        task.key, task.label, True, value, wall_s=time.perf_counter() - start
                    )
                )
            except Exception:
                results.append(
                    TaskResult(task.key, task.label, False, error=traceback.format_exc(limit=3))
                )
        return results
