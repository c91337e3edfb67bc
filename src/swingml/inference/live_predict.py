"""One symbol's pending bars → its champions' prediction rows and live inputs (pure).

The events of the pending span are found on a bounded tail (``live.new_events_many``), the
features at their bars computed from a bounded history (``live_features.compute_at``), and each
champion predicts its own events with the same call as the batch (``batch.predict_events``).
The caller appends the rows to the prediction store and the inputs to the drift window.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import TargetsConfig
from swingml.data.frame import timestamps_ms
from swingml.features.plan import FeaturePlan
from swingml.inference.batch import predict_events, rows_at
from swingml.inference.champions import Champion
from swingml.inference.live import Pending, new_events_many
from swingml.inference.live_features import ColumnPlan, compute_at


@dataclass(frozen=True)
class LivePrediction:
    """One champion's events in a span: its prediction rows and inputs (None without events)."""

    champion: Champion
    events: int
    rows: pd.DataFrame | None = None
    inputs: pd.DataFrame | None = None


def feature_rows(
    plan: FeaturePlan,
    columns: ColumnPlan,
    candles: Mapping[str, pd.DataFrame],
    stamps: np.ndarray,
    history_bars: int,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """``timestamp`` + ``columns`` at ``stamps`` (ms), from a bounded history; the bars read."""
    values, read_bars = compute_at(plan, columns, candles, stamps, history_bars)
    matrix = pd.DataFrame(values, columns=list(columns.names))
    matrix.insert(
        0, "timestamp", pd.DatetimeIndex(stamps.astype("datetime64[ms]")).tz_localize("UTC")
    )
    return matrix, read_bars


def _predicted(champion: Champion, frame: pd.DataFrame, matrix: pd.DataFrame) -> LivePrediction:
    X = rows_at(matrix, frame["timestamp"], champion.features, "live features")
    rows = predict_events(champion, frame["timestamp"], X, frame["label"], "live")
    inputs = pd.DataFrame(X, columns=list(champion.features))
    inputs.insert(0, "timestamp", frame["timestamp"].to_numpy())
    inputs.insert(1, "version", champion.version)
    return LivePrediction(champion, len(frame), rows, inputs)


def predict_span(
    champions: Sequence[Champion],
    plan: FeaturePlan,
    columns: ColumnPlan,
    candles: Mapping[str, pd.DataFrame],
    span: Pending,
    targets: TargetsConfig,
    history_bars: int,
) -> tuple[list[LivePrediction], dict[str, Any]]:
    """Each champion's predictions (in order) of the events at ``span``'s bars of its symbol,
    and the symbol's figures (events, bars read, seconds spent on events and on features)."""
    start = time.perf_counter()
    found, event_bars = new_events_many(
        candles[span.symbol], [c.variant for c in champions], targets, span
    )
    events = {c.name: found[c.variant.id] for c in champions}
    events_s = time.perf_counter() - start
    stamps = np.unique(
        np.concatenate([timestamps_ms(e) for e in events.values()] + [np.empty(0, np.int64)])
    )
    start = time.perf_counter()
    matrix, read_bars = feature_rows(plan, columns, candles, stamps, history_bars)
    features_s = time.perf_counter() - start
    predicted = [
        _predicted(c, events[c.name], matrix) if len(events[c.name]) else LivePrediction(c, 0)
        for c in champions
    ]
    info = {
        "events": int(sum(len(e) for e in events.values())),
        "event_bars_read": event_bars,
        "history_bars_read": read_bars,
        "events_s": round(events_s, 3),
        "features_s": round(features_s, 3),
    }
    return predicted, info
