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
    """KS statistic of the finite ``values`` against the reference CDF (0 if either is empty).

    Both CDFs are compared just below and at every distinct live value and reference quantile,
    so ties (discrete features) count as the jumps they are.
    """
    x = np.asarray(values, dtype=np.float64)
    x = np.sort(x[np.isfinite(x)])
    q = reference.quantiles
    if len(x) == 0 or not np.all(np.isfinite(q)):
        return 0.0
    levels = np.linspace(0.0, 1.0, len(q))
    points = np.unique(np.concatenate([x, q]))
    n = len(x)
    live_at = np.searchsorted(x, points, side="right") / n
    live_below = np.searchsorted(x, points, side="left") / n
    ref_at, ref_below = _ref_cdf(q, levels, points)
    return float(max(np.max(np.abs(live_at - ref_at)), np.max(np.abs(live_below - ref_below))))


def _ref_cdf(q: FloatArray, levels: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The piecewise-linear reference CDF through the quantiles at ``x`` and just below ``x``.

    A value that several quantiles share (a tie) is a jump: at it the CDF is the highest level
    of those quantiles, just below it the lowest; between two distinct quantile values it rises
    linearly from the first one's highest level to the next one's lowest.
    """
    unique, first = np.unique(q, return_index=True)
    _, last_rev = np.unique(q[::-1], return_index=True)
    top = levels[len(q) - 1 - last_rev]
    bottom = levels[first]
    k = np.searchsorted(unique, x, side="right") - 1
    inside = (k >= 0) & (k < len(unique) - 1)
    exact = (k >= 0) & (unique[np.clip(k, 0, None)] == x)
    between = np.where(x > unique[-1], 1.0, 0.0)
    kk = np.clip(k, 0, len(unique) - 2) if len(unique) > 1 else np.zeros_like(k)
    if len(unique) > 1:
        lo, hi = unique[kk], unique[kk + 1]
        frac = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        linear = top[kk] + frac * (bottom[kk + 1] - top[kk])
        between = np.where(inside, linear, between)
    kc = np.clip(k, 0, None)
    at: FloatArray = np.where(exact, top[kc], between)
    below: FloatArray = np.where(exact, bottom[kc], between)
    return at, below


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
