"""Walk-forward replay of one champion: refit on the past at each step, predict the step.

From ``start`` (the hold-out cutoff) to the last event, a cadence refits the model at ``start``,
``start + every``, ``start + 2 every``, ... The cadence "never" fits once, at ``start``, exactly as
``train`` fits the evaluated development model (early stopping on the purged last
``validation_fraction`` of its rows), so its predictions are the hold-out's. Every other cadence
refits the way the served model is refit (``production.refit_all``): on every labelled event whose
whole label horizon ends before the refit point, for the rounds the development model stopped at.
So the replay measures the procedure that is served.

Features and parameters stay those chosen on the development period: a replay measures what
refitting buys, not re-selection or re-tuning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from swingml.modeling.rows import Events, VariantRows
from swingml.modeling.space import ParamValue
from swingml.modeling.splits import development_mask
from swingml.training.metrics import macro_ap, random_macro_ap
from swingml.training.model import predict
from swingml.training.production import TrainPlan, fit_production, refit_all

NEVER = "never"


@dataclass(frozen=True)
class Cadence:
    """How often a replay refits: ``every`` None refits once, at the start."""

    name: str
    every: pd.Timedelta | None


def cadences(every: str, compare: Sequence[str]) -> tuple[Cadence, ...]:
    """ "never", then ``every``, then each of ``compare`` (duplicates dropped, order kept)."""
    names = list(dict.fromkeys([every, *compare]))
    return (Cadence(NEVER, None), *(Cadence(n, pd.Timedelta(n)) for n in names))


def refit_points(
    start: pd.Timestamp, last: pd.Timestamp, every: pd.Timedelta | None
) -> list[pd.Timestamp]:
    """The refit times of a cadence from ``start`` through the step holding ``last``."""
    if every is None or last < start:
        return [start]
    steps = int((last - start) // every) + 1
    return [start + i * every for i in range(steps)]


def when(events: Events) -> pd.DatetimeIndex:
    """The bar time of each event."""
    return events.stamps[events.bars]


def before(events: Events, point: pd.Timestamp) -> VariantRows:
    """Labelled events whose whole label horizon ends before ``point`` (purged)."""
    mask = development_mask(events.bars, pd.Series(events.stamps), point, events.horizon)
    return events.rows(mask & (events.y >= 0))


def replay(
    events: Events,
    start: pd.Timestamp,
    cadence: Cadence,
    params: dict[str, ParamValue],
    plan: TrainPlan,
    rounds: int | None = None,
) -> pd.DataFrame:
    """Out-of-sample class probabilities of every labelled event from ``start`` on.

    Columns: ``row`` (index into the history), ``refit_at``, ``train_rows``, ``best_iteration``,
    ``proba_0..2``. Every cadence predicts the same rows. A cadence other than "never" refits for
    ``rounds`` rounds (the "never" model's best iteration).
    """
    at = when(events)
    tested = np.asarray(at >= start) & (events.y >= 0)
    frames = []
    if tested.any():
        last = at[tested].max()
        points = refit_points(start, last, cadence.every)
        for point, following in zip(points, [*points[1:], None], strict=True):
            rows = tested & np.asarray(at >= point)
            if following is not None:
                rows &= np.asarray(at < following)
            if not rows.any():
                continue
            past = before(events, point)
            if cadence.every is None:
                model = fit_production(past, params, plan)
            elif rounds is None:
                raise ValueError(f"cadence {cadence.name} refits for fixed rounds: pass rounds")
            else:
                model = refit_all(past, params, plan, rounds)
            proba = predict(model.booster, events.X[rows], model.best_iteration)
            frame = pd.DataFrame(proba, columns=[f"proba_{c}" for c in range(proba.shape[1])])
            frame.insert(0, "row", np.flatnonzero(rows))
            frame.insert(1, "refit_at", point)
            frame.insert(2, "train_rows", model.train_rows)
            frame.insert(3, "best_iteration", model.best_iteration)
            frames.append(frame)
    if not frames:
        columns = ["row", "refit_at", "train_rows", "best_iteration", "proba_0", "proba_1"]
        return pd.DataFrame(columns=[*columns, "proba_2"])
    return pd.concat(frames, ignore_index=True)


def step_scores(
    y: np.ndarray, proba: np.ndarray, when: pd.DatetimeIndex, start: pd.Timestamp, every: str
) -> pd.Series:
    """Macro AP of each ``every``-long step from ``start`` (indexed by step number)."""
    step = np.asarray((when - start) // pd.Timedelta(every), dtype=np.int64)
    return pd.Series(
        {int(s): macro_ap(y[step == s], proba[step == s]) for s in np.unique(step)}, dtype=float
    )


def summary_row(y: np.ndarray, proba: np.ndarray, steps: pd.Series) -> dict[str, float]:
    """Walk-forward macro AP, the random ranking's, and how stable the AP is across steps."""
    finite = steps[np.isfinite(steps)]
    return {
        "events": float(len(y)),
        "macro_ap": macro_ap(y, proba),
        "random_macro_ap": random_macro_ap(y),
        "steps": float(len(finite)),
        "step_ap_median": float(finite.median()) if len(finite) else float("nan"),
        "step_ap_min": float(finite.min()) if len(finite) else float("nan"),
        "step_ap_std": float(finite.std(ddof=0)) if len(finite) else float("nan"),
    }


def cadence_summary(scores: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per cadence of the scores table: the mean macro AP, lift and step-AP spread over models,
    and how many models show skill (lift above 0, interval above 0)."""
    out: dict[str, dict[str, Any]] = {}
    for cadence, group in scores.groupby("cadence", sort=False):
        out[str(cadence)] = {
            "models": len(group),
            "macro_ap_mean": round(float(group["macro_ap"].mean()), 6),
            "lift_mean": round(float(group["lift"].mean()), 6),
            "lift_above_zero": int((group["lift"] > 0).sum()),
            "interval_above_zero": int((group["lift_low"] > 0).sum()),
            "step_ap_std_mean": round(float(group["step_ap_std"].mean()), 6),
        }
    return out


def top_decile_summary(top: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per cadence: precision of the top-decile predictions vs the class's base rate, and the
    mean trade net of the fee (over models and the two trading classes)."""
    out = {}
    for cadence, group in top.groupby("cadence", sort=False):
        out[str(cadence)] = {
            "precision_mean": round(float(group["precision"].mean()), 6),
            "base_rate_mean": round(float(group["base_rate"].mean()), 6),
            "trade_mean": round(float(group["trade_mean"].mean()), 6),
        }
    return out
