"""Purged and embargoed chronological splits of one variant's events (SPEC §7), in bar positions.

Events carry the bar position of their symbol (``0..n-1``, gaps are not bars), so the purge and the
embargo are counted in bars, as the label horizon ``H`` is. A training row at bar ``t`` reads the
label bars ``t+1..t+H``: it is *purged* when that window reaches into the validation block, and
*embargoed* when ``t`` lies within ``H`` bars after the block. The caller passes development rows
only; nothing here ever sees the hold-out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Fold:
    """One train/validation split: row indices into the event array, and what was cut."""

    train: np.ndarray
    valid: np.ndarray
    valid_first_bar: int
    valid_last_bar: int
    purged: int
    embargoed: int


def purge_and_embargo(
    candidates: np.ndarray, bar_pos: np.ndarray, first_bar: int, last_bar: int, horizon: int
) -> tuple[np.ndarray, int, int]:
    """Drop candidate training rows that leak into the block ``first_bar..last_bar``.

    Returns the kept rows, the number purged (label window ``t+1..t+H`` overlaps the block) and
    the number embargoed (``last_bar < t <= last_bar + H``).
    """
    rows = np.asarray(candidates, dtype=np.int64)
    t = np.asarray(bar_pos, dtype=np.int64)[rows]
    inside = (t >= first_bar) & (t <= last_bar)
    purged = (~inside) & (t < first_bar) & (t + horizon >= first_bar)
    embargoed = (t > last_bar) & (t <= last_bar + horizon)
    keep = ~(inside | purged | embargoed)
    return rows[keep], int(purged.sum()), int(embargoed.sum())


def _check(bar_pos: np.ndarray, horizon: int) -> np.ndarray:
    bars = np.asarray(bar_pos, dtype=np.int64)
    if bars.ndim != 1:
        raise ValueError("bar positions must be one-dimensional")
    if len(bars) > 1 and bool(np.any(np.diff(bars) < 0)):
        raise ValueError("events must be in time order (non-decreasing bar positions)")
    if horizon < 0:
        raise ValueError(f"horizon must be >= 0, got {horizon}")
    return bars


def _block_starts(bars: np.ndarray, n_blocks: int) -> np.ndarray:
    """Row index where each of ``n_blocks`` equal-count blocks starts, never splitting a bar."""
    raw = np.linspace(0, len(bars), n_blocks + 1)[:-1].round().astype(np.int64)
    raw = np.minimum(raw, max(len(bars) - 1, 0))
    starts = np.searchsorted(bars, bars[raw], side="left") if len(bars) else raw
    return np.asarray(starts, dtype=np.int64)


def _fold(
    bars: np.ndarray, valid: np.ndarray, candidates: np.ndarray, horizon: int, max_train: int | None
) -> Fold:
    first, last = int(bars[valid[0]]), int(bars[valid[-1]])
    train, purged, embargoed = purge_and_embargo(candidates, bars, first, last, horizon)
    if max_train is not None and len(train) > max_train:
        train = train[-max_train:]
    return Fold(train, valid, first, last, purged, embargoed)


def chronological_split(
    bar_pos: np.ndarray, horizon: int, validation_fraction: float, max_train: int | None = None
) -> Fold | None:
    """The last ``validation_fraction`` of the rows validates; earlier rows train, purged.

    ``None`` when there are too few rows for both parts.
    """
    bars = _check(bar_pos, horizon)
    n = len(bars)
    if n < 2:
        return None
    cut = int(np.clip(round(n * (1.0 - validation_fraction)), 1, n - 1))
    cut = int(np.searchsorted(bars, bars[cut], side="left"))
    if cut == 0:
        return None
    valid = np.arange(cut, n)
    fold = _fold(bars, valid, np.arange(cut), horizon, max_train)
    return fold if len(fold.train) else None


def rolling_folds(
    bar_pos: np.ndarray, horizon: int, n_folds: int, max_train: int | None = None
) -> list[Fold]:
    """Rolling-window CV: ``n_folds`` consecutive validation blocks, each trained on the past.

    The rows are cut into ``n_folds + 1`` consecutive blocks of equal size; fold ``i`` validates
    block ``i + 1`` and trains on the (at most ``max_train``) most recent rows before it, purged.
    Folds left without training rows are dropped.
    """
    bars = _check(bar_pos, horizon)
    if n_folds < 1:
        raise ValueError(f"n_folds must be >= 1, got {n_folds}")
    if len(bars) < n_folds + 1:
        return []
    starts = np.append(np.unique(_block_starts(bars, n_folds + 1)), len(bars))
    folds: list[Fold] = []
    for begin, end in itertools.pairwise(starts[1:]):
        valid = np.arange(begin, end)
        fold = _fold(bars, valid, np.arange(begin), horizon, max_train)
        if len(fold.train):
            folds.append(fold)
    return folds


def folds_report(
    folds: list[Fold], bar_pos: np.ndarray, bar_timestamps: pd.Series
) -> list[dict[str, Any]]:
    """Per fold: train and validation time ranges, row counts, purged and embargoed rows."""
    stamps = pd.DatetimeIndex(bar_timestamps)
    bars = np.asarray(bar_pos, dtype=np.int64)

    def span(rows: np.ndarray) -> list[str]:
        return [stamps[bars[rows[0]]].isoformat(), stamps[bars[rows[-1]]].isoformat()]

    return [
        {
            "fold": i,
            "train": span(f.train),
            "validation": span(f.valid),
            "train_rows": len(f.train),
            "validation_rows": len(f.valid),
            "purged_rows": f.purged,
            "embargoed_rows": f.embargoed,
        }
        for i, f in enumerate(folds)
    ]
