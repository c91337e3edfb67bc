"""The data stage: candles for every symbol, gap details in summary.json, reuse when unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from swingml.config import load_config
from swingml.io.store import RunStore
from swingml.workflow import pipeline

SMALL = ["--set", "data.synthetic.bars=600"]


def _summary(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def _manifest(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "manifest.json").read_text())
    return data


def test_synth_writes_three_coins_and_records_them(tmp_path: Path, kit: Any) -> None:
    run_dir = tmp_path / "run"
    result = kit.invoke(["data", "synth", "--run-dir", str(run_dir), *SMALL])
    assert result.exit_code == 0, result.output
    assert kit.candles_written(run_dir) == ["BTCUSDT.parquet", "ETHUSDT.parquet", "SOLUSDT.parquet"]
    entry = _summary(run_dir)["stages"]["data_synth"]
    assert entry["status"] == "done" and entry["source"] == "synthetic"
    assert entry["symbols"]["BTCUSDT"]["rows"] == 600
    assert entry["symbols"]["BTCUSDT"]["missing_bars"] == 0
    frame = pd.read_parquet(run_dir / "candles" / "SOLUSDT.parquet")
    assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert frame.columns[:6].tolist() == ["timestamp", "open", "high", "low", "close", "volume"]
    prints = _manifest(run_dir)["fingerprints"]
    assert prints["data/BTCUSDT"] == entry["symbols"]["BTCUSDT"]["fingerprint"]


def test_rerun_reuses_unchanged_candles_and_redoes_changed_ones(tmp_path: Path, kit: Any) -> None:
    run_dir = tmp_path / "run"
    args = ["data", "synth", "--run-dir", str(run_dir), *SMALL]
    assert kit.invoke(args).exit_code == 0
    path = run_dir / "candles" / "ETHUSDT.parquet"
    before = path.stat().st_mtime_ns
    again = kit.invoke(args)
    assert again.exit_code == 0
    assert path.stat().st_mtime_ns == before
    assert _summary(run_dir)["stages"]["data_synth"]["symbols"]["ETHUSDT"]["reused"] is True
    old = pd.read_parquet(path)
    changed = kit.invoke([*args, "--set", "data.synthetic.seed=99"])
    assert changed.exit_code == 0
    assert _summary(run_dir)["stages"]["data_synth"]["symbols"]["ETHUSDT"]["reused"] is False
    assert not pd.read_parquet(path)["close"].equals(old["close"])


def test_data_stage_reads_data_dir_and_reuses_by_file_hash(
    tmp_path: Path, data_dir: Path, kit: Any
) -> None:
    kit.write_json(data_dir, kit.kline_rows(30), "BTCUSDT-1h.json.gz")
    rows = kit.kline_rows(30)
    del rows[10:13]
    kit.write_json(data_dir, rows, "ETHUSDT-1h.json")
    sets = [f"data.dir={data_dir}", "data.symbols=[BTCUSDT,ETHUSDT]"]
    config = load_config(None, (), sets, tmp_path / "run")
    ctx = pipeline.StageContext(config, RunStore(config.run.dir), Console(quiet=True))
    outcome = pipeline.run_stage("data", ctx)
    eth = outcome.details["symbols"]["ETHUSDT"]
    assert (eth["rows"], eth["missing_bars"], eth["gaps"], eth["longest_gap_bars"]) == (27, 3, 1, 3)
    assert outcome.details["source"] == str(data_dir)
    again = pipeline.run_stage("data", ctx)
    assert again.details["symbols"]["BTCUSDT"]["reused"] is True
    kit.write_json(data_dir, kit.kline_rows(31), "BTCUSDT-1h.json.gz")
    third = pipeline.run_stage("data", ctx)
    assert third.details["symbols"]["BTCUSDT"]["reused"] is False
    assert third.details["symbols"]["BTCUSDT"]["rows"] == 31
    assert third.details["symbols"]["ETHUSDT"]["reused"] is True


def test_data_stage_synthesises_when_data_dir_is_null(tmp_path: Path) -> None:
    config = load_config(None, (), ["data.synthetic.bars=600"], tmp_path / "run")
    ctx = pipeline.StageContext(config, RunStore(config.run.dir), Console(quiet=True))
    outcome = pipeline.run_stage("data", ctx)
    assert outcome.details["source"] == "synthetic" and outcome.tasks == 3
    assert _summary(tmp_path / "run")["stages"]["data"]["status"] == "done"
    for symbol in config.data.symbols:
        assert len(pd.read_parquet(ctx.store.candles_path(symbol))) == 600


def test_validate_needs_a_data_dir(tmp_path: Path, kit: Any) -> None:
    result = kit.invoke(["data", "validate", "--run-dir", str(tmp_path / "run")])
    kit.assert_bad_input(result, "data.dir", "--set data.dir=")


def test_validate_reports_gaps_per_symbol(tmp_path: Path, data_dir: Path, kit: Any) -> None:
    rows = kit.kline_rows(40)
    del rows[20:25]
    del rows[5:7]
    kit.write_json(data_dir, rows)
    run_dir = tmp_path / "run"
    args = ["data", "validate", "--run-dir", str(run_dir), "--set", f"data.dir={data_dir}"]
    result = kit.invoke([*args, "--set", "data.symbols=[BTCUSDT]"])
    assert result.exit_code == 0, result.output
    assert "BTCUSDT: 33 rows" in result.output
    assert "7 missing bars in 2 gaps, longest 5 bars after 2024-01-01T19:00:00Z" in result.output
    assert kit.candles_written(run_dir) == []
