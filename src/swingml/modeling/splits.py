"""The global hold-out (SPEC §7): the last fraction of the time span is never used before scoring.

The cutoff is one timestamp for the whole run, computed from the span of every symbol's candles,
so all coins share the same development period. An event at bar ``t`` with horizon ``H`` belongs
to development only if its label window ``t+1..t+H`` ends before the cutoff too.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def holdout_cutoff(first: pd.Timestamp, last: pd.Timestamp, fraction: float) -> pd.Timestamp:
    """The first timestamp of the hold-out: ``first + (1 - fraction) * (last - first)``."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
    if last <= first:
        raise ValueError("the time span is empty")
    return first + (last - first) * (1.0 - fraction)


def span_of(timestamps: Iterable[pd.Series]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The earliest and latest timestamp over several symbols' timestamp columns."""
    firsts, lasts = [], []
    for column in timestamps:
        if len(column):
            firsts.append(column.min())
            lasts.append(column.max())
    if not firsts:
        raise ValueError("no timestamps")
    return min(firsts), max(lasts)


def development_mask(
    event_positions: np.ndarray, bar_timestamps: pd.Series, cutoff: pd.Timestamp, horizon: int
) -> np.ndarray:
    """True for events whose bar and whole label horizon lie before ``cutoff``.

    ``event_positions`` index into ``bar_timestamps`` (the symbol's bars, in order); the label of
    an event at position ``t`` reads bars ``t+1..t+horizon``, so it is development data only if
    bar ``t+horizon`` (or the last bar, if the data ends earlier) is before the cutoff.
    """
    stamps = pd.DatetimeIndex(bar_timestamps)
    positions = np.asarray(event_positions, dtype=np.int64)
    end = np.minimum(positions + horizon, len(stamps) - 1)
    return np.asarray((stamps[positions] < cutoff) & (stamps[end] < cutoff))
