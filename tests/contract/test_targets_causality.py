"""Law: an event at bar t is known from bars <= t, and its label from bars <= t + H.

Live inference detects events on the candles it has; that is only the same as the batch history
if cutting the series after bar m-1 keeps every event with t <= m-1 (and adds none), and keeps
every label whose horizon ends by m-1 (the others turn unknown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swingml.config import load_config
from swingml.targets.table import build_symbol_targets

KEYS = ["kind", "w", "s", "k", "timestamp"]


def random_walk(bars: int) -> pd.DataFrame:
    rng = np.random.default_rng(9)
    close = 50 * np.exp(np.cumsum(rng.standard_t(4, bars) * 0.008))
    spread = close * rng.uniform(0.001, 0.012, bars)
    stamps = pd.date_range("2024-01-01", periods=bars, freq="h", tz="UTC").as_unit("ms")
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "open": close,
            "high": close + spread,
            "low": close - spread,
            "close": close,
        }
    )


@pytest.mark.parametrize("cut", [700, 1333, 2500])
def test_a_prefix_sees_the_same_events_and_the_labels_its_bars_decide(cut: int) -> None:
    config = load_config()
    candles = random_walk(3000)
    full = build_symbol_targets("BTCUSDT", candles, config.targets, config.grid).frame
    prefix = build_symbol_targets("BTCUSDT", candles.head(cut), config.targets, config.grid).frame

    last_stamp = candles["timestamp"].iloc[cut - 1]
    expected = full[full["timestamp"] <= last_stamp].reset_index(drop=True)
    pd.testing.assert_frame_equal(prefix[KEYS], expected[KEYS])

    position = pd.Series(np.arange(len(candles)), index=candles["timestamp"])
    event_bar = position.loc[expected["timestamp"]].to_numpy()
    decided = event_bar + config.targets.horizon_factor * expected["w"].to_numpy() <= cut - 1
    assert decided.sum() > 1000 and (~decided).sum() > 10
    pd.testing.assert_series_equal(prefix["label"][decided], expected["label"][decided])
    assert prefix["label"][~decided].isna().all()
