"""Ctrl-C: the parent stops the stage, ends its workers and leaves nothing half-done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

HERE = str(Path(__file__).parent)
RUNNER = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {HERE!r})
    import orch_tasks
    from rich.console import Console
    from swingml.config import ExecutorConfig
    from swingml.orchestration import Task
    from swingml.orchestration.local import LocalExecutor
    from swingml.io.store import RunStore

    tasks = [Task(f"t{{i}}", orch_tasks.square, (i, 30.0)) for i in range(4)]
    executor = LocalExecutor(
        ExecutorConfig(max_concurrent_processes=2), RunStore(sys.argv[1]), Console(stderr=True)
    )
    try:
        executor.run("interrupt", tasks)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    """
)


def _default_sigint() -> None:
    # An ignored SIGINT is inherited across exec (some libraries ignore it in the test process);
    # a user's shell starts the run with the default disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_workers_and_the_run(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("tasks/interrupt/*/artifacts/exec-*"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert len(workers) == 2

    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does to the foreground group
    out, _ = proc.communicate(timeout=30)

    assert (proc.returncode, out.strip()) == (130, "interrupted")
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []
    assert list(tmp_path.glob("tasks/interrupt/*/result.pkl")) == []
