"""The fast targets equal a deliberately naive reading of SPEC §4, event for event and label for
label, on real Binance 1h data, for every point of the default grid.

The naive implementation below shares no code with ``swingml.targets``: plain Python loops over
bars, written straight from the SPEC text, with ``statistics`` for the rolling mean and std.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import pandas as pd
import pytest

from swingml.config import GridConfig, load_config
from swingml.targets.table import build_symbol_targets

SLICE_BARS = 1_000_000  # i.e. the whole series
"""The naive loops are slow: each coin is compared on its last 12,000 bars (gaps included)."""

Event = tuple[int, float, float]  # bar t, level L, close[t]


def naive_mean_std(close: list[float], v: int) -> tuple[list[float | None], list[float | None]]:
    """mean_v[t], std_v[t] of close[t-v+1..t] (ddof=1); None where undefined (t < v-1)."""
    mean: list[float | None] = [None] * len(close)
    std: list[float | None] = [None] * len(close)
    for t in range(v - 1, len(close)):
        window = close[t - v + 1 : t + 1]
        mean[t] = statistics.fmean(window)
        std[t] = statistics.stdev(window)
    return mean, std


def naive_pivots(high: list[float], low: list[float], w: int, side: str) -> list[int]:
    """Swing highs: left strictly above, right at least; lows mirror; both edges need w bars."""
    n = len(high)
    found = []
    for p in range(n):
        if p - w < 0 or p + w > n - 1:
            continue
        if side == "high":
            ok = high[p] > max(high[p - w : p]) and high[p] >= max(high[p + 1 : p + w + 1])
        else:
            ok = low[p] < min(low[p - w : p]) and low[p] <= min(low[p + 1 : p + w + 1])
        if ok:
            found.append(p)
    return found


def naive_significant(
    pivots: list[int],
    high: list[float],
    low: list[float],
    mean: list[float | None],
    std: list[float | None],
    s: float,
    side: str,
) -> list[int]:
    """Pivots with z >= s; an undefined or zero std is never significant."""
    kept = []
    for p in pivots:
        sd, mu = std[p], mean[p]
        if sd is None or mu is None or sd == 0:
            continue
        z = (high[p] - mu) / sd if side == "high" else (mu - low[p]) / sd
        if z >= s:
            kept.append(p)
    return kept


def naive_events(
    significant: list[int],
    high: list[float],
    low: list[float],
    close: list[float],
    w: int,
    side: str,
    mode: str,
) -> list[Event]:
    """Reversion: at each confirmation bar. Breakout: the bar walk with one active level."""
    level_at = {p + w: (high[p] if side == "high" else low[p]) for p in significant}
    if mode == "reversion":
        return [(c, level_at[c], close[c]) for c in sorted(level_at)]
    events: list[Event] = []
    active: float | None = None
    for t in range(len(close)):
        if active is not None:
            beyond = close[t] > active if side == "high" else close[t] < active
            if beyond:
                events.append((t, active, close[t]))
                active = None
        if t in level_at:
            active = level_at[t]
    return events


def naive_label(
    event: Event,
    high: list[float],
    low: list[float],
    std: list[float | None],
    k: float,
    horizon: int,
    side: str,
    mode: str,
) -> int | None:
    """Triple barrier, bar by bar: first touch wins; same bar or none is 0; past the data None."""
    t, level, close_t = event
    n = len(high)
    if t + horizon > n - 1:
        return None
    sd = std[t]
    assert sd is not None
    d = k * sd
    reference = level if mode == "breakout" else close_t
    for j in range(t + 1, t + horizon + 1):
        if side == "high":
            breakout = high[j] >= level + d
            reversal = low[j] <= reference - d
        else:
            breakout = low[j] <= level - d
            reversal = high[j] >= reference + d
        if breakout and reversal:
            return 0
        if breakout:
            return 1
        if reversal:
            return 2
    return 0


def naive_targets(
    candles: pd.DataFrame, vol_window: int, factor: int, grid: GridConfig
) -> pd.DataFrame:
    """The whole grid for one symbol, as rows (kind, w, s, k, timestamp, label)."""
    high = candles["high"].tolist()
    low = candles["low"].tolist()
    close = candles["close"].tolist()
    stamps = list(candles["timestamp"])
    mean, std = naive_mean_std(close, vol_window)
    rows = []
    for w in grid.windows:
        horizon = factor * w
        pivots = {side: naive_pivots(high, low, w, side) for side in ("high", "low")}
        for kind in grid.kinds:
            side, mode = kind.split("_")
            for s in grid.s:
                sig = naive_significant(pivots[side], high, low, mean, std, s, side)
                events = naive_events(sig, high, low, close, w, side, mode)
                for k in grid.k:
                    for event in events:
                        label = naive_label(event, high, low, std, k, horizon, side, mode)
                        rows.append((kind, w, s, k, stamps[event[0]], label))
    frame = pd.DataFrame(rows, columns=["kind", "w", "s", "k", "timestamp", "label"])
    frame["label"] = frame["label"].astype("object")
    return frame


@pytest.mark.slow
@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
def test_fast_equals_naive_on_real_data_for_every_default_grid_point(
    symbol: str, binance: Callable[[str], pd.DataFrame]
) -> None:
    config = load_config()
    candles = binance(symbol).tail(SLICE_BARS).reset_index(drop=True)
    fast = build_symbol_targets(symbol, candles, config.targets, config.grid).frame
    naive = naive_targets(
        candles, config.targets.vol_window, config.targets.horizon_factor, config.grid
    )

    keys = ["kind", "w", "s", "k"]
    fast_groups = dict(iter(fast.groupby(keys, observed=True, sort=False)))
    naive_groups = dict(iter(naive.groupby(keys, sort=False)))
    expected_points = (
        len(config.grid.windows) * len(config.grid.kinds) * len(config.grid.s) * len(config.grid.k)
    )
    assert len(naive_groups) == expected_points, "every grid point has naive events here"
    assert set(fast_groups) == set(naive_groups)
    for key, naive_rows in naive_groups.items():
        fast_rows = fast_groups[key]
        assert list(fast_rows["timestamp"]) == list(naive_rows["timestamp"]), key
        fast_labels = [None if pd.isna(x) else int(x) for x in fast_rows["label"]]
        naive_labels = [None if pd.isna(x) else int(x) for x in naive_rows["label"]]
        assert fast_labels == naive_labels, key
