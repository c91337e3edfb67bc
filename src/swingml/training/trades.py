"""The trader's view of out-of-sample predictions: what price did after each predicted class.

An event's *move* over ``h`` bars is its close-to-close return in the breakout direction (up after
a swing high's events, down after a swing low's). Predicting breakout (1) trades that way,
reversal (2) the other way, neither (0) does not trade; a trade pays ``fee`` (a fraction of the
position, both legs together). So a useful model shows a positive mean move for class 1, a
negative one for class 2, and trades that win net of the fee.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PROBA = ("proba_0", "proba_1", "proba_2")
TRADE_DIRECTION = {0: 0.0, 1: 1.0, 2: -1.0}
"""Position per predicted class, in the breakout direction."""
MOVES = ("move_1bar", "move_half", "move_horizon")


def forward_moves(close: np.ndarray, bars: np.ndarray, horizon: int, side: str) -> pd.DataFrame:
    """Each event's move after 1 bar, half its label horizon and the whole horizon (NaN past
    the last bar). ``close`` is the symbol's closes by bar, ``bars`` the events' bars."""
    sign = 1.0 if side == "high" else -1.0
    last = len(close) - 1
    out = {}
    for name, h in zip(MOVES, (1, max(1, horizon // 2), horizon), strict=True):
        ahead = bars + h
        later = np.where(ahead <= last, close[np.minimum(ahead, last)], np.nan)
        out[name] = sign * (later / close[bars] - 1.0)
    return pd.DataFrame(out)


def by_predicted_class(frame: pd.DataFrame, fee: float) -> pd.DataFrame:
    """Per model, cadence, predicted class and horizon: count, mean and median move, and the
    trade's mean return and hit rate net of ``fee`` (NaN for class 0, which does not trade)."""
    predicted = frame[list(PROBA)].to_numpy().argmax(axis=1)
    rows = []
    keys = ["main_id", "cadence"]
    for (main_id, cadence), group in frame.assign(predicted=predicted).groupby(keys, sort=False):
        for cls in sorted(set(group["predicted"].tolist())):
            part = group[group["predicted"] == cls]
            direction = TRADE_DIRECTION[cls]
            for name in MOVES:
                move = part[name].dropna().to_numpy()
                net = direction * move - fee if direction else np.full(len(move), np.nan)
                rows.append(
                    {
                        "main_id": main_id,
                        "cadence": cadence,
                        "predicted": cls,
                        "horizon": name.removeprefix("move_"),
                        "count": len(move),
                        "move_mean": _mean(move),
                        "move_median": float(np.median(move)) if len(move) else np.nan,
                        "trade_mean": _mean(net),
                        "hit_rate": _mean(net > 0) if direction and len(move) else np.nan,
                    }
                )
    return pd.DataFrame(rows)


def confident(frame: pd.DataFrame, fee: float, quantile: float = 0.9) -> pd.DataFrame:
    """Per model, cadence and trading class: the events whose probability of that class is in
    its top ``1 - quantile`` (the top decile by default): precision and the trade net of fee."""
    rows = []
    for (main_id, cadence), group in frame.groupby(["main_id", "cadence"], sort=False):
        for cls in (1, 2):
            score = group[PROBA[cls]].to_numpy()
            if not len(score):
                continue
            kept = group[score >= np.quantile(score, quantile)]
            move = kept["move_horizon"].to_numpy()
            net = TRADE_DIRECTION[cls] * move[np.isfinite(move)] - fee
            rows.append(
                {
                    "main_id": main_id,
                    "cadence": cadence,
                    "predicted": cls,
                    "count": len(kept),
                    "precision": _mean(kept["label"].to_numpy() == cls),
                    "base_rate": _mean(group["label"].to_numpy() == cls),
                    "trade_mean": _mean(net),
                    "hit_rate": _mean(net > 0),
                }
            )
    return pd.DataFrame(rows)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
