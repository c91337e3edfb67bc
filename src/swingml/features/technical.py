"""Technical indicators: momentum, trend, oscillators and volume flow (TA-Lib where it has them).

Every output is scale-free (a ratio, an oscillator or a return), so one model can read BTC at 60,000
and SOL at 20 side by side. TA-Lib's functions are causal; the EMA/Wilder-smoothed ones (RSI, ADX,
MACD, ...) depend on where the series starts, so their declared lookback is the number of bars
after which the seed no longer shows at float32 precision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import talib
from pydantic import field_validator

from swingml.features import rolling
from swingml.features._params import Bars, PeriodGenerator, PeriodParams, bars, optional
from swingml.features.base import Generator, GeneratorParams, Output, recursive_lookback, register

Array = np.ndarray
FAMILY = "technical"


@register
class Rsi(PeriodGenerator):
    """Wilder's relative strength index."""

    name = "rsi"
    family = FAMILY
    stems = ("rsi",)

    def lookback_for(self, period: int) -> int:
        return recursive_lookback(period)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        return (talib.RSI(b.close, timeperiod=period),)


@register
class StochRsi(PeriodGenerator):
    """Stochastic RSI: where RSI sits in its own range over the same period (0..1)."""

    name = "stochrsi"
    family = FAMILY
    stems = ("stochrsi",)

    def lookback_for(self, period: int) -> int:
        return recursive_lookback(period) + period

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        rsi = talib.RSI(b.close, timeperiod=period)
        lo, hi = rolling.lowest(rsi, period), rolling.highest(rsi, period)
        return (rolling.ratio(rsi - lo, hi - lo),)


class StochParams(PeriodParams):
    """Stochastic oscillator: ``periods`` are %K lookbacks; ``smooth`` the %K/%D SMA length."""

    smooth: int = 3


@register
class Stoch(PeriodGenerator):
    """Slow stochastic oscillator %K and %D."""

    name = "stoch"
    family = FAMILY
    Params = StochParams
    stems = ("stoch_k", "stoch_d")

    def lookback_for(self, period: int) -> int:
        assert isinstance(self.params, StochParams)
        return period + 2 * self.params.smooth

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        assert isinstance(self.params, StochParams)
        s = max(1, self.params.smooth)
        k, d = talib.STOCH(
            b.high, b.low, b.close, fastk_period=period, slowk_period=s, slowd_period=s
        )
        return k, d


@register
class Cci(PeriodGenerator):
    """Commodity channel index."""

    name = "cci"
    family = FAMILY
    stems = ("cci",)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        return (talib.CCI(b.high, b.low, b.close, timeperiod=period),)


@register
class Adx(PeriodGenerator):
    """ADX/DMI: trend strength, the two directional indicators and their normalised spread."""

    name = "adx"
    family = FAMILY
    stems = ("adx", "pdi", "mdi", "dmi")

    def lookback_for(self, period: int) -> int:
        return 2 * recursive_lookback(period)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        adx = talib.ADX(b.high, b.low, b.close, timeperiod=period)
        pdi = talib.PLUS_DI(b.high, b.low, b.close, timeperiod=period)
        mdi = talib.MINUS_DI(b.high, b.low, b.close, timeperiod=period)
        return adx, pdi, mdi, rolling.ratio(pdi - mdi, pdi + mdi)


@register
class Mfi(PeriodGenerator):
    """Money flow index (volume-weighted RSI)."""

    name = "mfi"
    family = FAMILY
    stems = ("mfi",)

    def lookback_for(self, period: int) -> int:
        return period + 1

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        return (talib.MFI(b.high, b.low, b.close, b.volume, timeperiod=period),)


class RocParams(PeriodParams):
    """Rate of change over ``periods`` bars (a period of 1 is the bar return)."""

    min_period: ClassVar[int] = 1
    periods: tuple[int, ...] = (1, 12)


@register
class Roc(PeriodGenerator):
    """Rate of change as a log return, ``log(close[t] / close[t-p])``."""

    name = "roc"
    family = FAMILY
    Params = RocParams
    stems = ("roc",)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        return (rolling.log_returns(b.close, period),)


@register
class WillR(PeriodGenerator):
    """Williams %R."""

    name = "willr"
    family = FAMILY
    stems = ("willr",)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        return (talib.WILLR(b.high, b.low, b.close, timeperiod=period),)


@register
class Obv(PeriodGenerator):
    """On-balance volume over a window, as a share of the window's volume (-1..1).

    Raw OBV is a running total whose level depends on where the data starts; its windowed form
    keeps the signal and has a bounded lookback.
    """

    name = "obv"
    family = FAMILY
    stems = ("obv",)

    def lookback_for(self, period: int) -> int:
        return period + 1

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        signed = np.sign(b.close - rolling.shift(b.close, 1)) * b.volume
        return (rolling.ratio(rolling.total(signed, period), rolling.total(b.volume, period)),)


@register
class Aroon(PeriodGenerator):
    """Aroon up, down and oscillator."""

    name = "aroon"
    family = FAMILY
    stems = ("aroon_up", "aroon_dn", "aroon_osc")

    def lookback_for(self, period: int) -> int:
        return period + 1

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        down, up = talib.AROON(b.high, b.low, timeperiod=period)
        return up, down, up - down


@register
class Cmo(PeriodGenerator):
    """Chande momentum oscillator."""

    name = "cmo"
    family = FAMILY
    stems = ("cmo",)

    def lookback_for(self, period: int) -> int:
        return recursive_lookback(period)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        return (talib.CMO(b.close, timeperiod=period),)


@register
class Trix(PeriodGenerator):
    """TRIX: one-bar rate of change of a triple-smoothed EMA."""

    name = "trix"
    family = FAMILY
    stems = ("trix",)

    def lookback_for(self, period: int) -> int:
        return 3 * recursive_lookback(period)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        return (talib.TRIX(b.close, timeperiod=period),)


@register
class LinReg(PeriodGenerator):
    """Linear-regression slope of close (per bar, relative to price) and its R²."""

    name = "linreg"
    family = FAMILY
    stems = ("linreg_slope", "linreg_r2")

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        slope = rolling.ratio(talib.LINEARREG_SLOPE(b.close, timeperiod=period), b.close)
        index = np.arange(len(b.close), dtype=np.float64)
        r = talib.CORREL(index, b.close, timeperiod=period)
        return slope, r * r


@register
class Cmf(PeriodGenerator):
    """Chaikin money flow: volume-weighted close location over a window."""

    name = "cmf"
    family = FAMILY
    stems = ("cmf",)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        clv = rolling.ratio((b.close - b.low) - (b.high - b.close), b.high - b.low)
        clv = np.nan_to_num(clv, nan=0.0)
        flow = rolling.total(clv * b.volume, period)
        return (rolling.ratio(flow, rolling.total(b.volume, period)),)


@register
class VwapDev(PeriodGenerator):
    """Close relative to the rolling volume-weighted average price."""

    name = "vwap_dev"
    family = FAMILY
    stems = ("vwap_dev",)

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        typical = (b.high + b.low + b.close) / 3.0
        vwap = rolling.ratio(
            rolling.total(typical * b.volume, period), rolling.total(b.volume, period)
        )
        return (rolling.ratio(b.close, vwap) - 1.0,)


@register
class VolumeRel(PeriodGenerator):
    """Volume relative to its rolling mean, and the log-volume z-score."""

    name = "volume_rel"
    family = FAMILY
    stems = ("vol_rel", "vol_z")

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        rel = rolling.ratio(b.volume, rolling.mean(b.volume, period))
        with np.errstate(divide="ignore"):
            logv = np.log(b.volume)
        logv[~np.isfinite(logv)] = np.nan
        z = rolling.ratio(logv - rolling.mean(logv, period), rolling.std(logv, period))
        return rel, z


class TakerParams(PeriodParams):
    """Windows for the taker-flow features."""

    periods: tuple[int, ...] = (24,)


@register
class TakerFlow(Generator):
    """Aggressive buying: taker-buy share of volume and trade size, over windows.

    Needs the optional Binance columns ``taker_buy_base`` and ``trades``; where a source lacks
    them the outputs are NaN (and the preparation filters drop them).
    """

    name = "taker_flow"
    family = FAMILY
    Params = TakerParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, TakerParams)
        return [
            Output(f"{stem}_{p}", {"period": p}, p)
            for p in self.params.periods
            for stem in ("taker_buy", "trade_size_rel")
        ]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, TakerParams)
        b = bars(candles)
        nan = np.full(len(b.close), np.nan)
        taker, trades = optional(candles, "taker_buy_base"), optional(candles, "trades")
        out: dict[str, Array] = {}
        size = rolling.ratio(b.volume, trades) if trades is not None else nan
        for p in self.params.periods:
            vol = rolling.total(b.volume, p)
            out[f"taker_buy_{p}"] = (
                rolling.ratio(rolling.total(taker, p), vol) - 0.5 if taker is not None else nan
            )
            out[f"trade_size_rel_{p}"] = rolling.ratio(size, rolling.mean(size, p))
        return out


MaKind = Literal["sma", "ema", "wma", "dema", "tema", "kama", "trima"]
_RECURSIVE_MA = {"ema": 1, "dema": 2, "tema": 3, "kama": 1}


def moving_average(x: Array, kind: str, period: int) -> Array:
    """A TA-Lib moving average of the given kind."""
    fn = {
        "sma": talib.SMA,
        "ema": talib.EMA,
        "wma": talib.WMA,
        "dema": talib.DEMA,
        "tema": talib.TEMA,
        "kama": talib.KAMA,
        "trima": talib.TRIMA,
    }[kind]
    result: Array = fn(x, timeperiod=period)
    return result


def ma_lookback(kind: str, period: int) -> int:
    """Lookback of a moving average: its window, or the recursion's forgetting horizon."""
    depth = _RECURSIVE_MA.get(kind)
    return period if depth is None else depth * recursive_lookback(period)


class MaParams(PeriodParams):
    """Moving averages of these kinds over ``periods``."""

    kinds: tuple[MaKind, ...] = ("sma", "ema")

    @field_validator("kinds")
    @classmethod
    def _unique_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError("kinds must be non-empty and unique")
        return value


@register
class MaDev(Generator):
    """Close relative to a moving average, ``close / MA - 1`` (``sma_dev_50``, ``ema_dev_20``)."""

    name = "ma_dev"
    family = FAMILY
    Params = MaParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, MaParams)
        return [
            Output(f"{kind}_dev_{p}", {"period": p, "kind": kind}, ma_lookback(kind, p))
            for kind in self.params.kinds
            for p in self.params.periods
        ]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, MaParams)
        close = bars(candles).close
        return {
            f"{kind}_dev_{p}": rolling.ratio(close, moving_average(close, kind, p)) - 1.0
            for kind in self.params.kinds
            for p in self.params.periods
        }


def _valid_pairs(value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    if not value or len(set(value)) != len(value):
        raise ValueError("pairs must be non-empty and unique")
    for fast, slow in value:
        if not 1 <= fast < slow:
            raise ValueError(f"each pair needs 1 <= fast < slow (got {fast}, {slow})")
    return value


class MaCrossParams(GeneratorParams):
    """Moving-average pairs (fast, slow) of one kind."""

    pairs: tuple[tuple[int, int], ...] = ((10, 50),)
    kind: MaKind = "ema"

    @field_validator("pairs")
    @classmethod
    def _check_pairs(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        return _valid_pairs(value)


@register
class MaCross(Generator):
    """Fast over slow moving average, ``MA_fast / MA_slow - 1`` (``ema_x_10_50``)."""

    name = "ma_cross"
    family = FAMILY
    Params = MaCrossParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, MaCrossParams)
        kind = self.params.kind
        return [
            Output(f"{kind}_x_{f}_{s}", {"fast": f, "slow": s, "kind": kind}, ma_lookback(kind, s))
            for f, s in self.params.pairs
        ]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, MaCrossParams)
        close, kind = bars(candles).close, self.params.kind
        return {
            f"{kind}_x_{f}_{s}": rolling.ratio(
                moving_average(close, kind, f), moving_average(close, kind, s)
            )
            - 1.0
            for f, s in self.params.pairs
        }


class MacdParams(GeneratorParams):
    """MACD settings (fast, slow, signal)."""

    settings: tuple[tuple[int, int, int], ...] = ((12, 26, 9),)

    @field_validator("settings")
    @classmethod
    def _valid_settings(
        cls, value: tuple[tuple[int, int, int], ...]
    ) -> tuple[tuple[int, ...], ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError("settings must be non-empty and unique")
        for fast, slow, signal in value:
            if not (2 <= fast < slow and signal >= 1):
                raise ValueError(
                    f"need 2 <= fast < slow and signal >= 1 (got {fast, slow, signal})"
                )
        return value


@register
class Macd(Generator):
    """MACD line, signal and histogram, divided by close so they are comparable across coins."""

    name = "macd"
    family = FAMILY
    Params = MacdParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, MacdParams)
        out = []
        for f, s, g in self.params.settings:
            look = recursive_lookback(s) + recursive_lookback(g)
            params = {"fast": f, "slow": s, "signal": g}
            for stem in ("macd", "macd_sig", "macd_hist"):
                out.append(Output(f"{stem}_{f}_{s}_{g}", params, look))
        return out

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, MacdParams)
        close = bars(candles).close
        out: dict[str, Array] = {}
        for f, s, g in self.params.settings:
            line, sig, hist = talib.MACD(close, fastperiod=f, slowperiod=s, signalperiod=g)
            out[f"macd_{f}_{s}_{g}"] = rolling.ratio(line, close)
            out[f"macd_sig_{f}_{s}_{g}"] = rolling.ratio(sig, close)
            out[f"macd_hist_{f}_{s}_{g}"] = rolling.ratio(hist, close)
        return out


class UltOscParams(GeneratorParams):
    """Ultimate oscillator period triples."""

    settings: tuple[tuple[int, int, int], ...] = ((7, 14, 28),)

    @field_validator("settings")
    @classmethod
    def _valid_settings(
        cls, value: tuple[tuple[int, int, int], ...]
    ) -> tuple[tuple[int, ...], ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError("settings must be non-empty and unique")
        for a, b, c in value:
            if not 1 <= a < b < c:
                raise ValueError(f"need 1 <= p1 < p2 < p3 (got {a, b, c})")
        return value


@register
class UltOsc(Generator):
    """Ultimate oscillator (``ultosc_7_14_28``)."""

    name = "ultosc"
    family = FAMILY
    Params = UltOscParams

    def outputs(self) -> list[Output]:
        assert isinstance(self.params, UltOscParams)
        return [
            Output(f"ultosc_{a}_{b}_{c}", {"p1": a, "p2": b, "p3": c}, c + 1)
            for a, b, c in self.params.settings
        ]

    def calculate(self, candles: pd.DataFrame) -> Mapping[str, Array]:
        assert isinstance(self.params, UltOscParams)
        b = bars(candles)
        return {
            f"ultosc_{p1}_{p2}_{p3}": talib.ULTOSC(
                b.high, b.low, b.close, timeperiod1=p1, timeperiod2=p2, timeperiod3=p3
            )
            for p1, p2, p3 in self.params.settings
        }


class BbandsParams(PeriodParams):
    """Bollinger bands over ``periods`` with ``nbdev`` standard deviations."""

    nbdev: float = 2.0


@register
class Bbands(PeriodGenerator):
    """Bollinger %B (position inside the bands) and band width relative to the middle band."""

    name = "bbands"
    family = FAMILY
    Params = BbandsParams
    stems = ("bb_pctb", "bb_width")

    def one(self, b: Bars, period: int) -> tuple[Array, ...]:
        assert isinstance(self.params, BbandsParams)
        dev = self.params.nbdev
        upper, middle, lower = talib.BBANDS(b.close, timeperiod=period, nbdevup=dev, nbdevdn=dev)
        return (
            rolling.ratio(b.close - lower, upper - lower),
            rolling.ratio(upper - lower, middle),
        )
