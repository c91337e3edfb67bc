"""Feature values at a few new bars, from a tail of history instead of the whole store.

A model column ``<SHORT>__<feature>`` is rebuilt from the feature plan (the same generator,
transform and timeframe that wrote it to the store) on the last bars of its coin; an ``X__``
column from the cross-coin computation on the last bars of every coin. How much history, per
generator: twice the largest declared lookback of its asked-for columns (so seeded recursions
such as EMAs agree with the full-history values to the last float32 bit, not just within it),
and at least ``inference.live_history_bars``. Values are placed on the asked-for timestamps; a
coin without a bar at that time gives NaN, exactly as the feature store's ``load_matrix`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from swingml.data.frame import timestamps_ms
from swingml.errors import BadInputError
from swingml.features import compute, cross_coin
from swingml.features.plan import Column, FeaturePlan

HISTORY_FACTOR = 2
"""History read = this many times the largest lookback (at least ``live_history_bars``)."""


def history_bars(lookback: int, floor: int) -> int:
    """Bars read before the first wanted bar for columns of this lookback."""
    return max(floor, HISTORY_FACTOR * lookback + 1)


@dataclass(frozen=True)
class ColumnPlan:
    """The asked-for columns, resolved: plan columns per coin, cross-coin names and lookback."""

    names: tuple[str, ...]
    per_symbol: Mapping[str, tuple[tuple[str, Column], ...]]
    cross: tuple[str, ...] = ()
    cross_lookback: int = 0


def _mismatch(name: str, what: str) -> BadInputError:
    return BadInputError(
        f"feature {name}",
        f"{what}: the feature store was built with another feature config than the current one",
        "run with the config the run was built with (or rebuild: `swingml features`, retrain)",
    )


def resolve_columns(
    plan: FeaturePlan,
    metadata: Mapping[str, Mapping[str, Any]],
    names: Sequence[str],
    symbols: Sequence[str],
) -> ColumnPlan:
    """Map each store column name to what computes it; every name must be in ``metadata``."""
    by_feature = {c.feature: c for c in plan.columns}
    cross_names = (
        {
            f"{cross_coin.PREFIX}__{o.output.name}": o
            for o in cross_coin.outputs(symbols, plan.cross)
        }
        if plan.cross is not None and len(symbols) > 1
        else {}
    )
    per_symbol: dict[str, list[tuple[str, Column]]] = {}
    cross: list[str] = []
    cross_lookback = 0
    for name in dict.fromkeys(names):
        entry = metadata[name]
        group = str(entry["symbol"])
        if group == cross_coin.PREFIX:
            item = cross_names.get(name)
            if item is None:
                raise _mismatch(name, "the current config has no such cross-coin feature")
            cross.append(name)
            cross_lookback = max(cross_lookback, item.output.lookback)
            continue
        column = by_feature.get(str(entry["feature"]))
        if column is None or group not in symbols:
            raise _mismatch(name, "the current config does not plan this feature")
        if column.lookback != int(entry["lookback"]):
            raise _mismatch(name, f"planned lookback {column.lookback} != {entry['lookback']}")
        per_symbol.setdefault(group, []).append((name, column))
    return ColumnPlan(
        tuple(dict.fromkeys(names)),
        {s: tuple(v) for s, v in per_symbol.items()},
        tuple(cross),
        cross_lookback,
    )


def _place(source_ms: np.ndarray, values: np.ndarray, wanted_ms: np.ndarray) -> np.ndarray:
    """``values`` (one per ``source_ms``) at ``wanted_ms``; NaN where there is no such time."""
    pos = np.searchsorted(source_ms, wanted_ms)
    inside = pos < len(source_ms)
    hit = np.zeros(len(wanted_ms), dtype=bool)
    hit[inside] = source_ms[pos[inside]] == wanted_ms[inside]
    out = np.full(len(wanted_ms), np.nan, dtype=np.float32)
    out[hit] = np.asarray(values, dtype=np.float32)[pos[hit]]
    return out


def compute_at(
    plan: FeaturePlan,
    columns: ColumnPlan,
    candles: Mapping[str, pd.DataFrame],
    wanted_ms: np.ndarray,
    floor: int,
) -> tuple[np.ndarray, dict[str, int]]:
    """The ``columns`` at ``wanted_ms`` (rows) as float32, and the bars read per coin.

    ``candles`` holds every coin's candles (contract frames, config order), at least up to the
    last wanted time; only each coin's tail is read.
    """
    wanted = np.asarray(wanted_ms, dtype=np.int64)
    out = np.full((len(wanted), len(columns.names)), np.nan, dtype=np.float32)
    if len(wanted) == 0:
        return out, {}
    position = {n: j for j, n in enumerate(columns.names)}
    first, last = int(wanted.min()), int(wanted.max())
    read: dict[str, int] = {}
    for symbol, items in columns.per_symbol.items():
        frame = candles[symbol]
        stamps = timestamps_ms(frame)
        begin = int(np.searchsorted(stamps, first))
        stop = int(np.searchsorted(stamps, last, side="right"))
        units: dict[int, list[tuple[str, Column]]] = {}
        for name, col in items:
            units.setdefault(id(col.unit), []).append((name, col))
        by_history: dict[int, list[tuple[str, Column]]] = {}
        for group in units.values():  # each generator reads only the history its columns need
            history = history_bars(max(col.lookback for _, col in group), floor)
            by_history.setdefault(history, []).extend(group)
        for history, group in by_history.items():  # one pass per tail length
            start = max(begin - history, 0)
            tail = frame.iloc[start:stop].reset_index(drop=True)
            read[symbol] = max(read.get(symbol, 0), len(tail))
            if len(tail) == 0:
                continue
            names = {id(col): name for name, col in group}
            cols = [col for _, col in group]
            for col, values in compute.stream(cols, tail, plan.base_seconds):
                out[:, position[names[id(col)]]] = _place(stamps[start:stop], values, wanted)
    if columns.cross and plan.cross is not None:
        interval_ms = plan.base_seconds * 1000
        since = first - history_bars(columns.cross_lookback, floor) * interval_ms
        series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for symbol, frame in candles.items():
            stamps = timestamps_ms(frame)
            keep = (stamps >= since) & (stamps <= last)
            series[symbol] = (stamps[keep], frame["close"].to_numpy(np.float64)[keep])
        read[cross_coin.PREFIX] = max((len(s[0]) for s in series.values()), default=0)
        if any(len(s[0]) for s in series.values()):
            grid_ms, cross_values = cross_coin.compute(series, interval_ms, plan.cross)
            for name in columns.cross:
                short = name.split("__", 1)[1]
                out[:, position[name]] = _place(grid_ms, cross_values[short], wanted)
    return out, read
