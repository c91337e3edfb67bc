"""Health rules shared by the executors: time and memory limits, retry policy, process checks.

The parent polls each busy worker (about every ``POLL_S`` seconds) and ends a task that runs past
``task_timeout_s`` or whose worker's resident memory exceeds ``memory_limit_mb``. A task that
ended badly is retried with exponential backoff while the cause can change on a new attempt.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swingml.config import ExecutorConfig

POLL_S = 0.2
MB = 1024.0 * 1024.0

# exit_status values of a TaskResult
OK = "ok"
ERROR = "error"
TIMEOUT = "timeout"
MEMORY = "memory"
CRASHED = "crashed"

# Causes worth another attempt: a transient error, a hang, a dead worker. A task over the memory
# limit is not retried (its worker alone used that memory; it will again), nor is a task whose
# function or value cannot be pickled (``Outcome.retryable`` is False for those).
RETRYABLE = frozenset({ERROR, TIMEOUT, CRASHED})


@dataclass(frozen=True)
class Limits:
    """The health limits of one stage run, taken from ``ExecutorConfig``."""

    task_timeout_s: float
    memory_limit_mb: float
    max_retries: int
    retry_backoff_s: float

    @classmethod
    def from_config(cls, config: ExecutorConfig) -> Limits:
        """Limits as configured in the ``executor`` section."""
        return cls(
            task_timeout_s=config.task_timeout_s,
            memory_limit_mb=float(config.memory_limit_mb),
            max_retries=config.max_retries,
            retry_backoff_s=config.retry_backoff_s,
        )

    def backoff_s(self, failed_attempts: int) -> float:
        """Wait before the next attempt: ``retry_backoff_s * 2 ** (failed_attempts - 1)``."""
        return self.retry_backoff_s * (2.0 ** max(failed_attempts - 1, 0))

    def may_retry(self, exit_status: str, retryable: bool, attempts: int) -> bool:
        """Whether a task that ended with ``exit_status`` after ``attempts`` tries runs again."""
        return retryable and exit_status in RETRYABLE and attempts <= self.max_retries


def timeout_message(wall_s: float, limits: Limits) -> str:
    """The error text of a task ended for running too long."""
    limit = limits.task_timeout_s
    return f"timed out after {wall_s:.1f} s (executor.task_timeout_s={limit:g}); killed"


def memory_message(rss_mb: float, limits: Limits) -> str:
    """The error text of a task ended for using too much memory."""
    return (
        f"worker memory {rss_mb:.0f} MB exceeded executor.memory_limit_mb="
        f"{limits.memory_limit_mb:g}; killed"
    )


def exit_description(returncode: int | None) -> str:
    """``'killed by signal SIGSEGV'`` / ``'exited with code 3'`` for a dead worker."""
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"killed by signal {name}"
    return f"exited with code {returncode}"


def kill_tree(pid: int) -> None:
    """SIGKILL a worker and every process it started (a task may run subprocesses)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        children = parent.children(recursive=True)
    except psutil.Error:
        children = []
    for proc in children:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_rss() -> None:
    """Reset this process's peak-RSS mark (Linux), so the next reading is this task's own peak."""
    with contextlib.suppress(OSError):
        _CLEAR_REFS.write_text("5")


def peak_rss_mb() -> float:
    """This process's peak resident memory since the last ``reset_peak_rss`` (MB).

    Linux reports it exactly (``VmHWM``); elsewhere the current RSS stands in for it.
    """
    import psutil

    with contextlib.suppress(OSError, ValueError):
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return psutil.Process().memory_info().rss / MB
