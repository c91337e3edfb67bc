"""Transforms applied to a generator's outputs: lags, differences, rolling z-scores and ranks.

A transform turns a stored feature into another one (``atr_14`` → ``atr_14__z_50``). It reads the
float32 values of the source feature exactly as stored, so a transformed feature can be recomputed
from the stored source alone. All four are causal and count bars, not clock time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swingml.features import rolling
from swingml.features.base import TRANSFORM_PATTERN

Array = np.ndarray


@dataclass(frozen=True)
class Transform:
    """One transform: ``kind`` in lag/d/z/rank and its bar count ``n``."""

    kind: str
    n: int

    @property
    def suffix(self) -> str:
        """The name part appended after ``__`` (``z_50``)."""
        return f"{self.kind}_{self.n}"

    @property
    def lookback(self) -> int:
        """Extra bars of history the transform needs on top of its source's lookback."""
        return self.n if self.kind in ("lag", "d") else self.n - 1

    def apply(self, values: Array) -> Array:
        """The transformed series (float32, NaN where undefined)."""
        x = np.asarray(values, dtype=np.float64)
        if self.kind == "lag":
            out = rolling.shift(x, self.n)
        elif self.kind == "d":
            out = x - rolling.shift(x, self.n)
        elif self.kind == "z":
            out = rolling.ratio(x - rolling.mean(x, self.n), rolling.std(x, self.n))
        else:
            out = rolling.pct_rank(x, self.n)
        result = out.astype(np.float32)
        result[~np.isfinite(result)] = np.nan
        return result


def parse(spec: str) -> Transform:
    """A transform from its spec string (``lag_3``, ``d_1``, ``z_50``, ``rank_100``)."""
    match = TRANSFORM_PATTERN.match(spec)
    if match is None:
        raise ValueError(f"unknown transform {spec!r}")
    return Transform(match.group(1), int(match.group(2)))
