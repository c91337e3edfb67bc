"""A variant's development rows as training and tuning take them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VariantRows:
    """A variant's development rows in time order: features, labels, bar positions."""

    X: np.ndarray
    y: np.ndarray
    bars: np.ndarray
    feature_names: tuple[str, ...]
    horizon: int
