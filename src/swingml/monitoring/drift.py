"""Distribution drift of one column against its reference: PSI over quantile bins, and KS.

A reference is a summary of the column on the champion's training rows, small enough to keep
per model version: ``QUANTILES`` evenly spaced quantiles of its finite values (the KS statistic
is taken against the piecewise-linear CDF through them, within ``1 / (QUANTILES - 1)`` of the
exact one), the edges of ``bins`` equal-mass bins (reference quantiles), the reference share of
each bin, and the share of missing values (a bin of its own, so a feature that starts to be NaN
drifts). PSI = sum over bins of (a - e) * ln(a / e) over the bins, shares floored at ``EPS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

QUANTILES = 101
EPS = 1e-4


@dataclass(frozen=True)
class ColumnReference:
    """One column's reference summary (see the module docstring)."""

    quantiles: FloatArray  # QUANTILES values, NaN when the reference has no finite value
    edges: FloatArray  # bins - 1 interior edges
    expected: FloatArray  # bins + 1 shares: the bins, then missing


def summarise(values: npt.ArrayLike, bins: int) -> ColumnReference:
    """The reference summary of ``values``."""
    x = np.asarray(values, dtype=np.float64)
    finite = x[np.isfinite(x)]
    levels = np.linspace(0.0, 1.0, QUANTILES)
    if len(finite) == 0:
        nan = np.full(QUANTILES, np.nan)
        expected = np.zeros(bins + 1)
        expected[-1] = 1.0
        return ColumnReference(nan, np.full(bins - 1, np.nan), expected)
    quantiles = np.quantile(finite, levels)
    edges = np.quantile(finite, np.arange(1, bins) / bins)
    return ColumnReference(quantiles, edges, shares(x, edges))


def shares(values: npt.ArrayLike, edges: FloatArray) -> FloatArray:
    """The share of ``values`` in each bin cut at ``edges`` (right-closed), then missing."""
    x = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(x)
    out = np.zeros(len(edges) + 2)
    if len(x) == 0:
        return out
    if not np.all(np.isnan(edges)):
        counts = np.bincount(
            np.searchsorted(edges, x[finite], side="left"), minlength=len(edges) + 1
        )
        out[: len(edges) + 1] = counts
    out[-1] = np.count_nonzero(~finite)
    total: FloatArray = out / len(x)
    return total


def psi(expected: FloatArray, actual: FloatArray) -> float:
    """Population stability index of two share vectors (floored at ``EPS``)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), EPS)
    a = np.maximum(np.asarray(actual, dtype=np.float64), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def ks(reference: ColumnReference, values: npt.ArrayLike) -> float:
    """KS statistic of the finite ``values`` against the reference CDF (0 if either is empty)."""
    x = np.asarray(values, dtype=np.float64)
    x = np.sort(x[np.isfinite(x)])
    q = reference.quantiles
    if len(x) == 0 or not np.all(np.isfinite(q)):
        return 0.0
    levels = np.linspace(0.0, 1.0, len(q))
    # the reference CDF at the live points, and the live ECDF just before and at each point
    f_ref = _ref_cdf(q, levels, x)
    n = len(x)
    upper = np.arange(1, n + 1) / n
    lower = np.arange(0, n) / n
    at_points = float(np.max(np.maximum(np.abs(upper - f_ref), np.abs(f_ref - lower))))
    # and at the reference quantiles (the live ECDF is a step function there)
    f_live = np.searchsorted(x, q, side="right") / n
    at_quantiles = float(np.max(np.abs(f_live - levels)))
    return max(at_points, at_quantiles)


def _ref_cdf(q: FloatArray, levels: FloatArray, x: FloatArray) -> FloatArray:
    """Piecewise-linear CDF through the quantiles; flat runs (ties) jump to their top level."""
    unique, last = np.unique(q[::-1], return_index=True)
    top = levels[::-1][last]  # the highest level of each distinct quantile value
    out: FloatArray = np.interp(x, unique, top, left=0.0, right=1.0)
    return out


def psi_of(reference: ColumnReference, values: npt.ArrayLike) -> float:
    """PSI of ``values`` against the reference bins."""
    return psi(reference.expected, shares(values, reference.edges))


def level(value: float, warn: float, alert: float) -> str:
    """``ok``, ``warn`` or ``alert`` for a figure and its thresholds."""
    if value >= alert:
        return "alert"
    if value >= warn:
        return "warn"
    return "ok"
