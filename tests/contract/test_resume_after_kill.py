"""Law: SIGKILL a whole run (parent and workers) at any moment, re-run it, and it completes with
the outputs of an uninterrupted run, without redoing finished tasks or reading half-written files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

HELPERS = Path(__file__).resolve().parents[1] / "orchestration"
STAGE = "kill-test"
N_TASKS = 30

RUNNER = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(HELPERS)!r})
    import orch_tasks
    from rich.console import Console
    from swingml.config import ExecutorConfig
    from swingml.orchestration import Task, task_key
    from swingml.orchestration.local import LocalExecutor
    from swingml.io.store import RunStore, write_json_atomic

    store = RunStore(sys.argv[1])
    tasks = [
        Task(task_key(orch_tasks.square, i), orch_tasks.square, (i, 0.15), f"sq-{{i}}")
        for i in range({N_TASKS})
    ]
    config = ExecutorConfig(max_concurrent_processes=2)
    results = LocalExecutor(config, store, Console(stderr=True)).run({STAGE!r}, tasks)
    write_json_atomic(
        store.path("output.json"),
        {{"values": [r.value for r in results], "ok": [r.ok for r in results]}},
    )
    print(sum(r.reused for r in results))
    """
)


def _run(root: Path) -> int:
    """One uninterrupted run; returns how many tasks it reused."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def _task_folders(root: Path) -> list[Path]:
    folder = root / "tasks" / STAGE
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _finished(root: Path) -> set[str]:
    return {p.name for p in _task_folders(root) if (p / "result.pkl").is_file()}


def _executions(root: Path) -> dict[str, int]:
    return {p.name: len(list((p / "artifacts").glob("exec-*"))) for p in _task_folders(root)}


def _kill_when(root: Path, finished_at_least: int) -> None:
    """Start a run and SIGKILL its whole process group once enough tasks have finished."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(_finished(root)) < finished_at_least:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)
    family = psutil.Process(proc.pid).children(recursive=True)
    assert family, "the run had no worker processes"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _, alive = psutil.wait_procs(family, timeout=10)
    assert alive == [], "workers outlived the killed run"


def test_sigkill_midway_then_rerun_completes_without_redoing_work(tmp_path: Path) -> None:
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert _run(reference) == 0
    expected = json.loads((reference / "output.json").read_text())
    assert expected["values"] == [i * i for i in range(N_TASKS)]

    snapshots: list[tuple[set[str], dict[str, int]]] = []
    for finished_at_least in (8, 18):
        _kill_when(killed, finished_at_least)
        finished = _finished(killed)
        assert finished_at_least <= len(finished) < N_TASKS
        assert not (killed / "output.json").exists()
        snapshots.append((finished, _executions(killed)))

    reused = _run(killed)

    assert json.loads((killed / "output.json").read_text()) == expected
    final = _executions(killed)
    assert len(final) == N_TASKS and all(count >= 1 for count in final.values())
    for finished, counts in snapshots:
        # A task finished before a kill never ran again after it.
        assert {name: final[name] for name in finished} == {name: counts[name] for name in finished}
    assert reused == len(snapshots[-1][0])
