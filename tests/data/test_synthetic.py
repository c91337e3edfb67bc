"""The synthetic market has crypto's stylised facts and a planted, past-detectable signal."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from swingml.config.data import DataConfig
from swingml.data.frame import LoadedCandles
from swingml.data.synthetic import (
    BREAK_WINDOW,
    COMPRESSION,
    LONG_WINDOW,
    REGIME_BARS,
    SHORT_WINDOW,
    generate,
)
from swingml.data.validate import validate_candles
from swingml.errors import BadInputError

PAIRS = [("BTCUSDT", "ETHUSDT"), ("BTCUSDT", "SOLUSDT"), ("ETHUSDT", "SOLUSDT")]


@pytest.fixture(scope="module")
def market() -> dict[str, pd.DataFrame]:
    """The default market: 24,000 hourly bars of three coins, seed 7."""
    return generate(DataConfig())


def _returns(frame: pd.DataFrame) -> pd.Series:
    return np.log(frame["close"]).diff().dropna()


def test_default_size_generates_fast() -> None:
    start = time.perf_counter()
    frames = generate(DataConfig())
    assert time.perf_counter() - start < 2.0
    assert {s: len(f) for s, f in frames.items()} == dict.fromkeys(
        ("BTCUSDT", "ETHUSDT", "SOLUSDT"), 24_000
    )


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
def test_fat_tails(market: dict[str, pd.DataFrame], symbol: str) -> None:
    assert _returns(market[symbol]).kurt() > 5.0


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
def test_volatility_clusters(market: dict[str, pd.DataFrame], symbol: str) -> None:
    size = pd.Series(np.abs(_returns(market[symbol]).to_numpy()))
    for lag in range(1, 11):
        assert size.autocorr(lag) > 0.1, lag


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_coins_move_together(market: dict[str, pd.DataFrame], a: str, b: str) -> None:
    corr = _returns(market[a]).corr(_returns(market[b]))
    assert 0.5 <= corr <= 0.9


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
def test_volume_follows_the_hour_of_day(market: dict[str, pd.DataFrame], symbol: str) -> None:
    frame = market[symbol]
    by_hour = frame.groupby(frame["timestamp"].dt.hour)["volume"].median()
    assert by_hour.max() / by_hour.min() > 1.8
    assert 12 <= int(by_hour.idxmax()) <= 18
    assert 0 <= int(by_hour.idxmin()) <= 6


@pytest.mark.parametrize(
    ("symbol", "low", "high"),
    [("BTCUSDT", 30_000, 60_000), ("ETHUSDT", 2_000, 3_000), ("SOLUSDT", 20, 150)],
)
def test_realistic_price_levels(
    market: dict[str, pd.DataFrame], symbol: str, low: float, high: float
) -> None:
    close = market[symbol]["close"]
    assert low <= close.median() <= high
    assert close.quantile(0.01) > low / 2
    # 24,000 bars is 2.7 years: room for one bubble (real ETH rose 4x in 2021), not for a drift
    assert close.quantile(0.99) < high * 3


def test_same_seed_same_bytes() -> None:
    config = DataConfig(synthetic={"bars": 2_000, "seed": 3})
    first, second = generate(config), generate(config)
    for symbol, frame in first.items():
        other = second[symbol]
        assert list(frame.columns) == list(other.columns)
        assert frame["timestamp"].equals(other["timestamp"])
        for column in frame.columns.drop("timestamp"):
            assert frame[column].to_numpy().tobytes() == other[column].to_numpy().tobytes()


def test_other_seed_other_market() -> None:
    a = generate(DataConfig(synthetic={"bars": 2_000, "seed": 3}))
    b = generate(DataConfig(synthetic={"bars": 2_000, "seed": 4}))
    assert not np.allclose(a["BTCUSDT"]["close"], b["BTCUSDT"]["close"])


def test_candles_pass_validation_and_follow_the_contract(market: dict[str, pd.DataFrame]) -> None:
    for symbol, frame in market.items():
        report = validate_candles(LoadedCandles(symbol, frame, ()), 3600)
        assert report.rows == 24_000 and report.missing_bars == 0
        assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
        assert (frame.drop(columns="timestamp").dtypes == np.float64).all()
        assert frame["timestamp"].iloc[0] == pd.Timestamp("2022-01-01", tz="UTC")
        assert (frame["open"].iloc[1:].to_numpy() == frame["close"].iloc[:-1].to_numpy()).all()


def test_interval_and_start_follow_config() -> None:
    config = DataConfig(interval="15m", synthetic={"bars": 1_000, "start": "2023-06-01T00:15:00Z"})
    frame = generate(config)["ETHUSDT"]
    steps = frame["timestamp"].diff().dropna().unique()
    assert list(steps) == [pd.Timedelta(minutes=15)]
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2023-06-01T00:15:00Z")
    validate_candles(LoadedCandles("ETHUSDT", frame, ()), 900)


@pytest.mark.parametrize("start", ["2022-01-01T00:00:00", "2022-01-01T00:30:00Z"])
def test_bad_start_is_a_config_error(start: str) -> None:
    with pytest.raises(BadInputError, match=r"data\.synthetic\.start"):
        generate(DataConfig(synthetic={"start": start}))


def _continuation_rates(frames: dict[str, pd.DataFrame]) -> tuple[float, float, int]:
    """Among closes above the previous 20-bar high: P(close REGIME_BARS later is higher), for
    breaks after compressed volatility with a volume surge vs all other breaks (past-only)."""
    flagged: list[bool] = []
    others: list[bool] = []
    for frame in frames.values():
        close = frame["close"].to_numpy()
        ret2 = np.log(frame["close"]).diff() ** 2
        rv_short = np.sqrt(ret2.rolling(SHORT_WINDOW).mean().shift(1)).to_numpy()
        rv_long = np.sqrt(ret2.rolling(LONG_WINDOW).mean().shift(1)).to_numpy()
        volume = frame["volume"].to_numpy()
        mean_volume = frame["volume"].rolling(20).mean().shift(1).to_numpy()
        prior_high = frame["high"].rolling(BREAK_WINDOW).max().shift(1).to_numpy()
        for t in range(LONG_WINDOW + 1, len(frame) - REGIME_BARS):
            if close[t] <= prior_high[t]:
                continue
            up = bool(close[t + REGIME_BARS] > close[t])
            setup = rv_short[t] < COMPRESSION * rv_long[t] and volume[t] > 2 * mean_volume[t]
            (flagged if setup else others).append(up)
    return float(np.mean(flagged)), float(np.mean(others)), len(flagged)


def test_planted_signal_is_detectable_from_the_past(market: dict[str, pd.DataFrame]) -> None:
    flagged, others, count = _continuation_rates(market)
    assert count >= 150
    assert flagged > 0.65
    assert flagged - others > 0.15


def test_no_signal_without_strength() -> None:
    flat = generate(DataConfig(synthetic={"signal_strength": 0.0}))
    flagged, others, _ = _continuation_rates(flat)
    assert abs(flagged - others) < 0.1
