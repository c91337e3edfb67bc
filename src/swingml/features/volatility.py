"""Volatility: realized and range-based estimators, ATR, vol of vol, ratios across windows.

All estimators are per-bar (not annualised) and scale-free (log returns or ratios to price). The
range-based estimators follow Parkinson (1980), Garman-Klass (1980), Rogers-Satchell (1991) and
Yang-Zhang (2000); a window whose variance estimate is negative gives NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import talib
from pydantic import field_validator

from swingml.features import rolling
from swingml.features._params import Bars, PeriodGenerator, bars
from swingml.features.base import Generator, GeneratorParams, Output, recursive_lookback, register

Array = np.ndarray
FAMILY = "volatility"


def _sqrt(x: Array) -> Array:
    with np.errstate(invalid="ignore"):
        out: Array = np.sqrt(x)
    out[x < 0] = np.nan
    return out


def _logs(b: Bars) -> tuple[Array, Array, Array, Array]:
    """``ln(H/L)``, ``ln(C/O)``, the Rogers-Satchell term and ``ln(O/C_prev)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        hl = np.log(b.high / b.low)
        co = np.log(b.close / b.open)
        rs = np.log(b.high / b.close) * np.log(b.high / b.open) + np.log(b.low / b.close) * np.log(
            b.low / b.open
        )
        oc = np.log(b.open / rolling.shift(b.close, 1))
    return hl, co, rs, oc


@register
class RealizedVol(PeriodGenerator):
    """Standard deviation of log returns, and its upside/downside semi-deviations."""

    name = "realized_vol"
    family = FAMILY
    stems = ("rv", "rv_up", "rv_dn")

    def lookback_for(self, period: int) -> int:
        return period + 1

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        r = rolling.log_returns(b.close)
        sq = r * r
        up = np.where(r > 0, sq, 0.0)
        dn = np.where(r < 0, sq, 0.0)
        up[np.isnan(r)] = np.nan
        dn[np.isnan(r)] = np.nan
        return (
            rolling.std(r, period),
            _sqrt(rolling.mean(up, period)),
            _sqrt(rolling.mean(dn, period)),
        )


@register
class RangeVol(PeriodGenerator):
    """Range-based volatility: Parkinson, Garman-Klass, Rogers-Satchell and Yang-Zhang."""

    name = "range_vol"
    family = FAMILY
    stems = ("parkinson", "garman_klass", "rogers_satchell", "yang_zhang")

    def lookback_for(self, period: int) -> int:
        return period + 1

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        hl, co, rs, oc = _logs(b)
        parkinson = _sqrt(rolling.mean(hl * hl, period) / (4.0 * math.log(2.0)))
        gk_term = 0.5 * hl * hl - (2.0 * math.log(2.0) - 1.0) * co * co
        garman_klass = _sqrt(rolling.mean(gk_term, period))
        rs_var = rolling.mean(rs, period)
        k = 0.34 / (1.34 + (period + 1) / (period - 1))
        yz_var = rolling.std(oc, period) ** 2 + k * rolling.std(co, period) ** 2 + (1 - k) * rs_var
        return parkinson, garman_klass, _sqrt(rs_var), _sqrt(yz_var)


@register
class Atr(PeriodGenerator):
    """ATR relative to close (NATR as a fraction) and this bar's true range relative to ATR."""

    name = "atr"
    family = FAMILY
    stems = ("natr", "tr_rel")

    def lookback_for(self, period: int) -> int:
        return recursive_lookback(period)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        atr = talib.ATR(b.high, b.low, b.close, timeperiod=period)
        tr = rolling.true_range(b.high, b.low, b.close)
        return rolling.ratio(atr, b.close), rolling.ratio(tr, atr)


@register
class ReturnMoments(PeriodGenerator):
    """Skewness and excess kurtosis of log returns."""

    name = "return_moments"
    family = FAMILY
    stems = ("skew", "kurt")

    def lookback_for(self, period: int) -> int:
        return period + 1

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        r = rolling.log_returns(b.close)
        return rolling.skew(r, period), rolling.kurt(r, period)


def _valid_pairs(value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    if not value or len(set(value)) != len(value):
        raise ValueError("pairs must be non-empty and unique")
    for a, b in value:
        if not 2 <= a < b:
            raise ValueError(f"each pair needs 2 <= first < second (got {a}, {b})")
    return value


class PairParams(GeneratorParams):
    """Window pairs (short, long)."""

    pairs: tuple[tuple[int, int], ...] = ((20, 100),)

    @field_validator("pairs")
    @classmethod
    def _check_pairs(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        return _valid_pairs(value)


@register
class VolOfVol(Generator):
    """Volatility of volatility: the coefficient of variation of ``rv_a`` over ``b`` bars."""

    name = "vol_of_vol"
    family = FAMILY
    Params = PairParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, PairParams)
        return [
            Output(f"vov_{a}_{b}", {"vol_window": a, "window": b}, a + b + 1)
            for a, b in self.params.pairs
        ]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, PairParams)
        r = rolling.log_returns(bars(candles).close)
        out: dict[str, Array] = {}
        for a, b in self.params.pairs:
            rv = rolling.std(r, a)
            out[f"vov_{a}_{b}"] = rolling.ratio(rolling.std(rv, b), rolling.mean(rv, b))
        return out


@register
class VolRatio(Generator):
    """Short over long volatility (realized and ATR): is volatility expanding or contracting."""

    name = "vol_ratio"
    family = FAMILY
    Params = PairParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, PairParams)
        out: list[Output] = []
        for a, b in self.params.pairs:
            params = {"short": a, "long": b}
            out.append(Output(f"rv_ratio_{a}_{b}", params, b + 1))
            out.append(Output(f"atr_ratio_{a}_{b}", params, recursive_lookback(b)))
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, PairParams)
        b = bars(candles)
        r = rolling.log_returns(b.close)
        out: dict[str, Array] = {}
        for short, long in self.params.pairs:
            out[f"rv_ratio_{short}_{long}"] = rolling.ratio(
                rolling.std(r, short), rolling.std(r, long)
            )
            out[f"atr_ratio_{short}_{long}"] = rolling.ratio(
                talib.ATR(b.high, b.low, b.close, timeperiod=short),
                talib.ATR(b.high, b.low, b.close, timeperiod=long),
            )
        return out
