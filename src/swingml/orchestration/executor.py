"""The executor protocol every stage hands its variant work to.

A stage builds ``Task`` objects (a picklable top-level function, its arguments and a content-hash
key) and calls ``Executor.run``; results come back in the order the tasks were given, one
``TaskResult`` each, whether the task succeeded, failed or was reused from an earlier run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

    from swingml.config import Config
    from swingml.io.store import RunStore


@dataclass(frozen=True)
class Task:
    """One unit of variant work.

    ``key`` must be a content hash of everything that determines the output (function, input
    fingerprints, config slice; see ``task_key``): a finished task with the same key is reused,
    not re-run. ``label`` is the human name shown in logs and failure lists (e.g. a variant id).
    """

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    label: str = ""
    reuse: bool = True
    """False for a task whose outputs are files the stage found not current: its cached result
    cannot stand in for them (they may have gone since), so it runs."""


@dataclass(frozen=True)
class TaskResult:
    """What became of one task, with its resource figures.

    ``exit_status`` is ``ok``, ``error`` (the task raised; ``error`` holds the traceback tail),
    ``timeout``, ``memory`` (killed by the health checks) or ``crashed`` (its worker died).
    ``wall_s`` and ``cpu_s`` are totals over all attempts, ``peak_rss_mb`` the highest; a reused
    result (``reused=True``) cost nothing in this run and shows zeros.
    """

    key: str
    label: str
    ok: bool
    value: Any = None
    error: str | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    retries: int = 0
    exit_status: str = "ok"
    reused: bool = False
    log_path: str = ""


class Executor(Protocol):
    """Runs a stage's tasks and returns their results in task order."""

    def run(
        self,
        stage: str,
        tasks: Sequence[Task],
        on_result: Callable[[TaskResult], None] | None = None,
    ) -> list[TaskResult]:
        """Run (or reuse) every task; never raises for a failed task, only reports it.

        ``on_result``, if given, is called in the calling process as each distinct task's result
        becomes final (reused ones first), e.g. to log metrics to MLflow as they arrive.
        """
        ...


def make_executor(config: Config, store: RunStore, console: Console | None = None) -> Executor:
    """The executor the config asks for (``executor.kind``: ``local`` or ``ray``).

    ``console`` receives the progress bar and the failure list (default: standard error). With
    ``training.device`` other than ``cpu`` the workers are given devices (``devices.py``).
    """
    from swingml.config.devices import plan_devices

    section = config.executor
    if config.executor.kind == "ray":
        from swingml.orchestration.ray_executor import RayExecutor

        # Ray assigns GPUs itself, per node: only the kind and the share reach it.
        ray_executor: Executor = RayExecutor(section, store, console, config.training.device)
        return ray_executor
    from swingml.orchestration.local import LocalExecutor

    devices = plan_devices(config.training.device, section.gpus_per_worker, section.gpu_devices)
    return LocalExecutor(section, store, console, devices)
