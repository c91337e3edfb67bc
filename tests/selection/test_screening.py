"""Screening: quantile codes, the shared binned Dataset, the subset-label guard, event splits."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from swingml.config import SelectionConfig
from swingml.selection import screening

CONFIG = SelectionConfig(num_rounds=40, early_stopping=10, max_events=5000, min_events=20)


def _problem(seed: int = 0, n: int = 3000, f: int = 12) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((f, n)).astype(np.float32)
    values[3] = rng.integers(0, 6, n)  # few distinct values, none rare
    values[4, rng.random(n) < 0.1] = np.nan
    return values, [f"f{i:02d}" for i in range(f)]


def _labels(values: np.ndarray, rows: np.ndarray, feature: int, seed: int) -> np.ndarray:
    """Labels driven by one feature plus noise, so that feature must win the gain ranking."""
    rng = np.random.default_rng(seed)
    x = np.nan_to_num(values[feature, rows])
    y = np.where(x > 0.5, 1, np.where(x < -0.5, 2, 0))
    flip = rng.random(len(rows)) < 0.15
    y[flip] = rng.integers(0, 3, flip.sum())
    return y.astype(np.int64)


def test_codes_are_monotone_bounded_and_nan_is_lowest() -> None:
    values, _ = _problem()
    values[5, :3] = [np.inf, -np.inf, np.nan]
    codes = screening.quantile_codes(values, n_codes=62, sample=2000)
    assert (codes[4, np.isnan(values[4])] == -1).all()  # 10 % NaN: a code of its own
    assert codes[5, 2] == 0  # one NaN in 3000 rows: too rare, joins the lowest code
    for i in range(len(values)):
        known = ~np.isnan(values[i])
        order = np.argsort(values[i, known], kind="stable")
        assert (np.diff(codes[i, known][order]) >= 0).all()
        assert codes[i, known].min() >= 0 and codes[i].max() <= 61
    assert codes[5, 0] == codes[5].max() and codes[5, 1] == 0
    assert set(np.unique(codes[3][codes[3] >= 0])) == set(
        range(len(np.unique(values[3])))
    )  # few distinct values: lossless


def test_rare_codes_are_merged_into_a_neighbour() -> None:
    row = np.zeros((1, 10_000), dtype=np.float32)
    row[0, :3] = 5.0  # 3 of 10 000 rows: far below a quarter of a fair share
    row[0, 3:5003] = 1.0
    codes = screening.quantile_codes(row, n_codes=62, sample=10_000)
    assert len(np.unique(codes)) == 2
    assert codes[0, 0] == codes[0, 4]


def test_a_rare_code_joins_its_smaller_neighbour() -> None:
    row = np.concatenate([np.zeros(5000), np.ones(3), np.full(100, 2.0), np.full(4897, 3.0)])
    codes = screening.quantile_codes(row[None, :].astype(np.float32), n_codes=62, sample=10_000)
    assert np.unique(codes).tolist() == [0.0, 1.0, 2.0]
    assert codes[0, 5000] == codes[0, 5003] == 1.0  # value 1 merged with value 2, not 0


def test_every_code_holds_a_fair_share_on_skewed_data() -> None:
    rng = np.random.default_rng(11)
    rows = np.stack(
        [
            rng.geometric(0.3, 4000),
            rng.geometric(0.05, 4000),
            np.round(rng.standard_cauchy(4000)),
            rng.poisson(0.2, 4000),
        ]
    ).astype(np.float32)
    codes = screening.quantile_codes(rows, n_codes=62, sample=4000)
    for row in codes:
        counts = np.unique(row, return_counts=True)[1]
        assert counts.min() >= 0.25 * 4000 / 62


def test_labels_set_before_construct_are_lost_so_we_construct_first() -> None:
    """LightGBM #5067: the guard is needed, and ``labelled_subset`` holds the variant's labels."""
    values, names = _problem()
    codes = screening.quantile_codes(values, 62, 5000)
    params = screening.dataset_params(CONFIG, threads=1, seed=1)
    parent = screening.binned_dataset(codes, names, params)
    rows = np.arange(100, 600)
    labels = np.full(len(rows), 2)
    wrong_order = parent.subset(rows.tolist())
    wrong_order.set_label(labels)
    wrong_order.construct()
    assert set(np.unique(wrong_order.get_field("label"))) == {0.0}  # the parent's placeholders
    right = screening.labelled_subset(parent, rows, labels)
    np.testing.assert_array_equal(right.get_field("label"), labels.astype(np.float32))


def test_each_variant_trains_on_its_own_labels() -> None:
    """Two variants on the same rows with labels driven by different features rank differently."""
    values, names = _problem()
    codes = screening.quantile_codes(values, 62, 5000)
    params = screening.train_params(CONFIG, threads=1, seed=1)
    parent = screening.binned_dataset(codes, names, screening.dataset_params(CONFIG, 1, 1))
    rows = np.arange(3000)
    top = []
    for feature in (0, 7):
        y = _labels(values, rows, feature, seed=feature)
        result = screening.screen_variant(
            parent, (rows[:2400], y[:2400]), (rows[2400:], y[2400:]), params, CONFIG
        )
        top.append(screening.rank_features(names, result.gains, 3)[0][0])
    assert top == ["f00", "f07"]


def test_shared_dataset_gives_the_same_gains_as_a_fresh_one() -> None:
    values, names = _problem(seed=3)
    codes = screening.quantile_codes(values, 62, 5000)
    params = screening.train_params(CONFIG, threads=1, seed=1)
    parent = screening.binned_dataset(codes, names, screening.dataset_params(CONFIG, 1, 1))
    rows = np.sort(np.random.default_rng(4).choice(3000, 1500, replace=False))
    y = _labels(values, rows, 5, seed=5)
    shared = screening.screen_variant(
        parent, (rows[:1200], y[:1200]), (rows[1200:], y[1200:]), params, CONFIG
    )
    train = lgb.Dataset(codes[:, rows[:1200]].T, label=y[:1200], params=params)
    valid = lgb.Dataset(codes[:, rows[1200:]].T, label=y[1200:], reference=train)
    fresh = lgb.train(
        params,
        train,
        num_boost_round=CONFIG.num_rounds,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(CONFIG.early_stopping, verbose=False)],
    )
    np.testing.assert_array_equal(shared.gains, fresh.feature_importance("gain"))
    assert shared.best_iteration == fresh.best_iteration


def test_blocks_train_like_one_dataset(tmp_path: Path) -> None:
    """The select stage bins a block of features at a time: same model as binning all at once.

    The blocks include one of constant features (nothing LightGBM can split) and sparse
    features (mostly one code, which LightGBM may bundle), and both go through ``save_binary``.
    """
    values, names = _problem(seed=8, f=20)
    rng = np.random.default_rng(9)
    values[12:16] = 0.0
    for i in range(16, 20):  # sparse: 3 % of rows take a second value
        values[i] = np.where(rng.random(values.shape[1]) < 0.03, 1.0, 0.0)
    values[16, 1000:1500] = np.where(values[0, 1000:1500] > 0, 1.0, 0.0)  # and informative
    codes = screening.quantile_codes(values, 62, 5000)
    params = screening.dataset_params(CONFIG, 1, 1)
    rows = np.arange(3000)
    y = _labels(values, rows, 0, seed=10)
    gains = []
    for blocks in ([(0, 20)], [(0, 12), (12, 16), (16, 20)]):
        built = screening.binned_blocks(
            [(np.ascontiguousarray(codes[a:b]), names[a:b]) for a, b in blocks], params
        )
        path = tmp_path / f"{len(blocks)}.bin"
        built.save_binary(str(path))
        parent = lgb.Dataset(str(path), params=params).construct()
        assert parent.get_feature_name() == names
        result = screening.screen_variant(
            parent,
            (rows[:2400], y[:2400]),
            (rows[2400:], y[2400:]),
            screening.train_params(CONFIG, 1, 1),
            CONFIG,
        )
        gains.append((result.gains, result.best_iteration))
    np.testing.assert_array_equal(gains[0][0], gains[1][0])
    assert gains[0][1] == gains[1][1]
    assert gains[0][0][16] > 0


def test_screening_is_deterministic() -> None:
    values, names = _problem(seed=6)
    codes = screening.quantile_codes(values, 62, 5000)
    params = screening.train_params(CONFIG, threads=1, seed=1)
    rows = np.arange(3000)
    y = _labels(values, rows, 2, seed=2)
    runs = []
    for _ in range(2):
        parent = screening.binned_dataset(codes, names, screening.dataset_params(CONFIG, 1, 1))
        runs.append(
            screening.screen_variant(
                parent, (rows[:2400], y[:2400]), (rows[2400:], y[2400:]), params, CONFIG
            ).gains
        )
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize(
    ("base", "options"),
    [
        ({"sampling": "bagging"}, {"sampling": "goss"}),
        ({"sampling": "goss"}, {"sampling": "bagging"}),
        ({}, {"feature_fraction": 0.5}),
    ],
)
def test_sampling_options_draw_other_trees_and_keep_the_driving_feature(
    base: dict[str, object], options: dict[str, object]
) -> None:
    """GOSS, bagging and column sampling change the trees (so each option is live), not what
    drives y."""
    today_config = CONFIG.model_copy(update=base)
    config = today_config.model_copy(update=options)
    values, names = _problem(seed=8)
    codes = screening.quantile_codes(values, 62, 5000)
    parent = screening.binned_dataset(codes, names, screening.dataset_params(config, 1, 1))
    rows = np.arange(3000)
    y = _labels(values, rows, 9, seed=9)
    split = ((rows[:2400], y[:2400]), (rows[2400:], y[2400:]))
    today_params = screening.train_params(today_config, threads=1, seed=1)
    today = screening.screen_variant(parent, *split, today_params, today_config)
    params = screening.train_params(config, threads=1, seed=1)
    assert ("bagging_freq" in params) == (config.sampling == "bagging")
    option = screening.screen_variant(parent, *split, params, config)
    assert not np.array_equal(option.gains, today.gains)
    assert screening.rank_features(names, option.gains, 1)[0][0] == "f09"


def test_rank_features_orders_by_gain_then_name_and_skips_zero() -> None:
    names = ["c", "a", "b", "d"]
    gains = np.array([5.0, 5.0, 9.0, 0.0])
    assert screening.rank_features(names, gains, 10) == [("b", 9.0), ("a", 5.0), ("c", 5.0)]
    assert screening.rank_features(names, gains, 2) == [("b", 9.0), ("a", 5.0)]


def test_split_takes_the_most_recent_events_and_purges_the_horizon() -> None:
    positions = np.arange(0, 2000, 2, dtype=np.int64)  # 1000 events, one every 2 bars
    train, valid = screening.split_events(
        positions, horizon=10, max_events=500, validation_fraction=0.2
    )
    assert len(valid) == 100
    assert valid.tolist() == list(range(900, 1000))
    assert train[0] == 500  # only the most recent 500 events
    first_valid_bar = positions[valid[0]]
    assert (positions[train] + 10 < first_valid_bar).all()
    assert train[-1] == 894  # events at bars 1790..1798 reach bar 1800: purged
    assert len(train) == 395


@pytest.mark.parametrize("count", [0, 1, 3])
def test_split_with_too_few_events_is_empty(count: int) -> None:
    train, valid = screening.split_events(np.arange(count, dtype=np.int64), 2, 100, 0.2)
    assert len(train) == 0 and len(valid) == 0
