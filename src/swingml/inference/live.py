"""Live inference bookkeeping: which bars are pending, and which events they hold (pure).

Live keeps a watermark per symbol: the last bar whose events it has predicted. Bars after it are
pending; they are processed only up to the *common* last bar (the latest time every symbol has
reached), since a model reads every coin's features and a coin whose bar has not arrived yet
would give a NaN that the batch, later, would not see. Events are found with the targets code on
the symbol's whole candle history (a breakout level can be old), then kept where they fall among
the pending bars; event rules are causal, so these are exactly the events the batch will find.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from swingml.config import GridConfig, TargetsConfig
from swingml.data.frame import timestamps_ms
from swingml.targets.grid import Variant
from swingml.targets.table import build_symbol_targets


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


def new_events(
    candles: pd.DataFrame, variant: Variant, targets: TargetsConfig, span: Pending
) -> pd.DataFrame:
    """The variant's events at bars in ``(span.after_ms, span.until_ms]``, labels as known."""
    stamps = timestamps_ms(candles)
    upto = candles.iloc[: int(np.searchsorted(stamps, span.until_ms, side="right"))]
    events = variant_events(upto, variant, targets)
    at = timestamps_ms(events)
    keep = (at > span.after_ms) & (at <= span.until_ms)
    return events.loc[keep].reset_index(drop=True)
