"""A tuning stage's report (``budget.StageReport``) from its finished tasks and its table.

Tasks reused from an earlier attempt cost nothing now; the report carries the wall they
recorded when they ran, spread over the stage's worker slots, so the ledger can charge it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pandas as pd

from swingml.tuning.budget import StageReport


class Outcome(Protocol):
    """A finished task as a report sees it (``orchestration.TaskResult`` is one)."""

    @property
    def ok(self) -> bool: ...

    @property
    def reused(self) -> bool: ...

    @property
    def value(self) -> Any: ...


def _report(
    results: Sequence[Outcome], wall: Callable[[Any], float], slots: int, **kw: Any
) -> StageReport:
    """A stage's report; reused tasks are charged their recorded wall, spread over ``slots``."""
    recorded = sum(wall(r.value) for r in results if r.ok and r.reused)
    failed, reused = sum(not r.ok for r in results), sum(r.reused for r in results)
    return StageReport(
        len(results), failed, reused_tasks=reused, reused_s=recorded / max(slots, 1), **kw
    )


def screen_report(
    results: Sequence[Outcome], slots: int, board: pd.DataFrame, best: pd.DataFrame
) -> StageReport:
    """A screen's report: the variants it trained, the best score, the main variants ranked."""
    return _report(
        results,
        lambda value: float(value["wall_s"]),
        slots,
        trials=int((board["wall_s"] > 0).sum()) if len(board) else 0,
        best_score=float(board["score"].max()) if len(board) else float("nan"),
        models=len(best),
    )


def study_report(results: Sequence[Outcome], slots: int, frame: pd.DataFrame) -> StageReport:
    """A stage of studies' report, with the trials each study ran (replayed by a re-run)."""
    return _report(
        results,
        lambda value: float(value.extra.get("wall_s", 0.0)),
        slots,
        trials=int(frame["trials"].sum()) if len(frame) else 0,
        best_score=float(frame["score"].max()) if len(frame) else float("nan"),
        models=len(frame),
        counts={str(m): int(t) for m, t in zip(frame["main_id"], frame["trials"], strict=True)},
    )
