"""Build one symbol's long-form target table for a whole grid: ``timestamp, kind, w, s, k, label``.

One row per (event, k), rows in grid order (w, kind, s, k, then time), so a reader that filters one
variant touches few row groups. Pivots are found once per (w, side), significance once per s, the
breakout walk once per (side, w, s), and labels for every k of an event in one vectorised pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.config import GridConfig, TargetsConfig
from swingml.targets.events import Events, breakout_events, reversion_events
from swingml.targets.grid import KINDS, Variant, kind_mode, kind_side
from swingml.targets.labels import UNKNOWN, triple_barrier
from swingml.targets.search import RangeTable
from swingml.targets.swings import Pivots, Side, find_pivots, rolling_mean_std

COLUMNS: tuple[str, ...] = ("timestamp", "kind", "w", "s", "k", "label")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "variant",
    "symbol",
    "w",
    "kind",
    "s",
    "k",
    "events",
    "class_0",
    "class_1",
    "class_2",
    "unknown",
)


@dataclass(frozen=True)
class SymbolTargets:
    """One symbol's target rows (contract columns) and its per-variant summary."""

    frame: pd.DataFrame
    summary: pd.DataFrame


def build_symbol_targets(
    symbol: str, candles: pd.DataFrame, targets: TargetsConfig, grid: GridConfig
) -> SymbolTargets:
    """Detect the events of every (w, kind, s) and label them for every k (SPEC §4).

    ``candles`` follows the candle contract (``timestamp, open, high, low, close, …`` in time
    order); positions are its rows, so a gap in time is simply not a bar.
    """
    high = candles["high"].to_numpy(dtype=np.float64)
    low = candles["low"].to_numpy(dtype=np.float64)
    close = candles["close"].to_numpy(dtype=np.float64)
    stamps = pd.DatetimeIndex(candles["timestamp"])
    mean, std = rolling_mean_std(close, targets.vol_window)
    longest = targets.horizon_factor * max(grid.windows)
    high_table = RangeTable(high, "max", longest)
    low_table = RangeTable(low, "min", longest)
    close_tables: dict[Side, RangeTable] = {}
    if any(kind_mode(kind) == "breakout" for kind in grid.kinds):
        close_tables = {
            "high": RangeTable(close, "max", len(close)),
            "low": RangeTable(close, "min", len(close)),
        }

    bars: list[npt.NDArray[np.int64]] = []
    kinds: list[npt.NDArray[np.int8]] = []
    windows: list[npt.NDArray[np.int32]] = []
    thresholds_s: list[npt.NDArray[np.float64]] = []
    thresholds_k: list[npt.NDArray[np.float64]] = []
    labels: list[npt.NDArray[np.int8]] = []
    summary: list[dict[str, object]] = []

    for w in grid.windows:
        horizon = targets.horizon_factor * w
        pivots: dict[Side, Pivots] = {}
        for kind in grid.kinds:
            side = kind_side(kind)
            if side not in pivots:
                pivots[side] = find_pivots(high, low, mean, std, w, side)
            for s in grid.s:
                significant = pivots[side].significant(s)
                events: Events
                if kind_mode(kind) == "reversion":
                    events = reversion_events(significant, close)
                else:
                    events = breakout_events(significant, close_tables[side])
                per_k = triple_barrier(events, std, grid.k, horizon, high_table, low_table)
                count = len(events)
                for index, k in enumerate(grid.k):
                    bars.append(events.bar)
                    labels.append(per_k[index])
                    kinds.append(np.full(count, KINDS.index(kind), dtype=np.int8))
                    windows.append(np.full(count, w, dtype=np.int32))
                    thresholds_s.append(np.full(count, s, dtype=np.float64))
                    thresholds_k.append(np.full(count, k, dtype=np.float64))
                    summary.append(_summary_row(Variant(symbol, w, kind, s, k), per_k[index]))

    bar = _concat(bars, np.int64)
    label = _concat(labels, np.int8)
    frame = pd.DataFrame(
        {
            "timestamp": stamps.as_unit("ms")[bar],
            "kind": pd.Categorical.from_codes(_concat(kinds, np.int8), categories=pd.Index(KINDS)),
            "w": _concat(windows, np.int32),
            "s": _concat(thresholds_s, np.float64),
            "k": _concat(thresholds_k, np.float64),
            "label": pd.arrays.IntegerArray(np.maximum(label, 0), label == UNKNOWN),
        }
    )
    return SymbolTargets(frame, pd.DataFrame(summary, columns=list(SUMMARY_COLUMNS)))


def _concat(parts: Sequence[npt.NDArray[Any]], dtype: type[np.generic]) -> npt.NDArray[Any]:
    if not parts:
        return np.empty(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)


def _summary_row(variant: Variant, label: npt.NDArray[np.int8]) -> dict[str, object]:
    counts = np.bincount(label[label != UNKNOWN], minlength=3)
    return {
        "variant": variant.id,
        "symbol": variant.symbol,
        "w": variant.w,
        "kind": variant.kind,
        "s": variant.s,
        "k": variant.k,
        "events": len(label),
        "class_0": int(counts[0]),
        "class_1": int(counts[1]),
        "class_2": int(counts[2]),
        "unknown": int(np.count_nonzero(label == UNKNOWN)),
    }
