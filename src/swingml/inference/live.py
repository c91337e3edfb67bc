"""Live inference bookkeeping: which bars are pending, and which events they hold (pure).

Live keeps a watermark per symbol: the last bar whose events it has predicted. Bars after it are
pending; they are processed only up to the *common* last bar (the latest time every symbol has
reached), since a model reads every coin's features and a coin whose bar has not arrived yet
would give a NaN that the batch, later, would not see. Events are found with the targets code on
a bounded tail of the symbol's candles and kept where they fall among the pending bars. The tail
is long enough when it holds, fully determined (``max(w, v - 1)`` bars in), the last significant
pivot confirmed before the first pending bar: a breakout at a pending bar tests the level of that
pivot or a later one, so older bars cannot change it (else the tail doubles, up to the whole
history). Event rules are causal, so these are exactly the events the batch will find.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from swingml.config import GridConfig, TargetsConfig
from swingml.data.frame import timestamps_ms
from swingml.targets.grid import Variant, kind_mode
from swingml.targets.swings import find_pivots, rolling_mean_std
from swingml.targets.table import build_symbol_targets

MIN_EVENT_TAIL = 256
"""Bars before the first pending bar that event detection reads at least (doubled as needed)."""


@dataclass(frozen=True)
class Pending:
    """A symbol's bars after its watermark, up to the common last bar."""

    symbol: str
    after_ms: int
    until_ms: int
    bars: int


def common_last_ms(candles: Mapping[str, pd.DataFrame]) -> int:
    """The latest bar time that every symbol has reached."""
    return min(int(timestamps_ms(frame)[-1]) for frame in candles.values())


def pending(
    candles: Mapping[str, pd.DataFrame], watermarks: Mapping[str, int]
) -> dict[str, Pending]:
    """Per symbol, the bars after its watermark and at or before the common last bar."""
    until = common_last_ms(candles)
    out: dict[str, Pending] = {}
    for symbol, frame in candles.items():
        stamps = timestamps_ms(frame)
        after = int(watermarks[symbol])
        count = int(np.count_nonzero((stamps > after) & (stamps <= until)))
        out[symbol] = Pending(symbol, after, max(until, after), count)
    return out


def variant_events(candles: pd.DataFrame, variant: Variant, targets: TargetsConfig) -> pd.DataFrame:
    """``timestamp, label`` of one variant's events on ``candles`` (the targets stage's rules)."""
    grid = GridConfig(windows=(variant.w,), kinds=(variant.kind,), s=(variant.s,), k=(variant.k,))
    built = build_symbol_targets(variant.symbol, candles, targets, grid)
    frame = built.frame[["timestamp", "label"]].sort_values("timestamp", kind="stable")
    return frame.reset_index(drop=True)


def _anchored(tail: pd.DataFrame, variant: Variant, targets: TargetsConfig, first: int) -> bool:
    """Whether ``tail`` holds, fully determined, a significant pivot confirmed before ``first``."""
    high = tail["high"].to_numpy(np.float64)
    low = tail["low"].to_numpy(np.float64)
    mean, std = rolling_mean_std(tail["close"].to_numpy(np.float64), targets.vol_window)
    pivots = find_pivots(high, low, mean, std, variant.w, variant.side).significant(variant.s)
    settled = max(variant.w, targets.vol_window - 1)
    return bool(np.any((pivots.position >= settled) & (pivots.confirm < first)))


def _tail_start(
    candles: pd.DataFrame,
    variant: Variant,
    targets: TargetsConfig,
    first: int,
    stop: int,
    min_tail: int,
) -> int:
    """Where the variant's tail must start for its events at ``first..stop-1`` to be exact."""
    settled = max(variant.w, targets.vol_window - 1)
    back = max(min_tail, 4 * (settled + variant.w))
    while True:
        start = max(min(first, stop) - back, 0)
        if (
            start == 0
            or kind_mode(variant.kind) == "reversion"
            or _anchored(candles.iloc[start:stop], variant, targets, first - start)
        ):
            return start
        back *= 2


def new_events_many(
    candles: pd.DataFrame,
    variants: Sequence[Variant],
    targets: TargetsConfig,
    span: Pending,
    min_tail: int = MIN_EVENT_TAIL,
) -> tuple[dict[str, pd.DataFrame], int]:
    """Each variant's events (by variant id) at bars in ``(span.after_ms, span.until_ms]`` of one
    symbol, labels as known, found in one pass of the targets code over the longest tail any of
    them needs; and the bars of that tail."""
    if not variants:
        return {}, 0
    stamps = timestamps_ms(candles)
    stop = int(np.searchsorted(stamps, span.until_ms, side="right"))
    first = int(np.searchsorted(stamps, span.after_ms, side="right"))
    start = min(_tail_start(candles, v, targets, first, stop, min_tail) for v in variants)
    tail = candles.iloc[start:stop].reset_index(drop=True)
    grid = GridConfig(
        windows=tuple(sorted({v.w for v in variants})),
        kinds=tuple(sorted({v.kind for v in variants})),
        s=tuple(sorted({v.s for v in variants})),
        k=tuple(sorted({v.k for v in variants})),
    )
    symbol = variants[0].symbol
    built = build_symbol_targets(symbol, tail, targets, grid).frame
    at = timestamps_ms(built)
    pending_rows = built[(at > span.after_ms) & (at <= span.until_ms)]
    out: dict[str, pd.DataFrame] = {}
    for v in variants:
        mine = pending_rows[
            (pending_rows["kind"] == v.kind)
            & (pending_rows["w"] == v.w)
            & (pending_rows["s"] == v.s)
            & (pending_rows["k"] == v.k)
        ]
        frame = mine[["timestamp", "label"]].sort_values("timestamp", kind="stable")
        out[v.id] = frame.reset_index(drop=True)
    return out, len(tail)
