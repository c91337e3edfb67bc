"""The Ray executor: the same tasks as Ray remote tasks, with the same results and resume.

The only module that imports ``ray`` (inside functions, so importing this module costs nothing).
Each attempt is one remote call of ``execute`` (as in a local worker), with ``num_cpus`` =
``threads_per_worker`` and the thread-count variables in its ``runtime_env``. Retries, backoff,
timeouts, result caching and the tasks table are the parent's, shared with the local executor
(``scheduler.drive``); Ray's own task retries are off so each attempt is counted once.

Placement: each task asks Ray for ``threads_per_worker`` CPUs and, on a cluster
(``executor.ray_address`` set), for ``memory_limit_mb`` of the node's memory (the limit its own
watchdog enforces), so no node runs more tasks than it has CPUs and memory for. On a GPU run
(``training.device`` not ``cpu``) it also asks for ``gpus_per_worker`` GPUs; Ray gives each task
its device ids, which the task turns into LightGBM's device parameters (``devices.py``).

The run directory must be visible to the Ray workers at the same path on every node (one machine,
or a shared file system mounted at the same path): task logs, artifacts, the memory watchdog's
marker and the stage inputs the tasks read are files there.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from swingml.config import ExecutorConfig
from swingml.config.devices import (
    Device,
    DevicePlan,
    opencl_devices,
    parse_device,
    plan_devices,
)
from swingml.errors import StageFailedError
from swingml.io.store import RunStore, read_json, write_bytes_atomic
from swingml.orchestration import health
from swingml.orchestration.attempt import Outcome, execute, tail
from swingml.orchestration.context import thread_environment
from swingml.orchestration.executor import Task, TaskResult
from swingml.orchestration.scheduler import Attempt, ResultCallback, drive

CANCEL_WAIT_S = 5.0


def run_attempt(
    payload: bytes,
    artifacts: str,
    log_path: str,
    header: str,
    memory_limit_mb: float,
    kill_marker: str,
    start_marker: str,
    sys_path: list[str],
    device_kind: str = "cpu",
    gpu_devices: tuple[str, ...] | None = None,
) -> Outcome:
    """Body of the remote task: say it started, adopt the driver's import path, take the device
    Ray assigned (if any), ``execute``."""
    write_bytes_atomic(Path(start_marker), str(os.getpid()).encode())
    for entry in sys_path:
        if entry not in sys.path:
            sys.path.append(entry)
    os.environ.update(_assigned_environment(device_kind, gpu_devices))
    return execute(
        payload,
        Path(artifacts),
        Path(log_path),
        header,
        memory_limit_mb=memory_limit_mb,
        kill_marker=Path(kill_marker),
    )


def _assigned_environment(kind: str, listed: tuple[str, ...] | None) -> dict[str, str]:
    """The device variables of this Ray task, from the GPU ids Ray assigned it on its node.

    Ray's ids index the node's GPUs; for OpenCL they index ``executor.gpu_devices`` when listed,
    else the node's OpenCL devices in LightGBM's order.
    """
    if kind == "cpu":
        return DevicePlan().environment(None)
    import ray

    ids = [int(x) for x in ray.get_gpu_ids()]
    if not ids:
        return DevicePlan().environment(None)
    node: list[Device]
    if listed is not None:
        node = [parse_device(text) for text in listed]
    elif kind == "gpu":
        node = opencl_devices()
    else:
        node = []
    device = node[ids[0]] if ids[0] < len(node) else Device(0, ids[0])
    return DevicePlan(kind, (device,)).environment(device)


def connect(config: ExecutorConfig, device_kind: str = "cpu") -> None:
    """Join ``executor.ray_address``, or start a local head when it is null (once per process).

    A local head for a GPU run declares the devices ``devices.plan_devices`` finds here.
    """
    import ray

    if ray.is_initialized():
        return
    if config.ray_address is not None:
        ray.init(address=config.ray_address, log_to_driver=False)
        return
    workers = config.max_concurrent_processes or os.cpu_count() or 1
    gpus = 0
    if device_kind != "cpu":
        plan = plan_devices(device_kind, config.gpus_per_worker, config.gpu_devices)
        gpus = len(plan.devices)
    ray.init(
        num_cpus=workers * config.threads_per_worker,
        num_gpus=gpus,
        include_dashboard=False,
        log_to_driver=False,
    )


def node_slots(
    resources: dict[str, float], threads: int, memory_mb: float | None, gpus: float | None
) -> int:
    """How many tasks one node can run at once: its CPUs, memory and GPUs each set a bound."""
    bounds = [int(resources.get("CPU", 0.0) // threads)]
    if memory_mb is not None:
        bounds.append(int(resources.get("memory", 0.0) / health.MB // memory_mb))
    if gpus is not None:
        bounds.append(int(resources.get("GPU", 0.0) / gpus + 1e-9))
    return max(min(bounds), 0)


def cluster_slots(config: ExecutorConfig, device_kind: str) -> int:
    """Tasks the connected cluster can run at once; a ``StageFailedError`` if no node fits one."""
    import ray

    memory_mb = float(config.memory_limit_mb) if config.ray_address is not None else None
    gpus = config.gpus_per_worker if device_kind != "cpu" else None
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    total = sum(node_slots(r, config.threads_per_worker, memory_mb, gpus) for r in nodes)
    if total == 0:
        need = f"{config.threads_per_worker} CPU(s)"
        if memory_mb is not None:
            need += f", {memory_mb:.0f} MB of memory (executor.memory_limit_mb)"
        if gpus is not None:
            need += f", {gpus} GPU (executor.gpus_per_worker)"
        raise StageFailedError(
            f"no node of the Ray cluster can run a task: each needs {need}; nodes offer "
            + "; ".join(
                f"{r.get('CPU', 0):g} CPU, {r.get('memory', 0) / health.MB:.0f} MB, "
                f"{r.get('GPU', 0):g} GPU"
                for r in nodes
            )
            + ". Lower those settings or start nodes with more (ray start --num-cpus/--memory)"
        )
    return total


@dataclass
class _InFlight:
    """A submitted attempt; ``started`` is set once its start marker appears."""

    attempt: Attempt
    submitted: float
    started: float | None = None


class RayBackend:
    """The Ray backend of ``scheduler.drive``: at most ``slots`` remote attempts in flight.

    An attempt's time limit counts from when it starts running (its start marker appears), not
    from submission: starting a Ray worker can take seconds on a busy node.
    """

    def __init__(
        self, config: ExecutorConfig, limits: health.Limits, device_kind: str = "cpu"
    ) -> None:
        import ray

        connect(config, device_kind)
        self.limits = limits
        self.device_kind = device_kind
        self.gpu_devices = config.gpu_devices
        fits = cluster_slots(config, device_kind)
        self.slots = min(config.max_concurrent_processes or fits, fits)
        options: dict[str, Any] = {
            "num_cpus": config.threads_per_worker,
            "max_retries": 0,
            "runtime_env": {"env_vars": thread_environment(config.threads_per_worker)},
        }
        if config.ray_address is not None:
            options["memory"] = int(config.memory_limit_mb * health.MB)
        if device_kind != "cpu":
            options["num_gpus"] = config.gpus_per_worker
        self.remote: Any = ray.remote(run_attempt).options(**options)
        self.inflight: dict[Any, _InFlight] = {}
        self.cancelled: list[Any] = []
        self.sys_path = list(sys.path)

    def free_slots(self, demand: int) -> int:
        """Room left under the concurrency limit."""
        return max(self.slots - len(self.inflight), 0)

    def submit(self, attempt: Attempt) -> bool:
        """Start ``attempt`` as a remote task."""
        attempt.paths.kill_marker.unlink(missing_ok=True)
        attempt.paths.start_marker.unlink(missing_ok=True)
        ref = self.remote.remote(
            attempt.payload,
            str(attempt.paths.artifacts),
            str(attempt.paths.log),
            attempt.header,
            self.limits.memory_limit_mb,
            str(attempt.paths.kill_marker),
            str(attempt.paths.start_marker),
            self.sys_path,
            self.device_kind,
            self.gpu_devices,
        )
        self.inflight[ref] = _InFlight(attempt, time.monotonic())
        return True

    def running(self) -> int:
        """Remote attempts in flight."""
        return len(self.inflight)

    def poll(self, timeout: float) -> list[tuple[Attempt, Outcome]]:
        """Finished remote attempts; those past the time limit are cancelled (their worker ends)."""
        import ray

        if not self.inflight:
            time.sleep(timeout)
            return []
        refs = list(self.inflight)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        ended = [self._collect(ref) for ref in ready]
        now = time.monotonic()
        for ref, flight in list(self.inflight.items()):
            if flight.started is None and flight.attempt.paths.start_marker.is_file():
                flight.started = now
            if flight.started is None or now - flight.started <= self.limits.task_timeout_s:
                continue
            ray.cancel(ref, force=True)
            self.cancelled.append(ref)
            del self.inflight[ref]
            wall_s = now - flight.started
            error = health.timeout_message(wall_s, self.limits)
            ended.append(
                (flight.attempt, Outcome(False, health.TIMEOUT, error=error, wall_s=wall_s))
            )
        return ended

    def _collect(self, ref: Any) -> tuple[Attempt, Outcome]:
        import ray

        flight = self.inflight.pop(ref)
        attempt = flight.attempt
        try:
            outcome: Outcome = ray.get(ref)
        except ray.exceptions.RayError as exc:
            wall_s = time.monotonic() - (flight.started or flight.submitted)
            marker = attempt.paths.kill_marker
            if marker.is_file():
                rss_mb = float(read_json(marker).get("rss_mb", 0.0))
                error = health.memory_message(rss_mb, self.limits)
                return attempt, Outcome(
                    False, health.MEMORY, error=error, wall_s=wall_s, peak_rss_mb=rss_mb
                )
            error = f"the Ray worker died while running the task: {tail(str(exc), lines=8)}"
            return attempt, Outcome(False, health.CRASHED, error=error, wall_s=wall_s)
        return attempt, outcome

    def close(self) -> None:
        """Cancel whatever still runs (the local head, if any, stays up for later stages)."""
        import ray

        for ref in self.inflight:
            ray.cancel(ref, force=True)
        self.cancelled.extend(self.inflight)
        self.inflight.clear()
        # Collect the cancelled attempts' errors so Ray does not report them as unhandled.
        for ref in self.cancelled:
            with contextlib.suppress(Exception):
                ray.get(ref, timeout=CANCEL_WAIT_S)
        self.cancelled.clear()


class RayExecutor:
    """Runs a stage's tasks on Ray: same keys, cache, results and tasks table as the local pool."""

    def __init__(
        self,
        config: ExecutorConfig,
        store: RunStore,
        console: Console | None = None,
        device_kind: str = "cpu",
    ) -> None:
        self.config = config
        self.store = store
        self.console = console if console is not None else Console(stderr=True)
        self.device_kind = device_kind

    def run(
        self, stage: str, tasks: Sequence[Task], on_result: ResultCallback | None = None
    ) -> list[TaskResult]:
        """Run (or reuse) every task of ``stage`` on the Ray cluster, results in task order."""
        limits = health.Limits.from_config(self.config)

        def open_backend(folder: Path) -> RayBackend:
            return RayBackend(self.config, limits, self.device_kind)

        return drive(stage, tasks, self.store.root, limits, open_backend, self.console, on_result)
