"""Candle input settings (SPEC §2, §11): which files, which symbols, or the synthetic default."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from swingml.config._model import Section

INTERVALS: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
}


class SyntheticConfig(Section):
    """The embedded synthetic market: three correlated coins with a planted breakout signal."""

    bars: int = Field(default=24000, ge=500)
    start: str = "2022-01-01T00:00:00Z"
    seed: int = Field(default=7, ge=0)
    signal_strength: float = Field(default=1.0, ge=0.0)


class FetchConfig(Section):
    """Binance download settings: monthly public-data zips (``swingml data fetch``) and the REST
    klines endpoint for closed recent bars (``rest_url``, ``page_limit``; ``data fetch --recent``,
    ``inference.source: rest``)."""

    base_url: str = "https://data.binance.vision"
    start_month: str = Field(default="2024-01", pattern=r"^\d{4}-\d{2}$")
    end_month: str = Field(default="2024-03", pattern=r"^\d{4}-\d{2}$")
    retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=0.5, ge=0.0)
    timeout_s: float = Field(default=30.0, gt=0.0)
    rest_url: str = "https://api.binance.com"
    page_limit: int = Field(default=1000, ge=2, le=1000)


class DataConfig(Section):
    """Where candles come from. ``dir: null`` means the embedded synthetic market."""

    dir: str | None = None
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    interval: str = "1h"
    format: Literal["auto", "binance_json", "binance_zip", "csv", "parquet"] = "auto"
    columns: dict[str, str] = Field(default_factory=dict)
    timestamp_unit: Literal["s", "ms", "us", "ns"] = "ms"
    synthetic: SyntheticConfig = SyntheticConfig()
    fetch: FetchConfig = FetchConfig()

    @field_validator("interval")
    @classmethod
    def _known_interval(cls, value: str) -> str:
        if value not in INTERVALS:
            raise ValueError(f"unknown interval {value!r}; allowed: {', '.join(INTERVALS)}")
        return value

    @field_validator("symbols")
    @classmethod
    def _non_empty_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one symbol is required")
        if len(set(value)) != len(value):
            raise ValueError("symbols must be unique")
        return value

    @property
    def interval_seconds(self) -> int:
        """The bar length in seconds."""
        return INTERVALS[self.interval]
