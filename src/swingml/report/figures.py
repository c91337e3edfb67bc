"""Plotly figures as plain dicts (``{"data": [...], "layout": {...}}``) for ``Plotly.newPlot``.

Built without plotly's Python figure classes: their validation costs milliseconds per figure and
the report draws a few hundred. Every function takes frames or arrays and returns a dict; the
HTML writer serialises them. Long series are thinned to ``MAX_POINTS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from swingml.report.tables import Champion
from swingml.training.metrics import NUM_CLASSES

Figure = dict[str, Any]
PriceIndex = tuple[np.ndarray, np.ndarray]
"""A symbol's bar times (epoch ms, sorted) and closes."""

CLASS_NAMES = ("neither", "breakout", "reversal")
CLASS_COLORS = ("#7f7f7f", "#2ca02c", "#d62728")
MAX_POINTS = 2000
PRICE_POINTS = 1000
"""Points of a hold-out price line: 500 runs of bars, each by its low and high (~1 per 3 px)."""
TOP_FEATURES = 30
TOP_SELECTED = 40
DATE_AXIS = {"type": "date"}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
        "height": 320,
        "template": "plotly_white",
    }
    layout.update(extra)
    return layout


def rounded(values: Any, digits: int = 5) -> list[Any]:
    """A numeric array as a JSON-ready list, rounded (NaN becomes None)."""
    array = np.round(np.asarray(values, dtype=np.float64), digits)
    finite = np.isfinite(array)
    if finite.all():
        result: list[Any] = array.tolist()
        return result
    return [v if ok else None for v, ok in zip(array.tolist(), finite.tolist(), strict=True)]


def significant(values: Any, digits: int = 6) -> list[Any]:
    """Prices as a JSON-ready list rounded to ``digits`` significant digits (NaN becomes None).

    Prices span 0.0001 to 100,000, so fixed decimals would keep noise on the large ones.
    """
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array) & (array != 0.0)
    places = np.zeros(len(array), dtype=np.int64)
    places[finite] = digits - 1 - np.floor(np.log10(np.abs(array[finite]))).astype(np.int64)
    return [
        round(v, int(d)) if np.isfinite(v) else None
        for v, d in zip(array.tolist(), places.tolist(), strict=True)
    ]


def stamps(values: Any) -> list[int]:
    """Timestamps as epoch milliseconds (UTC); the axes that show them are typed ``date``."""
    result: list[int] = pd.DatetimeIndex(values).as_unit("ms").asi8.tolist()  # UTC epoch
    return result


def thin(frame: pd.DataFrame, limit: int = MAX_POINTS) -> pd.DataFrame:
    """At most ``limit`` evenly spaced rows (the last one kept)."""
    if len(frame) <= limit:
        return frame
    at = np.unique(np.linspace(0, len(frame) - 1, limit).round().astype(np.int64))
    return frame.iloc[at]


# ---- run and budget -----------------------------------------------------------------------------


def stage_walls(stages: pd.DataFrame) -> Figure:
    """Wall time per stage, coloured by status."""
    colors = {"done": "#1f77b4", "failed": "#d62728", "skipped": "#bbbbbb"}
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": list(stages["stage"]),
                "x": rounded(stages["wall_s"], 2),
                "marker": {"color": [colors.get(s, "#ff7f0e") for s in stages["status"]]},
                "text": [
                    f"{t} tasks, {f} failed"
                    for t, f in zip(stages["tasks"], stages["failed_tasks"], strict=True)
                ],
                "hovertemplate": "%{y}: %{x:.1f} s<br>%{text}<extra></extra>",
            }
        ],
        "layout": _layout(
            "Wall time per stage (s)",
            yaxis={"autorange": "reversed"},
            margin={"l": 110, "r": 20, "t": 40, "b": 40},
        ),
    }


def stage_memory(memory: pd.DataFrame) -> Figure:
    """Peak resident memory of the busiest task of each task group."""
    return {
        "data": [
            {
                "type": "bar",
                "x": list(memory["stage"]),
                "y": rounded(memory["peak_rss_mb"], 1),
                "hovertemplate": "%{x}: %{y:.0f} MB<extra></extra>",
            }
        ],
        "layout": _layout("Peak memory of one task, per task group (MB)"),
    }


def budget(table: pd.DataFrame) -> Figure:
    """Tuning budget per stage: its share, the budget after carry-over, the time spent; trials."""
    names = [f"stage {n}" for n in table["stage"]]
    bars = [
        ("share_s", "share of the budget", "#aec7e8"),
        ("budget_s", "budget after carry-over", "#1f77b4"),
        ("spent_s", "spent", "#ff7f0e"),
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": label,
            "x": names,
            "y": rounded(table[col], 2),
            "marker": {"color": color},
        }
        for col, label, color in bars
        if col in table
    ]
    if "trials" in table:
        data.append(
            {
                "type": "scatter",
                "mode": "markers+lines",
                "name": "trials",
                "x": names,
                "y": [int(t) for t in table["trials"]],
                "yaxis": "y2",
                "marker": {"color": "#2ca02c"},
            }
        )
    return {
        "data": data,
        "layout": _layout(
            "Tuning budget vs spent per stage (s)",
            barmode="group",
            yaxis2={"overlaying": "y", "side": "right", "title": {"text": "trials"}},
            legend={"orientation": "h", "y": -0.2},
            margin={"l": 60, "r": 70, "t": 40, "b": 40},
        ),
    }


# ---- champions ----------------------------------------------------------------------------------


def lift_forest(champions: Sequence[Champion]) -> Figure:
    """Lift over the random ranking per champion with its bootstrap 90 % interval."""
    ranked = sorted(champions, key=lambda c: c.lift)
    has_interval = [c for c in ranked if c.interval is not None]
    low = [c.lift - c.interval.low if c.interval else None for c in ranked]
    high = [c.interval.high - c.lift if c.interval else None for c in ranked]
    colors = ["#2ca02c" if c.skill else "#d62728" for c in ranked]
    trace: dict[str, Any] = {
        "type": "scatter",
        "mode": "markers",
        "y": [c.name for c in ranked],
        "x": rounded([c.lift for c in ranked], 4),
        "marker": {"color": colors, "size": 8},
        "hovertemplate": "%{y}: lift %{x:.3f}<extra></extra>",
    }
    if has_interval:
        trace["error_x"] = {
            "type": "data",
            "symmetric": False,
            "array": rounded(high, 4),
            "arrayminus": rounded(low, 4),
        }
    return {
        "data": [trace],
        "layout": _layout(
            "Hold-out macro-AP lift over a random ranking, 90 % bootstrap interval",
            height=max(320, 18 * len(ranked) + 80),
            shapes=[
                {
                    "type": "line",
                    "x0": 0,
                    "x1": 0,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"dash": "dot"},
                }
            ],
            margin={"l": 160, "r": 20, "t": 40, "b": 40},
        ),
    }


def ap_ladder(champions: Sequence[Champion]) -> Figure:
    """Hold-out macro AP of each champion beside its three bars: prior, random ranking, stage 1."""
    names = [c.name for c in champions]
    series = [
        ("prior_macro_ap", "class prior", "#bbbbbb", "line-ns-open"),
        ("random_macro_ap", "random ranking", "#7f7f7f", "line-ns-open"),
        ("stage1_holdout_macro_ap", "stage-1 model", "#ff7f0e", "diamond-open"),
        ("holdout_macro_ap", "champion", "#1f77b4", "circle"),
    ]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "x": names,
                "y": rounded([c.row.get(col, np.nan) for c in champions], 4),
                "marker": {"color": color, "symbol": symbol, "size": 14 if "line" in symbol else 9},
            }
            for col, label, color, symbol in series
        ],
        "layout": _layout(
            "Hold-out macro AP against its baselines",
            xaxis={"tickangle": -45},
            margin={"l": 60, "r": 20, "t": 40, "b": 140},
            height=420,
            legend={"orientation": "h", "y": 1.1},
        ),
    }


# ---- one champion -------------------------------------------------------------------------------


def pr_curves(
    curves: Mapping[int, tuple[np.ndarray, np.ndarray]], ap: Mapping[int, float]
) -> Figure:
    """Precision-recall curve of each class on the hold-out."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": CLASS_COLORS[c]},
                "name": f"{CLASS_NAMES[c]} (AP {ap.get(c, float('nan')):.3f})",
                "x": rounded(recall, 4),
                "y": rounded(precision, 4),
            }
            for c, (recall, precision) in curves.items()
        ],
        "layout": _layout(
            "Precision-recall on the hold-out",
            xaxis={"title": {"text": "recall"}, "range": [0, 1.02]},
            yaxis={"title": {"text": "precision"}, "range": [0, 1.05]},
        ),
    }


def confusion_matrix(matrix: np.ndarray) -> Figure:
    """Counts of true class (rows) against the arg-max prediction (columns)."""
    return {
        "data": [
            {
                "type": "heatmap",
                "z": matrix.tolist(),
                "x": [f"pred {n}" for n in CLASS_NAMES],
                "y": [f"true {n}" for n in CLASS_NAMES],
                "colorscale": [[0, "#f7fbff"], [1, "#08519c"]],
                "showscale": False,
                "texttemplate": "%{z}",
            }
        ],
        "layout": _layout(
            "Confusion matrix at arg-max",
            yaxis={"autorange": "reversed"},
            margin={"l": 110, "r": 20, "t": 40, "b": 40},
        ),
    }


def reliability(points: Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Figure:
    """Reliability curve per class: observed frequency against mean predicted probability."""
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"dash": "dot", "color": "#999"},
            "showlegend": False,
            "hoverinfo": "skip",
        }
    ]
    for c, (mean_p, observed, rows) in points.items():
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": CLASS_NAMES[c],
                "x": rounded(mean_p, 4),
                "y": rounded(observed, 4),
                "text": [f"{int(r)} events" for r in rows],
                "marker": {
                    "color": CLASS_COLORS[c],
                    "size": [6 + min(int(r), 30) // 3 for r in rows],
                },
                "line": {"color": CLASS_COLORS[c]},
            }
        )
    return {
        "data": data,
        "layout": _layout(
            "Calibration (5 bins)",
            xaxis={"title": {"text": "mean predicted probability"}, "range": [0, 1]},
            yaxis={"title": {"text": "observed frequency"}, "range": [0, 1.05]},
        ),
    }


def importance(gains: pd.Series) -> Figure:
    """The top features of a model by total gain."""
    values = gains.to_numpy(np.float64)
    top = np.argsort(-values, kind="stable")[:TOP_FEATURES][::-1]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [str(gains.index[i]) for i in top],
                "x": rounded(values[top], 2),
            }
        ],
        "layout": _layout(
            f"Top {TOP_FEATURES} features by gain",
            height=max(320, 16 * len(top) + 80),
            margin={"l": 200, "r": 20, "t": 40, "b": 40},
        ),
    }


def timeline(symbol: str, events: pd.DataFrame, price: PriceIndex) -> Figure:
    """Hold-out price (drawn from the page's shared price series) with events and predictions.

    ``events``: timestamp, label, p_breakout, p_reversal. ``price``: the symbol's bar times
    (epoch ms, sorted) and closes, to mark each event at its bar's close. The price trace is
    added in the page from ``prices[symbol]`` so that it is stored once per symbol, not once per
    champion.
    """
    bars, close = price
    when = stamps(events["timestamp"])
    at_ms = np.asarray(when, dtype=np.int64)
    pos = np.clip(np.searchsorted(bars, at_ms), 0, max(len(bars) - 1, 0))
    at = (
        np.where(bars[pos] == at_ms, close[pos], np.nan)
        if len(bars)
        else np.full(len(when), np.nan)
    )
    labels = events["label"].to_numpy(np.int64)
    data: list[dict[str, Any]] = []
    for c in range(NUM_CLASSES):
        chosen = np.flatnonzero(labels == c)
        if len(chosen):
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"event: {CLASS_NAMES[c]}",
                    "x": [when[i] for i in chosen],
                    "y": significant(at[chosen]),
                    "marker": {"color": CLASS_COLORS[c], "size": 9, "symbol": "triangle-up"},
                }
            )
    for column, c in (("p_breakout", 1), ("p_reversal", 2)):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"P({CLASS_NAMES[c]})",
                "x": when,
                "y": rounded(events[column].to_numpy(np.float64), 3),
                "yaxis": "y2",
                "marker": {"color": CLASS_COLORS[c], "symbol": "circle-open", "size": 7},
            }
        )
    return {
        "price": symbol,
        "data": data,
        "layout": _layout(
            "Hold-out: price, events (triangles, true class) and predicted probabilities",
            height=380,
            xaxis=DATE_AXIS,
            yaxis={"title": {"text": f"{symbol} close"}},
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "range": [0, 1],
                "title": {"text": "probability"},
            },
            legend={"orientation": "h", "y": -0.2},
        ),
    }


def price_index(price: pd.DataFrame) -> PriceIndex:
    """A symbol's bar times (epoch ms) and closes as arrays, built once for every champion."""
    return np.asarray(stamps(price["timestamp"]), dtype=np.int64), price["close"].to_numpy(
        np.float64
    )


def price_series(price: pd.DataFrame, start: pd.Timestamp | None) -> dict[str, list[Any]]:
    """A symbol's close from ``start`` on, at most ``PRICE_POINTS`` of it, as ``{"x", "y"}``.

    A long series keeps the lowest and the highest close of each of ``PRICE_POINTS / 2`` equal
    runs of bars (in time order), so that spikes survive the thinning.
    """
    part = price if start is None else price[price["timestamp"] >= start]
    when = np.asarray(stamps(part["timestamp"]), dtype=np.int64)
    close = part["close"].to_numpy(np.float64)
    keep = envelope(close, PRICE_POINTS)
    return {"x": when[keep].tolist(), "y": significant(close[keep])}


def envelope(values: np.ndarray, limit: int) -> np.ndarray:
    """Row positions (sorted) of the minimum and maximum of ``limit // 2`` equal runs of
    ``values``, and the last row; every row when there are at most ``limit``."""
    n = len(values)
    if n <= limit:
        return np.arange(n)
    runs = max(limit // 2 - 1, 1)
    edges = np.linspace(0, n, runs + 1).astype(np.int64)
    missing = np.isnan(values)
    low_first = np.where(missing, np.inf, values)  # a run of NaN keeps its first row (a gap)
    high_first = np.where(missing, -np.inf, values)
    runs_at = list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
    lows = [a + int(np.argmin(low_first[a:b])) for a, b in runs_at]
    highs = [a + int(np.argmax(high_first[a:b])) for a, b in runs_at]
    return np.unique(np.concatenate([lows, highs, [n - 1]]).astype(np.int64))


# ---- features and targets -----------------------------------------------------------------------


def funnel(steps: Sequence[tuple[str, int]]) -> Figure:
    """Feature counts from generation through each prep filter to the selected set."""
    return {
        "data": [
            {
                "type": "funnel",
                "y": [name for name, _ in steps],
                "x": [int(n) for _, n in steps],
                "textinfo": "value+percent initial",
            }
        ],
        "layout": _layout("Feature funnel", margin={"l": 200, "r": 20, "t": 40, "b": 40}),
    }


def counts_bar(counts: pd.Series, title: str) -> Figure:
    """A bar per category."""
    return {
        "data": [
            {"type": "bar", "x": [str(i) for i in counts.index], "y": [int(v) for v in counts]}
        ],
        "layout": _layout(title),
    }


def selection_frequency(frequency: pd.Series, variants: int) -> Figure:
    """How many variants put each of the most chosen features in their top list."""
    top = frequency.nlargest(TOP_SELECTED).iloc[::-1]
    return {
        "data": [
            {"type": "bar", "orientation": "h", "y": list(top.index), "x": [int(v) for v in top]}
        ],
        "layout": _layout(
            f"Selection frequency: variants choosing the feature (of {variants})",
            height=max(320, 14 * len(top) + 80),
            margin={"l": 220, "r": 20, "t": 40, "b": 40},
        ),
    }


def class_balance(table: pd.DataFrame) -> Figure:
    """Share of each class per (symbol, window, kind), pooled over the (s, k) variants."""
    labels = [f"{r.symbol} w{r.w} {r.kind}" for r in table.itertuples()]
    total = table[["class_0", "class_1", "class_2", "unknown"]].sum(axis=1).replace(0, 1)
    parts = [
        ("class_0", "neither", CLASS_COLORS[0]),
        ("class_1", "breakout", CLASS_COLORS[1]),
        ("class_2", "reversal", CLASS_COLORS[2]),
        ("unknown", "unknown", "#dddddd"),
    ]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": name,
                "y": labels,
                "x": rounded(table[col] / total, 4),
                "customdata": [int(v) for v in table[col]],
                "marker": {"color": color},
                "hovertemplate": "%{y}: %{x:.0%} (%{customdata} labels)<extra>" + name + "</extra>",
            }
            for col, name, color in parts
        ],
        "layout": _layout(
            "Class balance per (symbol, window, kind), pooled over s and k",
            barmode="stack",
            height=max(320, 16 * len(labels) + 100),
            margin={"l": 220, "r": 20, "t": 40, "b": 40},
            xaxis={"tickformat": ".0%"},
            yaxis={"autorange": "reversed"},
            legend={"orientation": "h", "y": -0.05, "yanchor": "top"},
        ),
    }


def events_bar(table: pd.DataFrame) -> Figure:
    """Events per (symbol, window, kind), summed over the significance thresholds."""
    labels = [f"{r.symbol} w{r.w} {r.kind}" for r in table.itertuples()]
    return {
        "data": [{"type": "bar", "x": labels, "y": [int(v) for v in table["events"]]}],
        "layout": _layout(
            "Events per (symbol, window, kind), summed over s",
            xaxis={"tickangle": -45},
            margin={"l": 80, "r": 20, "t": 40, "b": 180},
            height=420,
        ),
    }


# ---- walk-forward --------------------------------------------------------------------------------


def walkforward_lift(scores: pd.DataFrame) -> Figure:
    """Each model's walk-forward lift over a random ranking, with its interval, per cadence."""
    traces = []
    for cadence, group in scores.groupby("cadence", sort=False):
        lift = group["lift"].to_numpy(np.float64)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": str(cadence),
                "x": [str(m) for m in group["main_id"]],
                "y": rounded(lift),
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": rounded(group["lift_high"].to_numpy(np.float64) - lift),
                    "arrayminus": rounded(lift - group["lift_low"].to_numpy(np.float64)),
                },
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            "Walk-forward lift over a random ranking (90 % interval) per refit cadence",
            xaxis={"tickangle": -45},
            yaxis={"title": "macro AP - random", "zeroline": True},
            margin={"l": 70, "r": 20, "t": 40, "b": 160},
            height=440,
        ),
    }


def walkforward_trades(trades: pd.DataFrame) -> Figure:
    """Mean trade net of the fee by predicted class and horizon, one bar group per cadence."""
    table = (
        trades[trades["predicted"] > 0]
        .groupby(["cadence", "predicted", "horizon"], sort=False)["trade_mean"]
        .mean()
        .reset_index()
    )
    names = {1: "breakout call", 2: "reversal call"}
    traces = []
    for cadence, group in table.groupby("cadence", sort=False):
        traces.append(
            {
                "type": "bar",
                "name": str(cadence),
                "x": [
                    f"{names[c]}, {h}"
                    for c, h in zip(group["predicted"].tolist(), group["horizon"], strict=True)
                ],
                "y": rounded(group["trade_mean"].to_numpy(np.float64), 6),
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            "Mean trade net of the fee (mean over models) by predicted class and horizon",
            barmode="group",
            yaxis={"title": "return per trade", "tickformat": ".2%"},
            height=380,
        ),
    }


# ---- live ---------------------------------------------------------------------------------------


def live_counts(live: pd.DataFrame) -> Figure:
    """Live predictions per day and model."""
    day = pd.DatetimeIndex(live["timestamp"]).floor("D")
    counts = live.assign(day=day).groupby(["model", "day"]).size()
    data = []
    for model, series in counts.groupby(level=0):
        data.append(
            {
                "type": "bar",
                "name": str(model),
                "x": stamps(series.index.get_level_values(1)),
                "y": [int(v) for v in series],
            }
        )
    return {
        "data": data,
        "layout": _layout("Live predictions per day", barmode="stack", xaxis=DATE_AXIS),
    }


def live_scores(live: pd.DataFrame) -> Figure:
    """Live predicted probabilities over time, with the resolved label where it is known."""
    ordered = thin(live.sort_values("timestamp"))
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"P({CLASS_NAMES[c]})",
            "x": stamps(ordered["timestamp"]),
            "y": rounded(ordered[column], 4),
            "marker": {"color": CLASS_COLORS[c], "size": 6},
        }
        for column, c in (("p_breakout", 1), ("p_reversal", 2))
    ]
    return {
        "data": data,
        "layout": _layout("Live predicted probabilities", xaxis=DATE_AXIS, yaxis={"range": [0, 1]}),
    }
