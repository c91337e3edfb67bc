"""Candlestick features: bar shape, runs of up/down bars and TA-Lib pattern recognition.

Shapes are ratios of the bar's own range (or of ATR), so they are scale-free. Pattern outputs are
TA-Lib's signal divided by 100: +1 bullish, -1 bearish, +-2 a confirmed hikkake, 0 none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pandas as pd
import talib
from pydantic import field_validator
from talib import abstract

from swingml.features import rolling
from swingml.features._params import Bars, PeriodGenerator, bars
from swingml.features.base import (
    Generator,
    GeneratorParams,
    Output,
    positive_periods,
    recursive_lookback,
    register,
)

Array = np.ndarray
FAMILY = "candlestick"

PATTERNS: tuple[str, ...] = tuple(
    sorted(
        name[3:].lower()
        for name in talib.get_functions()  # type: ignore[no-untyped-call]
        if name.startswith("CDL")
    )
)
"""Every TA-Lib candlestick pattern, lower-case without the ``CDL`` prefix (``engulfing``)."""


def _windows(value: tuple[int, ...]) -> tuple[int, ...]:
    return positive_periods(value, 2) if value else value


class ShapeParams(GeneratorParams):
    """Per-bar shape ratios, plus their rolling means over ``windows`` (none by default)."""

    windows: tuple[int, ...] = ()

    @field_validator("windows")
    @classmethod
    def _valid_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _windows(value)


SHAPES: tuple[str, ...] = (
    "body",
    "upper_wick",
    "lower_wick",
    "clv",
    "log_range",
    "gap",
    "ret_oc",
)
SMOOTHED: tuple[str, ...] = ("body", "upper_wick", "lower_wick", "clv", "log_range")


def shapes(b: Bars) -> dict[str, Array]:
    """The per-bar shape ratios, keyed by the names in ``SHAPES``."""
    span = b.high - b.low
    top = np.maximum(b.open, b.close)
    bottom = np.minimum(b.open, b.close)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_range = np.log(b.high / b.low)
        ret_oc = np.log(b.close / b.open)
    return {
        "body": rolling.ratio(b.close - b.open, span),
        "upper_wick": rolling.ratio(b.high - top, span),
        "lower_wick": rolling.ratio(bottom - b.low, span),
        "clv": rolling.ratio((b.close - b.low) - (b.high - b.close), span),
        "log_range": log_range,
        "gap": rolling.ratio(b.open, rolling.shift(b.close, 1)) - 1.0,
        "ret_oc": ret_oc,
    }


@register
class CandleShape(Generator):
    """Body, wicks, close location, range and gap of each bar (and their rolling means)."""

    name = "candle_shape"
    family = FAMILY
    Params = ShapeParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, ShapeParams)
        out = [Output(s, {}, 1 if s == "gap" else 0) for s in SHAPES]
        for w in self.params.windows:
            out.extend(Output(f"{s}_mean_{w}", {"window": w}, w) for s in SMOOTHED)
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, ShapeParams)
        per_bar = shapes(bars(candles))
        out = dict(per_bar)
        for w in self.params.windows:
            for s in SMOOTHED:
                out[f"{s}_mean_{w}"] = rolling.mean(per_bar[s], w)
        return out


@register
class CandleAtr(PeriodGenerator):
    """Body, range and wicks in units of ATR(period): how big this bar is for this market."""

    name = "candle_atr"
    family = FAMILY
    stems = ("body_atr", "range_atr", "upper_wick_atr", "lower_wick_atr")

    def lookback_for(self, period: int) -> int:
        return recursive_lookback(period)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        atr = talib.ATR(b.high, b.low, b.close, timeperiod=period)
        top, bottom = np.maximum(b.open, b.close), np.minimum(b.open, b.close)
        return (
            rolling.ratio(b.close - b.open, atr),
            rolling.ratio(b.high - b.low, atr),
            rolling.ratio(b.high - top, atr),
            rolling.ratio(bottom - b.low, atr),
        )


class RunsParams(GeneratorParams):
    """Runs are capped at ``cap`` bars; up/inside fractions over ``windows``."""

    cap: int = 24
    windows: tuple[int, ...] = (10,)

    @field_validator("windows")
    @classmethod
    def _valid_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _windows(value)

    @field_validator("cap")
    @classmethod
    def _valid_cap(cls, value: int) -> int:
        if value < 2:
            raise ValueError("cap must be >= 2")
        return value


@register
class CandleRuns(Generator):
    """Consecutive up/down closes, inside/outside bars and their frequencies."""

    name = "candle_runs"
    family = FAMILY
    Params = RunsParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, RunsParams)
        cap = self.params.cap
        out = [
            Output("up_run", {"cap": cap}, cap + 1),
            Output("down_run", {"cap": cap}, cap + 1),
            Output("inside_bar", {}, 1),
            Output("outside_bar", {}, 1),
        ]
        for w in self.params.windows:
            out.append(Output(f"up_frac_{w}", {"window": w}, w + 1))
            out.append(Output(f"inside_frac_{w}", {"window": w}, w + 1))
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, RunsParams)
        b = bars(candles)
        prev_close = rolling.shift(b.close, 1)
        prev_high, prev_low = rolling.shift(b.high, 1), rolling.shift(b.low, 1)
        known = np.isfinite(prev_close)
        up = (b.close > prev_close) & known
        down = (b.close < prev_close) & known
        cap = self.params.cap
        inside = ((b.high <= prev_high) & (b.low >= prev_low)).astype(np.float64)
        outside = ((b.high > prev_high) & (b.low < prev_low)).astype(np.float64)
        inside[~known] = np.nan
        outside[~known] = np.nan
        up_f = np.where(known, up.astype(np.float64), np.nan)
        out: dict[str, Array] = {
            "up_run": rolling.bars_since(~up, cap),
            "down_run": rolling.bars_since(~down, cap),
            "inside_bar": inside,
            "outside_bar": outside,
        }
        for w in self.params.windows:
            out[f"up_frac_{w}"] = rolling.mean(up_f, w)
            out[f"inside_frac_{w}"] = rolling.mean(inside, w)
        return out


class PatternParams(GeneratorParams):
    """Which TA-Lib patterns (default all 61), and windows for bullish/bearish signal counts."""

    patterns: tuple[str, ...] | None = None
    windows: tuple[int, ...] = ()

    @field_validator("patterns")
    @classmethod
    def _known_patterns(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return value
        unknown = [p for p in value if p not in PATTERNS]
        if unknown:
            raise ValueError(f"unknown patterns {unknown}; known: {', '.join(PATTERNS)}")
        if not value or len(set(value)) != len(value):
            raise ValueError("patterns must be non-empty and unique")
        return value

    @field_validator("windows")
    @classmethod
    def _valid_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _windows(value)


@register
class CandlePatterns(Generator):
    """TA-Lib candlestick pattern signals (``cdl_engulfing``) and recent bull/bear counts."""

    name = "cdl_patterns"
    family = FAMILY
    Params = PatternParams
    lookbacks: ClassVar[dict[str, int]] = {
        p: int(abstract.Function(f"CDL{p.upper()}").lookback)  # type: ignore[attr-defined]
        for p in PATTERNS
    }

    @property
    def patterns(self) -> tuple[str, ...]:
        """The selected pattern names."""
        assert isinstance(self.params, PatternParams)
        return self.params.patterns if self.params.patterns is not None else PATTERNS

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, PatternParams)
        out = [Output(f"cdl_{p}", {"pattern": p}, self.lookbacks[p]) for p in self.patterns]
        deepest = max(self.lookbacks[p] for p in self.patterns)
        for w in self.params.windows:
            out.append(Output(f"cdl_bull_{w}", {"window": w}, deepest + w))
            out.append(Output(f"cdl_bear_{w}", {"window": w}, deepest + w))
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, PatternParams)
        b = bars(candles)
        out: dict[str, Array] = {}
        bull = np.zeros(len(b.close))
        bear = np.zeros(len(b.close))
        for p in self.patterns:
            fn = getattr(talib, f"CDL{p.upper()}")
            signal = fn(b.open, b.high, b.low, b.close).astype(np.float64) / 100.0
            out[f"cdl_{p}"] = signal
            bull += signal > 0
            bear += signal < 0
        for w in self.params.windows:
            out[f"cdl_bull_{w}"] = rolling.total(bull, w)
            out[f"cdl_bear_{w}"] = rolling.total(bear, w)
        return out
