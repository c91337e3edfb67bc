"""Per-variant feature screening (SPEC §6): one binned Dataset per symbol, one model per variant.

Binning is the expensive part of building a LightGBM Dataset, and every variant of a symbol reads
the same feature rows, so it is done once per symbol:

1. ``quantile_codes`` turns each feature into at most ``max_bin - 1`` quantile codes (float32),
   every code holding a fair share of rows, NaN as code -1, so LightGBM bins them losslessly
   (``min_data_in_bin = 1``): whatever rows a Dataset is later built from, the same rows fall in
   the same bins. That makes the shared Dataset give the models (and gains) a fresh Dataset per
   variant would. (NaN left as NaN breaks that: LightGBM's missing-value pass resolves ties
   between empty bins differently in the two, and early stopping can then differ.)
2. ``binned_blocks`` builds the symbol's Dataset over the union of its variants' event rows,
   one block of features at a time.
3. ``screen_variant`` takes a variant's train and validation rows with ``subset()``, calls
   ``construct()`` on each BEFORE ``set_label()`` (a subset constructed later copies its
   parent's labels over the ones set on it: LightGBM issue #5067) and checks that the labels
   LightGBM holds are the variant's own, then trains and ranks by total gain.

That is ``selection.bins: shared``, the default; ``bins: rows`` builds a Dataset for each
variant's own rows from the same codes instead (``row_bins``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from swingml.config import SelectionConfig
from swingml.config.devices import with_device

_MIN_SHARE = 0.25
"""A code holds at least this fraction of a fair share (rows / codes); rarer codes are merged."""


@dataclass(frozen=True)
class Screen:
    """One variant's screening: gain per feature (input order) and what it took."""

    gains: npt.NDArray[np.float64]
    best_iteration: int
    n_train: int
    n_valid: int
    train_s: float
    wall_s: float


def dataset_params(config: SelectionConfig, threads: int, seed: int) -> dict[str, Any]:
    """LightGBM Dataset parameters, identical for the shared Dataset, its subsets and training.

    ``min_data_in_bin = 1`` with pre-quantised codes: every code is its own bin. The feature
    pre-filter stays on (it drops features that cannot split, a pure speed-up).
    """
    return {
        "max_bin": config.max_bin,
        "min_data_in_bin": 1,
        "bin_construct_sample_cnt": config.bin_construct_sample_cnt,
        "histogram_pool_size": config.histogram_pool_size,
        "data_random_seed": seed,
        "num_threads": threads,
        "verbosity": -1,
    }


def train_params(config: SelectionConfig, threads: int, seed: int) -> dict[str, Any]:
    """The fixed shallow-model parameters of SPEC §6 and §8, plus the Dataset parameters.

    Row sampling is SPEC §8's bagging unless ``sampling`` is GOSS (gradient-based one-side
    sampling: every large-gradient row, a share of the rest); ``feature_fraction`` below 1 draws
    that share of the columns for each tree.

    In an executor worker given a device (``training.device``), its device parameters too.
    """
    params = dataset_params(config, threads, seed)
    params.update(
        objective="multiclass",
        num_class=3,
        metric="multi_logloss",
        boosting="gbdt",
        num_leaves=config.num_leaves,
        max_depth=config.max_depth,
        learning_rate=config.learning_rate,
        seed=seed,
        deterministic=True,
        force_col_wise=True,
    )
    if config.sampling == "goss":
        params["data_sample_strategy"] = "goss"
    else:
        params.update(bagging_freq=5, bagging_fraction=0.8)
    if config.feature_fraction < 1.0:
        params["feature_fraction"] = config.feature_fraction
    return with_device(params)


def quantile_codes(
    values: npt.NDArray[np.floating], n_codes: int, sample: int
) -> npt.NDArray[np.float32]:
    """Quantile codes of each row of ``values`` (features x rows): float32 0..k, -1 for NaN.

    NaN sorts below every value (a tree isolates it with a split at -1; too rare, it joins code
    0); -inf and +inf take the
    lowest and highest code. Edges are quantiles of an evenly spaced sample of at most ``sample``
    finite values; a feature
    with at most ``n_codes`` distinct values keeps them all (lossless). A code holding fewer than
    a quarter of a fair share of the sample is merged into its neighbour, so a LightGBM binning
    sample of reasonable size sees every code.
    """
    if not 2 <= n_codes <= 254:
        raise ValueError(f"n_codes must be in [2, 254], got {n_codes}")
    out = np.full(values.shape, -1.0, dtype=np.float32)
    n = values.shape[1]
    picks = np.unique(np.linspace(0, max(n - 1, 0), min(sample, n)).round().astype(np.int64))
    probs = np.linspace(0.0, 1.0, n_codes + 1)[1:-1]
    for i in range(values.shape[0]):
        row = values[i]
        known = ~np.isnan(row)
        drawn = row[picks]
        drawn = np.sort(drawn[np.isfinite(drawn)])
        if len(drawn) == 0:
            continue
        edges = _edges(drawn, probs, n_codes)
        out[i, known] = np.searchsorted(edges, row[known], side="right")
        if np.count_nonzero(~known) < _MIN_SHARE * n / n_codes:
            out[i, ~known] = 0.0  # too rare for a code of its own: joins the lowest one
    return out


def _edges(
    drawn: npt.NDArray[np.floating], probs: npt.NDArray[np.float64], n_codes: int
) -> npt.NDArray[np.floating]:
    """Code boundaries for one sorted feature sample (``x >= edges[j]`` means code > j)."""
    distinct = np.unique(drawn)
    if len(distinct) <= n_codes:
        edges = distinct[1:]
    else:
        edges = np.unique(np.quantile(drawn, probs, method="inverted_cdf"))
        edges = edges[edges > drawn[0]]
    counts = np.bincount(np.searchsorted(edges, drawn, side="right"), minlength=len(edges) + 1)
    floor = _MIN_SHARE * len(drawn) / n_codes
    keep = np.ones(len(edges), dtype=np.bool_)
    sizes = counts.tolist()  # one entry per code, merged in place
    bounds = list(range(len(edges)))  # edge index separating sizes[c] and sizes[c + 1]
    while len(sizes) > 1:
        rare = min(range(len(sizes)), key=sizes.__getitem__)
        if sizes[rare] >= floor:
            break
        size = sizes.pop(rare)
        if rare == len(sizes) or (rare > 0 and sizes[rare - 1] <= sizes[rare]):
            sizes[rare - 1] += size  # into the previous code
            keep[bounds.pop(rare - 1)] = False
        else:
            sizes[rare] += size  # into the next code, now at the same index
            keep[bounds.pop(rare)] = False
    return edges[keep]


def binned_dataset(
    codes: npt.NDArray[np.float32], names: Sequence[str], params: dict[str, Any]
) -> lgb.Dataset:
    """The constructed shared Dataset over ``codes`` (features x rows): ``binned_blocks`` of one."""
    return binned_blocks([(codes, names)], params)


def binned_blocks(
    blocks: Iterable[tuple[npt.NDArray[np.float32], Sequence[str]]], params: dict[str, Any]
) -> lgb.Dataset:
    """The constructed shared Dataset over feature blocks (each features x the same rows).

    Each block becomes its own Dataset, merged into the first with ``add_features_from``.
    LightGBM bins every feature by itself, from sample rows that depend only on the row count
    and ``data_random_seed``, so the merged Dataset trains like one built over every column at
    once; but only one block's codes and bin-construction sample are in memory at a time (the
    whole-matrix build held all codes plus a sample of every feature: 5.8 GB at the seed's size,
    docs/benchmarks/seed_scale.md). The placeholder labels (all 0) exist only because LightGBM
    refuses a subset of an unlabelled Dataset; every subset gets its variant's own labels in
    ``screen_variant``.
    """
    merged: lgb.Dataset | None = None
    for codes, names in blocks:
        if codes.shape[0] != len(names):
            raise ValueError(f"{codes.shape[0]} code rows for {len(names)} names")
        block = lgb.Dataset(
            codes.T,  # rows x features, column-major: LightGBM reads it without a copy
            label=np.zeros(codes.shape[1], dtype=np.float32),
            feature_name=list(names),
            params=params,
            free_raw_data=True,
        ).construct()
        if merged is None:
            merged = block
            continue
        with warnings.catch_warnings():
            # it says it drops the raw data and the categorical features: there are neither
            warnings.simplefilter("ignore", UserWarning)
            merged.add_features_from(block)
    if merged is None:
        raise ValueError("no feature block to bin")
    return merged


def labelled_subset(
    parent: lgb.Dataset, rows: npt.NDArray[np.int64], labels: npt.NDArray[Any]
) -> lgb.Dataset:
    """Rows ``rows`` of ``parent`` with ``labels``: construct first, then set the labels.

    The order matters (LightGBM #5067): a subset keeps its parent's labels when they are set
    before ``construct()``. The labels LightGBM ends up holding are checked against ``labels``.
    """
    subset = parent.subset(np.asarray(rows, dtype=np.int32).tolist()).construct()
    return hold_labels(subset, labels)


def hold_labels(dataset: lgb.Dataset, labels: npt.NDArray[Any]) -> lgb.Dataset:
    """Set ``labels`` on the constructed ``dataset`` and check that LightGBM holds them."""
    dataset.set_label(np.asarray(labels, dtype=np.float32))
    held = dataset.get_field("label")
    if held is None or not np.array_equal(np.asarray(held), np.asarray(labels, dtype=np.float32)):
        raise RuntimeError("LightGBM does not hold the variant's labels for this Dataset")
    return dataset


def screen_variant(
    parent: lgb.Dataset,
    train: tuple[npt.NDArray[np.int64], npt.NDArray[Any]],
    valid: tuple[npt.NDArray[np.int64], npt.NDArray[Any]],
    params: dict[str, Any],
    config: SelectionConfig,
) -> Screen:
    """Train the shallow model on ``train`` rows (early stopping on ``valid``); gain per feature.

    ``train`` and ``valid`` are (rows of ``parent``, labels 0/1/2), each in time order. Gains are
    the booster's total gain at its best iteration.
    """
    start = time.perf_counter()
    train_set = labelled_subset(parent, *train)
    valid_set = labelled_subset(parent, *valid)
    gains, best, train_s = fit(train_set, valid_set, params, config)
    return Screen(gains, best, len(train[0]), len(valid[0]), train_s, time.perf_counter() - start)


def fit(
    train_set: lgb.Dataset, valid_set: lgb.Dataset, params: dict[str, Any], config: SelectionConfig
) -> tuple[npt.NDArray[np.float64], int, float]:
    """The shallow model on labelled Datasets: total gain per feature at the best iteration, that
    iteration and the seconds ``lgb.train`` took."""
    fit_start = time.perf_counter()
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.num_rounds,
        valid_sets=[valid_set],
        callbacks=[
            lgb.early_stopping(config.early_stopping, first_metric_only=True, verbose=False)
        ],
    )
    train_s = time.perf_counter() - fit_start
    gains = np.asarray(booster.feature_importance("gain"), dtype=np.float64)
    best = int(booster.best_iteration or booster.current_iteration())
    return gains, best, train_s


def rank_features(
    names: Sequence[str], gains: npt.NDArray[np.float64], top_k: int
) -> list[tuple[str, float]]:
    """The ``top_k`` features by total gain (ties: earlier name); features with no gain never."""
    order = sorted(
        (i for i in range(len(names)) if gains[i] > 0), key=lambda i: (-gains[i], names[i])
    )
    return [(names[i], float(gains[i])) for i in order[:top_k]]


def split_events(
    positions: npt.NDArray[np.int64],
    horizon: int,
    max_events: int,
    validation_fraction: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Indices (into ``positions``) of the train and validation events of one variant.

    ``positions`` are the bar positions of the variant's usable events (development, known label)
    in time order. The most recent ``max_events`` are taken; the last ``validation_fraction`` of
    them validates; training events whose label horizon reaches the first validation bar are
    purged (SPEC §7). Returns empty arrays when nothing is left to train or validate on.
    """
    count = len(positions)
    first = max(0, count - max_events)
    taken = np.arange(first, count, dtype=np.int64)
    n_valid = round(len(taken) * validation_fraction)
    if len(taken) < 2 or n_valid < 1 or n_valid >= len(taken):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    valid = taken[-n_valid:]
    head = taken[:-n_valid]
    train = head[positions[head] + horizon < positions[valid[0]]]
    if len(train) == 0:
        return train, train.copy()
    return train, valid
