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

from collections.abc import Mapping
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


def new_events(
    candles: pd.DataFrame,
    variant: Variant,
    targets: TargetsConfig,
    span: Pending,
    min_tail: int = MIN_EVENT_TAIL,
) -> tuple[pd.DataFrame, int]:
    """The variant's events at bars in ``(span.after_ms, span.until_ms]``, labels as known, and
    the bars of the tail read to find them."""
    stamps = timestamps_ms(candles)
    stop = int(np.searchsorted(stamps, span.until_ms, side="right"))
    first = int(np.searchsorted(stamps, span.after_ms, side="right"))
    settled = max(variant.w, targets.vol_window - 1)
    back = max(min_tail, 4 * (settled + variant.w))
    while True:
        start = max(min(first, stop) - back, 0)
        tail = candles.iloc[start:stop]
        if (
            start == 0
            or kind_mode(variant.kind) == "reversion"
            or _anchored(tail, variant, targets, first - start)
        ):
            break
        back *= 2
    events = variant_events(tail.reset_index(drop=True), variant, targets)
    at = timestamps_ms(events)
    keep = (at > span.after_ms) & (at <= span.until_ms)
    return events.loc[keep].reset_index(drop=True), len(tail)
