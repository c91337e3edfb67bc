"""Law (SPEC §9): a live prediction equals the batch prediction for the same bar and model version.

A run is built on the first bars of the synthetic market with two registered champions; the rest
of the bars are fed to ``swingml predict live`` in overlapping steps (with the shortest history
live allows, so its feature tails really are shorter than the history); then ``swingml predict
batch`` rebuilds features and targets over every bar and predicts the whole history. Every live
row must have a batch twin with bit-identical probabilities, and the features live computed must
equal the rebuilt feature store's to the last float32 bit. Re-running live adds nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# The inference tests' run builder (tests/inference/inference_run.py), shared with this law.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))

import inference_run

from swingml.data.frame import timestamps_ms
from swingml.features.matrix import feature_names, load_matrix, read_metadata
from swingml.features.plan import make_plan, plan_spec
from swingml.inference.live_features import compute_at, resolve_columns
from swingml.inference.store import PROBA, PredictionStore
from swingml.io import parted
from swingml.stages.predict import batch
from swingml.stages.predict_live import live
from swingml.workflow.pipeline import run_stage

BASE = inference_run.BASE_BARS
STEPS = ((BASE - 10, BASE + 60), (BASE + 40, BASE + 250), (BASE + 40, BASE + 250))
"""Bars (start, stop) each live run reads: overlapping the stored bars, the last one repeated."""

KEY = ["model", "version", "timestamp"]


@pytest.fixture(scope="module")
def fed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    """A copy of the base run fed through live in ``STEPS``; returns run, data dir, live rows."""
    base = inference_run.base_run(tmp_path_factory)
    root = tmp_path_factory.mktemp("live-equals-batch")
    run_dir = inference_run.copy_run(base, root / "run")
    data_dir = base.parent / "data"
    written = []
    for i, (start, stop) in enumerate(STEPS):
        new_dir = inference_run.write_candles(root / f"step{i}", stop, start)
        config = inference_run.config_for(run_dir, data_dir, f"inference.new_candles_dir={new_dir}")
        outcome = run_stage("predict_live", inference_run.context(config), live)
        written.append(outcome.details["rows_written"])
    assert written[0] > 0 and written[1] > 0
    assert written[2] == 0  # a re-run of live appends nothing
    store = PredictionStore(run_dir / "predictions")
    rows = pd.concat([store.read(m) for m in store.models()], ignore_index=True)
    assert set(rows["source"]) == {"live"} and len(rows) == sum(written)
    return run_dir, data_dir, rows


def test_every_live_prediction_equals_the_batch_one_bit_for_bit(
    fed_run: tuple[Path, Path, pd.DataFrame],
) -> None:
    run_dir, data_dir, live_rows = fed_run
    ctx = inference_run.context(inference_run.config_for(run_dir, data_dir))
    checked = run_stage("predict_batch", ctx, batch)  # into the store holding the live rows
    assert checked.details["refreshed_stages"] == ["features", "targets"]
    assert checked.details["rows_present"] == len(live_rows)
    assert checked.details["rows_differing"] == 0
    (run_dir / "predictions").rename(run_dir / "predictions-live")
    run_stage("predict_batch", ctx, batch)  # a fresh store: batch values for every event
    fresh = PredictionStore(run_dir / "predictions")
    batch_rows = pd.concat([fresh.read(m) for m in fresh.models()], ignore_index=True)
    joined = live_rows.merge(batch_rows, on=KEY, how="left", suffixes=("_live", "_batch"))
    assert joined["variant_batch"].notna().all(), "a live event the batch does not know"
    assert set(joined["model"]) == {"BTCUSDT-w3-high", "ETHUSDT-w5-low"}
    for p in PROBA:
        live_p = joined[f"{p}_live"].to_numpy(np.float64)
        batch_p = joined[f"{p}_batch"].to_numpy(np.float64)
        assert np.array_equal(live_p.view(np.int64), batch_p.view(np.int64)), p


def test_live_features_equal_the_rebuilt_store_to_the_last_bit(
    fed_run: tuple[Path, Path, pd.DataFrame],
) -> None:
    run_dir, data_dir, _ = fed_run
    config = inference_run.config_for(run_dir, data_dir)
    store = inference_run.context(config).store
    run_stage("predict_batch", inference_run.context(config), batch)  # rebuilds the store
    fdir = store.features_dir()
    names = feature_names(fdir)
    plan = make_plan(plan_spec(config))
    columns = resolve_columns(plan, read_metadata(fdir), names, config.data.symbols)
    candles = {s: parted.read_frame(store.candles_path(s)) for s in config.data.symbols}
    for symbol in config.data.symbols:
        stamps = timestamps_ms(candles[symbol])[BASE:]
        values, read = compute_at(
            plan, columns, candles, stamps, config.inference.live_history_bars
        )
        assert min(read.values()) < BASE  # some tails are shorter than the history
        when = pd.DatetimeIndex(stamps.astype("datetime64[ms]")).tz_localize("UTC")
        stored = load_matrix(fdir, symbol, names, when)[names].to_numpy(np.float32)
        assert values.shape == stored.shape == (len(stamps), len(names))
        np.testing.assert_array_equal(values, stored, err_msg=symbol, strict=True)  # NaN == NaN
