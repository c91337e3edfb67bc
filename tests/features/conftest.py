"""Fixtures of the feature tests: synthetic candles (with gaps), real 1h slices, small run dirs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swingml.data.frame import to_arrow
from swingml.data.sources.binance_json import read_binance_json
from swingml.io.store import RunStore, write_parquet_atomic

BINANCE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"

CandleMaker = Callable[..., pd.DataFrame]


def random_candles(
    n: int,
    seed: int = 0,
    start: str = "2022-01-01",
    freq: str = "h",
    gaps: tuple[tuple[int, int], ...] = (),
) -> pd.DataFrame:
    """A fat-tailed random walk in the candle contract; ``gaps`` drops (start, length) bar runs."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.standard_t(4, size=n) * 0.01))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.0005, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.003, n)))
    volume = rng.lognormal(3, 1, n)
    stamps = pd.date_range(start, periods=n, freq=freq, tz="UTC").as_unit("ms")
    frame = pd.DataFrame(
        {
            "timestamp": stamps,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "trades": rng.integers(50, 500, n).astype(np.float64),
            "taker_buy_base": volume * rng.uniform(0.3, 0.7, n),
        }
    )
    keep = np.ones(n, dtype=bool)
    for first, length in gaps:
        keep[first : first + length] = False
    return frame[keep].reset_index(drop=True)


def real_candles(symbol: str, first: int, n: int) -> pd.DataFrame:
    """A slice of the real Binance 1h file of ``symbol`` (skips the test if the data is absent)."""
    path = BINANCE / f"{symbol}-1h.json.gz"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    frame = read_binance_json(path, symbol).frame
    columns = ["timestamp", "open", "high", "low", "close", "volume"]
    return frame[columns].iloc[first : first + n].reset_index(drop=True)


@pytest.fixture
def candles() -> CandleMaker:
    """The synthetic candle maker."""
    return random_candles


def write_run(root: Path, n: int = 1200) -> RunStore:
    """A run directory with candles for BTC, ETH (with a gap) and SOL (listed later)."""
    store = RunStore(root)
    write_candles(store, "BTCUSDT", random_candles(n, 1))
    write_candles(store, "ETHUSDT", random_candles(n, 2, gaps=((500, 7),)))
    write_candles(store, "SOLUSDT", random_candles(n, 3).iloc[n // 4 :].reset_index(drop=True))
    return store


def write_candles(store: RunStore, symbol: str, frame: pd.DataFrame) -> None:
    """Write candles in the contract format (as the data stage does)."""
    write_parquet_atomic(store.candles_path(symbol), to_arrow(frame))


@pytest.fixture
def real() -> Callable[[str, int, int], pd.DataFrame]:
    """The real-data slice loader (skips where ../shared/data is absent)."""
    return real_candles


@pytest.fixture
def save_candles() -> Callable[[RunStore, str, pd.DataFrame], None]:
    """Writes one symbol's candles into a run directory."""
    return write_candles


@pytest.fixture
def make_run() -> Callable[..., RunStore]:
    """Writes a three-coin run directory."""
    return write_run


@pytest.fixture
def run_store(tmp_path: Path) -> RunStore:
    """A fresh run directory with three coins' candles."""
    return write_run(tmp_path / "run")
