"""The local pool's everyday promises: order, retries, reuse, isolation, logs and the table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orch_tasks
import pandas as pd
import pytest

from swingml.config import Config, ExecutorConfig
from swingml.errors import StageFailedError
from swingml.io.store import RunStore
from swingml.orchestration import Task, TaskResult, check_failures, make_executor, task_key
from swingml.orchestration.local import LocalExecutor


def _artifacts(result: TaskResult) -> Path:
    return Path(result.log_path).parent / "artifacts"


def _squares(n: int, sleep: Any = lambda i: 0.0) -> list[Task]:
    return [
        Task(task_key(orch_tasks.square, i), orch_tasks.square, (i, sleep(i)), f"sq-{i}")
        for i in range(n)
    ]


def test_results_come_back_in_task_order(make_local: Any) -> None:
    # Early tasks take longest, so they finish last.
    tasks = _squares(6, sleep=lambda i: 0.3 - 0.05 * i)
    results = make_local().run("order", tasks)
    assert [r.value for r in results] == [i * i for i in range(6)]
    assert [r.label for r in results] == [t.label for t in tasks]


def test_a_task_that_fails_once_is_retried_and_succeeds(make_local: Any) -> None:
    [result] = make_local(max_retries=2).run("retry", [Task("once", orch_tasks.fails_once, (7,))])
    assert (result.ok, result.value, result.retries, result.exit_status) == (True, 7, 1, "ok")
    assert orch_tasks.executions(_artifacts(result)) == 2
    log = Path(result.log_path).read_text()
    assert "attempt 1" in log and "attempt 2" in log and "first attempt fails" in log


def test_finished_tasks_are_reused_and_changed_keys_rerun(make_local: Any) -> None:
    executor = make_local()
    first = executor.run("reuse", _squares(5))
    again = executor.run("reuse", _squares(5))
    assert [r.reused for r in first] == [False] * 5
    assert [r.reused for r in again] == [True] * 5
    assert [r.value for r in again] == [r.value for r in first]
    assert [orch_tasks.executions(_artifacts(r)) for r in again] == [1] * 5

    # A changed part of two keys (as a changed config slice would do) re-runs exactly those two.
    changed = [
        Task(task_key(orch_tasks.square, i, "new-slice"), orch_tasks.square, (i,))
        if i in (1, 3)
        else t
        for i, t in enumerate(_squares(5))
    ]
    third = executor.run("reuse", changed)
    assert [r.reused for r in third] == [True, False, True, False, True]
    assert [r.value for r in third] == [i * i for i in range(5)]


def test_failed_tasks_are_not_cached(make_local: Any) -> None:
    executor = make_local(max_retries=0)
    [first] = executor.run("nocache", [Task("raiser", orch_tasks.raises, ("x",))])
    [second] = executor.run("nocache", [Task("raiser", orch_tasks.raises, ("x",))])
    assert not first.ok and not second.ok and not second.reused
    assert orch_tasks.executions(_artifacts(second)) == 2


def test_worker_threads_env_and_task_dir(make_local: Any, store: RunStore) -> None:
    [result] = make_local(threads_per_worker=3).run("facts", [Task("f", orch_tasks.worker_facts)])
    facts = result.value
    assert facts["threads"] == 3
    assert (facts["omp"], facts["openblas"], facts["mkl"]) == ("3", "3", "3")
    assert Path(facts["task_dir"]) == store.path("tasks", "facts", "f", "artifacts")


def test_task_output_goes_to_its_log_and_artifacts(make_local: Any, console: Any) -> None:
    [result] = make_local().run("talk", [Task("talker", orch_tasks.talks, ("hello",))])
    log = Path(result.log_path).read_text()
    for line in ("stdout says hello", "stderr says hello", "logging says hello", "fd1 says hello"):
        assert line in log
    assert (_artifacts(result) / "artifact.txt").read_text() == "hello"
    assert "says hello" not in console.file.getvalue()


def test_each_task_runs_in_a_worker_and_workers_are_recycled(make_local: Any) -> None:
    tasks = [Task(f"w{i}", orch_tasks.worker_facts) for i in range(6)]
    results = make_local(max_concurrent_processes=1, recycle_after=2).run("recycle", tasks)
    pids = [r.value["pid"] for r in results]
    assert pids[0] == pids[1] and pids[2] == pids[3] and pids[4] == pids[5]
    assert len(set(pids)) == 3
    assert os.getpid() not in pids


def test_unpicklable_task_or_value_is_reported_not_raised(make_local: Any) -> None:
    tasks = [
        Task("lambda", lambda: 1, (), "a lambda"),
        Task("value", orch_tasks.returns_unpicklable),
        Task("fine", orch_tasks.square, (3,)),
    ]
    results = make_local(max_retries=2).run("pickle", tasks)
    assert [r.ok for r in results] == [False, False, True]
    assert "cannot be pickled" in (results[0].error or "")
    assert "cannot be pickled" in (results[1].error or "")
    assert results[1].retries == 0  # another attempt would not help


def test_repeated_keys_run_once(make_local: Any) -> None:
    task = Task("same", orch_tasks.square, (4,), "first")
    results = make_local().run("dupes", [task, Task("same", orch_tasks.square, (4,), "second")])
    assert [r.value for r in results] == [16, 16]
    assert [r.label for r in results] == ["first", "second"]
    assert orch_tasks.executions(_artifacts(results[0])) == 1


def test_resource_figures_and_tasks_table(make_local: Any, store: RunStore) -> None:
    tasks = [Task("burn", orch_tasks.burns, (0.4, 150)), Task("quick", orch_tasks.square, (2,))]
    results = make_local().run("resources", tasks)
    burn = results[0]
    assert burn.ok and burn.cpu_s >= 0.3 and burn.wall_s >= burn.cpu_s * 0.5
    assert burn.peak_rss_mb >= 150
    table = pd.read_parquet(store.path("tasks", "resources", "tasks.parquet"))
    assert list(table["key"]) == ["burn", "quick"]
    assert table.loc[0, "peak_rss_mb"] == pytest.approx(burn.peak_rss_mb)
    assert set(table.columns) >= {"wall_s", "cpu_s", "peak_rss_mb", "retries", "exit_status"}


def test_on_result_is_called_once_per_task_in_the_parent(make_local: Any) -> None:
    seen: list[tuple[str, int]] = []
    make_local().run("callback", _squares(4), on_result=lambda r: seen.append((r.key, os.getpid())))
    assert sorted(k for k, _ in seen) == sorted(t.key for t in _squares(4))
    assert {pid for _, pid in seen} == {os.getpid()}


def test_failure_threshold_fails_the_stage_only_above_it() -> None:
    ok = TaskResult("a", "a", True)
    bad = TaskResult("b", "b", False, exit_status="timeout")
    check_failures([ok] * 9 + [bad], ExecutorConfig(failure_threshold=0.1))  # 10 % is allowed
    with pytest.raises(StageFailedError, match=r"2 of 10 tasks failed"):
        check_failures([ok] * 8 + [bad] * 2, Config())
    check_failures([], Config())


def test_a_stage_whose_tasks_build_one_dataset_fails_on_any_failure() -> None:
    ok = TaskResult("a", "BTCUSDT/technical", True)
    bad = TaskResult(
        "b", "ETHUSDT/technical", False, error="Traceback\nValueError: boom", exit_status="error"
    )
    with pytest.raises(StageFailedError, match=r"1 of 20 .*ETHUSDT/technical \(error: ValueError"):
        check_failures([ok] * 19 + [bad], Config(), "features", whole=True)


def test_make_executor_gives_the_local_pool(store: RunStore) -> None:
    assert isinstance(make_executor(Config(), store), LocalExecutor)


def test_bad_stage_name_is_refused(make_local: Any) -> None:
    with pytest.raises(ValueError, match="stage name"):
        make_local().run("../escape", _squares(1))
