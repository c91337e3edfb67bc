"""``swingml predict batch``: every event row of every champion's variant, appended once."""

from __future__ import annotations

import json
from pathlib import Path

import inference_run
import numpy as np
from typer.testing import CliRunner

from swingml.cli import app
from swingml.data.frame import to_arrow
from swingml.inference.store import PredictionStore
from swingml.io.store import RunStore, read_json, write_parquet_atomic
from swingml.stages.predict import batch
from swingml.targets.grid import Variant
from swingml.workflow.loading import load_variant
from swingml.workflow.pipeline import run_stage

runner = CliRunner()


def _batch_cli(run_dir: Path, data_dir: Path) -> dict[str, object]:
    result = runner.invoke(
        app,
        ["predict", "batch", *inference_run.cli_args(run_dir, data_dir)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((run_dir / "summary.json").read_text())
    entry: dict[str, object] = summary["stages"]["predict_batch"]
    return entry


def test_batch_predicts_every_event_row_of_each_champion_variant(
    run_dir: Path, data_dir: Path
) -> None:
    entry = _batch_cli(run_dir, data_dir)
    store = PredictionStore(run_dir / "predictions")
    total = unknown = 0
    for variant_id in inference_run.MODELS:
        variant = Variant.from_id(variant_id)
        events = load_variant(RunStore(run_dir), variant)
        stored = store.read(variant.main_id)
        assert len(events) > 20
        assert stored["timestamp"].tolist() == events["timestamp"].tolist()
        assert stored["label"].tolist() == events["label"].tolist()  # unknown ones included
        unknown += int(events["label"].isna().sum())
        assert set(stored["variant"]) == {variant.id}
        assert set(stored["version"]) == {"1"} and set(stored["source"]) == {"batch"}
        proba = stored[["p_neither", "p_breakout", "p_reversal"]].to_numpy()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        total += len(events)
    assert unknown > 0  # rows whose horizon runs past the data are predicted too
    assert entry["status"] == "done"
    assert entry["models_predicted"] == 2
    assert (entry["rows_written"], entry["rows_present"]) == (total, 0)


def test_a_batch_rerun_adds_nothing(run_dir: Path, data_dir: Path) -> None:
    first = _batch_cli(run_dir, data_dir)
    files = sorted((run_dir / "predictions").glob("*.parquet"))
    before = {p.name: p.read_bytes() for p in files}
    again = _batch_cli(run_dir, data_dir)
    assert again["rows_written"] == 0
    assert again["rows_present"] == first["rows_written"]
    assert again["rows_differing"] == 0
    assert {p.name: p.read_bytes() for p in files} == before


def test_a_new_champion_version_adds_its_own_rows(run_dir: Path, data_dir: Path) -> None:
    ctx = inference_run.context(inference_run.config_for(run_dir, data_dir))
    run_stage("predict_batch", ctx, batch)
    inference_run.register_champions(ctx, inference_run.MODELS[:1], seed=8)  # version 2 of one
    outcome = run_stage("predict_batch", ctx, batch)
    variant = Variant.from_id(inference_run.MODELS[0])
    events = len(load_variant(ctx.store, variant))
    assert outcome.details["models"][variant.main_id]["version"] == "2"
    assert outcome.details["rows_written"] == events
    stored = PredictionStore(run_dir / "predictions").read(variant.main_id)
    assert stored.groupby("version").size().to_dict() == {"1": events, "2": events}


def test_batch_without_a_registry_is_bad_input(run_dir: Path, data_dir: Path) -> None:
    (run_dir / "mlflow.db").unlink()
    result = runner.invoke(app, ["predict", "batch", *inference_run.cli_args(run_dir, data_dir)])
    assert result.exit_code == 2
    assert "mlflow.db" in result.output and "swingml train" in result.output
    assert not list((run_dir / "predictions").glob("*.parquet"))


def test_batch_rebuilds_features_and_targets_when_the_candles_grew(
    run_dir: Path, data_dir: Path
) -> None:
    ctx = inference_run.context(inference_run.config_for(run_dir, data_dir))
    grown = inference_run.BASE_BARS + 30
    for symbol, frame in inference_run.market().items():
        write_parquet_atomic(ctx.store.candles_path(symbol), to_arrow(frame.iloc[:grown]))
    outcome = run_stage("predict_batch", ctx, batch)
    assert outcome.details["refreshed_stages"] == ["features", "targets"]
    metadata = read_json(ctx.store.features_dir() / "metadata.json")
    assert metadata["symbols"]["BTCUSDT"]["rows"] == grown
    variant = Variant.from_id(inference_run.MODELS[0])
    stored = PredictionStore(run_dir / "predictions").read(variant.main_id)
    assert stored["timestamp"].tolist() == load_variant(ctx.store, variant)["timestamp"].tolist()
    again = run_stage("predict_batch", ctx, batch)
    assert again.details["refreshed_stages"] == []


def test_batch_over_a_longer_data_dir_takes_the_new_bars(run_dir: Path, tmp_path: Path) -> None:
    longer = inference_run.write_candles(tmp_path / "longer", inference_run.BASE_BARS + 90)
    entry = _batch_cli(run_dir, longer)
    assert entry["new_bars"] == dict.fromkeys(inference_run.market(), 90)
    assert entry["refreshed_stages"] == ["features", "targets"]
    store = PredictionStore(run_dir / "predictions")
    last_base = inference_run.market()["BTCUSDT"]["timestamp"].iloc[inference_run.BASE_BARS - 1]
    later = 0
    for variant_id in inference_run.MODELS:
        variant = Variant.from_id(variant_id)
        events = load_variant(RunStore(run_dir), variant)
        stored = store.read(variant.main_id)
        assert stored["timestamp"].tolist() == events["timestamp"].tolist()
        later += int((stored["timestamp"] > last_base).sum())
    assert later > 0  # the new history is predicted, not silently ignored


def test_batch_over_a_data_dir_that_contradicts_the_stored_bars_exits_2(
    run_dir: Path, tmp_path: Path
) -> None:
    frames = inference_run.market()
    frames["ETHUSDT"].loc[500, "close"] *= 1.001
    folder = inference_run.write_candles(
        tmp_path / "other", inference_run.BASE_BARS + 20, 0, frames
    )
    before = {p.name: p.read_bytes() for p in (run_dir / "candles").glob("*.parquet")}
    result = runner.invoke(app, ["predict", "batch", *inference_run.cli_args(run_dir, folder)])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "ETHUSDT-1h.parquet row 501" in flat and "close differs" in flat
    after = {p.name: p.read_bytes() for p in (run_dir / "candles").glob("*.parquet")}
    assert after == before  # every symbol checked before any is appended
    assert not list((run_dir / "predictions").glob("*.parquet"))
