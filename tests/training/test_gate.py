"""The retrain gate refuses a challenger trained on shuffled labels and promotes a better one."""

from __future__ import annotations

import numpy as np

from swingml.modeling.rows import VariantRows
from swingml.training.gate import decide, gate_rows
from swingml.training.model import predict
from swingml.training.production import refit_all
from walkforward_history import HORIZON, PLAN, planted_history


def _scores() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gate labels, then the champion's, a shuffled-label challenger's and a better challenger's
    probabilities on the gate events (the newest quarter, which none of them saw)."""
    history = planted_history(n_events=1200)
    labelled = np.flatnonzero(history.y >= 0)
    gate = gate_rows(labelled, 0.25)
    champion_rows = labelled[: len(labelled) // 4]  # an old champion: little data
    challenger_rows = labelled[: -len(gate)]  # everything before the gate events
    shuffled = history.y.copy()
    shuffled[challenger_rows] = np.random.default_rng(3).permutation(shuffled[challenger_rows])

    def fit(rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        part = VariantRows(history.X[rows], y[rows], history.bars[rows], history.features, HORIZON)
        model = refit_all(part, {"num_leaves": 7}, PLAN, 40)
        return predict(model.booster, history.X[gate], model.best_iteration)

    y = history.y[gate]
    return (
        y,
        fit(champion_rows, history.y),
        fit(challenger_rows, shuffled),
        fit(challenger_rows, history.y),
    )


def test_the_gate_refuses_shuffled_labels_and_promotes_more_data() -> None:
    y, champion, worse, better = _scores()
    refused = decide(y, champion, worse, margin=0.0, min_events=20)
    assert not refused.promote and "worse than" in refused.reason
    assert refused.figures["gate_challenger_ap"] < refused.figures["gate_champion_ap"]
    promoted = decide(y, champion, better, margin=0.0, min_events=20)
    assert promoted.promote and promoted.figures["gate_events"] == len(y)


def test_few_gate_events_fall_back_to_the_walkforward_record_or_keep_the_champion() -> None:
    y = np.array([0, 1, 2])
    p = np.full((3, 3), 1 / 3)
    assert decide(y, p, p, 0.0, 20, walkforward=(0.52, 0.50)).promote
    assert not decide(y, p, p, 0.0, 20, walkforward=(0.45, 0.50)).promote
    kept = decide(y, p, p, 0.0, 20)
    assert not kept.promote and "champion stays" in kept.reason


def test_gate_rows_are_the_newest_fraction() -> None:
    rows = np.arange(10, 20)
    assert gate_rows(rows, 0.3).tolist() == [17, 18, 19]
    assert gate_rows(rows[:1], 0.5).tolist() == []
