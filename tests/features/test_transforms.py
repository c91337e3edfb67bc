"""Transforms: lag, difference, rolling z-score and rank, against pandas directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swingml.features.transforms import parse


@pytest.fixture
def series() -> np.ndarray:
    rng = np.random.default_rng(3)
    values = rng.normal(size=300).astype(np.float32)
    values[40:43] = np.nan
    return values


def test_lag_and_difference(series: np.ndarray) -> None:
    s = pd.Series(series.astype(np.float64))
    np.testing.assert_array_equal(parse("lag_3").apply(series), s.shift(3).to_numpy(np.float32))
    np.testing.assert_array_equal(parse("d_2").apply(series), s.diff(2).to_numpy(np.float32))


def test_zscore_and_rank(series: np.ndarray) -> None:
    s = pd.Series(series.astype(np.float64))
    roll = s.rolling(20, min_periods=20)
    z = ((s - roll.mean()) / roll.std()).to_numpy(np.float32)
    np.testing.assert_array_equal(parse("z_20").apply(series), z)
    rank = parse("rank_20").apply(series)
    assert np.isnan(rank[:19]).all() and np.isnan(rank[45:60]).any()
    window = series[100:120]
    assert rank[119] == pytest.approx((window <= window[-1]).sum() / 20)


def test_a_window_touching_nan_is_nan(series: np.ndarray) -> None:
    z = parse("z_10").apply(series)
    assert np.isnan(z[40:52]).all()
    assert np.isfinite(z[52])


@pytest.mark.parametrize(("spec", "lookback"), [("lag_4", 4), ("d_1", 1), ("z_50", 49)])
def test_lookback(spec: str, lookback: int) -> None:
    assert parse(spec).lookback == lookback
    assert parse(spec).suffix == spec
