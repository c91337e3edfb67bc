"""Running variant work: tasks, executors (local process pool, Ray), retries and resume."""

from swingml.orchestration.executor import Executor, Task, TaskResult, make_executor

__all__ = ["Executor", "Task", "TaskResult", "make_executor"]
