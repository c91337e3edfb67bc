"""Bins matched to a variant's rows (``selection.bins: rows``): a Dataset per row set, not a subset.

The shared Dataset (``screening``) bins every feature on the symbol's union rows (~32K), and each
variant pays LightGBM's split search over every feature x every one of those bins, on every leaf
of every round, though the median variant trains on ~580 events: that fixed part dominates
selection's cost (docs/benchmarks/prep_selection.md). Here each variant trains on a Dataset built
from the symbol's saved quantile codes (``packed``, one uint8 matrix) on its own rows instead:

* the codes are coarsened to ``code_count(n_train)`` codes (integer division of the union's
  codes, NaN kept apart), so a code can hold ``MIN_DATA_IN_LEAF`` of these rows;
* LightGBM's feature pre-filter drops the features that cannot split on these rows;
* the validation Dataset takes the train Dataset's bins (``reference=``);
* variants with the same (train, valid) rows (one window and side: only their labels differ)
  share the built pair (``RowDatasets``); labels are set per variant, on constructed Datasets.

Gains still come back over every feature, in input order (a dropped feature's gain is 0).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from swingml.config import SelectionConfig
from swingml.selection import screening

MIN_DATA_IN_LEAF = 20
"""LightGBM's default ``min_data_in_leaf``, kept: a bin holding fewer rows than this cannot be a
split's own side, so codes finer than ``n_train // MIN_DATA_IN_LEAF`` only cost split search."""

MIN_CODES = 8
"""The fewest codes a feature is coarsened to, however few the rows."""

NAN_CODE = 255
"""The NaN code (-1 in ``screening.quantile_codes``) in the saved uint8 matrix (codes 0..253)."""

Rows = tuple[npt.NDArray[np.int64], npt.NDArray[Any]]
"""(rows of the codes matrix, labels 0/1/2), in time order."""


def packed(codes: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """``quantile_codes`` output as uint8, the NaN code -1 as ``NAN_CODE``."""
    return np.where(codes < 0, NAN_CODE, codes).astype(np.uint8)


def code_count(n_train: int, max_bin: int) -> int:
    """Codes per feature for ``n_train`` training rows: n_train // 20, within [8, max_bin - 1]."""
    return min(max(n_train // MIN_DATA_IN_LEAF, MIN_CODES), max_bin - 1)


def coarsened(block: npt.NDArray[np.uint8], n_codes: int, max_bin: int) -> npt.NDArray[np.float32]:
    """Packed union codes (``max_bin - 1`` of them) merged into ``n_codes`` neighbouring groups:
    float32 0..n_codes-1, -1 for NaN (a code of its own, as on the union rows)."""
    union_codes = max_bin - 1
    out = (block.astype(np.int32) * n_codes // union_codes).astype(np.float32)
    out[block == NAN_CODE] = -1.0
    return out


def dataset_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the feature pre-filter on at ``MIN_DATA_IN_LEAF`` (Dataset and training
    must agree: LightGBM refuses a constructed Dataset whose filter parameters changed)."""
    return {**params, "feature_pre_filter": True, "min_data_in_leaf": MIN_DATA_IN_LEAF}


@dataclass(frozen=True)
class Pair:
    """A row set's constructed train and validation Datasets and what went into them."""

    train: lgb.Dataset
    valid: lgb.Dataset
    n_codes: int
    features_used: int
    build_s: float


class RowDatasets:
    """The Dataset pairs of one task's row sets, each built once and dropped after its last use.

    ``codes`` is the symbol's packed matrix (features x union rows, a memory map will do);
    ``expect`` announces each use of a row set, ``take`` returns its pair (built on first use).
    ``built`` counts the pairs built.
    """

    def __init__(
        self,
        codes: npt.NDArray[np.uint8],
        names: Sequence[str],
        params: dict[str, Any],
        max_bin: int,
        block: int = 512,
    ) -> None:
        if codes.shape[0] != len(names):
            raise ValueError(f"{codes.shape[0]} code rows for {len(names)} names")
        self.codes, self.names, self.params = codes, list(names), dataset_params(params)
        self.max_bin, self.block = max_bin, block
        self.built = 0
        self._uses: Counter[bytes] = Counter()
        self._pairs: dict[bytes, Pair] = {}

    @staticmethod
    def _key(train: npt.NDArray[np.int64], valid: npt.NDArray[np.int64]) -> bytes:
        """The row set's identity: its train and validation rows, exactly."""
        t, v = np.asarray(train, dtype=np.int64), np.asarray(valid, dtype=np.int64)
        return len(t).to_bytes(8, "little") + t.tobytes() + v.tobytes()

    def expect(self, train: npt.NDArray[np.int64], valid: npt.NDArray[np.int64]) -> None:
        """One more variant will ``take`` this row set."""
        self._uses[self._key(train, valid)] += 1

    def take(self, train: npt.NDArray[np.int64], valid: npt.NDArray[np.int64]) -> Pair:
        """The row set's pair, built on first use; forgotten here once its expected uses are
        taken (an unexpected row set is built, used once and forgotten)."""
        key = self._key(train, valid)
        pair = self._pairs.get(key) or self._build(train, valid)
        self._uses[key] -= 1
        if self._uses[key] > 0:
            self._pairs[key] = pair
        else:
            self._pairs.pop(key, None)
            del self._uses[key]
        return pair

    def _build(self, train: npt.NDArray[np.int64], valid: npt.NDArray[np.int64]) -> Pair:
        """The constructed pair: train binned a ``block`` of features at a time (as the shared
        Dataset is), validation on the train Dataset's bins."""
        start = time.perf_counter()
        n_codes = code_count(len(train), self.max_bin)

        def blocks() -> Iterator[tuple[npt.NDArray[np.float32], list[str]]]:
            for first in range(0, len(self.names), self.block):
                part = np.asarray(self.codes[first : first + self.block][:, train])
                yield coarsened(part, n_codes, self.max_bin), self.names[first : first + self.block]

        train_set = screening.binned_blocks(blocks(), self.params)
        valid_codes = coarsened(np.asarray(self.codes[:, valid]), n_codes, self.max_bin)
        valid_set = lgb.Dataset(
            valid_codes.T,
            label=np.zeros(len(valid), dtype=np.float32),
            reference=train_set,
            params=self.params,
            free_raw_data=True,
        ).construct()
        used = sum(train_set.feature_num_bin(i) > 0 for i in range(len(self.names)))
        self.built += 1
        return Pair(train_set, valid_set, n_codes, used, time.perf_counter() - start)


def screen_rows(
    datasets: RowDatasets, train: Rows, valid: Rows, params: dict[str, Any], config: SelectionConfig
) -> tuple[screening.Screen, Pair]:
    """One variant on Datasets binned for its own rows: the screening (its wall includes building
    the pair when this variant built it) and the pair it trained on."""
    start = time.perf_counter()
    pair = datasets.take(train[0], valid[0])
    screening.hold_labels(pair.train, train[1])
    screening.hold_labels(pair.valid, valid[1])
    gains, best, train_s = screening.fit(pair.train, pair.valid, dataset_params(params), config)
    if len(gains) != len(datasets.names):
        raise RuntimeError(f"{len(gains)} gains for {len(datasets.names)} features")
    wall = time.perf_counter() - start
    return screening.Screen(gains, best, len(train[0]), len(valid[0]), train_s, wall), pair
