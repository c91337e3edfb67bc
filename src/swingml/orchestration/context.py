"""What a running task may ask about where it runs: its thread budget and its artifact folder.

Both are set by the executor in the process that runs the task (a local pool worker or a Ray
worker), so task code reads them instead of receiving them as arguments that would change its key.
"""

from __future__ import annotations

import os
from pathlib import Path

THREADS_ENV = "SWINGML_WORKER_THREADS"
# The thread-count variables a worker gets before its interpreter starts (numpy, OpenMP, BLAS read
# them once, when first loaded).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", THREADS_ENV)

_task_dir: Path | None = None


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that pin a worker to ``threads`` threads."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def worker_threads() -> int:
    """Threads this task may use (pass it as LightGBM's ``num_threads``).

    Inside an executor worker it is ``executor.threads_per_worker``; elsewhere 1, so code run
    outside an executor (a unit test, the parent process) never oversubscribes the machine.
    """
    value = os.environ.get(THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def task_dir() -> Path:
    """The artifact folder of the running task (``tasks/<stage>/<key>/artifacts/``).

    Raises ``RuntimeError`` outside a task run by an executor: there is no folder to give.
    """
    if _task_dir is None:
        raise RuntimeError("task_dir() is only available inside a task run by an executor")
    return _task_dir


def set_task_dir(folder: Path | None) -> None:
    """Set (or clear, with ``None``) the running task's artifact folder; executor use only."""
    global _task_dir
    _task_dir = folder
