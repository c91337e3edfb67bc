"""Done-when law of the live service on real data: the exchange replays closed bars one at a time.

A run is built from the real hourly files (their last ``HISTORY`` bars) cut ``REPLAY`` bars early,
served by the two champions of the inference tests' base run (same feature config). The
loopback exchange then replays the cut bars: each ``predict live --follow`` cycle sees one more
closed bar and the next one still in progress.
Afterwards no bar in progress was ever stored (the stored candles are the real closed bars), every
event after the cut was predicted exactly once, and ``predict batch`` on the completed history
agrees with every live row to the last bit of its probabilities. The benchmark
``benchmarks/bench_live.py --replay 200`` runs the same law over 200 bars.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import exchange as ex
import inference_run
import pandas as pd
import pytest
from typer.testing import CliRunner

from swingml.cli import app
from swingml.inference.store import PredictionStore
from swingml.io import parted
from swingml.io.store import RunStore
from swingml.targets.grid import Variant
from swingml.workflow.loading import load_variant

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
HISTORY = 1500
REPLAY = 16
HOUR_MS = 3_600_000
runner = CliRunner()


def _real_rows() -> dict[str, list[list[Any]]]:
    if not (REAL / "BTCUSDT-1h.json.gz").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{REAL} is missing (CI must have the real data)")
        pytest.skip(f"{REAL} is not present")
    return inference_run.real_kline_rows(REAL, SYMBOLS, HISTORY)


_write = inference_run.write_kline_rows


def test_live_follow_over_replayed_real_bars_equals_batch(tmp_path: Path, base_run: Path) -> None:
    rows = _real_rows()
    btc = rows["BTCUSDT"]
    cut = btc[-REPLAY - 1][0]  # the first replayed bar; one more bar stays in progress at the end
    last = btc[-2][0]  # the last bar that closes during the replay
    data_dir = _write(tmp_path / "data", rows, cut)
    run_dir = tmp_path / "run"
    ctx = inference_run.context(inference_run.config_for(run_dir, data_dir))
    for stage in ("data", "features", "targets"):
        inference_run.run_stage(stage, ctx)
    # the base run's champions (same feature config, so the same input columns) serve here too:
    # their registry is copied, which spares training and registering two more models
    shutil.copy2(base_run / "mlflow.db", run_dir / "mlflow.db")
    exchange = ex.Exchange(rows, HOUR_MS, cut, step_on_time=True)
    with ex.serve(exchange):
        args = inference_run.cli_args(
            run_dir,
            data_dir,
            "inference.source=rest",
            f"data.fetch.rest_url={exchange.url}",
            "inference.poll_s=0",
            f"inference.max_cycles={REPLAY}",
        )
        result = runner.invoke(app, ["predict", "live", "--follow", *args])
    assert result.exit_code == 0, result.output
    assert "cycle failed" not in result.output
    assert exchange.now_ms == cut + REPLAY * HOUR_MS
    # stored candles: exactly the real closed bars (never the one in progress)
    full_dir = _write(tmp_path / "full", rows, last + 1)
    for symbol in SYMBOLS:
        stored = parted.read_frame(run_dir / "candles" / f"{symbol}.parquet")
        stamps = pd.DatetimeIndex(stored["timestamp"]).as_unit("ms").asi8
        assert stamps[-1] <= last
        real = [r for r in rows[symbol] if r[0] <= last]
        assert stamps.tolist() == [r[0] for r in real]
        assert stored["close"].tolist() == [float(r[4]) for r in real]
    store = PredictionStore(run_dir / "predictions")
    live_rows = pd.concat([store.read(m) for m in store.models()], ignore_index=True)
    assert len(live_rows) > 0 and set(live_rows["source"]) == {"live"}
    batch = runner.invoke(app, ["predict", "batch", *inference_run.cli_args(run_dir, full_dir)])
    assert batch.exit_code == 0, batch.output
    entry = json.loads((run_dir / "summary.json").read_text())["stages"]["predict_batch"]
    assert entry["rows_present"] == len(live_rows)
    assert entry["rows_differing"] == 0  # live == batch, probabilities bit for bit
    cut_ts = pd.Timestamp(cut, unit="ms", tz="UTC")
    for variant_id in inference_run.MODELS:
        variant = Variant.from_id(variant_id)
        events = load_variant(RunStore(run_dir), variant)
        expected = events.loc[events["timestamp"] >= cut_ts, "timestamp"].tolist()
        mine = live_rows[live_rows["model"] == variant.main_id]
        assert mine["timestamp"].tolist() == expected  # every event once, in order
