"""Pure computation of planned columns: generator → transform → timeframe alignment.

``stream`` yields one column at a time, running each generator (unit) once for all the columns it
feeds, so a caller can write and free columns as they come. Nothing here touches disk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from swingml.features import timeframes as tf
from swingml.features.plan import Column, Unit

Array = np.ndarray


def stream(
    columns: Sequence[Column], candles: pd.DataFrame, base_seconds: int
) -> Iterator[tuple[Column, Array]]:
    """Yield ``(column, float32 values per candle)`` for ``columns``, unit by unit, in order.

    A higher-timeframe column is computed on the completed higher bars and aligned back to the
    base bars (``timeframes.align``).
    """
    base_ms = tf.timestamps_ms(candles)
    resampled: dict[str, tf.Resampled] = {}
    index: dict[str, Array] = {}
    by_unit: dict[Unit, list[Column]] = {}
    for col in columns:
        by_unit.setdefault(col.unit, []).append(col)
    for unit, own in by_unit.items():
        frame = candles
        if unit.timeframe is not None and unit.tf_seconds is not None:
            if unit.timeframe not in resampled:
                bars = tf.resample(candles, base_seconds, unit.tf_seconds)
                resampled[unit.timeframe] = bars
                index[unit.timeframe] = tf.positions(bars, base_ms)
            frame = resampled[unit.timeframe].candles
        outputs = unit.generator.compute(frame)
        for col in own:
            values = outputs[col.output]
            if col.transform is not None:
                values = col.transform.apply(values)
            if unit.timeframe is not None:
                values = tf.take(values, index[unit.timeframe])
            yield col, values
        del outputs


def columns_frame(
    columns: Sequence[Column], candles: pd.DataFrame, base_seconds: int
) -> dict[str, Array]:
    """All ``columns`` at once, keyed by feature name (for tests and small inputs)."""
    return {col.feature: values for col, values in stream(columns, candles, base_seconds)}
