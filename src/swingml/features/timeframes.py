"""Multi-timeframe support: higher bars built from the base bars, used only once completed.

A higher bar (e.g. 4h) covers the UTC-aligned period ``[T, T + P)`` and is built from the base bars
that exist in it (a gap is not filled). It is complete when that period has ended, i.e. at the close
of a base bar opening at ``T + P - interval`` or later; a base bar at ``t`` may use it when
``t + interval >= T + P``. Before that, a base bar sees the previous completed higher bar. Changing
a base bar therefore never changes a higher-timeframe feature at an earlier bar.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from swingml.errors import BadInputError

Array = np.ndarray
_PATTERN = re.compile(r"^([1-9][0-9]*)(m|h|d)$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_SUMMED = ("volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")


def timeframe_seconds(text: str) -> int:
    """Seconds in a timeframe such as ``15m``, ``4h`` or ``1d`` (ValueError if malformed)."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"not a timeframe: {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def label(text: str) -> str:
    """The name prefix of a timeframe's features: ``4h`` → ``tf4h``."""
    return f"tf{text}"


def check_timeframes(timeframes: Sequence[str], base_seconds: int) -> list[tuple[str, int]]:
    """Validate ``features.timeframes`` against the base interval; ``(text, seconds)`` pairs.

    Each must be a whole multiple of the base interval, larger than it, aligned to UTC days (it
    divides a day, or is a whole number of days), and listed once.
    """
    out: list[tuple[str, int]] = []
    for i, text in enumerate(timeframes):
        where = f"config key features.timeframes[{i}]"
        try:
            seconds = timeframe_seconds(text)
        except ValueError:
            raise BadInputError(
                where, f"{text!r} is not a timeframe", "write it like 4h, 1d or 30m"
            ) from None
        if seconds <= base_seconds or seconds % base_seconds:
            raise BadInputError(
                where,
                f"{text} is not a whole multiple (> 1) of the base interval ({base_seconds} s)",
                "use a longer timeframe that the base interval divides, or remove it",
            )
        if 86400 % seconds and seconds % 86400:
            raise BadInputError(
                where, f"{text} does not align with UTC days", "use one that divides 24h, or days"
            )
        if any(seconds == s for _, s in out):
            raise BadInputError(where, f"{text} is listed twice", "list each timeframe once")
        out.append((text, seconds))
    return out


def timestamps_ms(candles: pd.DataFrame) -> Array:
    """The candle open times as int64 milliseconds since the epoch (UTC)."""
    stamps = pd.DatetimeIndex(candles["timestamp"])
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return stamps.as_unit("ms").asi8.astype(np.int64)


@dataclass(frozen=True)
class Resampled:
    """Higher-timeframe candles and, per higher bar, the first base open time that may use it."""

    candles: pd.DataFrame
    usable_from_ms: Array


def resample(candles: pd.DataFrame, base_seconds: int, tf_seconds: int) -> Resampled:
    """Aggregate base candles into UTC-aligned higher bars (open first, high max, low min, close
    last, volumes summed), from the bars that exist."""
    if len(candles) == 0:
        raise ValueError("cannot resample an empty candle table")
    ts = timestamps_ms(candles)
    period = tf_seconds * 1000
    bucket = ts // period * period
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(ts)] - 1

    def col(name: str) -> Array:
        return candles[name].to_numpy(np.float64)

    frame: dict[str, Array | pd.DatetimeIndex] = {
        "timestamp": pd.DatetimeIndex(bucket[starts].astype("datetime64[ms]")).tz_localize("UTC"),
        "open": col("open")[starts],
        "high": np.maximum.reduceat(col("high"), starts),
        "low": np.minimum.reduceat(col("low"), starts),
        "close": col("close")[ends],
    }
    for name in _SUMMED:
        if name in candles.columns:
            frame[name] = np.add.reduceat(col(name), starts)
    usable = bucket[starts] + period - base_seconds * 1000
    return Resampled(pd.DataFrame(frame), usable.astype(np.int64))


def positions(resampled: Resampled, base_ms: Array) -> Array:
    """Per base bar, the index of the latest higher bar it may use (-1 before the first)."""
    found: Array = np.searchsorted(resampled.usable_from_ms, base_ms, side="right") - 1
    return found


def take(values: Array, index: Array) -> Array:
    """Higher-bar values moved onto base bars by ``positions`` (NaN where the index is -1)."""
    padded = np.append(np.asarray(values, dtype=np.float32), np.float32(np.nan))
    out: Array = padded[index]  # index -1 picks the NaN pad
    return out


def align(values: Array, resampled: Resampled, base_ms: Array) -> Array:
    """Per base bar, the value of the latest higher bar it may use (NaN before the first)."""
    return take(values, positions(resampled, base_ms))
