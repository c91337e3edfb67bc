"""Figures are valid Plotly JSON for any input the run can hold (no NaN, dates as epoch ms)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from swingml.report import figures


def _live() -> pd.DataFrame:
    stamps = pd.date_range("2024-01-01", periods=50, freq="h", tz="UTC")
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1.0, 1.0, 1.0], 50)
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "model": ["BTCUSDT-w3-high", "ETHUSDT-w5-low"] * 25,
            "p_neither": proba[:, 0],
            "p_breakout": proba[:, 1],
            "p_reversal": proba[:, 2],
            "label": pd.array([1, None] * 25, dtype="Int8"),
        }
    )


def test_live_figures_serialise_strictly() -> None:
    live = _live()
    counts = figures.live_counts(live)
    assert sum(sum(trace["y"]) for trace in counts["data"]) == 50
    scores = figures.live_scores(live)
    assert scores["data"][0]["x"][0] == int(pd.Timestamp("2024-01-01", tz="UTC").timestamp() * 1000)
    json.dumps([counts, scores], allow_nan=False)


def test_long_price_series_keep_their_spikes_and_nan_becomes_null() -> None:
    stamps = pd.date_range("2020-01-01", periods=45_000, freq="h", tz="UTC")
    close = np.linspace(1.0, 2.0, len(stamps))
    close[7] = np.nan
    close[20_001], close[30_002] = 9.0, 0.5  # one-bar spike and dip: a quant must see both
    series = figures.price_series(pd.DataFrame({"timestamp": stamps, "close": close}), None)
    assert len(series["x"]) <= figures.PRICE_POINTS
    assert series["x"] == sorted(series["x"])
    assert series["x"][-1] == int(stamps[-1].timestamp() * 1000)
    assert 9.0 in series["y"] and 0.5 in series["y"]
    assert figures.rounded([np.nan, 1.234567891])[0] is None
    json.dumps(series, allow_nan=False)


def test_prices_keep_six_significant_digits() -> None:
    assert figures.significant([43123.456789, 0.000123456789, 0.0, np.nan]) == [
        43123.5,
        0.000123457,
        0.0,
        None,
    ]
