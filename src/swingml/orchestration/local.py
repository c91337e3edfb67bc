"""The local executor: a pool of long-lived worker processes that the parent watches.

Each worker is a fresh interpreter (the spawn model: nothing inherited but the environment, which
pins its thread counts before numpy or LightGBM load) fed one task at a time over a socket. The
parent knows every worker's pid, so it can measure it, kill it when its task hangs or takes too
much memory, and replace it; a worker that dies (segfault, SIGKILL, ``os._exit``) only costs its
task an attempt. Workers are replaced after ``recycle_after`` tasks to shed leaked memory.

On a GPU run each worker is given one device for its life (``devices.least_held``), and an
attempt starts only on a worker whose device has room, so no more than ``1 / gpus_per_worker``
attempts ever train on one device at once, even while a recycled worker's successor boots.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path

import psutil
from rich.console import Console

from swingml.config import ExecutorConfig
from swingml.config.devices import Device, DevicePlan, least_held
from swingml.errors import StageFailedError
from swingml.io.store import RunStore
from swingml.orchestration import health
from swingml.orchestration.attempt import Outcome, tail
from swingml.orchestration.context import thread_environment
from swingml.orchestration.executor import Task, TaskResult
from swingml.orchestration.scheduler import Attempt, ResultCallback, drive

WORKER_LOG = "workers.log"
MAX_BOOT_FAILURES = 3
BOOT_TIMEOUT_S = 120.0
STOP_GRACE_S = 2.0


@dataclass
class _Worker:
    """A worker process, its socket, and the attempt it runs (if any)."""

    proc: subprocess.Popen[bytes]
    conn: Connection
    ready: bool = False
    attempt: Attempt | None = None
    started: float = 0.0
    cpu0: float = 0.0
    cpu_last: float = 0.0
    rss_peak_mb: float = 0.0
    tasks_done: int = 0
    retiring: bool = False
    device: Device | None = None
    spawned: float = field(default_factory=time.monotonic)
    ps: psutil.Process | None = field(default=None, repr=False)

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker so far (0 once it is gone)."""
        if self.ps is None:
            return self.cpu_last
        with contextlib.suppress(psutil.Error):
            times = self.ps.cpu_times()
            self.cpu_last = times.user + times.system + times.children_user + times.children_system
        return self.cpu_last


class ProcessPool:
    """The local backend of ``scheduler.drive``: up to ``size`` workers, health-checked."""

    def __init__(
        self,
        folder: Path,
        size: int,
        threads: int,
        limits: health.Limits,
        recycle_after: int,
        devices: DevicePlan | None = None,
    ) -> None:
        self.folder = folder
        self.plan = devices if devices is not None else DevicePlan()
        capacity = self.plan.capacity()
        self.size = size if capacity is None else min(size, capacity)
        self.threads = threads
        self.limits = limits
        self.recycle_after = recycle_after
        self.workers: list[_Worker] = []
        self.retired: list[subprocess.Popen[bytes]] = []
        self.boot_failures = 0
        self.demand = 0
        self.last_check = time.monotonic()

    # ---- workers -------------------------------------------------------------------------------

    def _spawn(self) -> None:
        parent_sock, child_sock = socket.socketpair()
        device = least_held(self.plan, [w.device for w in self.workers if not w.retiring])
        env = {**os.environ, **thread_environment(self.threads), **self.plan.environment(device)}
        with (self.folder / WORKER_LOG).open("ab") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "swingml.orchestration.worker",
                    str(child_sock.fileno()),
                    str(os.getpid()),
                ],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )
        child_sock.close()
        conn = Connection(parent_sock.detach())
        conn.send(("init", list(sys.path)))
        ps: psutil.Process | None
        try:
            ps = psutil.Process(proc.pid)
        except psutil.Error:
            ps = None
        self.workers.append(_Worker(proc, conn, ps=ps, device=device))

    def _discard(self, worker: _Worker, kill: bool) -> int | None:
        """Forget ``worker``; kill it (and its children) first if asked. Returns its exit code."""
        if kill:
            health.kill_tree(worker.proc.pid)
        with contextlib.suppress(OSError):
            worker.conn.close()
        self.workers.remove(worker)
        try:
            return worker.proc.wait(timeout=STOP_GRACE_S if not kill else 10.0)
        except subprocess.TimeoutExpired:
            health.kill_tree(worker.proc.pid)
            return worker.proc.wait()

    def _retire(self, worker: _Worker) -> None:
        """Ask an idle worker to exit; it is reaped later without waiting for it now."""
        with contextlib.suppress(OSError):
            worker.conn.send(("stop",))
        with contextlib.suppress(OSError):
            worker.conn.close()
        self.workers.remove(worker)
        self.retired.append(worker.proc)

    def _reap(self) -> None:
        self.retired = [proc for proc in self.retired if proc.poll() is None]

    def _boot_failed(self) -> None:
        self.boot_failures += 1
        if self.boot_failures >= MAX_BOOT_FAILURES:
            log_path = self.folder / WORKER_LOG
            text = log_path.read_text(errors="replace") if log_path.is_file() else ""
            raise StageFailedError(
                f"worker processes keep dying before they are ready; {log_path} ends with:\n"
                + tail(text, lines=15)
            )

    # ---- Backend -------------------------------------------------------------------------------

    def free_slots(self, demand: int) -> int:
        """Start workers up to ``min(size, busy + demand)``; how many attempts may start now.

        A worker running its last task before recycling does not count towards the pool size
        (its successor is already booting), but its task counts towards the running limit.
        """
        active = [w for w in self.workers if not w.retiring]
        busy = sum(w.attempt is not None for w in active)
        for _ in range(min(self.size, busy + demand) - len(active)):
            self._spawn()
        self.demand = demand
        return max(min(len(self._startable()), self.size - self.running()), 0)

    def _startable(self) -> list[_Worker]:
        """Idle ready workers whose device (if any) has room for one more running attempt."""
        busy: dict[Device | None, int] = {}
        for w in self.workers:
            if w.attempt is not None:
                busy[w.device] = busy.get(w.device, 0) + 1
        return [
            w
            for w in self.workers
            if w.ready
            and w.attempt is None
            and (w.device is None or busy.get(w.device, 0) < self.plan.per_device)
        ]

    def submit(self, attempt: Attempt) -> bool:
        """Send ``attempt`` to an idle ready worker whose device has room."""
        worker = next(iter(self._startable()), None)
        if worker is None or self.running() >= self.size:
            return False
        message = (
            "task",
            attempt.number,
            attempt.payload,
            str(attempt.paths.artifacts),
            str(attempt.paths.log),
            attempt.header,
        )
        try:
            worker.conn.send(message)
        except OSError:
            self._discard(worker, kill=True)
            return False
        worker.attempt = attempt
        worker.started = time.monotonic()
        worker.cpu0 = worker.cpu_seconds()
        worker.rss_peak_mb = 0.0
        self.demand = max(self.demand - 1, 0)
        if worker.tasks_done + 1 >= self.recycle_after:
            # Its last task: boot the successor now, so no slot waits for a fresh interpreter.
            worker.retiring = True
            if self.demand > 0:
                self._spawn()
        return True

    def running(self) -> int:
        """Workers running an attempt."""
        return sum(w.attempt is not None for w in self.workers)

    def poll(self, timeout: float) -> list[tuple[Attempt, Outcome]]:
        """Collect finished attempts and dead workers; every ``POLL_S`` check time and memory."""
        ended: list[tuple[Attempt, Outcome]] = []
        by_conn = {w.conn: w for w in self.workers}
        if by_conn:
            ready = wait(list(by_conn), timeout)
        else:
            time.sleep(timeout)
            ready = []
        for conn in ready:
            worker = by_conn[conn]  # type: ignore[index]
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                ended.extend(self._lost(worker))
                continue
            if message[0] == "ready":
                worker.ready = True
                self.boot_failures = 0
            elif message[0] == "done" and worker.attempt is not None:
                outcome: Outcome = message[2]
                if outcome.peak_rss_mb < worker.rss_peak_mb:
                    outcome = replace(outcome, peak_rss_mb=worker.rss_peak_mb)
                ended.append((worker.attempt, outcome))
                worker.attempt = None
                worker.tasks_done += 1
                if worker.tasks_done >= self.recycle_after:
                    self._retire(worker)
        now = time.monotonic()
        if now - self.last_check >= health.POLL_S:
            self.last_check = now
            ended.extend(self._check_health(now))
            self._reap()
        return ended

    def _lost(self, worker: _Worker) -> list[tuple[Attempt, Outcome]]:
        """A worker whose socket closed: it died. Its attempt (if any) ends as ``crashed``."""
        attempt, started = worker.attempt, worker.started
        cpu_s = worker.cpu_last - worker.cpu0
        code = self._discard(worker, kill=True)
        if attempt is None:
            if not worker.ready:
                self._boot_failed()
            return []
        log_text = (
            attempt.paths.log.read_text(errors="replace") if attempt.paths.log.is_file() else ""
        )
        error = (
            f"worker {worker.proc.pid} {health.exit_description(code)} while running the task; "
            f"the task log ends with:\n{tail(log_text, lines=12)}"
        )
        outcome = Outcome(
            ok=False,
            exit_status=health.CRASHED,
            error=error,
            wall_s=time.monotonic() - started,
            cpu_s=max(cpu_s, 0.0),
            peak_rss_mb=worker.rss_peak_mb,
        )
        return [(attempt, outcome)]

    def _check_health(self, now: float) -> list[tuple[Attempt, Outcome]]:
        """End attempts over the time or memory limit (their workers are killed and replaced)."""
        ended: list[tuple[Attempt, Outcome]] = []
        for worker in list(self.workers):
            if not worker.ready and now - worker.spawned > BOOT_TIMEOUT_S:
                self._discard(worker, kill=True)
                self._boot_failed()
                continue
            attempt = worker.attempt
            if attempt is None or worker.ps is None:
                continue
            try:
                with worker.ps.oneshot():
                    rss_mb = worker.ps.memory_info().rss / health.MB
                    worker.cpu_seconds()
            except psutil.Error:
                continue  # it is dying; its closed socket reports it
            worker.rss_peak_mb = max(worker.rss_peak_mb, rss_mb)
            wall_s = now - worker.started
            if rss_mb > self.limits.memory_limit_mb:
                status, error = health.MEMORY, health.memory_message(rss_mb, self.limits)
            elif wall_s > self.limits.task_timeout_s:
                status, error = health.TIMEOUT, health.timeout_message(wall_s, self.limits)
            else:
                continue
            cpu_s = worker.cpu_last - worker.cpu0
            self._discard(worker, kill=True)
            _note(attempt.paths.log, error)
            ended.append(
                (
                    attempt,
                    Outcome(
                        ok=False,
                        exit_status=status,
                        error=error,
                        wall_s=wall_s,
                        cpu_s=max(cpu_s, 0.0),
                        peak_rss_mb=worker.rss_peak_mb,
                    ),
                )
            )
        return ended

    def close(self) -> None:
        """Stop idle workers, kill busy ones, and wait for all of them."""
        for worker in list(self.workers):
            if worker.attempt is None and worker.ready:
                self._retire(worker)
            else:
                self._discard(worker, kill=True)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.retired:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                health.kill_tree(proc.pid)
                proc.wait()
        self.retired = []


def _note(log_path: Path, line: str) -> None:
    """Append the parent's verdict to a task log (the worker that wrote it is gone)."""
    with contextlib.suppress(OSError), log_path.open("a", encoding="utf-8") as handle:
        handle.write(f"[executor] {line}\n")


class LocalExecutor:
    """Runs a stage's tasks on a local pool of ``executor.max_concurrent_processes`` workers.

    Results come back in task order; failed tasks are reported, never raised. A finished task
    (same key) is reused from ``tasks/<stage>/<key>/result.pkl`` without running.
    """

    def __init__(
        self,
        config: ExecutorConfig,
        store: RunStore,
        console: Console | None = None,
        devices: DevicePlan | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.console = console if console is not None else Console(stderr=True)
        self.devices = devices if devices is not None else DevicePlan()

    def workers(self) -> int:
        """Pool size: ``max_concurrent_processes``, or the number of CPUs when unset."""
        return self.config.max_concurrent_processes or os.cpu_count() or 1

    def run(
        self, stage: str, tasks: Sequence[Task], on_result: ResultCallback | None = None
    ) -> list[TaskResult]:
        """Run (or reuse) every task of ``stage``; see ``scheduler.drive`` for ``on_result``."""
        limits = health.Limits.from_config(self.config)

        def open_pool(folder: Path) -> ProcessPool:
            return ProcessPool(
                folder,
                self.workers(),
                self.config.threads_per_worker,
                limits,
                self.config.recycle_after,
                self.devices,
            )

        return drive(stage, tasks, self.store.root, limits, open_pool, self.console, on_result)
