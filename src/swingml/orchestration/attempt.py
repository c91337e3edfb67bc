"""One attempt of one task, run inside a worker: output captured, resources measured.

``execute`` is what a local pool worker and a Ray worker both call: it points the process's
stdout/stderr (file descriptors 1 and 2, so C-level output too) at the task's log, exposes the
artifact folder through ``task_dir()``, runs the function, and returns an ``Outcome`` holding the
pickled value or the traceback tail, with wall time, CPU time and peak memory of the attempt.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from swingml.orchestration import context, health

ERROR_TAIL_LINES = 30
ERROR_TAIL_CHARS = 4000


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced; ``payload`` is the pickled return value when ``ok``."""

    ok: bool
    exit_status: str
    payload: bytes | None = None
    error: str | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    retryable: bool = True


def tail(text: str, lines: int = ERROR_TAIL_LINES, chars: int = ERROR_TAIL_CHARS) -> str:
    """The last ``lines`` lines (at most ``chars`` characters) of ``text``."""
    kept = "\n".join(text.rstrip().splitlines()[-lines:])
    return kept[-chars:]


def attempt_header(label: str, key: str, number: int) -> str:
    """The start of the line that opens each attempt in a task log (the worker adds its pid)."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return f"===== {stamp} attempt {number} of task {label or key} ({key})"


@contextlib.contextmanager
def captured_output(log_path: Path, header: str) -> Iterator[None]:
    """Send file descriptors 1 and 2 to ``log_path`` (appending) for the duration of the block."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = (os.dup(1), os.dup(2))
    try:
        line = f"{header} in pid {os.getpid()} =====\n"
        os.write(fd, line.encode("utf-8", "replace"))
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for handle in (*saved, fd):
            os.close(handle)


def _cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class _MemoryWatch:
    """A thread that ends this process when its RSS passes a limit (used on Ray workers).

    Before ending it writes ``kill_marker`` so the driver can tell a memory kill from a crash.
    """

    def __init__(self, limit_mb: float, kill_marker: Path) -> None:
        self.limit_mb = limit_mb
        self.kill_marker = kill_marker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="swingml-memory", daemon=True)

    def __enter__(self) -> _MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        import psutil

        from swingml.io.store import write_json_atomic

        me = psutil.Process()
        while not self._stop.wait(health.POLL_S):
            rss_mb = me.memory_info().rss / health.MB
            if rss_mb > self.limit_mb:
                write_json_atomic(self.kill_marker, {"cause": health.MEMORY, "rss_mb": rss_mb})
                os._exit(137)


def execute(
    payload: bytes,
    artifacts: Path,
    log_path: Path,
    header: str,
    memory_limit_mb: float | None = None,
    kill_marker: Path | None = None,
) -> Outcome:
    """Run the pickled ``(fn, args)`` in ``payload`` here and report what happened.

    Never raises for the task's own failures: an exception (even ``SystemExit``) becomes an
    ``Outcome`` with ``exit_status="error"`` and the traceback tail. A task that cannot be
    unpickled here, or whose value cannot be pickled, fails the same way on every attempt, so
    its outcome says ``retryable=False``.
    """
    artifacts.mkdir(parents=True, exist_ok=True)
    watch = (
        _MemoryWatch(memory_limit_mb, kill_marker)
        if memory_limit_mb is not None and kill_marker is not None
        else contextlib.nullcontext()
    )
    error: str | None = None
    result: bytes | None = None
    retryable = True
    context.set_task_dir(artifacts)
    health.reset_peak_rss()
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    with captured_output(log_path, header), watch:
        try:
            fn, args = pickle.loads(payload)
        except BaseException:
            traceback.print_exc()
            error = "the task cannot be loaded in the worker (is its module importable there?)\n"
            error += tail(traceback.format_exc())
            retryable = False
        else:
            try:
                value = fn(*args)
            except BaseException:
                traceback.print_exc()
                error = tail(traceback.format_exc())
                value = None
        if error is None:
            try:
                result = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                error = f"the task's return value cannot be pickled: {type(exc).__name__}: {exc}"
                retryable = False
                print(error, file=sys.stderr)
    wall_s = time.perf_counter() - start
    cpu_s = _cpu_seconds() - cpu0
    context.set_task_dir(None)
    return Outcome(
        ok=error is None,
        exit_status=health.OK if error is None else health.ERROR,
        payload=result,
        error=error,
        wall_s=wall_s,
        cpu_s=cpu_s,
        peak_rss_mb=health.peak_rss_mb(),
        retryable=retryable,
    )
