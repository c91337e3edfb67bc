"""Shared parameter shapes and candle accessors for the family modules.

Most generators are "one formula over a grid of periods": ``PeriodGenerator`` declares one output
per (stem, period) and calls ``one(candles, period)`` for each period, so a family module is mostly
formulas.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd
from pydantic import field_validator

from swingml.features.base import Generator, GeneratorParams, Output, positive_periods

Array = np.ndarray


class Bars(NamedTuple):
    """The OHLCV columns of one symbol's candles as float64 arrays."""

    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array


def bars(candles: pd.DataFrame) -> Bars:
    """Float64 OHLCV arrays (contiguous, as TA-Lib wants them)."""
    return Bars(
        *(
            np.ascontiguousarray(candles[col].to_numpy(np.float64))
            for col in ("open", "high", "low", "close", "volume")
        )
    )


def optional(candles: pd.DataFrame, column: str) -> Array | None:
    """An optional candle column (e.g. ``taker_buy_base``) as float64, or None if absent."""
    if column not in candles.columns:
        return None
    return np.ascontiguousarray(candles[column].to_numpy(np.float64))


class PeriodParams(GeneratorParams):
    """Parameters of a generator evaluated over a grid of periods (window lengths in bars)."""

    min_period: ClassVar[int] = 2
    periods: tuple[int, ...] = (14,)

    @field_validator("periods")
    @classmethod
    def _valid_periods(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return positive_periods(value, cls.min_period)


class PeriodGenerator(Generator):
    """A generator with outputs ``<stem>_<period>`` for each stem and each period."""

    Params: ClassVar[type[GeneratorParams]] = PeriodParams
    split_by: ClassVar[str | None] = "periods"
    stems: ClassVar[tuple[str, ...]]

    @property
    def periods(self) -> tuple[int, ...]:
        """The configured periods."""
        params = self.params
        assert isinstance(params, PeriodParams)
        return params.periods

    def lookback_for(self, period: int) -> int:
        """Bars of history an output of this period needs (default: the period itself)."""
        return period

    def outputs(self) -> list[Output]:
        """One output per (period, stem)."""
        return [
            Output(f"{stem}_{p}", {"period": p}, self.lookback_for(p))
            for p in self.periods
            for stem in self.stems
        ]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        """Evaluate ``one`` for every period."""
        b = bars(candles)
        out: dict[str, Array] = {}
        for p in self.periods:
            values = self.one(b, p)
            for stem, arr in zip(self.stems, values, strict=True):
                out[f"{stem}_{p}"] = arr
        return out

    @abstractmethod
    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        """The outputs for one period, in the order of ``stems``."""
