"""Shared helpers for the target tests: hand-built candles and the real Binance 1h files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swingml.data.sources.binance_json import read_binance_json

BINANCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def make_candles(
    high: Sequence[float],
    low: Sequence[float] | None = None,
    close: Sequence[float] | None = None,
    hours: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Candles in the contract format from hand-written highs (lows/closes default from them)."""
    high_a = np.asarray(high, dtype=np.float64)
    low_a = high_a - 1.0 if low is None else np.asarray(low, dtype=np.float64)
    close_a = (high_a + low_a) / 2 if close is None else np.asarray(close, dtype=np.float64)
    offsets = np.arange(len(high_a)) if hours is None else np.asarray(hours)
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(offsets, unit="h")
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps).as_unit("ms"),
            "open": close_a,
            "high": high_a,
            "low": low_a,
            "close": close_a,
            "volume": np.ones(len(high_a)),
        }
    )


def read_binance(symbol: str) -> pd.DataFrame:
    """One real 1h file, read by the data layer's Binance reader (skips where it is absent)."""
    path = BINANCE_DIR / f"{symbol}-1h.json.gz"
    if not path.is_file():
        pytest.skip(f"real data not available: {path}")
    return read_binance_json(path, symbol).frame


@pytest.fixture(scope="session")
def binance() -> Callable[[str], pd.DataFrame]:
    """Loader of the real 1h candles, cached per symbol for the session."""
    cache: dict[str, pd.DataFrame] = {}

    def load(symbol: str) -> pd.DataFrame:
        if symbol not in cache:
            cache[symbol] = read_binance(symbol)
        return cache[symbol].copy()

    return load


@pytest.fixture
def candles() -> Callable[..., pd.DataFrame]:
    """``make_candles`` as a fixture (test modules cannot import conftest in importlib mode)."""
    return make_candles
