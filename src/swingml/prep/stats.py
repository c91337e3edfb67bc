"""Per-feature statistics behind the prep filters, on feature-major arrays (one row per feature).

Feature-major is the layout a float32 DataFrame already holds in memory (``df.to_numpy().T`` is a
view), so every statistic reduces along ``axis=1`` over contiguous values. Heavy temporaries
(sorted copies, float64 copies) are made a few features at a time so memory stays bounded.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]
BoolArray = npt.NDArray[np.bool_]

_CHUNK = 256
"""Features per temporary copy: 256 x 50K rows x 8 bytes = 100 MB at most."""


def missing_fraction(values: FloatArray) -> npt.NDArray[np.float64]:
    """Share of values that are not finite (NaN, +inf, -inf) per feature; 1.0 for no rows."""
    n = values.shape[1]
    if n == 0:
        return np.ones(values.shape[0])
    finite = np.count_nonzero(np.isfinite(values), axis=1)
    return np.asarray(1.0 - finite / n, dtype=np.float64)


def nan_fraction(values: FloatArray, present: BoolArray | None = None) -> npt.NDArray[np.float64]:
    """Share of NaN among the rows where the feature's source coin has a bar, per feature.

    ``present`` (same shape as ``values``) marks those rows; ``None`` means every row. A feature
    with no present row counts as all NaN (1.0).
    """
    nan = np.isnan(values)
    if present is None:
        rows = np.full(values.shape[0], values.shape[1], dtype=np.int64)
        count = np.count_nonzero(nan, axis=1)
    else:
        if present.shape != values.shape:
            raise ValueError(f"present has shape {present.shape}, values {values.shape}")
        rows = np.count_nonzero(present, axis=1)
        count = np.count_nonzero(nan & present, axis=1)
    out = np.ones(values.shape[0])
    has = rows > 0
    out[has] = count[has] / rows[has]
    return out


def top_value_share(values: FloatArray) -> npt.NDArray[np.float64]:
    """Share of the most frequent finite value among the finite values, per feature.

    A feature with no finite value counts as one value (1.0): it carries no information.
    """
    out = np.ones(values.shape[0])
    for start in range(0, values.shape[0], _CHUNK):
        chunk = values[start : start + _CHUNK]
        finite = np.isfinite(chunk)
        counts = np.count_nonzero(finite, axis=1)
        ordered = np.sort(np.where(finite, chunk, np.nan), axis=1)
        out[start : start + len(chunk)] = _longest_run(ordered) / np.maximum(counts, 1)
        out[start : start + len(chunk)][counts == 0] = 1.0
    return out


def _longest_run(ordered: FloatArray) -> npt.NDArray[np.int64]:
    """Length of the longest run of equal values in each sorted row (NaN never equals NaN)."""
    rows, n = ordered.shape
    if n == 0:
        return np.zeros(rows, dtype=np.int64)
    starts = np.ones((rows, n + 1), dtype=np.bool_)
    starts[:, 1:n] = ordered[:, 1:] != ordered[:, :-1]
    flat = np.flatnonzero(starts.ravel())
    lengths = np.diff(flat)
    owner = flat[:-1] // (n + 1)
    longest = np.zeros(rows, dtype=np.int64)
    np.maximum.at(longest, owner, lengths)
    return longest


def relative_variance(values: FloatArray) -> npt.NDArray[np.float64]:
    """Scale-free spread: variance of the finite values divided by their squared mean |value|.

    Unchanged when a feature is multiplied by any non-zero constant, so a price in the tens of
    thousands and a return near zero are judged alike; a feature whose values are all zero (or
    that has no finite value) scores 0. Computed in float64, two-pass, so a large level with a
    tiny spread is not lost to cancellation.
    """
    out = np.zeros(values.shape[0])
    for start in range(0, values.shape[0], _CHUNK):
        chunk = values[start : start + _CHUNK].astype(np.float64)
        finite = np.isfinite(chunk)
        counts = np.count_nonzero(finite, axis=1)
        clean = np.where(finite, chunk, 0.0)
        safe = np.maximum(counts, 1)
        mean = clean.sum(axis=1) / safe
        centred = np.where(finite, chunk - mean[:, None], 0.0)
        var = np.einsum("ij,ij->i", centred, centred) / safe
        scale = np.abs(clean).sum(axis=1) / safe
        ok = (counts > 0) & (scale > 0)
        out[start : start + len(chunk)][ok] = var[ok] / scale[ok] ** 2
    return out
