"""The correlation filter: keep rule, blocking, and agreement with a brute-force greedy pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swingml.prep import correlation
from swingml.prep.filters import CorrelationFilter


def _pair(rng: np.random.Generator, n: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Two series with sample correlation close to ``r``."""
    a = rng.standard_normal(n)
    b = r * a + np.sqrt(1 - r * r) * rng.standard_normal(n)
    return a, b


def test_fewer_missing_wins_over_earlier_name() -> None:
    rng = np.random.default_rng(1)
    a, b = _pair(rng, 2000, 0.99)
    a[:100] = np.nan  # "a_first" has more missing values than "b_second"
    frame = pd.DataFrame({"a_first": a, "b_second": b})
    selector = CorrelationFilter(0.9).fit(frame)
    assert list(selector.get_feature_names_out()) == ["b_second"]
    assert selector.partner_["a_first"][0] == "b_second"
    assert selector.partner_["a_first"][1] > 0.9


def test_equal_missing_keeps_the_earlier_name_whatever_the_column_order() -> None:
    rng = np.random.default_rng(2)
    a, b = _pair(rng, 2000, 0.98)
    frame = pd.DataFrame({"zeta": a, "alpha": -b})  # negative correlation counts too
    selector = CorrelationFilter(0.9).fit(frame)
    assert list(selector.get_feature_names_out()) == ["alpha"]


def test_a_dropped_feature_does_not_drop_others() -> None:
    """a~b and b~c above the threshold, a~c below: greedy keeps a and c."""
    rng = np.random.default_rng(3)
    n = 20_000
    base, x = rng.standard_normal((2, n))
    a, b, c = base + 0.4 * x, base, base - 0.4 * x  # r(a,b)=r(b,c)~0.93, r(a,c)~0.72
    corr = np.corrcoef([a, b, c])
    assert corr[0, 1] > 0.91 and corr[1, 2] > 0.91 and corr[0, 2] < 0.8
    selector = CorrelationFilter(0.9).fit(pd.DataFrame({"a": a, "b": b, "c": c}))
    assert list(selector.get_feature_names_out()) == ["a", "c"]
    assert selector.partner_["b"][0] == "a"


def test_just_below_the_threshold_is_kept() -> None:
    rng = np.random.default_rng(4)
    a, b = _pair(rng, 5000, 0.85)
    r = abs(np.corrcoef(a, b)[0, 1])
    frame = pd.DataFrame({"a": a, "b": b})
    assert CorrelationFilter(r + 1e-3).fit(frame).get_support().tolist() == [True, True]
    assert CorrelationFilter(r - 1e-3).fit(frame).get_support().tolist() == [True, False]


def _brute_force(values: np.ndarray, names: list[str], threshold: float) -> list[bool]:
    """Textbook greedy over a full float64 correlation matrix of the mean-imputed data."""
    filled = values.copy()
    missing = (~np.isfinite(filled)).sum(axis=0)
    for j in range(filled.shape[1]):
        col = filled[:, j]
        col[~np.isfinite(col)] = np.nanmean(np.where(np.isfinite(col), col, np.nan))
    corr = np.corrcoef(filled.T)
    order = sorted(range(len(names)), key=lambda j: (missing[j], names[j]))
    kept: list[int] = []
    for j in order:
        if all(abs(corr[j, k]) <= threshold for k in kept):
            kept.append(j)
    return [j in kept for j in range(len(names))]


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_blocked_greedy_matches_brute_force(block: int) -> None:
    rng = np.random.default_rng(5)
    n, groups = 3000, 12
    base = rng.standard_normal((n, groups))
    cols = []
    for g in range(groups):
        for noise in (0.05, 0.2, 0.4, 0.8):
            cols.append(base[:, g] + noise * rng.standard_normal(n))
    values = np.column_stack(cols).astype(np.float32)
    values[rng.random(values.shape) < 0.02] = np.nan
    names = [f"f{(j * 7) % len(cols):02d}" for j in range(len(cols))]
    expected = _brute_force(values.astype(np.float64), names, 0.9)
    got = CorrelationFilter(0.9, block_columns=block).fit(pd.DataFrame(values, columns=names))
    assert got.get_support().tolist() == expected
    assert 0 < sum(expected) < len(names)


def test_kept_set_is_equivalent_to_the_rule() -> None:
    """No kept pair above the threshold; every dropped feature has a kept partner above it."""
    rng = np.random.default_rng(6)
    base = rng.standard_normal((4000, 10))
    values = np.column_stack(
        [base[:, j % 10] + 0.1 * rng.standard_normal(4000) * (j // 10 + 1) for j in range(40)]
    )
    frame = pd.DataFrame(values, columns=[f"c{j:02d}" for j in range(40)])
    selector = CorrelationFilter(0.9, block_columns=8).fit(frame)
    corr = np.abs(np.corrcoef(values.T))
    kept = np.flatnonzero(selector.get_support())
    dropped = np.flatnonzero(~selector.get_support())
    assert (corr[np.ix_(kept, kept)] - np.eye(len(kept)) <= 0.9 + 1e-5).all()
    assert all((corr[j, kept] > 0.9 - 1e-5).any() for j in dropped)
    assert len(dropped) > 0


def test_constant_feature_correlates_with_nothing() -> None:
    frame = pd.DataFrame({"flat": np.ones(100), "x": np.arange(100.0)})
    assert CorrelationFilter(0.9).fit(frame).get_support().tolist() == [True, True]


def test_permute_rows_in_place() -> None:
    values = np.arange(20, dtype=np.float32).reshape(5, 4)
    order = np.array([3, 0, 4, 1, 2])
    expected = values[order].copy()
    correlation.permute_rows(values, order)
    np.testing.assert_array_equal(values, expected)


def test_keep_order_sorts_by_missing_then_name() -> None:
    order = correlation.keep_order([2, 0, 0, 1], ["d", "c", "a", "b"])
    assert order.tolist() == [2, 1, 3, 0]
