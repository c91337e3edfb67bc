"""A variant's event history with a planted signal, for the walk-forward tests and laws."""

from __future__ import annotations

import numpy as np
import pandas as pd

from swingml.modeling.rows import Events
from swingml.training.production import TrainPlan

PLAN = TrainPlan(
    num_rounds=100,
    early_stopping=10,
    validation_fraction=0.15,
    seed=1,
    threads=1,
    max_bin=63,
    stage1_num_rounds=50,
    stage1_early_stopping=10,
    stage1_validation_fraction=0.2,
    stage1_max_train=10_000,
)
HORIZON = 6
START = pd.Timestamp("2024-03-01")


def planted_history(n_events: int = 900, seed: int = 0) -> Events:
    """Hourly bars; an event every 3 bars whose label follows feature 0 or 1 (a planted signal)."""
    rng = np.random.default_rng(seed)
    candles = pd.date_range("2024-01-01", periods=n_events * 3 + HORIZON, freq="h")
    bars = np.arange(n_events, dtype=np.int64) * 3
    X = rng.normal(size=(n_events, 5)).astype(np.float32)
    y = np.where(X[:, 0] > 0.5, 1, np.where(X[:, 1] > 0.5, 2, 0)).astype(np.int64)
    y[rng.random(n_events) < 0.02] = -1  # unresolved labels are never trained on nor scored
    names = tuple(f"f{i}" for i in range(5))
    none = np.zeros(n_events, dtype=bool)  # replays split by time, not by these masks
    return Events(X, y, bars, candles, none, none, names, HORIZON)
