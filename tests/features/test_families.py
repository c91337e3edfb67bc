"""Formulas of the five families checked against independent computations."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import talib

from swingml.features.base import build
from swingml.features.market_structure import confirmed_pivots
from swingml.targets.swings import pivot_positions

CandleMaker = Callable[..., pd.DataFrame]


def compute(frame: pd.DataFrame, name: str, **params: object) -> dict[str, np.ndarray]:
    return build({"name": name, "params": params}, "test").compute(frame)


def test_rsi_is_talib_rsi(candles: CandleMaker) -> None:
    frame = candles(500)
    expected = talib.RSI(frame["close"].to_numpy(), timeperiod=14).astype(np.float32)
    np.testing.assert_array_equal(compute(frame, "rsi")["rsi_14"], expected)


def test_macd_is_scaled_by_close(candles: CandleMaker) -> None:
    frame = candles(500)
    close = frame["close"].to_numpy()
    line, _, _ = talib.MACD(close, 12, 26, 9)
    out = compute(frame, "macd")["macd_12_26_9"]
    np.testing.assert_allclose(out, (line / close).astype(np.float32), rtol=1e-6)


def test_candle_shape_parts_add_up(candles: CandleMaker) -> None:
    out = compute(candles(300), "candle_shape")
    total = np.abs(out["body"]) + out["upper_wick"] + out["lower_wick"]
    np.testing.assert_allclose(total, 1.0, rtol=1e-5)
    assert np.nanmin(out["clv"]) >= -1.0 and np.nanmax(out["clv"]) <= 1.0
    assert np.isnan(out["gap"][0])


def test_runs_count_consecutive_up_closes() -> None:
    close = np.array([1, 2, 3, 4, 3, 4, 5, 5, 6], dtype=float)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=len(close), freq="h", tz="UTC"),
            "open": close,
            "high": close + 0.5,
            "low": close - 0.5,
            "close": close,
            "volume": 1.0,
        }
    )
    out = compute(frame, "candle_runs", cap=3, windows=[2])
    # bar 0 has no previous close; runs cap at 3
    np.testing.assert_array_equal(out["up_run"][1:], [1, 2, 3, 0, 1, 2, 0, 1])
    np.testing.assert_array_equal(out["down_run"][4], 1)


def test_parkinson_matches_its_formula(candles: CandleMaker) -> None:
    frame = candles(200)
    out = compute(frame, "range_vol", periods=[20])["parkinson_20"]
    hl = np.log(frame["high"] / frame["low"]).to_numpy()
    expected = math.sqrt(np.mean(hl[-20:] ** 2) / (4 * math.log(2)))
    assert out[-1] == np.float32(expected)
    assert np.isnan(out[18]) and np.isfinite(out[19])


def test_realized_vol_is_std_of_log_returns(candles: CandleMaker) -> None:
    frame = candles(200)
    r = np.diff(np.log(frame["close"].to_numpy()))
    out = compute(frame, "realized_vol", periods=[24])
    np.testing.assert_allclose(out["rv_24"][-1], np.std(r[-24:], ddof=1), rtol=1e-6)
    semi = float(out["rv_up_24"][-1]) ** 2 + float(out["rv_dn_24"][-1]) ** 2
    assert semi == pytest.approx(np.mean(r[-24:] ** 2), rel=1e-5)


def test_calendar_and_sessions_read_the_bar_timestamp() -> None:
    stamps = pd.to_datetime(["2024-03-02 14:00", "2024-03-31 03:00"], utc=True)
    frame = pd.DataFrame(
        {"timestamp": stamps, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}
    )
    cal = compute(frame, "calendar", fields=["hour", "weekday"], encodings=["raw", "cyclical"])
    np.testing.assert_array_equal(cal["hour"], [14, 3])
    np.testing.assert_array_equal(cal["weekday"], [5, 6])  # Saturday, Sunday
    np.testing.assert_allclose(cal["hour_sin"][0], math.sin(2 * math.pi * 14 / 24), rtol=1e-6)
    ses = compute(frame, "session")
    np.testing.assert_array_equal(ses["session_eu_us"], [1, 0])
    np.testing.assert_array_equal(ses["session_asia"], [0, 1])
    np.testing.assert_array_equal(ses["is_weekend"], [1, 1])
    np.testing.assert_array_equal(ses["is_month_end"], [0, 1])


def test_bars_since_is_capped_and_unknown_before_cap(candles: CandleMaker) -> None:
    frame = candles(600)
    out = compute(frame, "bars_since", windows=[24], cap=50)["since_high_24"]
    finite = out[np.isfinite(out)]
    assert finite.max() == 50 and finite.min() == 0


def test_swing_pivots_match_the_targets_definition(candles: CandleMaker) -> None:
    frame = candles(3000)
    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    for w in (2, 5, 20):
        conf_hi, conf_lo = confirmed_pivots(high, low, w)
        np.testing.assert_array_equal(
            np.flatnonzero(conf_hi) - w, pivot_positions(high, low, w, "high")
        )
        np.testing.assert_array_equal(
            np.flatnonzero(conf_lo) - w, pivot_positions(high, low, w, "low")
        )


def test_swing_level_is_used_from_its_confirmation_bar() -> None:
    high = np.array([1, 2, 3, 9, 4, 3, 2, 2, 2, 2], dtype=float)
    low = high - 0.5
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=len(high), freq="h", tz="UTC"),
            "open": high - 0.2,
            "high": high,
            "low": low,
            "close": high - 0.1,
            "volume": 1.0,
        }
    )
    out = compute(frame, "swings", periods=[2], vol_window=3)
    age = out["swing_hi_age_2"]
    # the swing high at bar 3 (w = 2) is confirmed at bar 5: unknown before, 2 bars old at 5
    assert np.isnan(age[:5]).all()
    np.testing.assert_array_equal(age[5:], [2, 3, 4, 5, 6])


def test_volume_features_need_their_columns(candles: CandleMaker) -> None:
    frame = candles(300).drop(columns=["taker_buy_base", "trades"])
    out = compute(frame, "taker_flow")
    assert np.isnan(out["taker_buy_24"]).all()
    with_cols = compute(candles(300), "taker_flow")
    assert np.isfinite(with_cols["taker_buy_24"][-1])
