"""Stages are timed and recorded in summary.json, whatever their outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from swingml.config import load_config
from swingml.errors import BadInputError
from swingml.io.store import RunStore
from swingml.workflow.pipeline import StageContext, StageOutcome, run_stage


def _ctx(tmp_path: Path) -> StageContext:
    return StageContext(load_config(run_dir=tmp_path), RunStore(tmp_path), Console(quiet=True))


def test_done_stage_records_counts_and_details(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    run_stage("demo", ctx, lambda _: StageOutcome(tasks=4, failed_tasks=1, details={"rows": 7}))
    entry = ctx.store.read_summary()["stages"]["demo"]
    assert entry["status"] == "done"
    assert (entry["tasks"], entry["failed_tasks"], entry["rows"]) == (4, 1, 7)
    assert entry["wall_s"] >= 0


def test_failing_stage_is_recorded_failed_and_reraised(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)

    def bad(_: StageContext) -> StageOutcome:
        raise BadInputError("x.csv row 3", "prices must be > 0", "fix the row")

    with pytest.raises(BadInputError):
        run_stage("demo", ctx, bad)
    entry = ctx.store.read_summary()["stages"]["demo"]
    assert entry["status"] == "failed"
    assert "x.csv row 3" in entry["error"]
