"""Health checks of the local pool: bad tasks are ended and reported while the others finish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orch_tasks
import pandas as pd
import psutil
from rich.console import Console

from swingml.orchestration import Task, TaskResult, summarize, task_key


def _artifacts(result: TaskResult) -> Path:
    return Path(result.log_path).parent / "artifacts"


def test_raise_hang_memory_and_crashes_are_contained(make_local: Any, console: Console) -> None:
    good = [
        Task(task_key(orch_tasks.square, i), orch_tasks.square, (i, 0.05), f"good-{i}")
        for i in range(8)
    ]
    already_running = set(psutil.Process().children(recursive=True))  # e.g. other tests' helpers
    bad = [
        Task("raiser", orch_tasks.raises, ("boom",), "raises"),
        Task("hanger", orch_tasks.hangs, (), "hangs"),
        Task("hog", orch_tasks.hogs_memory, (), "hogs memory"),
        Task("segv", orch_tasks.segfaults, (), "segfaults"),
        Task("sigkill", orch_tasks.kills_itself, (), "kills itself"),
        Task("exit3", orch_tasks.exits_hard, (), "exits hard"),
    ]
    tasks = good[:4] + bad + good[4:]
    executor = make_local(task_timeout_s=1.5, memory_limit_mb=256, max_retries=1)

    results = executor.run("health", tasks)

    assert [r.key for r in results] == [t.key for t in tasks]
    by_key = {r.key: r for r in results}
    for i, task in enumerate(good):
        r = by_key[task.key]
        assert (r.ok, r.value, r.exit_status, r.retries) == (True, i * i, "ok", 0)
        assert orch_tasks.executions(_artifacts(r)) == 1

    raiser = by_key["raiser"]
    assert (raiser.ok, raiser.exit_status, raiser.retries) == (False, "error", 1)
    assert raiser.error is not None and "ValueError: boom" in raiser.error
    assert "orch_tasks.py" in raiser.error  # the traceback tail names the task's code
    assert orch_tasks.executions(_artifacts(raiser)) == 2

    hanger = by_key["hanger"]
    assert (hanger.exit_status, hanger.retries) == ("timeout", 1)
    assert orch_tasks.executions(_artifacts(hanger)) == 2
    assert hanger.wall_s >= 3.0
    assert "timed out" in Path(hanger.log_path).read_text()

    hog = by_key["hog"]
    assert (hog.exit_status, hog.retries) == ("memory", 0)  # not retried: it would again
    assert hog.peak_rss_mb > 256
    assert orch_tasks.executions(_artifacts(hog)) == 1

    segv = by_key["segv"]
    assert (segv.exit_status, segv.retries) == ("crashed", 1)
    assert segv.error is not None and "SIGSEGV" in segv.error
    assert "Segmentation fault" in Path(segv.log_path).read_text()  # faulthandler's report
    assert "SIGKILL" in (by_key["sigkill"].error or "")
    assert "exited with code 3" in (by_key["exit3"].error or "")
    for key in ("segv", "sigkill", "exit3"):
        assert orch_tasks.executions(_artifacts(by_key[key])) == 2

    # No worker of this stage outlives it.
    assert set(psutil.Process().children(recursive=True)) - already_running == set()

    # The failures are listed with their log paths, and the tasks table holds every task.
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "6 of 14 tasks failed" in shown
    table = pd.read_parquet(Path(raiser.log_path).parents[1] / "tasks.parquet")
    assert list(table["key"]) == [t.key for t in tasks]
    assert table.set_index("key")["exit_status"].to_dict() == {
        r.key: r.exit_status for r in results
    }
    summary = summarize(results)
    assert summary["tasks"] == 14 and summary["failed"] == 6 and summary["reused"] == 0
    assert summary["exit_status"] == {"crashed": 3, "error": 1, "memory": 1, "ok": 8, "timeout": 1}
