"""Swing pivots and their significance (SPEC §4), vectorised over all bars of one symbol.

Positions are row numbers of the symbol's candles: bars that exist, in time order (a gap in the
timestamps is not a bar). Everything here is a pure function of price arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Side = Literal["high", "low"]


def rolling_mean_std(close: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """``mean_v[t]`` and ``std_v[t]`` (ddof=1) of ``close[t-v+1..t]``; NaN for ``t < v-1``.

    Two passes per window (mean, then squared deviations) rather than running sums, which lose
    precision on prices of 10⁴ and more. A window whose closes are all equal gets a std of exactly
    0 (not a rounding residue), so such a bar is never significant.
    """
    if window < 2:
        raise ValueError(f"vol_window must be at least 2, got {window}")
    close = np.asarray(close, dtype=np.float64)
    n = len(close)
    mean = np.full(n, np.nan)
    std = np.full(n, np.nan)
    if n < window:
        return mean, std
    view = sliding_window_view(close, window)
    window_mean = view.sum(axis=1) / window
    deviations = view - window_mean[:, None]
    window_std = np.sqrt(np.einsum("ij,ij->i", deviations, deviations) / (window - 1))
    constant = view.max(axis=1) == view.min(axis=1)
    window_std[constant] = 0.0
    mean[window - 1 :] = window_mean
    std[window - 1 :] = window_std
    return mean, std


def pivot_positions(high: FloatArray, low: FloatArray, window: int, side: Side) -> IntArray:
    """Positions ``p`` of the swing highs (or lows) of window ``w``, in increasing order.

    A swing high needs ``high[p] > max(high[p-w..p-1])`` and ``high[p] >= max(high[p+1..p+w])``
    with ``p-w >= 0`` and ``p+w <= n-1``: a tie on the left disqualifies, a tie on the right does
    not. A swing low mirrors it on ``low``.
    """
    if window < 1:
        raise ValueError(f"pivot window must be at least 1, got {window}")
    values = np.asarray(high if side == "high" else low, dtype=np.float64)
    n = len(values)
    if n < 2 * window + 1:
        return np.empty(0, dtype=np.int64)
    view = sliding_window_view(values, window)
    extreme = view.max(axis=1) if side == "high" else view.min(axis=1)
    centre = values[window : n - window]
    left = extreme[: n - 2 * window]
    right = extreme[window + 1 :]
    if side == "high":
        is_pivot = (centre > left) & (centre >= right)
    else:
        is_pivot = (centre < left) & (centre <= right)
    return np.flatnonzero(is_pivot).astype(np.int64) + window


@dataclass(frozen=True)
class Pivots:
    """The pivots of one (side, window): position, confirmation bar, level and z-score."""

    side: Side
    window: int
    position: IntArray
    confirm: IntArray
    level: FloatArray
    z: FloatArray

    def significant(self, threshold: float) -> Pivots:
        """The pivots with ``z >= threshold`` (a NaN z, from an undefined or zero std, never is)."""
        keep = self.z >= threshold
        return Pivots(
            self.side,
            self.window,
            self.position[keep],
            self.confirm[keep],
            self.level[keep],
            self.z[keep],
        )


def find_pivots(
    high: FloatArray,
    low: FloatArray,
    mean: FloatArray,
    std: FloatArray,
    window: int,
    side: Side,
) -> Pivots:
    """Every pivot of one (side, window) with its level ``L``, confirmation ``c = p + w`` and z.

    ``z = (high[p] - mean_v[p]) / std_v[p]`` for highs, ``(mean_v[p] - low[p]) / std_v[p]`` for
    lows; NaN where ``std_v[p]`` is undefined or 0, so the pivot is never significant.
    """
    position = pivot_positions(high, low, window, side)
    level = np.asarray(high if side == "high" else low, dtype=np.float64)[position]
    centre = mean[position]
    spread = std[position]
    usable = np.isfinite(spread) & (spread > 0)
    excess = level - centre if side == "high" else centre - level
    z = np.full(len(position), np.nan)
    np.divide(excess, spread, out=z, where=usable)
    return Pivots(side, window, position, position + window, level, z)
