"""Reversion and breakout events of one (side, window, threshold) (SPEC §4).

A reversion event sits at the confirmation bar of each significant pivot. The breakout walk keeps
at most one active level: the level of significant pivot ``i`` is active on bars
``c_i+1 .. c_{i+1}`` (at ``c_{i+1}`` the old level is tested *before* the new one replaces it)
and on ``c_i+1 .. n-1`` for the last pivot; the first close beyond it in that range is a breakout
event and spends it. So the walk is one first-crossing query per pivot, not a loop over bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from swingml.targets.search import RangeTable
from swingml.targets.swings import Pivots, Side

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Mode = Literal["breakout", "reversion"]


@dataclass(frozen=True)
class Events:
    """Events in time order: bar ``t``, pivot level ``L``, ``close[t]`` (the reversal reference)."""

    side: Side
    mode: Mode
    bar: IntArray
    level: FloatArray
    close: FloatArray

    def __len__(self) -> int:
        return len(self.bar)


def reversion_events(pivots: Pivots, close: FloatArray) -> Events:
    """One event at ``t = c`` for each (already significant) pivot."""
    bar = pivots.confirm
    return Events(pivots.side, "reversion", bar, pivots.level, close[bar])


def breakout_events(pivots: Pivots, close_table: RangeTable) -> Events:
    """The breakout walk over (already significant) pivots, as first-crossing queries.

    ``close_table`` must be a max table of ``close`` for the high side, a min table for the low
    side, spanning the whole series.
    """
    close = close_table.values
    n = len(close)
    confirm = pivots.confirm
    starts = confirm + 1
    ends = np.empty_like(confirm)
    if len(confirm):
        ends[:-1] = confirm[1:]
        ends[-1] = n - 1
    op: Literal[">", "<"] = ">" if pivots.side == "high" else "<"
    hit = close_table.first_crossing(starts, ends, pivots.level, op)
    found = hit >= 0
    bar = hit[found]
    return Events(pivots.side, "breakout", bar, pivots.level[found], close[bar])
