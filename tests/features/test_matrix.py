"""The reading API: every coin's features joined on one coin's bars, only what is asked read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from swingml.config import load_config
from swingml.errors import BadInputError
from swingml.features.matrix import feature_names, load_matrix, read_metadata, symbol_timestamps
from swingml.io.store import RunStore
from swingml.workflow.pipeline import StageContext, run_stage


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, make_run_module: Any) -> Iterator[RunStore]:
    run = make_run_module(tmp_path_factory.mktemp("matrix") / "run")
    sets = ["features.profile=tiny", "features.timeframes=[4h]"]
    config = load_config(None, (), sets, run.root)
    run_stage("features", StageContext(config, run, Console(stderr=True, quiet=True)))
    yield run


@pytest.fixture(scope="module")
def make_run_module() -> Any:
    from swingml.data.frame import to_arrow
    from swingml.io.store import write_parquet_atomic

    def make(root: Any) -> RunStore:
        rng = np.random.default_rng(0)
        run = RunStore(root)
        for i, sym in enumerate(["BTCUSDT", "ETHUSDT", "SOLUSDT"]):
            n = 900
            close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))) * (i + 1)
            frame = pd.DataFrame(
                {
                    "timestamp": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
                    "open": close,
                    "high": close * 1.01,
                    "low": close * 0.99,
                    "close": close,
                    "volume": 1.0 + rng.random(n),
                }
            )
            if sym == "SOLUSDT":
                frame = frame.iloc[300:]  # listed later
            if sym == "ETHUSDT":
                frame = frame.drop(index=[450, 451])  # a gap
            write_parquet_atomic(run.candles_path(sym), to_arrow(frame.reset_index(drop=True)))
        return run

    return make


def test_names_and_metadata_agree(store: RunStore) -> None:
    names = feature_names(store.features_dir())
    meta = read_metadata(store.features_dir())
    assert names == list(meta)
    assert names[0].startswith("BTC__") and names[-1].startswith("X__")
    assert {m["symbol"] for m in meta.values()} == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "X"}


def test_join_on_the_model_coin_bars_with_nan_where_a_coin_has_no_bar(store: RunStore) -> None:
    cols = ["BTC__rsi_14", "ETH__rsi_14", "SOL__rsi_14", "X__BTC_SOL__corr_48"]
    frame = load_matrix(store.features_dir(), "BTCUSDT", cols)
    assert list(frame.columns) == ["timestamp", *cols]
    assert len(frame) == 900
    assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert all(frame[c].dtype == np.float32 for c in cols)
    assert frame["SOL__rsi_14"].iloc[:300].isna().all()
    assert frame["ETH__rsi_14"].iloc[[450, 451]].isna().all()
    # values are the stored ones, moved onto BTC's bars
    eth = pq.read_table(store.features_dir() / "ETHUSDT/technical-0000.parquet").to_pandas()
    merged = frame.merge(eth[["timestamp", "ETH__rsi_14"]], on="timestamp", suffixes=("", "_e"))
    np.testing.assert_array_equal(merged["ETH__rsi_14"], merged["ETH__rsi_14_e"])


def test_a_late_coin_gets_only_its_own_bars(store: RunStore) -> None:
    frame = load_matrix(store.features_dir(), "SOLUSDT", ["BTC__rsi_14", "SOL__rsi_14"])
    assert len(frame) == 600
    stamps = symbol_timestamps(store.features_dir(), "SOLUSDT")
    assert frame["timestamp"].iloc[0].value // 10**6 == stamps[0]


def test_timestamps_select_rows_in_time_order(store: RunStore) -> None:
    stamps = pd.date_range("2024-01-05", periods=5, freq="7h", tz="UTC")
    wanted = [*stamps[::-1], pd.Timestamp("2030-01-01", tz="UTC")]
    frame = load_matrix(store.features_dir(), "ETHUSDT", ["ETH__natr_14"], timestamps=wanted)
    assert list(frame["timestamp"]) == list(stamps)
    full = load_matrix(store.features_dir(), "ETHUSDT", ["ETH__natr_14"])
    expected = full.set_index("timestamp").loc[stamps, "ETH__natr_14"].to_numpy()
    np.testing.assert_array_equal(frame["ETH__natr_14"].to_numpy(), expected)


def test_all_columns_by_default(store: RunStore) -> None:
    frame = load_matrix(store.features_dir(), "ETHUSDT")
    assert list(frame.columns)[1:] == feature_names(store.features_dir())


def test_unknown_names_are_bad_input(store: RunStore) -> None:
    with pytest.raises(BadInputError, match="BTC__nope"):
        load_matrix(store.features_dir(), "BTCUSDT", ["BTC__nope"])
    with pytest.raises(BadInputError, match="DOGEUSDT"):
        load_matrix(store.features_dir(), "DOGEUSDT", ["BTC__rsi_14"])


def test_a_store_without_metadata_says_run_features(tmp_path: Any) -> None:
    with pytest.raises(BadInputError, match="swingml features"):
        feature_names(tmp_path)
