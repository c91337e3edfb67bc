"""A variant's rows as training and tuning take them: every event (``Events``), or the development
rows (``VariantRows``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class VariantRows:
    """A variant's development rows in time order: features, labels, bar positions."""

    X: np.ndarray
    y: np.ndarray
    bars: np.ndarray
    feature_names: tuple[str, ...]
    horizon: int


@dataclass(frozen=True)
class Events:
    """Every event of a variant: features, labels (-1 unknown), bars, and which split it is in.

    ``swingml.workflow.loading.load_events`` reads it from a run; tuning and training tasks take it.
    """

    X: np.ndarray
    y: np.ndarray
    bars: np.ndarray
    stamps: pd.DatetimeIndex
    dev: np.ndarray
    holdout: np.ndarray
    features: tuple[str, ...]
    horizon: int

    def rows(self, mask: np.ndarray) -> VariantRows:
        """The rows where ``mask`` holds, as tuning and training take them."""
        return VariantRows(self.X[mask], self.y[mask], self.bars[mask], self.features, self.horizon)
