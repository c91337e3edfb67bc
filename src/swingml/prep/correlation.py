"""The |Pearson| > threshold filter at 15K features: blocked float32 products, greedy keep rule.

Features are standardised in place (finite values to zero mean, non-finite to 0, i.e. the column
mean) and scaled to unit length, so one matrix product of two blocks gives their correlations.
Features are visited in keep order (fewer missing values first, then name); each is dropped if it
correlates above the threshold with one already kept, else kept. Kept features are packed at the
front of the same buffer, so the "already kept" matrix is always a contiguous slice: nothing of size
features x features is ever built, only ``block x kept`` and ``block x block`` products.

The correlation of two features is Pearson's r of their mean-imputed values; where they share
their missing rows (the common case: both from the same coin) it equals the pairwise-complete r.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Decorrelation:
    """The outcome, indexed like the input features.

    ``keep``: kept mask. ``partner``: for a dropped feature, the index of the kept feature it
    correlates with most (among those it was tested against), else -1. ``partner_r``: that |r|.
    """

    keep: npt.NDArray[np.bool_]
    partner: npt.NDArray[np.int64]
    partner_r: npt.NDArray[np.float32]


def keep_order(
    missing: npt.NDArray[np.integer] | Sequence[int], names: Sequence[str]
) -> npt.NDArray[np.int64]:
    """Indices in keep-rule order: fewer missing values first, then the earlier name."""
    missing_arr = np.asarray(missing, dtype=np.int64)
    if len(missing_arr) != len(names):
        raise ValueError("one missing count per name is needed")
    name_rank = np.argsort(np.asarray(names, dtype=object), kind="stable")
    rank_of = np.empty(len(names), dtype=np.int64)
    rank_of[name_rank] = np.arange(len(names))
    return np.lexsort((rank_of, missing_arr)).astype(np.int64)


def standardize_rows(values: F32) -> npt.NDArray[np.int64]:
    """Turn each row (one feature) into zero-mean unit-length float32, in place.

    Non-finite values become 0 after centring (mean imputation). A row without spread stays all
    zero and so correlates with nothing. Returns the missing (non-finite) count of each row.
    """
    if values.dtype != np.float32 or not values.flags.c_contiguous:
        raise ValueError("values must be a C-contiguous float32 array (features x rows)")
    missing = np.zeros(values.shape[0], dtype=np.int64)
    for start in range(0, values.shape[0], 256):
        chunk = values[start : start + 256]
        finite = np.isfinite(chunk)
        counts = np.count_nonzero(finite, axis=1)
        missing[start : start + len(chunk)] = chunk.shape[1] - counts
        chunk[~finite] = 0.0
        mean = chunk.sum(axis=1, dtype=np.float64) / np.maximum(counts, 1)
        chunk -= mean[:, None].astype(np.float32)
        chunk[~finite] = 0.0
        norm = np.sqrt(np.einsum("ij,ij->i", chunk, chunk, dtype=np.float64))
        scale = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0)
        chunk *= scale[:, None].astype(np.float32)
    return missing


def permute_rows(values: F32, order: npt.NDArray[np.int64]) -> None:
    """Reorder rows in place so that new row ``i`` is old row ``order[i]`` (one spare row)."""
    n = values.shape[0]
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError("order must be a permutation of the rows")
    done = np.zeros(n, dtype=np.bool_)
    spare = np.empty(values.shape[1], dtype=values.dtype)
    for start in range(n):
        if done[start] or order[start] == start:
            done[start] = True
            continue
        spare[:] = values[start]
        target = start
        while True:
            done[target] = True
            source = int(order[target])
            if source == start:
                values[target] = spare
                break
            values[target] = values[source]
            target = source


def decorrelate(
    values: F32, order: npt.NDArray[np.int64], threshold: float, block: int
) -> Decorrelation:
    """Greedy keep rule over standardised rows (see ``standardize_rows``), visited in ``order``.

    ``values`` is overwritten (reordered and packed). A feature is dropped when
    ``|r| > threshold`` with a feature kept before it in ``order``.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block!r}")
    n = values.shape[0]
    order = np.asarray(order, dtype=np.int64)
    permute_rows(values, order)
    keep = np.zeros(n, dtype=np.bool_)
    partner = np.full(n, -1, dtype=np.int64)
    partner_r = np.zeros(n, dtype=np.float32)
    kept_ids: list[int] = []  # positions in visiting order of the rows packed at values[:kept]
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = values[start:stop]
        size = stop - start
        dropped = np.zeros(size, dtype=np.bool_)
        if kept_ids:
            corr = np.abs(rows @ values[: len(kept_ids)].T)
            best = corr.argmax(axis=1)
            best_r = corr[np.arange(size), best]
            dropped = best_r > threshold
            for hit in np.flatnonzero(dropped):
                partner[order[start + hit]] = order[kept_ids[best[hit]]]
                partner_r[order[start + hit]] = best_r[hit]
        alive = np.flatnonzero(~dropped)  # only these can still be kept or drop each other
        inner = np.abs(rows[alive] @ rows[alive].T) if len(alive) else np.empty((0, 0))
        gone = np.zeros(len(alive), dtype=np.bool_)
        local_kept: list[int] = []
        for a in range(len(alive)):
            if gone[a]:
                continue
            local_kept.append(int(alive[a]))
            hits = inner[a] > threshold
            hits[: a + 1] = False
            hits &= ~gone
            for b in np.flatnonzero(hits):
                partner[order[start + alive[b]]] = order[start + alive[a]]
                partner_r[order[start + alive[b]]] = inner[a, b]
            gone |= hits
        if local_kept:
            first = len(kept_ids)
            values[first : first + len(local_kept)] = rows[local_kept]
            kept_ids.extend(start + i for i in local_kept)
    keep[order[np.asarray(kept_ids, dtype=np.int64)]] = True
    return Decorrelation(keep, partner, partner_r)
