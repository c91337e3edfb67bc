"""Temporal features: calendar fields, cyclical encodings, trading-session flags, bars since events.

Calendar features read only bar t's own timestamp (UTC, the bar's open time). "Bars since" features
are capped so that they never depend on more than ``cap`` bars of history. None of these run on
higher timeframes: a 4h bar's hour says nothing the base bar does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator

from swingml.features import rolling
from swingml.features._params import bars
from swingml.features.base import Generator, GeneratorParams, Output, positive_periods, register

Array = np.ndarray
FAMILY = "temporal"

Field = Literal["minute", "hour", "weekday", "day_of_month", "month", "day_of_year"]
Encoding = Literal["raw", "cyclical"]


class TemporalParams(GeneratorParams):
    """Temporal generators never run on higher timeframes."""

    timeframes: Literal[False] = False


class CalendarParams(TemporalParams):
    """Which calendar fields, in which encodings (raw number and/or sin/cos pair)."""

    fields: tuple[Field, ...] = ("hour", "weekday", "month")
    encodings: tuple[Encoding, ...] = ("cyclical",)

    @field_validator("fields", "encodings")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError("must be non-empty and unique")
        return value


def _timestamps(candles: pd.DataFrame) -> pd.DatetimeIndex:
    stamps = pd.DatetimeIndex(candles["timestamp"])
    if stamps.tz is None:
        stamps = stamps.tz_localize("UTC")
    return stamps.tz_convert("UTC")


def calendar_field(stamps: pd.DatetimeIndex, name: str) -> tuple[Array, Array]:
    """A calendar field's value and its cycle length (for the sin/cos encoding)."""
    if name == "minute":
        return stamps.minute.to_numpy(np.float64), np.full(len(stamps), 60.0)
    if name == "hour":
        return stamps.hour.to_numpy(np.float64), np.full(len(stamps), 24.0)
    if name == "weekday":
        return stamps.day_of_week.to_numpy(np.float64), np.full(len(stamps), 7.0)
    if name == "day_of_month":
        return (stamps.day - 1).to_numpy(np.float64), stamps.days_in_month.to_numpy(np.float64)
    if name == "month":
        return (stamps.month - 1).to_numpy(np.float64), np.full(len(stamps), 12.0)
    if name == "day_of_year":
        length = np.where(stamps.is_leap_year, 366.0, 365.0)
        return (stamps.day_of_year - 1).to_numpy(np.float64), length
    raise ValueError(f"unknown calendar field {name!r}")


@register
class Calendar(Generator):
    """Calendar fields as numbers (``hour``) and as points on a circle (``hour_sin/_cos``)."""

    name = "calendar"
    family = FAMILY
    Params = CalendarParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, CalendarParams)
        out: list[Output] = []
        for f in self.params.fields:
            if "raw" in self.params.encodings:
                out.append(Output(f, {"field": f, "encoding": "raw"}))
            if "cyclical" in self.params.encodings:
                out.append(Output(f"{f}_sin", {"field": f, "encoding": "cyclical"}))
                out.append(Output(f"{f}_cos", {"field": f, "encoding": "cyclical"}))
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, CalendarParams)
        stamps = _timestamps(candles)
        out: dict[str, Array] = {}
        for f in self.params.fields:
            value, cycle = calendar_field(stamps, f)
            out[f] = value
            angle = 2.0 * np.pi * value / cycle
            out[f"{f}_sin"] = np.sin(angle)
            out[f"{f}_cos"] = np.cos(angle)
        return out


SESSIONS: dict[str, tuple[int, int]] = {
    "session_asia": (0, 8),
    "session_europe": (7, 16),
    "session_us": (13, 21),
    "session_eu_us": (13, 16),
}
"""Trading sessions as UTC hour ranges [start, end) of the bar's open time."""


@register
class Session(Generator):
    """Trading-session flags (Asia, Europe, US, their overlap), weekend and month-turn flags."""

    name = "session"
    family = FAMILY
    Params = TemporalParams

    def outputs(self) -> list[Output]:
        names = [*SESSIONS, "is_weekend", "is_month_start", "is_month_end"]
        return [Output(n, {}) for n in names]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        stamps = _timestamps(candles)
        hour = stamps.hour.to_numpy()
        out: dict[str, Array] = {
            name: ((hour >= lo) & (hour < hi)).astype(np.float64)
            for name, (lo, hi) in SESSIONS.items()
        }
        out["is_weekend"] = (stamps.day_of_week.to_numpy() >= 5).astype(np.float64)
        out["is_month_start"] = (stamps.day.to_numpy() == 1).astype(np.float64)
        out["is_month_end"] = np.asarray(stamps.day == stamps.days_in_month, dtype=np.float64)
        return out


def _fmt(value: float) -> str:
    """A number as a name part: ``2.0`` → ``2``, ``2.5`` → ``2p5``."""
    return f"{value:g}".replace(".", "p").replace("-", "m")


class SinceParams(TemporalParams):
    """Events counted from: new ``windows``-bar highs/lows, moves above ``k_sigmas`` standard
    deviations of the last ``vol_window`` returns, and volume above ``volume_k`` times its mean."""

    windows: tuple[int, ...] = (24,)
    k_sigmas: tuple[float, ...] = (2.0,)
    volume_k: tuple[float, ...] = (3.0,)
    vol_window: int = 20
    cap: int = 168

    @field_validator("windows")
    @classmethod
    def _valid_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return positive_periods(value, 2) if value else value

    @field_validator("k_sigmas", "volume_k")
    @classmethod
    def _valid_k(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(k <= 0 for k in value) or len(set(value)) != len(value):
            raise ValueError("thresholds must be positive and unique")
        return value

    @field_validator("vol_window", "cap")
    @classmethod
    def _at_least_two(cls, value: int) -> int:
        if value < 2:
            raise ValueError("must be >= 2")
        return value


@register
class BarsSince(Generator):
    """Bars since the last new high/low, large move or volume spike, capped at ``cap``."""

    name = "bars_since"
    family = FAMILY
    Params = SinceParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, SinceParams)
        p = self.params
        out: list[Output] = []
        for w in p.windows:
            out.append(Output(f"since_high_{w}", {"window": w, "cap": p.cap}, p.cap + w))
            out.append(Output(f"since_low_{w}", {"window": w, "cap": p.cap}, p.cap + w))
        look = p.cap + p.vol_window + 1
        for k in p.k_sigmas:
            params = {"k": k, "vol_window": p.vol_window, "cap": p.cap}
            out.append(Output(f"since_move_{_fmt(k)}", params, look))
        for k in p.volume_k:
            params = {"k": k, "vol_window": p.vol_window, "cap": p.cap}
            out.append(Output(f"since_vol_spike_{_fmt(k)}", params, look))
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, SinceParams)
        p = self.params
        b = bars(candles)
        out: dict[str, Array] = {}
        for w in p.windows:
            out[f"since_high_{w}"] = rolling.bars_since(b.high >= rolling.highest(b.high, w), p.cap)
            out[f"since_low_{w}"] = rolling.bars_since(b.low <= rolling.lowest(b.low, w), p.cap)
        ret = rolling.log_returns(b.close)
        sigma = rolling.shift(rolling.std(ret, p.vol_window), 1)
        for k in p.k_sigmas:
            out[f"since_move_{_fmt(k)}"] = rolling.bars_since(np.abs(ret) > k * sigma, p.cap)
        mean_volume = rolling.shift(rolling.mean(b.volume, p.vol_window), 1)
        for k in p.volume_k:
            spike = b.volume > k * mean_volume
            out[f"since_vol_spike_{_fmt(k)}"] = rolling.bars_since(spike, p.cap)
        return out
