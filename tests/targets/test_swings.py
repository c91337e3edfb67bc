"""Pivots and significance, rule by rule, on hand-built series (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from swingml.config import GridConfig, TargetsConfig
from swingml.targets.swings import Side, find_pivots, pivot_positions, rolling_mean_std
from swingml.targets.table import build_symbol_targets


def arr(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def test_left_tie_is_not_a_swing_high_right_tie_is() -> None:
    # bar 2 ties bar 1 on its left: not a pivot; bar 6 ties bar 7 on its right: a pivot.
    high = arr(1, 5, 5, 2, 1, 2, 6, 6, 1, 1)
    assert pivot_positions(high, high - 10, 1, "high").tolist() == [1, 6]


def test_left_tie_is_not_a_swing_low_right_tie_is() -> None:
    low = arr(9, 5, 5, 8, 9, 8, 4, 4, 9, 9)
    assert pivot_positions(low + 10, low, 1, "low").tolist() == [1, 6]


def test_a_pivot_needs_w_bars_on_both_sides() -> None:
    # bars 0 and 5 are the highest but sit at the edges (p - w < 0, p + w > n - 1).
    high = arr(9, 1, 2, 1, 3, 9)
    assert pivot_positions(high, high - 1, 2, "high").tolist() == []
    low = -high
    assert pivot_positions(low + 1, low, 2, "low").tolist() == []
    # one more bar on each side and they count.
    assert pivot_positions(arr(0, 9, 1, 2, 1, 3, 9, 0), arr(*([-5] * 8)), 1, "high").tolist() == [
        1,
        3,
        6,
    ]


def test_window_compares_w_bars_each_side() -> None:
    high = arr(1, 7, 2, 3, 6, 2, 1, 0)
    # w=1: bars 1 and 4; w=2: bar 4 beats bars 2..3 and 5..6 (bar 1 lacks 2 bars on its left);
    # w=3: bar 4 must also beat bar 1 (7), so nothing.
    assert pivot_positions(high, high - 1, 1, "high").tolist() == [1, 4]
    assert pivot_positions(high, high - 1, 2, "high").tolist() == [4]
    assert pivot_positions(high, high - 1, 3, "high").tolist() == []


def test_rolling_std_is_sample_std_over_v_bars_ending_at_t() -> None:
    close = arr(1, 2, 3, 5, 8, 13, 21)
    mean, std = rolling_mean_std(close, 3)
    expected = pd.Series(close).rolling(3)
    assert np.isnan(mean[:2]).all() and np.isnan(std[:2]).all()
    np.testing.assert_allclose(mean[2:], expected.mean().to_numpy()[2:])
    np.testing.assert_allclose(std[2:], expected.std(ddof=1).to_numpy()[2:])


def test_constant_closes_give_a_std_of_exactly_zero() -> None:
    close = np.full(30, 0.1) * 3
    _, std = rolling_mean_std(close, 20)
    assert (std[19:] == 0.0).all()


def _pivot_z(high: np.ndarray, close: np.ndarray, v: int, w: int) -> tuple[list[int], list[float]]:
    mean, std = rolling_mean_std(close, v)
    pivots = find_pivots(high, high - 1, mean, std, w, "high")
    return pivots.position.tolist(), pivots.z.tolist()


def test_significance_z_uses_mean_and_sample_std_at_the_pivot_bar() -> None:
    # closes 1, 2, 3 at bars 0..2: mean 2, std 1; the pivot high at bar 2 is 4 -> z = 2 exactly.
    high = arr(1, 2, 4, 3, 3)
    close = arr(1, 2, 3, 2.5, 2.5)
    mean, std = rolling_mean_std(close, 3)
    pivots = find_pivots(high, high - 1, mean, std, 1, "high")
    assert pivots.position.tolist() == [2]
    assert pivots.z.tolist() == [2.0]
    assert pivots.significant(2.0).position.tolist() == [2], "z >= s is significant (equality)"
    assert pivots.significant(2.0000001).position.tolist() == [], "below the threshold"
    assert pivots.confirm.tolist() == [3] and pivots.level.tolist() == [4.0]


def test_significance_of_a_swing_low_mirrors_it() -> None:
    low = arr(3, 2, 0, 1, 1)
    close = arr(3, 2, 1, 1.5, 1.5)
    mean, std = rolling_mean_std(close, 3)
    pivots = find_pivots(low + 5, low, mean, std, 1, "low")
    assert pivots.position.tolist() == [2]
    assert pivots.z.tolist() == [2.0]  # (mean 2 - low 0) / std 1
    assert pivots.significant(2.0).position.tolist() == [2]
    assert pivots.significant(2.5).position.tolist() == []


def test_zero_or_undefined_std_is_never_significant() -> None:
    # std over closes 2, 2, 2 is 0; the pivot at bar 1 has no full window (1 < v - 1).
    high = arr(1, 5, 1, 2, 9, 3, 3)
    close = arr(2, 2, 2, 2, 2, 2, 2)
    positions, z = _pivot_z(high, close, 3, 1)
    assert positions == [1, 4]
    assert all(np.isnan(z))
    mean, std = rolling_mean_std(close, 3)
    pivots = find_pivots(high, high - 1, mean, std, 1, "high")
    assert pivots.significant(-1e9).position.tolist() == []


def test_positions_count_bars_that_exist_across_a_gap(
    candles: Callable[..., pd.DataFrame],
) -> None:
    # hours 0 1 2 | gap | 6 7 | gap | 9 10: the pivot at position 3 (hour 6) is confirmed w=2
    # bars later, at position 5 (hour 9); hour 8 (6 + 2 clock hours) is not a bar.
    frame = candles(
        high=[1, 2, 3, 9, 4, 3, 2],
        close=[1, 2, 3, 4, 3, 2.5, 2],
        hours=[0, 1, 2, 6, 7, 9, 10],
    )
    grid = GridConfig.model_construct(  # s < 0: every pivot significant (config refuses it)
        windows=(2,), kinds=("high_reversion",), s=(-1e9,), k=(1.0,)
    )
    table = build_symbol_targets("BTCUSDT", frame, TargetsConfig(vol_window=2), grid).frame
    assert table["timestamp"].tolist() == [pd.Timestamp("2024-01-01 09:00", tz="UTC")]


@pytest.mark.parametrize("side", ["high", "low"])
def test_pivots_are_found_on_random_series_like_a_loop_would(side: Side) -> None:
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(size=400).cumsum(), 1)  # rounding makes ties common
    for w in (1, 2, 5):
        expected = []
        for p in range(w, len(values) - w):
            left, right = values[p - w : p], values[p + 1 : p + w + 1]
            if side == "high" and values[p] > left.max() and values[p] >= right.max():
                expected.append(p)
            if side == "low" and values[p] < left.min() and values[p] <= right.min():
                expected.append(p)
        assert pivot_positions(values, values, w, side).tolist() == expected
