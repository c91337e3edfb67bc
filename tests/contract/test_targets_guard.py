"""Law (SPEC §4): no target column, and no column that reads future bars, reaches model inputs.

A real feature frame (TA-Lib indicators of a price series, with feature metadata in the contract
format) gets a target column and a future-shifted copy of a feature injected; the guard drops both,
logging why, and keeps every honest feature.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import talib

from swingml.config import GridConfig, TargetsConfig
from swingml.targets.grid import Variant
from swingml.targets.guard import guard_inputs
from swingml.targets.table import build_symbol_targets


def feature_frame() -> tuple[pd.DataFrame, dict[str, dict[str, object]], pd.DataFrame]:
    rng = np.random.default_rng(2)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 3000)))
    high, low = close * 1.004, close * 0.996
    stamps = pd.date_range("2024-01-01", periods=len(close), freq="h", tz="UTC").as_unit("ms")
    candles = pd.DataFrame(
        {"timestamp": stamps, "open": close, "high": high, "low": low, "close": close}
    )
    frame = pd.DataFrame(
        {
            "timestamp": stamps,
            "BTC__rsi_14": talib.RSI(close, 14).astype(np.float32),
            "BTC__atr_14": talib.ATR(high, low, close, 14).astype(np.float32),
            "BTC__sma_20": talib.SMA(close, 20).astype(np.float32),
        }
    )
    metadata: dict[str, dict[str, object]] = {
        name: {
            "name": name,
            "family": "technical",
            "symbol": "BTCUSDT",
            "generator": name.split("__")[1].rsplit("_", 1)[0],
            "params": {"period": int(name.rsplit("_", 1)[1])},
            "lookback": int(name.rsplit("_", 1)[1]),
        }
        for name in ("BTC__rsi_14", "BTC__atr_14", "BTC__sma_20")
    }
    return frame, metadata, candles


def test_an_injected_target_and_a_future_shifted_feature_are_dropped_with_a_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frame, metadata, candles = feature_frame()
    variant = Variant("BTCUSDT", 5, "high_breakout", 1.0, 1.0)
    grid = GridConfig(windows=(5,), kinds=("high_breakout",), s=(1.0,), k=(1.0,))
    targets = build_symbol_targets("BTCUSDT", candles, TargetsConfig(), grid).frame
    assert len(targets) > 20
    labels = targets.set_index("timestamp")["label"].astype("float32")
    frame[variant.column] = frame["timestamp"].map(labels)
    frame["BTC__rsi_14__lead1"] = frame["BTC__rsi_14"].shift(-1)

    with caplog.at_level(logging.WARNING, logger="swingml.guard"):
        kept, dropped = guard_inputs(list(frame.columns), metadata)

    assert kept == ["BTC__rsi_14", "BTC__atr_14", "BTC__sma_20"]
    assert set(dropped) == {"timestamp", variant.column, "BTC__rsi_14__lead1"}
    assert "target" in dropped[variant.column]
    assert "not in the feature metadata" in dropped["BTC__rsi_14__lead1"]
    logged = {record.getMessage() for record in caplog.records if record.name == "swingml.guard"}
    assert any(variant.column in message and "target" in message for message in logged)
    assert any("BTC__rsi_14__lead1" in message for message in logged)
    assert not any("timestamp" in message for message in logged)


def test_columns_whose_metadata_reads_future_bars_or_names_a_target_are_dropped() -> None:
    _, metadata, _ = feature_frame()
    metadata["BTC__fwd_return_5"] = {**metadata["BTC__rsi_14"], "lookback": -5}
    metadata["BTC__peek"] = {**metadata["BTC__rsi_14"], "future": True}
    metadata["BTC__target_encoded_hour"] = {**metadata["BTC__rsi_14"]}
    columns = [*metadata, "target__low_reversion__w2__s1.0__k0.5"]

    kept, dropped = guard_inputs(columns, metadata)

    assert kept == ["BTC__rsi_14", "BTC__atr_14", "BTC__sma_20"]
    assert dropped.keys() == {
        "BTC__fwd_return_5",
        "BTC__peek",
        "BTC__target_encoded_hour",
        "target__low_reversion__w2__s1.0__k0.5",
    }
    assert "future" in dropped["BTC__fwd_return_5"] and "future" in dropped["BTC__peek"]
