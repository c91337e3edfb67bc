"""Relational cross-coin features: how each pair of coins moves together, causally.

For every pair (A, B) in ``data.symbols`` order the features are stored under the prefix ``X__``
and named ``X__<A>_<B>__<stat>`` with short symbol names, e.g. ``X__BTC_ETH__corr_48``:

- ``corr_W``: rolling correlation of one-bar log returns over W bars;
- ``beta_W``: beta of A's returns on B's over W bars (``X__ETH_BTC__beta_W`` is B on A);
- ``spread_H``: A's H-bar log return minus B's;
- ``ratio_z_W``: z-score of ``log(close_A / close_B)`` over W bars (relative-value stretch).

Both coins are placed on one regular time grid (the base interval) so that a missing bar of either
coin is a NaN, never a silently longer return; any window touching a NaN is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from swingml.data.symbols import short_name
from swingml.features import rolling
from swingml.features.base import Output

Array = np.ndarray
PREFIX = "X"
FAMILY = "cross_coin"


@dataclass(frozen=True)
class CrossParams:
    """Windows for correlation, beta and ratio z-scores; horizons for return spreads."""

    windows: tuple[int, ...] = (48, 168)
    horizons: tuple[int, ...] = (1, 24)
    z_windows: tuple[int, ...] = (168,)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain data (for fingerprints and metadata)."""
        return {
            "windows": list(self.windows),
            "horizons": list(self.horizons),
            "z_windows": list(self.z_windows),
        }


@dataclass(frozen=True)
class PairOutput:
    """One relational output: its feature name (without ``X__``), the pair and the statistic."""

    output: Output
    a: str
    b: str
    stat: str
    n: int


def pairs(symbols: Sequence[str]) -> list[tuple[str, str]]:
    """Unordered symbol pairs in config order."""
    return list(combinations(symbols, 2))


def outputs(symbols: Sequence[str], params: CrossParams) -> list[PairOutput]:
    """Every relational output for these symbols, in a fixed order."""
    out: list[PairOutput] = []
    for a, b in pairs(symbols):
        sa, sb = short_name(a), short_name(b)
        rows: list[tuple[str, str, int, int, str, str]] = []
        for w in params.windows:
            rows.append((f"{sa}_{sb}__corr_{w}", "corr", w, w + 1, a, b))
            rows.append((f"{sa}_{sb}__beta_{w}", "beta", w, w + 1, a, b))
            rows.append((f"{sb}_{sa}__beta_{w}", "beta", w, w + 1, b, a))
        for h in params.horizons:
            rows.append((f"{sa}_{sb}__spread_{h}", "spread", h, h, a, b))
        for w in params.z_windows:
            rows.append((f"{sa}_{sb}__ratio_z_{w}", "ratio_z", w, w - 1, a, b))
        for name, stat, n, lookback, x, y in rows:
            item = {"a": x, "b": y, "stat": stat, "window": n}
            out.append(PairOutput(Output(name, item, lookback), x, y, stat, n))
    return out


def grid(
    series: Mapping[str, tuple[Array, Array]], interval_ms: int
) -> tuple[Array, dict[str, Array]]:
    """Place each symbol's closes on one regular grid; returns the grid and per-symbol closes."""
    first = min(int(ts[0]) for ts, _ in series.values() if len(ts))
    last = max(int(ts[-1]) for ts, _ in series.values() if len(ts))
    stamps = np.arange(first, last + interval_ms, interval_ms, dtype=np.int64)
    closes: dict[str, Array] = {}
    for sym, (ts, close) in series.items():
        on_grid = np.full(len(stamps), np.nan)
        on_grid[(ts - first) // interval_ms] = close
        closes[sym] = on_grid
    return stamps, closes


def _corr_beta(x: Array, y: Array, w: int) -> tuple[Array, Array, Array]:
    both = np.isfinite(x) & np.isfinite(y)
    x = np.where(both, x, np.nan)
    y = np.where(both, y, np.nan)
    mx, my = rolling.mean(x, w), rolling.mean(y, w)
    cov = rolling.mean(x * y, w) - mx * my
    vx = rolling.mean(x * x, w) - mx * mx
    vy = rolling.mean(y * y, w) - my * my
    vx[vx <= 0] = np.nan
    vy[vy <= 0] = np.nan
    corr = cov / np.sqrt(vx * vy)
    return np.clip(corr, -1.0, 1.0), rolling.ratio(cov, vy), rolling.ratio(cov, vx)


def compute(
    series: Mapping[str, tuple[Array, Array]], interval_ms: int, params: CrossParams
) -> tuple[Array, dict[str, Array]]:
    """Relational features for every pair.

    ``series`` maps symbol → (open times in ms, closes), in config order. Returns the timestamps
    (every grid bar at which at least one symbol has a bar) and the float32 columns, keyed by
    the names of ``outputs`` (without ``X__``).
    """
    symbols = list(series)
    stamps, closes = grid(series, interval_ms)
    logs = {s: np.log(c) for s, c in closes.items()}
    returns = {s: lg - rolling.shift(lg, 1) for s, lg in logs.items()}
    columns: dict[str, Array] = {}
    for a, b in pairs(symbols):
        sa, sb = short_name(a), short_name(b)
        for w in params.windows:
            corr, beta_ab, beta_ba = _corr_beta(returns[a], returns[b], w)
            columns[f"{sa}_{sb}__corr_{w}"] = corr
            columns[f"{sa}_{sb}__beta_{w}"] = beta_ab
            columns[f"{sb}_{sa}__beta_{w}"] = beta_ba
        for h in params.horizons:
            ra = logs[a] - rolling.shift(logs[a], h)
            rb = logs[b] - rolling.shift(logs[b], h)
            columns[f"{sa}_{sb}__spread_{h}"] = ra - rb
        for w in params.z_windows:
            rel = logs[a] - logs[b]
            columns[f"{sa}_{sb}__ratio_z_{w}"] = rolling.ratio(
                rel - rolling.mean(rel, w), rolling.std(rel, w)
            )
    present = np.zeros(len(stamps), dtype=bool)
    for c in closes.values():
        present |= np.isfinite(c)
    out: dict[str, Array] = {}
    for name, values in columns.items():
        col = values[present].astype(np.float32)
        col[~np.isfinite(col)] = np.nan
        out[name] = col
    return stamps[present], out
