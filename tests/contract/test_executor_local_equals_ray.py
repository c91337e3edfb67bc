"""Law: the same stage on the local pool and on Ray gives identical results, in the same order,
with the same retry accounting, caching and resource fields.
"""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path

import pandas as pd
import pytest
import ray
from rich.console import Console

from swingml.config import ExecutorConfig
from swingml.io.store import RunStore
from swingml.orchestration import Task, task_key
from swingml.orchestration.local import LocalExecutor
from swingml.orchestration.ray_executor import RayExecutor

HELPERS = str(Path(__file__).resolve().parents[1] / "orchestration")
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)
orch_tasks = importlib.import_module("orch_tasks")


@pytest.mark.ray
@pytest.mark.slow
def test_local_and_ray_give_identical_results(tmp_path: Path) -> None:
    tasks = [
        Task(
            task_key(orch_tasks.fit_lightgbm, seed), orch_tasks.fit_lightgbm, (seed,), f"fit-{seed}"
        )
        for seed in range(12)
    ]
    tasks.append(Task("fails-once", orch_tasks.fails_once, (42,), "fails once"))
    settings = {"max_concurrent_processes": 2, "retry_backoff_s": 0.05, "max_retries": 1}
    quiet = Console(file=io.StringIO())

    local = LocalExecutor(ExecutorConfig(**settings), RunStore(tmp_path / "local"), quiet)
    local_results = local.run("fits", tasks)

    remote = RayExecutor(ExecutorConfig(kind="ray", **settings), RunStore(tmp_path / "ray"), quiet)
    try:
        ray_results = remote.run("fits", tasks)
        ray_again = remote.run("fits", tasks)
    finally:
        ray.shutdown()

    assert all(r.ok for r in local_results), [r.error for r in local_results if not r.ok]
    assert [r.value for r in ray_results] == [r.value for r in local_results]
    for mine, theirs in zip(local_results, ray_results, strict=True):
        assert (theirs.key, theirs.label, theirs.ok, theirs.exit_status, theirs.retries) == (
            mine.key,
            mine.label,
            mine.ok,
            mine.exit_status,
            mine.retries,
        )
        assert theirs.wall_s > 0 and theirs.peak_rss_mb > 0 and not theirs.reused
        assert Path(theirs.log_path).is_file()
    assert ray_results[-1].retries == 1  # the retry happened on Ray too

    # Resume works the same way: a second run reuses everything.
    assert [r.reused for r in ray_again] == [True] * len(tasks)
    assert [r.value for r in ray_again] == [r.value for r in local_results]
    table = pd.read_parquet(tmp_path / "ray" / "tasks" / "fits" / "tasks.parquet")
    assert list(table["key"]) == [t.key for t in tasks]
