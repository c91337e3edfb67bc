"""The resource table of a stage's tasks and the summary a stage merges into ``summary.json``.

One row per task: wall time, CPU time (user + system of its worker during the task), peak resident
memory, retries and how it ended. Figures are totals over all attempts of a task (peak: the
highest); a reused task cost nothing in this run and shows zeros.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swingml.orchestration.executor import TaskResult

if TYPE_CHECKING:
    import pandas as pd

TABLE_NAME = "tasks.parquet"
COLUMNS = (
    "key",
    "label",
    "ok",
    "exit_status",
    "reused",
    "retries",
    "wall_s",
    "cpu_s",
    "peak_rss_mb",
    "error",
    "log_path",
)


def tasks_frame(results: Sequence[TaskResult]) -> pd.DataFrame:
    """The tasks table as a DataFrame, one row per result, in the order given."""
    import pandas as pd

    rows = [
        {
            "key": r.key,
            "label": r.label,
            "ok": r.ok,
            "exit_status": r.exit_status,
            "reused": r.reused,
            "retries": r.retries,
            "wall_s": r.wall_s,
            "cpu_s": r.cpu_s,
            "peak_rss_mb": r.peak_rss_mb,
            "error": r.error,
            "log_path": r.log_path,
        }
        for r in results
    ]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype(
        {
            "key": "string",
            "label": "string",
            "ok": "bool",
            "exit_status": "string",
            "reused": "bool",
            "retries": "int32",
            "wall_s": "float64",
            "cpu_s": "float64",
            "peak_rss_mb": "float64",
            "error": "string",
            "log_path": "string",
        }
    )


def write_tasks_table(path: Path, results: Sequence[TaskResult]) -> None:
    """Write the tasks table to ``path`` atomically (parent process only)."""
    from swingml.io.store import write_parquet_atomic

    write_parquet_atomic(path, tasks_frame(results))


def summarize(results: Sequence[TaskResult]) -> dict[str, Any]:
    """Counts and resource totals of a stage's tasks, ready for ``StageOutcome.details``.

    Keys: ``tasks``, ``failed``, ``reused``, ``retries``, ``wall_s_total``, ``wall_s_median``
    (over tasks run in this run), ``cpu_s_total``, ``peak_rss_mb_max`` and ``exit_status`` (a count
    per status).
    """
    import statistics

    ran = [r for r in results if not r.reused]
    return {
        "tasks": len(results),
        "failed": sum(not r.ok for r in results),
        "reused": len(results) - len(ran),
        "retries": sum(r.retries for r in results),
        "wall_s_total": round(sum(r.wall_s for r in ran), 3),
        "wall_s_median": round(statistics.median(r.wall_s for r in ran), 3) if ran else 0.0,
        "cpu_s_total": round(sum(r.cpu_s for r in ran), 3),
        "peak_rss_mb_max": round(max((r.peak_rss_mb for r in ran), default=0.0), 1),
        "exit_status": dict(sorted(Counter(r.exit_status for r in results).items())),
    }
