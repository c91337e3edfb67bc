"""The Ray executor's health handling matches the local pool's: ended, reported, others finish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orch_tasks
import pytest
import ray

from swingml.io.store import RunStore
from swingml.orchestration.executor import Task
from swingml.orchestration.ray_executor import RayExecutor


@pytest.mark.ray
@pytest.mark.slow
def test_ray_contains_raise_hang_memory_and_crash(
    store: RunStore, console: Any, make_config: Any
) -> None:
    tasks = [
        Task("good-0", orch_tasks.square, (3,)),
        Task("raiser", orch_tasks.raises, ("boom",)),
        Task("hanger", orch_tasks.hangs, ()),
        Task("hog", orch_tasks.hogs_memory, ()),
        Task("sigkill", orch_tasks.kills_itself, ()),
        Task("once", orch_tasks.fails_once, (5,)),
        Task("good-1", orch_tasks.square, (4,)),
    ]
    config = make_config(kind="ray", task_timeout_s=2.0, memory_limit_mb=400, max_retries=1)
    try:
        results = RayExecutor(config, store, console).run("ray-health", tasks)
    finally:
        ray.shutdown()
    got = {r.key: (r.ok, r.exit_status, r.retries, r.value) for r in results}
    assert got == {
        "good-0": (True, "ok", 0, 9),
        "raiser": (False, "error", 1, None),
        "hanger": (False, "timeout", 1, None),
        "hog": (False, "memory", 0, None),
        "sigkill": (False, "crashed", 1, None),
        "once": (True, "ok", 1, 5),
        "good-1": (True, "ok", 0, 16),
    }
    hog = next(r for r in results if r.key == "hog")
    assert hog.peak_rss_mb > 400
    assert orch_tasks.executions(Path(hog.log_path).parent / "artifacts") == 1
