"""The hold-out tables ``train`` writes from its task results: one row of scores per model
(``training/holdout.parquet``), the evaluated models' predictions, and the stage's summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

METRIC_COLUMNS = (
    "holdout_macro_ap",
    "holdout_ap_class0",
    "holdout_ap_class1",
    "holdout_ap_class2",
    "prior_macro_ap",
    "random_macro_ap",
    "stage1_holdout_macro_ap",
)
"""The hold-out scores a registered version records as metrics."""

BULKY: tuple[str, ...] = ("model", "served_model", "example", "holdout_timestamps")
BULKY += ("holdout_labels", "holdout_proba")
"""Task result keys that go to the model files, the registry and the hold-out predictions, not
to the hold-out table."""


def score_table(done: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per trained model: every task result key but the bulky ones."""
    return pd.DataFrame([{k: v for k, v in d.items() if k not in BULKY} for d in done])


def holdout_predictions(done: Sequence[dict[str, Any]], proba: Sequence[str]) -> pd.DataFrame:
    """The evaluated models' hold-out predictions, one ``proba`` column per class (the
    prediction store's names): what the report's intervals are read from."""
    frames = [
        pd.DataFrame(
            {
                "main_id": item["main_id"],
                "timestamp": pd.to_datetime(np.asarray(item["holdout_timestamps"]), utc=True),
                "label": np.asarray(item["holdout_labels"], dtype=np.int8),
                **{p: np.asarray(item["holdout_proba"])[:, c] for c, p in enumerate(proba)},
            }
        )
        for item in done
    ]
    columns = ["main_id", "timestamp", "label", *proba]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def score_summary(table: pd.DataFrame) -> dict[str, Any]:
    """How many models beat the class prior and a random ranking, and the mean scores."""
    if not len(table):
        means: dict[str, Any] = {f"{c}_mean": None for c in _MEANS}
        return {"beats_prior": 0, "beats_random": 0, **means}
    ap = table["holdout_macro_ap"]
    return {
        "beats_prior": int((ap > table["prior_macro_ap"]).sum()),
        "beats_random": int((ap > table["random_macro_ap"]).sum()),
        **{f"{c}_mean": float(table[c].mean()) for c in _MEANS},
    }


_MEANS = ("holdout_macro_ap", "prior_macro_ap", "random_macro_ap", "stage1_holdout_macro_ap")


def finite(value: Any) -> Any:
    """NaN becomes None so that ``summary.json`` stays valid JSON."""
    return None if isinstance(value, float) and not np.isfinite(value) else value
