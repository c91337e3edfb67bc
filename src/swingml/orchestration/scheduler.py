"""The parent's side of running a stage, shared by every executor.

``drive`` reuses finished results, hands attempts to a ``Backend`` (local process pool or Ray),
retries what failed with backoff, saves each result atomically, keeps the tasks table and the
progress bar current, lists the failures, and returns one ``TaskResult`` per task in task order.
"""

from __future__ import annotations

import heapq
import pickle
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from rich.console import Console

from swingml.orchestration import health
from swingml.orchestration.attempt import Outcome, attempt_header
from swingml.orchestration.cache import load_result, save_result
from swingml.orchestration.executor import Task, TaskResult
from swingml.orchestration.failures import report_failures
from swingml.orchestration.progress import StageProgress
from swingml.orchestration.tasks import TaskPaths, stage_dir, task_paths
from swingml.orchestration.tracking import TABLE_NAME, write_tasks_table

TABLE_EVERY_S = 5.0
# Results are written (with fsync) by a few parent threads, off the dispatch loop's path.
SAVE_THREADS = 2

ResultCallback = Callable[[TaskResult], None]


@dataclass(frozen=True)
class Attempt:
    """One try of one task, as handed to a backend."""

    index: int
    key: str
    label: str
    number: int
    payload: bytes
    paths: TaskPaths

    @property
    def header(self) -> str:
        """The line that opens this attempt in the task log."""
        return attempt_header(self.label, self.key, self.number)


class Backend(Protocol):
    """Where attempts run.

    Call order: ``free_slots`` (may start workers), ``submit`` at most that many attempts,
    ``poll`` for finished or ended attempts (health checks happen there), again and again;
    ``close`` once at the end, which ends whatever still runs.
    """

    def free_slots(self, demand: int) -> int:
        """How many attempts ``submit`` accepts now, given ``demand`` attempts are waiting."""
        ...

    def submit(self, attempt: Attempt) -> bool:
        """Start ``attempt``; ``False`` if it could not be handed over (offer it again later)."""
        ...

    def poll(self, timeout: float) -> list[tuple[Attempt, Outcome]]:
        """Attempts that ended since the last call, waiting up to ``timeout`` seconds for one."""
        ...

    def running(self) -> int:
        """Attempts in flight."""
        ...

    def close(self) -> None:
        """End every worker (running attempts are killed) and release resources."""
        ...


@dataclass
class _Totals:
    """Resource figures summed over a task's attempts."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0

    def add(self, outcome: Outcome) -> None:
        self.wall_s += outcome.wall_s
        self.cpu_s += outcome.cpu_s
        self.peak_rss_mb = max(self.peak_rss_mb, outcome.peak_rss_mb)


class _StageRun:
    """Bookkeeping of one ``drive`` call."""

    def __init__(
        self,
        stage: str,
        tasks: Sequence[Task],
        root: Path,
        limits: health.Limits,
        on_result: ResultCallback | None,
    ) -> None:
        self.stage = stage
        self.tasks = tasks
        self.root = root
        self.limits = limits
        self.on_result = on_result
        self.results: list[TaskResult | None] = [None] * len(tasks)
        self.first: dict[str, int] = {}
        self.paths: dict[int, TaskPaths] = {}
        self.payloads: dict[int, bytes] = {}
        self.attempts: dict[int, int] = {}
        self.totals: dict[int, _Totals] = {}
        self.ready: deque[int] = deque()
        self.delayed: list[tuple[float, int, int]] = []
        self.saver: ThreadPoolExecutor | None = None
        self.saving: list[tuple[Future[None], int, TaskResult]] = []
        self.done = 0
        self.failed = 0
        self.table_dirty = False

    def prepare(self) -> None:
        """Reuse finished results, pickle the rest; unpicklable tasks fail at once."""
        for index, task in enumerate(self.tasks):
            if task.key in self.first:
                continue
            self.first[task.key] = index
            paths = task_paths(self.root, self.stage, task.key)
            self.paths[index] = paths
            found, value = load_result(paths) if task.reuse else (False, None)
            if found:
                self.finish(
                    index,
                    TaskResult(
                        task.key, task.label, True, value, reused=True, log_path=str(paths.log)
                    ),
                )
                continue
            try:
                self.payloads[index] = pickle.dumps(
                    (task.fn, task.args), protocol=pickle.HIGHEST_PROTOCOL
                )
            except Exception as exc:
                error = (
                    f"the task cannot be pickled for a worker ({type(exc).__name__}: {exc}); "
                    "use a top-level function and picklable arguments (paths, not big arrays)"
                )
                self.finish(index, self._failed(index, health.ERROR, error))
                continue
            self.totals[index] = _Totals()
            self.ready.append(index)

    def _failed(self, index: int, status: str, error: str | None) -> TaskResult:
        task = self.tasks[index]
        totals = self.totals.get(index, _Totals())
        return TaskResult(
            task.key,
            task.label,
            False,
            error=error,
            wall_s=totals.wall_s,
            cpu_s=totals.cpu_s,
            peak_rss_mb=totals.peak_rss_mb,
            retries=max(self.attempts.get(index, 1) - 1, 0),
            exit_status=status,
            log_path=str(self.paths[index].log),
        )

    def finish(self, index: int, result: TaskResult) -> None:
        self.results[index] = result
        self.done += 1
        self.failed += not result.ok
        self.table_dirty = True
        if self.on_result is not None:
            self.on_result(result)

    def save(self, paths: TaskPaths, payload: bytes, index: int, result: TaskResult) -> None:
        """Write a result in the background; the task is final once it is on disk."""
        if self.saver is None:
            self.saver = ThreadPoolExecutor(SAVE_THREADS, thread_name_prefix="swingml-save")
        self.saving.append((self.saver.submit(save_result, paths, payload), index, result))

    def settle(self, block: bool) -> None:
        """Finish the tasks whose results are on disk (all of them if ``block``)."""
        waiting: list[tuple[Future[None], int, TaskResult]] = []
        for future, index, result in self.saving:
            if block or future.done():
                future.result()  # a failed write (disk full) fails the stage
                self.finish(index, result)
            else:
                waiting.append((future, index, result))
        self.saving = waiting

    def shutdown(self) -> None:
        if self.saver is not None:
            self.saver.shutdown(wait=True)

    def next_attempt(self) -> Attempt:
        index = self.ready.popleft()
        number = self.attempts.get(index, 0) + 1
        self.attempts[index] = number
        task = self.tasks[index]
        return Attempt(index, task.key, task.label, number, self.payloads[index], self.paths[index])

    def release_due(self, now: float) -> None:
        while self.delayed and self.delayed[0][0] <= now:
            self.ready.append(heapq.heappop(self.delayed)[2])

    def wait_s(self, now: float) -> float:
        if self.delayed and not self.ready:
            return max(0.0, min(health.POLL_S, self.delayed[0][0] - now))
        return health.POLL_S

    def record(self, attempt: Attempt, outcome: Outcome, now: float) -> None:
        """Turn an ended attempt into a final result or a delayed retry."""
        index = attempt.index
        self.totals[index].add(outcome)
        if outcome.ok and outcome.payload is not None:
            try:
                value = pickle.loads(outcome.payload)
            except Exception as exc:
                error = f"the task's value cannot be unpickled in the parent: {exc}"
                self.finish(index, self._failed(index, health.ERROR, error))
                return
            totals = self.totals[index]
            result = TaskResult(
                attempt.key,
                attempt.label,
                True,
                value,
                wall_s=totals.wall_s,
                cpu_s=totals.cpu_s,
                peak_rss_mb=totals.peak_rss_mb,
                retries=attempt.number - 1,
                log_path=str(attempt.paths.log),
            )
            self.save(attempt.paths, outcome.payload, index, result)
        elif self.limits.may_retry(outcome.exit_status, outcome.retryable, attempt.number):
            ready_at = now + self.limits.backoff_s(attempt.number)
            heapq.heappush(self.delayed, (ready_at, attempt.number, index))
        else:
            self.finish(index, self._failed(index, outcome.exit_status, outcome.error))

    def pending(self) -> bool:
        return bool(self.ready or self.delayed or self.saving)

    def finished(self) -> list[TaskResult]:
        return [r for r in self.results if r is not None]

    def complete(self) -> list[TaskResult]:
        """Every result in task order; repeated keys share their first task's result."""
        out: list[TaskResult] = []
        for task in self.tasks:
            result = self.results[self.first[task.key]]
            assert result is not None
            out.append(result if result.label == task.label else replace(result, label=task.label))
        return out


def drive(
    stage: str,
    tasks: Sequence[Task],
    root: Path,
    limits: health.Limits,
    open_backend: Callable[[Path], Backend],
    console: Console,
    on_result: ResultCallback | None = None,
) -> list[TaskResult]:
    """Run ``tasks`` of ``stage`` under the run directory ``root`` on the backend ``open_backend``.

    ``open_backend`` receives the stage folder and is called only if some task must run.
    ``on_result`` is called in this (the parent) process once per distinct key as its result
    becomes final, reused results first: the place to log metrics to a single-writer store.
    """
    folder = stage_dir(root, stage)
    run = _StageRun(stage, tasks, root, limits, on_result)
    run.prepare()
    table = folder / TABLE_NAME
    if not run.pending():
        write_tasks_table(table, run.finished())
        results = run.complete()
        report_failures(console, stage, results)
        return results
    folder.mkdir(parents=True, exist_ok=True)
    backend = open_backend(folder)
    last_table = time.monotonic()
    try:
        with StageProgress(console, stage, len(run.first)) as progress:
            while run.pending() or backend.running():
                now = time.monotonic()
                run.release_due(now)
                slots = backend.free_slots(len(run.ready)) if run.ready else 0
                while slots > 0 and run.ready:
                    attempt = run.next_attempt()
                    if backend.submit(attempt):
                        slots -= 1
                    else:
                        run.attempts[attempt.index] -= 1
                        run.ready.appendleft(attempt.index)
                        break
                if run.ready or run.delayed or backend.running():
                    for attempt, outcome in backend.poll(run.wait_s(now)):
                        run.record(attempt, outcome, time.monotonic())
                idle = not (run.ready or run.delayed or backend.running())
                run.settle(block=idle)
                progress.update(run.done, backend.running(), run.failed)
                if run.table_dirty and time.monotonic() - last_table > TABLE_EVERY_S:
                    write_tasks_table(table, run.finished())
                    run.table_dirty = False
                    last_table = time.monotonic()
            progress.update(run.done, 0, run.failed, force=True)
    finally:
        backend.close()
        run.shutdown()
        write_tasks_table(table, run.finished())
    results = run.complete()
    report_failures(console, stage, results)
    return results
