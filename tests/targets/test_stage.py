"""Stage ``targets`` on a real run directory: the store, its summary, resume, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from swingml.cli import app
from swingml.config import load_config
from swingml.errors import BadInputError
from swingml.io.store import RunStore, read_json
from swingml.targets.grid import variants
from swingml.workflow.loading import load_variant
from swingml.workflow.pipeline import StageContext, run_stage, run_through

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
SETTINGS = ["executor.max_concurrent_processes=1"]


def write_candles(store: RunStore, bars: int = 1500, seed: int = 0) -> None:
    """Random-walk candles in the contract format, one file per symbol, with a 3-bar gap."""
    rng = np.random.default_rng(seed)
    for offset, symbol in enumerate(SYMBOLS):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
        spread = close * rng.uniform(0.001, 0.01, bars)
        hours = np.arange(bars) + np.where(np.arange(bars) >= bars // 2, 3, 0) + offset
        stamps = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(hours, unit="h")
        frame = pd.DataFrame(
            {
                "timestamp": pd.DatetimeIndex(stamps).as_unit("ms"),
                "open": close,
                "high": close + spread,
                "low": close - spread,
                "close": close,
                "volume": rng.uniform(1, 10, bars),
            }
        )
        store.ensure("candles")
        frame.to_parquet(store.candles_path(symbol), index=False)


def context(run_dir: Path, *settings: str, profile: str = "integration-test") -> StageContext:
    config = load_config(profile, (), [*SETTINGS, *settings], run_dir)
    return StageContext(config, RunStore(run_dir), Console(quiet=True))


def test_stage_writes_the_long_form_store_and_its_summary(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    write_candles(ctx.store)
    outcome = run_stage("targets", ctx)

    grid = variants(ctx.config)
    assert outcome.tasks == 3 and outcome.failed_tasks == 0
    details = ctx.store.read_summary()["stages"]["targets"]
    assert details["status"] == "done" and details["reused"] is False
    assert details["grid_size"] == len(grid) == 96
    assert set(details["events"]) == set(SYMBOLS)
    assert set(details["class_balance"]) == {"0", "1", "2"}
    assert abs(sum(details["class_balance"].values()) - 1.0) < 1e-3
    assert details["zero_event_variants"] == 0

    table = pd.read_parquet(ctx.store.targets_path("BTCUSDT"))
    assert list(table.columns) == ["timestamp", "kind", "w", "s", "k", "label"]
    assert str(table["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert str(table["label"].dtype) == "Int8"
    assert set(table["label"].dropna().unique()) <= {0, 1, 2}
    assert table["label"].isna().any(), "events near the end have unknown labels"

    summary = pd.read_parquet(ctx.store.path("targets", "summary.parquet"))
    assert summary["variant"].tolist() == [v.id for v in grid]
    for variant in grid[:: len(grid) // 7]:
        rows = load_variant(ctx.store, variant)
        entry = summary.set_index("variant").loc[variant.id]
        assert len(rows) == entry["events"] > 0
        assert rows["timestamp"].is_monotonic_increasing
        assert int(rows["label"].isna().sum()) == entry["unknown"]
        assert int((rows["label"] == 1).sum()) == entry["class_1"]

    meta = read_json(ctx.store.path("targets", "_meta.json"))
    assert meta["config_hash"] == ctx.config.slice_hash("targets", "grid")
    assert set(meta["candles"]) == set(meta["targets"]) == set(SYMBOLS)


def test_a_rerun_reuses_the_store_and_a_change_rebuilds_it(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    write_candles(ctx.store)
    run_stage("targets", ctx)
    path = ctx.store.targets_path("ETHUSDT")
    stamp = path.stat().st_mtime_ns

    again = run_stage("targets", context(tmp_path))
    assert again.tasks == 0 and again.details["reused"] is True
    assert path.stat().st_mtime_ns == stamp

    wider = run_stage("targets", context(tmp_path, "grid.k=[0.5, 1.0, 2.0]"))
    assert wider.details["reused"] is False and wider.details["grid_size"] == 144
    assert sorted(pd.read_parquet(path)["k"].unique()) == [0.5, 1.0, 2.0]

    write_candles(ctx.store, seed=1)
    fresh = run_stage("targets", context(tmp_path, "grid.k=[0.5, 1.0, 2.0]"))
    assert fresh.details["reused"] is False


def test_a_lost_target_file_is_rebuilt_even_where_the_task_result_is_cached(
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path)
    write_candles(ctx.store)
    run_stage("targets", ctx)
    expected = pd.read_parquet(ctx.store.targets_path("SOLUSDT"))
    ctx.store.targets_path("SOLUSDT").unlink()

    run_stage("targets", context(tmp_path))
    pd.testing.assert_frame_equal(pd.read_parquet(ctx.store.targets_path("SOLUSDT")), expected)


def test_candles_out_of_order_are_bad_input_and_nothing_is_written(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    write_candles(ctx.store)
    path = ctx.store.candles_path("ETHUSDT")
    frame = pd.read_parquet(path)
    frame.loc[10, "timestamp"] = frame.loc[9, "timestamp"]
    frame.to_parquet(path, index=False)

    with pytest.raises(BadInputError, match=r"ETHUSDT.parquet row 10: timestamps must be strictly"):
        run_stage("targets", ctx)
    assert not ctx.store.path("targets").exists()

    # the CLI trusts finished stages; it re-checks the candles it reads all the same
    for stage in ("data", "features"):
        ctx.store.record_stage(stage, {"status": "done"})
    result = CliRunner().invoke(
        app, ["targets", "--profile", "integration-test", "--run-dir", str(tmp_path)]
    )
    assert result.exit_code == 2


def test_missing_candles_are_made_by_the_data_stage_first(tmp_path: Path) -> None:
    ctx = context(tmp_path, "data.synthetic.bars=1200")
    outcome = run_through("targets", ctx)
    stages = ctx.store.read_summary()["stages"]
    assert list(stages) == ["data", "features", "targets"]
    assert outcome.tasks == 3
    assert all(ctx.store.targets_path(symbol).is_file() for symbol in SYMBOLS)
