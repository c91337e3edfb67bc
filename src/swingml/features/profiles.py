"""Built-in generator lists: tiny (tests), small (the embedded default), full (production).

A profile is data: a list of ``{name, params}`` generator specs exactly as ``features.generators``
takes them, plus the cross-coin windows. ``features.generators`` in config replaces the profile's
list. Feature counts per coin (with ``features.timeframes = [4h, 1d]``): tiny ~65, small ~390,
full ~4,800; see ``docs/user-guide/features.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swingml.features.cross_coin import CrossParams

Spec = Mapping[str, Any]


@dataclass(frozen=True)
class Profile:
    """A named generator list and cross-coin parameters."""

    name: str
    generators: tuple[Spec, ...]
    cross: CrossParams


def g(name: str, **params: Any) -> Spec:
    """A generator spec as config writes it."""
    return {"name": name, "params": params}


_NO_TF = {"timeframes": False}

TINY = Profile(
    "tiny",
    (
        g("candle_shape", **_NO_TF),
        g("cdl_patterns", patterns=["engulfing", "doji", "hammer"], **_NO_TF),
        g("rsi", periods=[14]),
        g("macd", **_NO_TF),
        g("adx", periods=[14], **_NO_TF),
        g("roc", periods=[1, 12], **_NO_TF),
        g("bbands", periods=[20], **_NO_TF),
        g("volume_rel", periods=[20], **_NO_TF),
        g("calendar"),
        g("swings", periods=[5], **_NO_TF),
        g("range_position", periods=[20], **_NO_TF),
        g("realized_vol", periods=[20]),
        g("range_vol", periods=[20], **_NO_TF),
        g("atr", periods=[14], transforms=["z_50"], **_NO_TF),
    ),
    CrossParams(windows=(48,), horizons=(1,), z_windows=()),
)

SMALL = Profile(
    "small",
    (
        # candlestick
        g("candle_shape", windows=[6, 24], **_NO_TF),
        g("candle_atr", periods=[14]),
        g("candle_runs", windows=[12, 48], **_NO_TF),
        g(
            "cdl_patterns",
            patterns=[
                "engulfing",
                "doji",
                "hammer",
                "shootingstar",
                "harami",
                "morningstar",
                "eveningstar",
                "3whitesoldiers",
                "3blackcrows",
                "marubozu",
            ],
            windows=[24],
            **_NO_TF,
        ),
        # technical
        g("rsi", periods=[7, 14, 28], transforms=["d_3"]),
        g("stochrsi", periods=[14], **_NO_TF),
        g("stoch", periods=[14]),
        g("cci", periods=[20, 50]),
        g("adx", periods=[14]),
        g("mfi", periods=[14], **_NO_TF),
        g("roc", periods=[1, 3, 6, 12, 24, 72]),
        g("willr", periods=[14], **_NO_TF),
        g("obv", periods=[24], **_NO_TF),
        g("aroon", periods=[25]),
        g("cmo", periods=[14], **_NO_TF),
        g("trix", periods=[15]),
        g("ultosc"),
        g("macd", transforms=["d_3"]),
        g("ma_dev", periods=[20, 50, 200], kinds=["sma", "ema"]),
        g("ma_cross", pairs=[[10, 50], [20, 100], [50, 200]]),
        g("bbands", periods=[20]),
        g("linreg", periods=[24]),
        g("cmf", periods=[20]),
        g("vwap_dev", periods=[24], **_NO_TF),
        g("volume_rel", periods=[24], transforms=["z_100"], **_NO_TF),
        g("taker_flow", periods=[24], **_NO_TF),
        # temporal
        g("calendar", fields=["hour", "weekday", "month", "day_of_month"]),
        g("session"),
        g("bars_since", windows=[24, 168], k_sigmas=[2.0, 3.0]),
        # market structure
        g("swings", periods=[3, 5, 10, 20], **_NO_TF),
        g("range_position", periods=[24, 168]),
        g("breakouts", channels=[20, 50]),
        g("trend_structure", periods=[24]),
        # volatility
        g("realized_vol", periods=[24, 168], transforms=["z_100"]),
        g("range_vol", periods=[24]),
        g("atr", periods=[14], transforms=["z_100", "rank_100"]),
        g("return_moments", periods=[24, 72], **_NO_TF),
        g("vol_of_vol", pairs=[[24, 168]], **_NO_TF),
        g("vol_ratio", pairs=[[24, 168]]),
    ),
    CrossParams(windows=(48, 168), horizons=(1, 24), z_windows=(168,)),
)

_P_FAST = [6, 9, 14, 21, 28, 42, 56, 84, 112, 168]
_P_SLOW = [10, 20, 50, 100, 200]
_OSC = ["d_1", "d_6", "lag_3", "z_168"]
_LEVEL = ["d_6", "z_168", "rank_168"]

FULL = Profile(
    "full",
    (
        # candlestick
        g("candle_shape", windows=[3, 6, 12, 24, 48, 96], transforms=["lag_1", "lag_2"]),
        g("candle_atr", periods=[14, 50], transforms=["lag_1", "lag_2"]),
        g("candle_runs", cap=48, windows=[6, 12, 24, 48, 96]),
        g("cdl_patterns", windows=[6, 24, 96]),
        # technical
        g("rsi", periods=_P_FAST, transforms=_OSC),
        g("stochrsi", periods=[9, 14, 28, 56], transforms=["d_1", "d_6"]),
        g("stoch", periods=[9, 14, 28, 56, 112], transforms=["d_1", "d_6"]),
        g("cci", periods=_P_FAST, transforms=["d_1", "d_6", "z_168"]),
        g("adx", periods=[7, 14, 28, 56, 112], transforms=["d_6", "z_168"]),
        g("mfi", periods=[7, 14, 28, 56, 112], transforms=["d_1", "d_6", "z_168"]),
        g(
            "roc",
            periods=[1, 2, 3, 4, 6, 9, 12, 18, 24, 36, 48, 72, 96, 168, 336],
            transforms=["z_168", "rank_168"],
        ),
        g("willr", periods=_P_FAST, transforms=["d_1", "d_6"]),
        g("obv", periods=[12, 24, 48, 96, 168], transforms=["d_6", "z_168"]),
        g("aroon", periods=[14, 25, 50, 100], transforms=["d_6"]),
        g("cmo", periods=[9, 14, 28, 56], transforms=["d_1", "d_6"]),
        g("trix", periods=[9, 15, 30], transforms=["d_1", "z_168"]),
        g(
            "macd",
            settings=[[12, 26, 9], [6, 13, 5], [24, 52, 18], [48, 104, 36]],
            transforms=["d_1", "d_6", "z_168"],
        ),
        g("ma_dev", periods=_P_SLOW, kinds=["sma", "ema", "wma", "kama"], transforms=_LEVEL),
        g(
            "ma_cross",
            pairs=[[5, 20], [10, 50], [20, 100], [50, 200], [10, 30], [24, 168]],
            transforms=["d_1", "d_6", "z_168"],
        ),
        g("bbands", periods=[10, 20, 50, 100], transforms=["d_1", "d_6", "z_168"]),
        g("linreg", periods=[12, 24, 48, 96, 168], transforms=["d_6", "z_168"]),
        g("cmf", periods=[10, 20, 50, 100], transforms=["d_6", "z_168"]),
        g("vwap_dev", periods=[12, 24, 48, 96, 168], transforms=["d_6", "z_168"]),
        g("volume_rel", periods=[6, 12, 24, 48, 96, 168], transforms=["d_6", "z_168", "rank_168"]),
        g("taker_flow", periods=[6, 12, 24, 48, 96, 168], transforms=["d_6", "z_168"]),
        g("ultosc", settings=[[7, 14, 28], [14, 28, 56]], transforms=["d_1", "d_6"]),
        # temporal
        g(
            "calendar",
            fields=["hour", "weekday", "month", "day_of_month", "day_of_year"],
            encodings=["raw", "cyclical"],
        ),
        g("session"),
        g(
            "bars_since",
            windows=[12, 24, 72, 168, 336],
            k_sigmas=[1.5, 2.0, 3.0, 4.0],
            volume_k=[2.0, 3.0, 5.0],
            cap=336,
        ),
        # market structure
        g("swings", periods=[2, 3, 5, 10, 20, 50], transforms=["d_1", "lag_1"]),
        g(
            "range_position",
            periods=[12, 24, 48, 96, 168, 336, 720],
            transforms=["d_1", "d_6", "z_168"],
        ),
        g("breakouts", channels=[10, 20, 50, 100, 200], count_window=50),
        g("trend_structure", periods=[12, 24, 48, 96, 168], transforms=["d_6", "z_168"]),
        # volatility
        g("realized_vol", periods=[6, 12, 24, 48, 96, 168, 336], transforms=_LEVEL),
        g("range_vol", periods=[6, 12, 24, 48, 96, 168], transforms=_LEVEL),
        g("atr", periods=[7, 14, 28, 56, 112], transforms=_LEVEL),
        g("return_moments", periods=[24, 72, 168, 336], transforms=["d_6"]),
        g(
            "vol_of_vol",
            pairs=[[12, 48], [24, 96], [24, 168], [48, 336], [96, 720]],
            transforms=["d_6", "z_168"],
        ),
        g(
            "vol_ratio",
            pairs=[[6, 24], [12, 48], [24, 168], [48, 336], [168, 720]],
            transforms=["d_6", "z_168"],
        ),
    ),
    CrossParams(windows=(24, 48, 168, 336), horizons=(1, 4, 12, 24, 72), z_windows=(48, 168, 720)),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (TINY, SMALL, FULL)}
