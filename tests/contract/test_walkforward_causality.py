"""Law: a walk-forward step is predicted by a model that saw only labels resolved before its
refit point (no look-ahead across refits)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from swingml.training.walkforward import Cadence, replay
from walkforward_history import HORIZON, PLAN, START, planted_history


def test_a_step_is_predicted_without_the_labels_that_resolve_after_its_refit() -> None:
    """Labels resolving after a refit point cannot reach the predictions made from it."""
    history = planted_history()
    weekly = Cadence("7D", pd.Timedelta("7D"))
    before = replay(history, START, weekly, {}, PLAN, 20)
    second = START + pd.Timedelta("7D")
    late = np.asarray(history.stamps[history.bars + HORIZON] >= second)
    rng = np.random.default_rng(5)
    scrambled = history.y.copy()
    scrambled[late] = rng.permutation(scrambled[late])
    after = replay(
        dataclasses.replace(history, y=scrambled),
        START, weekly, {}, PLAN, 20,
    )  # fmt: skip
    first = before["refit_at"] == START
    columns = ["row", "proba_0", "proba_1", "proba_2"]
    pd.testing.assert_frame_equal(before.loc[first, columns], after.loc[first, columns])
    assert not before[columns].equals(after[columns])  # later steps did learn from the labels
