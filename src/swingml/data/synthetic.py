"""The embedded synthetic market (SPEC §10): correlated coins with crypto's stylised facts.

Per coin and bar: returns follow GARCH(1,1) (alpha 0.13, beta 0.85, persistence 0.98) driven by
Student-t (df 4.5) shocks that share a common market factor (weight ``FACTOR_WEIGHT``), so returns
have fat tails, volatility clusters and coins move together. Log prices are weakly anchored to a
realistic level per coin (BTC ~45K, ETH ~2.5K, SOL ~60). Volume follows an hour-of-day and
weekday profile, rises with volatility and with the size of the bar's move.

A planted signal makes breakout vs reversal after a swing partly predictable from past bars
(see docs/user-guide/data.md): when a bar closes beyond the extreme of the previous
``BREAK_WINDOW`` bars, and the preceding bars had *compressed* volatility (RMS return of the last
``SHORT_WINDOW`` bars below ``COMPRESSION`` times that of the last ``LONG_WINDOW`` bars), then with
probability ``P_GENUINE`` the break is *genuine*: its bar's volume surges (x 2.5 to 4) and the next
``REGIME_BARS`` bars drift in the breakout direction. Every other break drifts back (mean
reversion) over the next ``REGIME_BARS`` bars; a few of those breaks also show a volume surge
(a decoy). The drift at bar t depends only on bars < t, the surge only on bar t's own close.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from swingml.config.data import DataConfig, SyntheticConfig
from swingml.data.frame import FloatArray, Int64Array, build_frame
from swingml.data.sources._parse import iso_to_ms
from swingml.data.symbols import short_name
from swingml.errors import BadInputError

GARCH_ALPHA = 0.13
GARCH_BETA = 0.85
T_DF = 4.5
FACTOR_WEIGHT = 0.8
"""Share of each coin's shock variance that is the common market factor."""
ANCHOR_STD = 0.15
"""Stationary standard deviation of log price around its anchor level."""

BREAK_WINDOW = 20
SHORT_WINDOW = 20
LONG_WINDOW = 200
COMPRESSION = 0.8
P_GENUINE = 0.7
P_DECOY_SURGE = 0.15
REGIME_BARS = 10
CONTINUATION_DRIFT = 0.35
"""Drift per bar of a genuine breakout, in units of the bar's conditional volatility."""
REVERSION_DRIFT = 0.25
"""Drift back per bar after any other break, in units of the bar's conditional volatility."""
SURGE_RANGE = (2.5, 4.0)


@dataclass(frozen=True)
class CoinProfile:
    """Price level, hourly volatility and hourly base volume of one synthetic coin."""

    price: float
    hourly_vol: float
    hourly_volume: float
    trades_per_unit: float


PROFILES: dict[str, CoinProfile] = {
    "BTC": CoinProfile(45_000.0, 0.006, 1_500.0, 40.0),
    "ETH": CoinProfile(2_500.0, 0.008, 20_000.0, 3.0),
    "SOL": CoinProfile(60.0, 0.012, 150_000.0, 0.3),
}
FALLBACK = CoinProfile(100.0, 0.010, 100_000.0, 0.5)


def profile_for(symbol: str) -> CoinProfile:
    """The profile of a symbol (by its base asset); unknown coins get a generic one."""
    return PROFILES.get(short_name(symbol), FALLBACK)


def start_ms(synthetic: SyntheticConfig, interval_s: int) -> int:
    """``data.synthetic.start`` as epoch ms; it must carry UTC and sit on the interval grid."""

    def where(_: int) -> str:
        return "config key data.synthetic.start"

    value = int(iso_to_ms([synthetic.start], "start", where)[0])
    if value % (interval_s * 1000):
        raise BadInputError(
            where(0), f"{synthetic.start} is not on the interval grid", "start on a whole bar"
        )
    return value


def _student_t(rng: np.random.Generator, shape: tuple[int, ...]) -> FloatArray:
    """Student-t draws scaled to unit variance."""
    draws: FloatArray = rng.standard_t(T_DF, size=shape) / math.sqrt(T_DF / (T_DF - 2.0))
    return draws


def _volume_profile(stamps_ms: Int64Array) -> FloatArray:
    """Hour-of-day (peak ~15:00 UTC) and weekend profile of volume, mean about 1."""
    hours = (stamps_ms // 3_600_000) % 24
    days = (stamps_ms // 86_400_000 + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    daily = 1.0 + 0.45 * np.cos(2.0 * np.pi * (hours - 15.0) / 24.0)
    weekly = np.where(days >= 5, 0.75, 1.0)
    profile: FloatArray = daily * weekly
    return profile


@dataclass(frozen=True)
class _Coin:
    """A coin's constants at the bar interval: volatility, GARCH floor, anchor pull, volume."""

    sigma_unc: float
    omega: float
    kappa: float
    anchor: float
    base_volume: float

    @classmethod
    def at(cls, profile: CoinProfile, scale: float) -> _Coin:
        sigma_unc = profile.hourly_vol * math.sqrt(scale)
        return cls(
            sigma_unc=sigma_unc,
            omega=sigma_unc**2 * (1.0 - GARCH_ALPHA - GARCH_BETA),
            kappa=sigma_unc**2 / (2.0 * ANCHOR_STD**2),
            anchor=math.log(profile.price),
            base_volume=profile.hourly_volume * scale,
        )


class _Window:
    """Causal rolling state for the next bar: extremes of the last ``BREAK_WINDOW`` bars and the
    sums of squared returns over the last ``SHORT_WINDOW`` and ``LONG_WINDOW`` bars."""

    def __init__(self) -> None:
        self.highs: deque[tuple[int, float]] = deque()
        self.lows: deque[tuple[int, float]] = deque()
        self.sq: list[float] = []
        self.sum_short = 0.0
        self.sum_long = 0.0

    def direction(self, price: float) -> int:
        """1 when ``price`` breaks above the window's high, -1 below its low, else 0."""
        if price > self.highs[0][1]:
            return 1
        if price < self.lows[0][1]:
            return -1
        return 0

    def compressed(self) -> bool:
        """Short-window RMS return below ``COMPRESSION`` times the long-window one."""
        rv_short = math.sqrt(self.sum_short / SHORT_WINDOW)
        rv_long = math.sqrt(self.sum_long / LONG_WINDOW)
        return rv_short < COMPRESSION * rv_long

    def push(self, t: int, hi: float, lo: float, ret: float) -> None:
        """Add bar ``t`` (its high, low and log return); drop what left the windows."""
        highs, lows = self.highs, self.lows
        while highs and highs[-1][1] <= hi:
            highs.pop()
        highs.append((t, hi))
        if highs[0][0] <= t - BREAK_WINDOW:
            highs.popleft()
        while lows and lows[-1][1] >= lo:
            lows.pop()
        lows.append((t, lo))
        if lows[0][0] <= t - BREAK_WINDOW:
            lows.popleft()
        r2 = ret * ret
        self.sq.append(r2)
        self.sum_short += r2
        self.sum_long += r2
        if t >= SHORT_WINDOW:
            self.sum_short -= self.sq[t - SHORT_WINDOW]
        if t >= LONG_WINDOW:
            self.sum_long -= self.sq[t - LONG_WINDOW]


def _break(
    direction: int, compressed: bool, u_genuine: float, u_surge: float, strength: float
) -> tuple[float, float]:
    """A break's regime drift (per unit of volatility) and its bar's volume surge."""
    span = SURGE_RANGE[1] - SURGE_RANGE[0]
    if compressed and u_genuine < P_GENUINE:
        return direction * CONTINUATION_DRIFT * strength, SURGE_RANGE[0] + span * u_surge
    surge = 1.0
    if u_surge < P_DECOY_SURGE:
        surge = SURGE_RANGE[0] + span * u_surge / P_DECOY_SURGE
    return -direction * REVERSION_DRIFT * strength, surge


def _simulate_coin(
    profile: CoinProfile,
    shocks: FloatArray,
    extras: FloatArray,
    season: FloatArray,
    scale: float,
    strength: float,
) -> dict[str, FloatArray]:
    """Run one coin's causal bar loop; ``extras`` holds its pre-drawn uniform/normal columns."""
    n = len(shocks)
    coin = _Coin.at(profile, scale)
    z = shocks.tolist()
    wick_up, wick_down, vol_noise, u_genuine, u_surge = (extras[:, j].tolist() for j in range(5))
    season_l = season.tolist()
    bars = {name: np.empty(n) for name in ("open", "high", "low", "close", "volume")}
    openp, high, low, close, volume = bars.values()

    var = coin.sigma_unc**2
    logp = coin.anchor
    window = _Window()
    regime_left = 0
    regime_drift = 0.0
    for t in range(n):
        sigma = math.sqrt(var)
        drift = -coin.kappa * (logp - coin.anchor)
        if regime_left > 0:
            drift += regime_drift * sigma
            regime_left -= 1
        shock = sigma * z[t]
        ret = drift + shock
        prev = math.exp(logp)
        logp += ret
        price = math.exp(logp)
        hi = max(prev, price) * math.exp(sigma * 0.5 * abs(wick_up[t]))
        lo = min(prev, price) * math.exp(-sigma * 0.5 * abs(wick_down[t]))

        surge = 1.0
        if t >= LONG_WINDOW and regime_left == 0:
            direction = window.direction(price)
            if direction:
                regime_left = REGIME_BARS
                regime_drift, surge = _break(
                    direction, window.compressed(), u_genuine[t], u_surge[t], strength
                )
        vol = (
            coin.base_volume
            * season_l[t]
            * (sigma / coin.sigma_unc) ** 0.8
            * (0.7 + 0.45 * abs(z[t]))
            * math.exp(0.3 * vol_noise[t] - 0.045)
            * surge
        )

        openp[t], close[t], high[t], low[t], volume[t] = prev, price, hi, lo, vol
        var = coin.omega + GARCH_ALPHA * shock * shock + GARCH_BETA * var
        window.push(t, hi, lo, ret)
    return bars


def generate(config: DataConfig) -> dict[str, pd.DataFrame]:
    """Synthetic candles for every symbol of ``config``, deterministic in ``synthetic.seed``."""
    synthetic = config.synthetic
    n = synthetic.bars
    interval_s = config.interval_seconds
    stamps = start_ms(synthetic, interval_s) + np.arange(n, dtype=np.int64) * interval_s * 1000
    scale = interval_s / 3600.0
    k = len(config.symbols)
    rng = np.random.default_rng(synthetic.seed)
    factor = _student_t(rng, (n,))
    own = _student_t(rng, (n, k))
    shocks = math.sqrt(FACTOR_WEIGHT) * factor[:, None] + math.sqrt(1.0 - FACTOR_WEIGHT) * own
    normals = rng.standard_normal((n, k, 4))
    uniforms = rng.random((n, k, 3))
    season = _volume_profile(stamps)
    out: dict[str, pd.DataFrame] = {}
    for j, symbol in enumerate(config.symbols):
        profile = profile_for(symbol)
        extras = np.column_stack(
            [
                normals[:, j, 0],
                normals[:, j, 1],
                normals[:, j, 2],
                uniforms[:, j, 0],
                uniforms[:, j, 1],
            ]
        )
        bars = _simulate_coin(
            profile, shocks[:, j], extras, season, scale, synthetic.signal_strength
        )
        volume = bars["volume"]
        typical = (bars["high"] + bars["low"] + bars["close"]) / 3.0
        up = np.sign(bars["close"] - bars["open"])
        taker_share = np.clip(0.5 + 0.08 * up + 0.05 * normals[:, j, 3], 0.05, 0.95)
        trades = np.round(volume * profile.trades_per_unit * np.exp(0.1 * uniforms[:, j, 2]))
        columns = {name: bars[name] for name in ("open", "high", "low", "close", "volume")}
        columns["quote_volume"] = volume * typical
        columns["trades"] = trades
        columns["taker_buy_base"] = volume * taker_share
        columns["taker_buy_quote"] = volume * taker_share * typical
        out[symbol] = build_frame(stamps, columns)
    return out
