"""``swingml predict live``: new candles appended once, exactly the new events predicted once."""

from __future__ import annotations

import json
from pathlib import Path

import inference_run
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from swingml.cli import app
from swingml.data.frame import timestamps_ms, to_arrow
from swingml.inference.store import PredictionStore
from swingml.io import parted
from swingml.io.store import RunStore
from swingml.targets.grid import Variant
from swingml.workflow.loading import load_variant
from swingml.workflow.pipeline import run_stage

BASE = inference_run.BASE_BARS
runner = CliRunner()


def _live(run_dir: Path, data_dir: Path, new_dir: Path, *sets: str) -> tuple[int, str]:
    args = inference_run.cli_args(run_dir, data_dir, f"inference.new_candles_dir={new_dir}", *sets)
    result = runner.invoke(app, ["predict", "live", *args])
    return result.exit_code, result.output


def _entry(run_dir: Path) -> dict[str, object]:
    summary = json.loads((run_dir / "summary.json").read_text())
    entry: dict[str, object] = summary["stages"]["predict_live"]
    return entry


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    """Candles and prediction store contents (not the lock file, which is only ever empty)."""
    files = [*run_dir.glob("candles/*.parquet"), *run_dir.glob("predictions/*")]
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in files
        if p.is_file() and p.name != ".lock"
    }


def test_live_appends_the_new_bars_and_predicts_exactly_the_new_events(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    new_dir = inference_run.write_candles(tmp_path / "new", BASE + 120, BASE - 30)
    code, output = _live(run_dir, data_dir, new_dir)
    assert code == 0, output
    market = inference_run.market()
    store = RunStore(run_dir)
    for symbol, frame in market.items():
        candles = parted.read_frame(store.candles_path(symbol))
        pd.testing.assert_frame_equal(candles, frame.iloc[: BASE + 120].reset_index(drop=True))
    # the events the targets stage finds after the base run's last bar, on the grown candles
    ctx = inference_run.context(inference_run.config_for(run_dir, data_dir))
    run_stage("targets", ctx)
    last_base = market["BTCUSDT"]["timestamp"].iloc[BASE - 1]
    predictions = PredictionStore(run_dir / "predictions")
    written = 0
    for variant_id in inference_run.MODELS:
        variant = Variant.from_id(variant_id)
        events = load_variant(store, variant)
        expected = events.loc[events["timestamp"] > last_base, "timestamp"].tolist()
        stored = predictions.read(variant.main_id)
        assert stored["timestamp"].tolist() == expected
        assert set(stored["source"]) == {"live"} and set(stored["version"]) == {"1"}
        written += len(expected)
    assert written > 0
    entry = _entry(run_dir)
    assert entry["rows_written"] == written and entry["new_bars"] == 3 * 120
    last = int(timestamps_ms(market["BTCUSDT"])[BASE + 119])
    assert predictions.watermarks() == dict.fromkeys(market, last)


def test_a_live_rerun_adds_nothing(run_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    new_dir = inference_run.write_candles(tmp_path / "new", BASE + 80, BASE)
    assert _live(run_dir, data_dir, new_dir)[0] == 0
    before = _snapshot(run_dir)
    code, output = _live(run_dir, data_dir, new_dir)
    assert code == 0, output
    entry = _entry(run_dir)
    assert (entry["new_bars"], entry["events"], entry["rows_written"]) == (0, 0, 0)
    assert _snapshot(run_dir) == before


def _doctored(tmp_path: Path, symbol: str, row: int, column: str, value: object) -> Path:
    """New candles (bars BASE-10 .. BASE+40) with one cell of one symbol changed."""
    frames = inference_run.market()
    frame = frames[symbol].copy()
    frame.loc[row, column] = value
    frames[symbol] = frame
    return inference_run.write_candles(tmp_path / "new", BASE + 40, BASE - 10, frames)


@pytest.mark.parametrize(
    ("column", "change", "message"),
    [
        ("close", lambda v: v * 1.0001, "close differs"),
        ("timestamp", lambda v: v + pd.Timedelta(minutes=30), "not on the 1h grid"),
    ],
    ids=["overlap-mismatch", "off-grid"],
)
def test_bad_new_candles_exit_2_and_nothing_is_appended(
    run_dir: Path, data_dir: Path, tmp_path: Path, column: str, change: object, message: str
) -> None:
    row = BASE - 5 if column == "close" else BASE + 20
    value = inference_run.market()["SOLUSDT"].loc[row, column]
    new_dir = _doctored(tmp_path, "SOLUSDT", row, column, change(value))  # type: ignore[operator]
    before = _snapshot(run_dir)
    code, output = _live(run_dir, data_dir, new_dir)
    assert code == 2, output
    flat = " ".join(output.split())
    assert "SOLUSDT-1h.parquet row" in flat and message in flat
    assert _snapshot(run_dir) == before  # BTC and ETH were valid: still nothing appended


def test_a_bar_inside_the_stored_history_that_is_not_stored_exits_2(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    frames = inference_run.market()
    frames["ETHUSDT"] = frames["ETHUSDT"].drop(index=BASE - 3)  # the file lacks it: fine
    new_dir = inference_run.write_candles(tmp_path / "new", BASE + 10, BASE - 8, frames)
    assert _live(run_dir, data_dir, new_dir)[0] == 0
    early = inference_run.market()["ETHUSDT"].iloc[[0]].copy()
    early["timestamp"] = (early["timestamp"] - pd.Timedelta(hours=1)).astype(  # before history
        "datetime64[ms, UTC]"
    )
    late = pd.read_parquet(new_dir / "ETHUSDT-1h.parquet")
    pq.write_table(
        to_arrow(pd.concat([early, late], ignore_index=True)), new_dir / "ETHUSDT-1h.parquet"
    )
    code, output = _live(run_dir, data_dir, new_dir)
    assert code == 2 and "not a stored bar" in " ".join(output.split())


def test_live_waits_for_cadence_bars_then_predicts_them(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    cadence = "inference.cadence_bars=5"
    first = inference_run.write_candles(tmp_path / "a", BASE + 3, BASE - 2)
    assert _live(run_dir, data_dir, first, cadence)[0] == 0
    entry = _entry(run_dir)
    assert entry["waiting"] == list(inference_run.market()) and entry["rows_written"] == 0
    predictions = PredictionStore(run_dir / "predictions")
    market = inference_run.market()
    base_last = int(timestamps_ms(market["BTCUSDT"])[BASE - 1])
    assert predictions.watermarks() == dict.fromkeys(market, base_last)
    second = inference_run.write_candles(tmp_path / "b", BASE + 6, BASE + 3)
    assert _live(run_dir, data_dir, second, cadence)[0] == 0
    entry = _entry(run_dir)
    assert entry["waiting"] == []
    symbols = entry["symbols"]
    assert isinstance(symbols, dict) and symbols["BTCUSDT"]["pending_bars"] == 6
    assert predictions.watermarks()["BTCUSDT"] == int(timestamps_ms(market["BTCUSDT"])[BASE + 5])


def test_a_cadence_longer_than_the_shortest_horizon_is_bad_input(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    new_dir = inference_run.write_candles(tmp_path / "new", BASE + 5, BASE)
    code, output = _live(run_dir, data_dir, new_dir, "inference.cadence_bars=7")
    assert code == 2
    assert "inference.cadence_bars" in output and "at most 6" in " ".join(output.split())


def test_live_only_goes_as_far_as_every_symbol_has_reached(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    market = inference_run.market()
    frames = {s: f.iloc[: BASE + (10 if s == "BTCUSDT" else 4)] for s, f in market.items()}
    new_dir = inference_run.write_candles(tmp_path / "new", BASE + 10, BASE, frames)
    assert _live(run_dir, data_dir, new_dir)[0] == 0
    stamps = timestamps_ms(market["BTCUSDT"])
    predictions = PredictionStore(run_dir / "predictions")
    assert predictions.watermarks()["BTCUSDT"] == int(stamps[BASE + 3])
    assert len(parted.read_frame(RunStore(run_dir).candles_path("BTCUSDT"))) == BASE + 10
    rest = inference_run.write_candles(tmp_path / "rest", BASE + 10, BASE)
    assert _live(run_dir, data_dir, rest)[0] == 0
    assert predictions.watermarks()["BTCUSDT"] == int(stamps[BASE + 9])
    entry = _entry(run_dir)
    symbols = entry["symbols"]
    assert isinstance(symbols, dict) and symbols["BTCUSDT"]["pending_bars"] == 6


def test_live_on_the_synthetic_market_needs_a_new_candles_dir(run_dir: Path) -> None:
    # the run's recorded config holds the candle dirs of earlier runs: unset them
    unset = ["--set", "inference.new_candles_dir=null", "--set", "data.dir=null"]
    args = ["--profile", inference_run.PROFILE, "--run-dir", str(run_dir), *unset]
    result = runner.invoke(app, ["predict", "live", *args])
    assert result.exit_code == 2
    assert "inference.new_candles_dir" in result.output


def test_a_second_live_run_at_the_same_time_fails_fast(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    new_dir = inference_run.write_candles(tmp_path / "new", BASE + 5, BASE)
    before = _snapshot(run_dir)
    with PredictionStore(run_dir / "predictions").locked():
        code, output = _live(run_dir, data_dir, new_dir)
    assert code == 1 and "another `swingml predict`" in " ".join(output.split())
    assert _snapshot(run_dir) == before
