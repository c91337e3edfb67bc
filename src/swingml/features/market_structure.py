"""Market structure: confirmed swing pivots, range position, breakouts and trend structure.

Swing pivots follow SPEC §4 exactly (a swing high at p needs ``high[p] > max(high[p-w..p-1])`` and
``high[p] >= max(high[p+1..p+w])``), and a pivot is *used* only from its confirmation bar
``p + w`` on: before that, the bars that make it a pivot have not happened. Distances are in units
of ``std_v`` (the sample standard deviation of the last ``vol_window`` closes), the same unit the
target barriers use. A pivot older than ``memory(w) = max(max_age, 30 w)`` bars is forgotten, which
bounds the lookback (wide windows confirm few pivots, so they remember longer).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pydantic import field_validator

from swingml.features import rolling
from swingml.features._params import Bars, PeriodGenerator, PeriodParams, bars
from swingml.features.base import Generator, GeneratorParams, Output, positive_periods, register

Array = np.ndarray
FAMILY = "market_structure"


def confirmed_pivots(high: Array, low: Array, w: int) -> tuple[Array, Array]:
    """Boolean arrays marking the bars ``c`` at which a swing high / low at ``c - w`` is confirmed.

    Every term reads bars ``c-2w .. c`` only.
    """
    prev_max = rolling.shift(rolling.highest(high, w), 1)  # max(high[p-w..p-1]) at p
    prev_min = rolling.shift(rolling.lowest(low, w), 1)
    with np.errstate(invalid="ignore"):
        left_hi = rolling.shift((high > prev_max).astype(np.float64), w) == 1.0
        left_lo = rolling.shift((low < prev_min).astype(np.float64), w) == 1.0
        right_hi = rolling.shift(high, w) >= rolling.highest(high, w)  # high[p] >= high[p+1..p+w]
        right_lo = rolling.shift(low, w) <= rolling.lowest(low, w)
    return left_hi & right_hi, left_lo & right_lo


class _Pivots:
    """The confirmed pivots of one side, and which one is the latest at every bar."""

    def __init__(self, confirmed: Array, prices: Array, w: int, max_age: int) -> None:
        n = len(prices)
        self.conf = np.flatnonzero(confirmed)
        self.pos = self.conf - w
        self.level = prices[self.pos] if len(self.pos) else np.empty(0)
        self.t = np.arange(n)
        self.k = np.searchsorted(self.conf, self.t, side="right") - 1
        self.max_age = max_age

    def back(self, j: int) -> tuple[Array, Array]:
        """Index of the j-th latest pivot at each bar, and whether it exists and is young enough."""
        k = self.k - j
        ok = k >= 0
        safe = np.where(ok, k, 0)
        if len(self.pos):
            ok &= (self.t - self.pos[safe]) <= self.max_age
        else:
            ok[:] = False
        return safe, ok

    def value(self, per_pivot: Array, j: int = 0) -> Array:
        """A per-pivot quantity of the j-th latest visible pivot at each bar (NaN if none)."""
        safe, ok = self.back(j)
        if not len(per_pivot):
            return np.full(len(self.t), np.nan)
        return np.where(ok, per_pivot[safe], np.nan)

    def count_in_last(self, flags: Array, last: int) -> Array:
        """How many of the ``last`` latest pivots (transitions) have ``flags`` set."""
        if not len(flags):
            return np.full(len(self.t), np.nan)
        csum = np.concatenate([[0.0], np.cumsum(flags)])
        safe, ok = self.back(last)
        head = np.where(self.k >= 0, self.k, 0)
        return np.where(ok, csum[head + 1] - csum[safe + 1], np.nan)


class SwingParams(PeriodParams):
    """Pivot windows (``periods``), the volatility unit, pivot memory and counting windows."""

    min_period = 1
    periods: tuple[int, ...] = (3, 5, 10)
    vol_window: int = 20
    max_age: int = 500
    last_pivots: int = 5
    count_window: int = 50

    @field_validator("vol_window", "max_age", "last_pivots", "count_window")
    @classmethod
    def _at_least_two(cls, value: int) -> int:
        if value < 2:
            raise ValueError("must be >= 2")
        return value

    def memory(self, w: int) -> int:
        """Bars a pivot of window ``w`` is remembered."""
        return max(self.max_age, 30 * w)


SWING_STEMS: tuple[str, ...] = (
    "swing_hi_dist",
    "swing_lo_dist",
    "swing_hi_age",
    "swing_lo_age",
    "swing_pos",
    "swing_hh",
    "swing_hl",
    "swing_trend",
    "swing_hh_cnt",
    "swing_ll_cnt",
    "swing_hi_z",
    "swing_lo_z",
)


@register
class Swings(Generator):
    """Confirmed swing pivots per window: distance, age, range position, HH/LL structure,
    significance of the last pivot and breakouts through it."""

    name = "swings"
    family = FAMILY
    Params = SwingParams
    split_by = "periods"

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, SwingParams)
        p = self.params
        out: list[Output] = []
        for w in p.periods:
            look = p.memory(w) + 2 * w + p.vol_window
            params = {"window": w, "vol_window": p.vol_window, "max_age": p.memory(w)}
            for stem in SWING_STEMS:
                extra = {"last_pivots": p.last_pivots} if stem.endswith("_cnt") else {}
                out.append(Output(f"{stem}_{w}", {**params, **extra}, look))
            m = p.count_window
            for stem in ("swing_brk_up", "swing_brk_dn"):
                out.append(Output(f"{stem}_{w}_{m}", {**params, "count_window": m}, look + m))
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, SwingParams)
        p = self.params
        b = bars(candles)
        std_v = rolling.std(b.close, p.vol_window)
        mean_v = rolling.mean(b.close, p.vol_window)
        out: dict[str, Array] = {}
        for w in p.periods:
            conf_hi, conf_lo = confirmed_pivots(b.high, b.low, w)
            hi = _Pivots(conf_hi, b.high, w, p.memory(w))
            lo = _Pivots(conf_lo, b.low, w, p.memory(w))
            lvl_hi, lvl_lo = hi.value(hi.level), lo.value(lo.level)
            out[f"swing_hi_dist_{w}"] = rolling.ratio(b.close - lvl_hi, std_v)
            out[f"swing_lo_dist_{w}"] = rolling.ratio(b.close - lvl_lo, std_v)
            out[f"swing_hi_age_{w}"] = hi.t - hi.value(hi.pos.astype(np.float64))
            out[f"swing_lo_age_{w}"] = lo.t - lo.value(lo.pos.astype(np.float64))
            out[f"swing_pos_{w}"] = rolling.ratio(b.close - lvl_lo, lvl_hi - lvl_lo)
            hh = np.sign(lvl_hi - hi.value(hi.level, 1))
            hl = np.sign(lvl_lo - lo.value(lo.level, 1))
            out[f"swing_hh_{w}"] = hh
            out[f"swing_hl_{w}"] = hl
            out[f"swing_trend_{w}"] = hh + hl
            higher = np.concatenate([[0.0], (np.diff(hi.level) > 0).astype(np.float64)])
            lower = np.concatenate([[0.0], (np.diff(lo.level) < 0).astype(np.float64)])
            out[f"swing_hh_cnt_{w}"] = hi.count_in_last(higher[: len(hi.level)], p.last_pivots)
            out[f"swing_ll_cnt_{w}"] = lo.count_in_last(lower[: len(lo.level)], p.last_pivots)
            z_hi = rolling.ratio(b.high - mean_v, std_v)
            z_lo = rolling.ratio(mean_v - b.low, std_v)
            out[f"swing_hi_z_{w}"] = hi.value(z_hi[hi.pos] if len(hi.pos) else hi.level)
            out[f"swing_lo_z_{w}"] = lo.value(z_lo[lo.pos] if len(lo.pos) else lo.level)
            # a level is testable from the bar after its confirmation
            prev_hi, prev_lo = rolling.shift(lvl_hi, 1), rolling.shift(lvl_lo, 1)
            prev_close = rolling.shift(b.close, 1)
            with np.errstate(invalid="ignore"):
                up = (b.close > prev_hi) & (prev_close <= prev_hi)
                dn = (b.close < prev_lo) & (prev_close >= prev_lo)
            m = p.count_window
            out[f"swing_brk_up_{w}_{m}"] = rolling.total(up.astype(np.float64), m)
            out[f"swing_brk_dn_{w}_{m}"] = rolling.total(dn.astype(np.float64), m)
        return out


class RangeParams(PeriodParams):
    """Range windows and the volatility unit for distances."""

    periods: tuple[int, ...] = (20, 100)
    vol_window: int = 20


@register
class RangePosition(PeriodGenerator):
    """Where close sits in the last ``period`` bars' high-low range, and how far from its ends."""

    name = "range_position"
    family = FAMILY
    Params = RangeParams
    stems = ("range_pos", "range_width", "dist_hi", "dist_lo")

    def lookback_for(self, period: int) -> int:
        assert isinstance(self.params, RangeParams)
        return max(period, self.params.vol_window)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        assert isinstance(self.params, RangeParams)
        top, bottom = rolling.highest(b.high, period), rolling.lowest(b.low, period)
        std_v = rolling.std(b.close, self.params.vol_window)
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.log(top / bottom)
        return (
            rolling.ratio(b.close - bottom, top - bottom),
            width,
            rolling.ratio(top - b.close, std_v),
            rolling.ratio(b.close - bottom, std_v),
        )


class BreakoutParams(GeneratorParams):
    """Donchian channel lengths and the window over which breakouts are counted."""

    channels: tuple[int, ...] = (20,)
    count_window: int = 50

    @field_validator("channels")
    @classmethod
    def _valid_channels(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return positive_periods(value, 2)

    @field_validator("count_window")
    @classmethod
    def _valid_window(cls, value: int) -> int:
        if value < 2:
            raise ValueError("must be >= 2")
        return value


@register
class Breakouts(Generator):
    """How many closes in the last ``count_window`` bars broke the previous ``n``-bar channel."""

    name = "breakouts"
    family = FAMILY
    Params = BreakoutParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, BreakoutParams)
        m = self.params.count_window
        return [
            Output(f"{stem}_{n}_{m}", {"channel": n, "count_window": m}, n + m)
            for n in self.params.channels
            for stem in ("breakout_up", "breakout_dn")
        ]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, BreakoutParams)
        b = bars(candles)
        m = self.params.count_window
        out: dict[str, Array] = {}
        for n in self.params.channels:
            top = rolling.shift(rolling.highest(b.high, n), 1)
            bottom = rolling.shift(rolling.lowest(b.low, n), 1)
            with np.errstate(invalid="ignore"):
                up = (b.close > top).astype(np.float64)
                dn = (b.close < bottom).astype(np.float64)
            up[np.isnan(top)] = np.nan
            dn[np.isnan(bottom)] = np.nan
            out[f"breakout_up_{n}_{m}"] = rolling.total(up, m)
            out[f"breakout_dn_{n}_{m}"] = rolling.total(dn, m)
        return out


@register
class TrendStructure(PeriodGenerator):
    """Trend quality: Kaufman efficiency ratio and the balance of higher highs vs lower lows."""

    name = "trend_structure"
    family = FAMILY
    stems = ("efficiency", "hhll")

    def lookback_for(self, period: int) -> int:
        return period + 1

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        move = np.abs(b.close - rolling.shift(b.close, period))
        path = rolling.total(np.abs(b.close - rolling.shift(b.close, 1)), period)
        prev_high, prev_low = rolling.shift(b.high, 1), rolling.shift(b.low, 1)
        with np.errstate(invalid="ignore"):
            balance = (b.high > prev_high).astype(np.float64) - (b.low < prev_low)
        balance[0] = np.nan
        return rolling.ratio(move, path), rolling.mean(balance, period)
