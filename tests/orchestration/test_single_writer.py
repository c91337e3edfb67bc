"""Workers never write the tracking store: their values come back and the parent writes them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orch_tasks

from swingml.orchestration import Task, TaskResult


def test_eight_workers_fifty_records_each_all_land_in_the_parents_sqlite(
    make_local: Any, tmp_path: Path
) -> None:
    db = sqlite3.connect(tmp_path / "tracking.db")
    db.execute("CREATE TABLE metrics (worker INTEGER, trial INTEGER, score REAL, pid INTEGER)")
    batches: list[int] = []

    def log_batch(result: TaskResult) -> None:
        # The single writer: one transaction per finished task, in the parent process.
        assert result.ok, result.error
        with db:
            db.executemany(
                "INSERT INTO metrics VALUES (:worker, :trial, :score, :pid)", result.value
            )
        batches.append(len(result.value))

    # Each task holds its worker long enough that all eight run at the same time.
    tasks = [Task(f"worker-{w}", orch_tasks.records, (w, 50, 0.5), f"worker {w}") for w in range(8)]
    results = make_local(max_concurrent_processes=8).run("tracking", tasks, on_result=log_batch)

    assert all(r.ok for r in results)
    assert batches == [50] * 8
    rows = db.execute("SELECT worker, trial, score FROM metrics ORDER BY worker, trial").fetchall()
    assert len(rows) == 400
    assert rows == [(w, i, w + i / 1000.0) for w in range(8) for i in range(50)]
    assert len({pid for (pid,) in db.execute("SELECT DISTINCT pid FROM metrics")}) == 8
    db.close()
