"""Higher timeframes: UTC-aligned aggregation, completed bars only, gaps respected."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from swingml.errors import BadInputError
from swingml.features import timeframes as tf

CandleMaker = Callable[..., pd.DataFrame]
HOUR = 3600


def test_resample_aggregates_ohlcv(candles: CandleMaker) -> None:
    frame = candles(48, start="2024-01-01 00:00")
    out = tf.resample(frame, HOUR, 4 * HOUR)
    bars = out.candles
    assert len(bars) == 12
    first = frame.iloc[:4]
    assert bars["open"].iloc[0] == first["open"].iloc[0]
    assert bars["high"].iloc[0] == first["high"].max()
    assert bars["low"].iloc[0] == first["low"].min()
    assert bars["close"].iloc[0] == first["close"].iloc[-1]
    assert bars["volume"].iloc[0] == pytest.approx(first["volume"].sum())
    assert bars["timestamp"].iloc[1] == pd.Timestamp("2024-01-01 04:00", tz="UTC")


def test_a_higher_bar_is_used_from_the_base_bar_that_completes_it(candles: CandleMaker) -> None:
    frame = candles(12, start="2024-01-01 00:00")
    out = tf.resample(frame, HOUR, 4 * HOUR)
    values = np.arange(len(out.candles), dtype=np.float32) * 10.0
    aligned = tf.align(values, out, tf.timestamps_ms(frame))
    # 00:00-03:00 bars: the 00-04 bar closes with the 03:00 bar, nothing complete before
    assert np.isnan(aligned[:3]).all()
    np.testing.assert_array_equal(aligned[3:], [0, 0, 0, 0, 10, 10, 10, 10, 20])


def test_a_bucket_missing_its_last_bar_is_used_from_the_next_bar(candles: CandleMaker) -> None:
    frame = candles(12, start="2024-01-01 00:00", gaps=((3, 2),))  # 03:00 and 04:00 missing
    out = tf.resample(frame, HOUR, 4 * HOUR)
    aligned = tf.align(np.array([1.0, 2.0, 3.0], np.float32), out, tf.timestamps_ms(frame))
    stamps = frame["timestamp"].dt.hour.to_numpy()
    assert list(stamps[:4]) == [0, 1, 2, 5]
    assert np.isnan(aligned[:3]).all()
    assert aligned[3] == 1.0  # 05:00 may use the 00-04 bar (built from 3 bars)
    assert out.candles["close"].iloc[0] == frame["close"].iloc[2]


def test_daily_bars_align_to_utc_midnight(candles: CandleMaker) -> None:
    frame = candles(72, start="2024-01-01 10:00")
    out = tf.resample(frame, HOUR, 86400)
    assert out.candles["timestamp"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    aligned = tf.align(np.array([5.0, 6.0, 7.0, 8.0], np.float32), out, tf.timestamps_ms(frame))
    hours = frame["timestamp"]
    first_use = hours[np.isfinite(aligned)].iloc[0]
    assert first_use == pd.Timestamp("2024-01-01 23:00", tz="UTC")


@pytest.mark.parametrize(
    ("timeframes", "rule"),
    [
        (["1h"], "multiple"),
        (["90m"], "multiple"),
        (["7h"], "align"),
        (["4h", "240m"], "twice"),
        (["4x"], "not a timeframe"),
    ],
)
def test_bad_timeframes_name_the_key(timeframes: list[str], rule: str) -> None:
    with pytest.raises(BadInputError) as err:
        tf.check_timeframes(timeframes, HOUR)
    assert f"features.timeframes[{len(timeframes) - 1}]" in str(err.value)
    assert rule in err.value.rule


def test_good_timeframes() -> None:
    assert tf.check_timeframes(["4h", "1d", "3d"], HOUR) == [
        ("4h", 4 * HOUR),
        ("1d", 86400),
        ("3d", 3 * 86400),
    ]
    assert tf.label("4h") == "tf4h"
