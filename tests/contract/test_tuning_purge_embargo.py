"""Law (SPEC §7): purged, embargoed chronological splits never leak labels across blocks.

No training row's label horizon reaches into its validation block, no training row lies within H
bars after it, validation blocks are consecutive and non-overlapping, and every row is a
development row; on random and on real-sized event sets.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from swingml.modeling.cv import Fold, chronological_split, rolling_folds
from swingml.modeling.splits import development_mask, holdout_cutoff


def _events(seed: int, n_bars: int, n_events: int) -> tuple[np.ndarray, pd.Series]:
    rng = np.random.default_rng(seed)
    bars = np.sort(rng.choice(n_bars, size=min(n_events, n_bars), replace=False))
    stamps = pd.Series(pd.date_range("2021-01-01", periods=n_bars, freq="h", tz="UTC"))
    return bars.astype(np.int64), stamps


def _dev_rows(bars: np.ndarray, stamps: pd.Series, horizon: int) -> np.ndarray:
    cutoff = holdout_cutoff(stamps.iloc[0], stamps.iloc[-1], 0.15)
    return np.flatnonzero(development_mask(bars, stamps, cutoff, horizon))


def _assert_no_leak(fold: Fold, bars: np.ndarray, horizon: int) -> None:
    train_t = bars[fold.train]
    assert len(np.intersect1d(fold.train, fold.valid)) == 0
    # the label window t+1..t+H of a training row never reaches the validation block
    before = train_t < fold.valid_first_bar
    assert np.all(train_t[before] + horizon < fold.valid_first_bar)
    # nothing inside the block, nothing within H bars after it
    assert not np.any(
        (train_t >= fold.valid_first_bar) & (train_t <= fold.valid_last_bar + horizon)
    )
    assert fold.valid_first_bar == bars[fold.valid[0]]
    assert fold.valid_last_bar == bars[fold.valid[-1]]


CASES = [(seed, 3000, 400, h) for seed in range(6) for h in (4, 10, 40)] + [
    (100, 70_000, 20_000, 100),
    (101, 70_000, 30_000, 4),
]


@pytest.mark.parametrize(("seed", "n_bars", "n_events", "horizon"), CASES)
def test_rolling_folds_obey_purge_embargo_law(
    seed: int, n_bars: int, n_events: int, horizon: int
) -> None:
    all_bars, stamps = _events(seed, n_bars, n_events)
    dev = _dev_rows(all_bars, stamps, horizon)
    bars = all_bars[dev]
    folds = rolling_folds(bars, horizon, n_folds=5, max_train=None)
    assert 1 <= len(folds) <= 5
    for fold in folds:
        _assert_no_leak(fold, bars, horizon)
        # trained on the window before it only
        assert np.all(bars[fold.train] < fold.valid_first_bar)
        candidates = int(np.sum(bars < fold.valid_first_bar))
        assert len(fold.train) + fold.purged == candidates
    for earlier, later in itertools.pairwise(folds):
        assert later.valid[0] == earlier.valid[-1] + 1  # consecutive, non-overlapping
        assert later.valid_first_bar > earlier.valid_last_bar
    assert folds[-1].valid[-1] == len(bars) - 1
    # every row used is a development row of the full event set
    used = np.concatenate([np.concatenate([f.train, f.valid]) for f in folds])
    assert set(dev[used]) <= set(dev)
    cutoff = holdout_cutoff(stamps.iloc[0], stamps.iloc[-1], 0.15)
    assert (stamps.iloc[bars[used] + horizon] < cutoff).all()


@pytest.mark.parametrize(("seed", "n_bars", "n_events", "horizon"), CASES)
def test_chronological_split_obeys_purge_law(
    seed: int, n_bars: int, n_events: int, horizon: int
) -> None:
    all_bars, stamps = _events(seed, n_bars, n_events)
    bars = all_bars[_dev_rows(all_bars, stamps, horizon)]
    fold = chronological_split(bars, horizon, 0.2)
    assert fold is not None
    _assert_no_leak(fold, bars, horizon)
    assert fold.valid[-1] == len(bars) - 1
    assert len(fold.valid) == pytest.approx(0.2 * len(bars), abs=1)


def test_max_train_keeps_the_most_recent_rows() -> None:
    bars = np.arange(0, 2000, 2, dtype=np.int64)
    capped = rolling_folds(bars, 6, n_folds=5, max_train=50)
    full = rolling_folds(bars, 6, n_folds=5)
    for a, b in zip(capped, full, strict=True):
        assert len(a.train) == min(50, len(b.train))
        np.testing.assert_array_equal(a.train, b.train[-len(a.train) :])


def test_embargo_drops_rows_just_after_the_block() -> None:
    from swingml.modeling.cv import purge_and_embargo

    bars = np.arange(100, dtype=np.int64)
    kept, purged, embargoed = purge_and_embargo(np.arange(100), bars, 40, 59, 5)
    assert purged == 5  # bars 35..39
    assert embargoed == 5  # bars 60..64
    assert set(bars[kept]) == set(range(35)) | set(range(65, 100))
