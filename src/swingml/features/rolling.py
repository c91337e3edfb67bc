"""Causal rolling-window helpers on float64 arrays, shared by the feature families.

Every helper returns, at bar t, a value of bars ``t-w+1..t`` only, and NaN until a full window of
valid values exists. They run left to right (pandas' online algorithms, numpy accumulations), so a
prefix of the input gives exactly the prefix of the output: the no-look-ahead law in code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Array = np.ndarray


def _roll(x: Array, window: int) -> pd.api.typing.Rolling[pd.Series]:
    return pd.Series(x, copy=False).rolling(window, min_periods=window)


def _values(series: pd.Series) -> Array:
    out: Array = series.to_numpy(np.float64)
    return out


def mean(x: Array, window: int) -> Array:
    """Rolling mean over ``window`` bars."""
    return _values(_roll(x, window).mean())


def std(x: Array, window: int, ddof: int = 1) -> Array:
    """Rolling standard deviation (sample, ``ddof=1`` by default)."""
    return _values(_roll(x, window).std(ddof=ddof))


def total(x: Array, window: int) -> Array:
    """Rolling sum."""
    return _values(_roll(x, window).sum())


def highest(x: Array, window: int) -> Array:
    """Rolling maximum."""
    return _values(_roll(x, window).max())


def lowest(x: Array, window: int) -> Array:
    """Rolling minimum."""
    return _values(_roll(x, window).min())


def skew(x: Array, window: int) -> Array:
    """Rolling sample skewness."""
    return _values(_roll(x, window).skew())


def kurt(x: Array, window: int) -> Array:
    """Rolling sample excess kurtosis."""
    return _values(_roll(x, window).kurt())


def pct_rank(x: Array, window: int) -> Array:
    """Percentile rank of bar t's value among the last ``window`` values (ties averaged)."""
    return _values(_roll(x, window).rank(pct=True))


def shift(x: Array, k: int) -> Array:
    """``x[t-k]`` at bar t (NaN for the first k bars)."""
    out = np.full(len(x), np.nan)
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def ratio(num: Array, den: Array) -> Array:
    """``num / den`` with NaN where the denominator is zero or not finite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Array = np.asarray(num, dtype=np.float64) / den
    out[~np.isfinite(out)] = np.nan
    return out


def log_returns(close: Array, k: int = 1) -> Array:
    """``log(close[t] / close[t-k])``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Array = np.log(close) - np.log(shift(close, k))
    return out


def true_range(high: Array, low: Array, close: Array) -> Array:
    """Wilder's true range; the first bar uses its own high - low."""
    prev = shift(close, 1)
    tr: Array = np.maximum(high, prev) - np.minimum(low, prev)
    tr[0] = high[0] - low[0]
    return tr


def bars_since(event: Array, cap: int) -> Array:
    """Bars since the last bar where ``event`` is true (0 on an event bar), capped at ``cap``.

    Where no event happened yet the value is ``cap`` once ``cap`` bars exist (none in the last
    ``cap`` bars is all that matters) and NaN before, so the value never depends on more than
    ``cap`` bars of history.
    """
    n = len(event)
    idx = np.arange(n)
    last = np.maximum.accumulate(np.where(event, idx, -1))
    since = np.where(last >= 0, idx - last, np.iinfo(np.int64).max).astype(np.float64)
    out = np.minimum(since, float(cap))
    out[(last < 0) & (idx < cap)] = np.nan
    return out


def ema(x: Array, span: int) -> Array:
    """Exponential moving average, ``alpha = 2 / (span + 1)``, seeded at the first value."""
    return _values(pd.Series(x, copy=False).ewm(span=span, adjust=False, min_periods=span).mean())
