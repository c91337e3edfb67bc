"""Walk-forward replay of one variant: refit points, purged training rows, out-of-sample rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swingml.training.production import train_and_score
from swingml.training.walkforward import (
    NEVER,
    Cadence,
    before,
    cadences,
    refit_points,
    replay,
    step_scores,
    when,
)
from walkforward_history import HORIZON, PLAN, START, planted_history


def test_refit_points_cover_every_step_through_the_last_event() -> None:
    day = pd.Timedelta("1D")
    last = START + pd.Timedelta("2D5h")
    assert refit_points(START, last, day) == [START, START + day, START + 2 * day]
    assert refit_points(START, last, None) == [START]
    assert [c.name for c in cadences("30D", ("7D", "30D"))] == [NEVER, "30D", "7D"]


def test_training_rows_end_their_label_horizon_before_the_refit_point() -> None:
    history = planted_history()
    point = pd.Timestamp("2024-02-10 12:00")
    rows = before(history, point)
    ends = history.stamps[np.minimum(rows.bars + HORIZON, len(history.stamps) - 1)]
    assert bool((ends < point).all()) and bool((rows.y >= 0).all())
    # every labelled event left out resolves at or after the point (purged, or later)
    labelled = history.bars[history.y >= 0]
    left_out = labelled[~np.isin(labelled, rows.bars)]
    assert len(rows.bars) and len(left_out)
    last = len(history.stamps) - 1
    assert bool((history.stamps[np.minimum(left_out + HORIZON, last)] >= point).all())


def test_never_is_the_development_model_and_every_cadence_predicts_the_same_rows() -> None:
    history = planted_history()
    never = replay(history, START, Cadence(NEVER, None), {"num_leaves": 7}, PLAN)
    rounds = int(never["best_iteration"].iloc[0])
    weekly = replay(
        history, START, Cadence("7D", pd.Timedelta("7D")), {"num_leaves": 7}, PLAN, rounds
    )
    assert (weekly["best_iteration"] == rounds).all()  # refits keep the development rounds
    expected = np.flatnonzero(np.asarray(when(history) >= START) & (history.y >= 0))
    assert never["row"].tolist() == expected.tolist() == weekly["row"].tolist()
    assert never["refit_at"].nunique() == 1 and weekly["refit_at"].nunique() > 1
    at = when(history)[weekly["row"].to_numpy()]
    refit = pd.DatetimeIndex(weekly["refit_at"])
    assert bool(((refit <= at) & (at < refit + pd.Timedelta("7D"))).all())
    assert weekly.groupby("refit_at")["train_rows"].first().is_monotonic_increasing
    dev = before(history, START)
    X_hold = history.X[expected]
    production = train_and_score(dev, X_hold, history.y[expected], {"num_leaves": 7}, PLAN)
    proba = never[["proba_0", "proba_1", "proba_2"]].to_numpy()
    assert proba == pytest.approx(
        production.booster.predict(X_hold, num_iteration=production.best_iteration)
    )


def test_step_scores_cut_the_span_into_steps_of_every() -> None:
    when = pd.DatetimeIndex([START, START + pd.Timedelta("1D"), START + pd.Timedelta("8D")])
    y = np.array([0, 1, 2])
    proba = np.eye(3)
    steps = step_scores(y, proba, when, START, "7D")
    assert steps.index.tolist() == [0, 1] and steps.tolist() == pytest.approx([1.0, 1.0])
