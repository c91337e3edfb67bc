"""Running variant work: tasks, executors (local process pool, Ray), retries and resume.

A stage builds ``Task(key=task_key(fn, ...), fn, args, label)`` objects, calls
``make_executor(config, store).run(stage, tasks)``, then ``check_failures`` and ``summarize``.
Inside a task, ``worker_threads()`` and ``task_dir()`` say how many threads it may use and where
its artifacts go. This package imports nothing heavy, because every worker process imports it.
"""

from swingml.orchestration.context import task_dir, worker_threads
from swingml.orchestration.executor import Executor, Task, TaskResult, make_executor
from swingml.orchestration.failures import check_failures
from swingml.orchestration.tasks import task_key
from swingml.orchestration.tracking import summarize

__all__ = [
    "Executor",
    "Task",
    "TaskResult",
    "check_failures",
    "make_executor",
    "summarize",
    "task_dir",
    "task_key",
    "worker_threads",
]
