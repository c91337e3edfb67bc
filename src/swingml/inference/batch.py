"""Champion predictions as prediction-store rows, from a feature matrix (pure computation).

Batch and live both end here: the same champion, the same float32 input row and the same call
give the same probabilities, so the two paths can differ only in the feature values they pass in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from swingml.inference.champions import Champion
from swingml.inference.store import COLUMNS, PROBA, stamps_ms
from swingml.training.model import predict


def rows_at(
    matrix: pd.DataFrame, stamps: pd.Series, columns: Sequence[str], where: str
) -> np.ndarray:
    """The float32 rows of ``matrix`` (``timestamp`` + feature columns) at ``stamps``, in order.

    Every stamp must be a row of the matrix; ``where`` names the store for the error.
    """
    index = pd.Index(stamps_ms(matrix["timestamp"]))
    at = index.get_indexer(stamps_ms(stamps))
    if bool(np.any(at < 0)):
        first = pd.Timestamp(stamps_ms(stamps)[np.argmax(at < 0)], unit="ms", tz="UTC")
        raise LookupError(f"{where}: no feature row at event time {first.isoformat()}")
    values: np.ndarray = matrix[list(columns)].to_numpy(np.float32)[at]
    return np.ascontiguousarray(values)


def predict_events(
    champion: Champion, stamps: pd.Series, X: np.ndarray, labels: pd.Series, source: str
) -> pd.DataFrame:
    """Prediction-store rows of ``champion`` for events at ``stamps`` with inputs ``X``.

    ``X`` has the champion's feature columns in its order (float32); ``labels`` are the events'
    labels as known now (nullable).
    """
    if X.shape != (len(stamps), len(champion.features)):
        raise ValueError(
            f"{champion.name}: inputs of shape {X.shape}, expected "
            f"({len(stamps)}, {len(champion.features)})"
        )
    proba = predict(champion.booster, np.asarray(X, dtype=np.float32))
    frame = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps_ms(stamps).astype("datetime64[ms]")).tz_localize(
                "UTC"
            ),
            "variant": champion.variant.id,
            "model": champion.name,
            "version": champion.version,
        }
    )
    for j, name in enumerate(PROBA):
        frame[name] = proba[:, j]
    frame["label"] = labels.astype("Int8").to_numpy()
    frame["source"] = source
    frame["in_sample"] = in_sample(champion, frame["timestamp"])
    return frame[list(COLUMNS)]


def in_sample(champion: Champion, stamps: pd.Series) -> pd.arrays.BooleanArray:
    """Which events at ``stamps`` the champion's version trained on: those up to its last
    training event (labels resolve in time order, so every earlier labelled event was one)."""
    last = champion.last_trained_event
    if last is None:
        return pd.array([pd.NA] * len(stamps), dtype="boolean")
    return pd.array(np.asarray(pd.DatetimeIndex(stamps) <= last), dtype="boolean")
