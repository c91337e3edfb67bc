"""Each per-feature prep filter's rule (SPEC §5), at its boundary, on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from swingml.prep.filters import (
    CorrelationFilter,
    LowVarianceFilter,
    MissingFilter,
    NanFilter,
    QuasiConstantFilter,
)


def _with_nan(n: int, nan: int, inf: int = 0) -> np.ndarray:
    col = np.arange(n, dtype=np.float32) + 1.0
    col[:nan] = np.nan
    col[nan : nan + inf] = np.inf
    return col


def test_missing_boundary_exactly_70_percent_is_kept() -> None:
    frame = pd.DataFrame(
        {
            "at_70": _with_nan(10, 7),
            "at_80": _with_nan(10, 8),
            "inf_counts": _with_nan(10, 3, inf=5),
            "clean": _with_nan(10, 0),
        }
    )
    selector = MissingFilter(0.70).fit(frame)
    assert list(selector.get_feature_names_out()) == ["at_70", "clean"]
    np.testing.assert_allclose(selector.stat_, [0.7, 0.8, 0.8, 0.0])


def test_missing_boundary_70_1_percent_is_dropped() -> None:
    frame = pd.DataFrame({"at_70_0": _with_nan(1000, 700), "at_70_1": _with_nan(1000, 701)})
    selector = MissingFilter(0.70).fit(frame)
    assert selector.get_support().tolist() == [True, False]
    report = selector.report()
    assert report.dropped == 1
    assert report.examples[0]["feature"] == "at_70_1"


def test_nan_counts_only_rows_where_the_coin_has_a_bar() -> None:
    n = 100
    absent_coin = np.full(n, np.nan, dtype=np.float32)
    absent_coin[:10] = 1.0  # the coin trades on 10 rows only, all computed
    broken = np.full(n, np.nan, dtype=np.float32)
    broken[:9] = 1.0  # NaN on 91 % of present rows
    at_limit = np.full(n, np.nan, dtype=np.float32)
    at_limit[:10] = 1.0  # NaN on exactly 90 % of present rows
    infinite = np.full(n, np.inf, dtype=np.float32)  # ±inf is missing, not NaN
    frame = pd.DataFrame(
        {"absent_coin": absent_coin, "broken": broken, "at_limit": at_limit, "inf": infinite}
    )
    present = np.ones((n, 4), dtype=bool)
    present[10:, 0] = False
    selector = NanFilter(0.90).fit(frame, present=present)
    assert selector.get_support().tolist() == [True, False, True, True]
    np.testing.assert_allclose(selector.stat_, [0.0, 0.91, 0.90, 0.0])
    assert MissingFilter(0.70).fit(frame).get_support().tolist() == [False, False, False, False]


def test_nan_without_mask_counts_every_row() -> None:
    frame = pd.DataFrame({"a": _with_nan(100, 91), "b": _with_nan(100, 90)})
    assert NanFilter(0.90).fit(frame).get_support().tolist() == [False, True]


def test_quasi_constant_boundary() -> None:
    n = 100
    at_95 = np.zeros(n, dtype=np.float32)
    at_95[:5] = np.arange(1, 6)
    at_96 = np.zeros(n, dtype=np.float32)
    at_96[:4] = np.arange(1, 5)
    with_nan = np.ones(n, dtype=np.float32)  # 48 of 50 finite values are 1: 96 %
    with_nan[:50] = np.nan
    with_nan[50:52] = [2.0, 3.0]
    all_nan = np.full(n, np.nan, dtype=np.float32)
    frame = pd.DataFrame({"at_95": at_95, "at_96": at_96, "with_nan": with_nan, "all_nan": all_nan})
    selector = QuasiConstantFilter(0.95).fit(frame)
    assert selector.get_support().tolist() == [True, False, False, False]
    np.testing.assert_allclose(selector.stat_, [0.95, 0.96, 0.96, 1.0])


def test_low_variance_is_scale_free() -> None:
    rng = np.random.default_rng(0)
    returns = rng.normal(0.0, 0.01, 500)
    price = 30_000.0 + rng.normal(0.0, 1.0, 500)  # relative spread 3e-5: var ratio ~1e-9
    frame = pd.DataFrame(
        {
            "returns": returns,
            "returns_x1e4": returns * 1e4,
            "flat_price": price,
            "price_x1e-4": price * 1e-4,
            "zeros": np.zeros(500),
        }
    )
    selector = LowVarianceFilter(1e-6).fit(frame)
    assert selector.get_support().tolist() == [True, True, False, False, False]
    np.testing.assert_allclose(selector.stat_[0], selector.stat_[1], rtol=1e-9)
    np.testing.assert_allclose(selector.stat_[2], selector.stat_[3], rtol=1e-6)
    assert selector.stat_[4] == 0.0


def test_low_variance_boundary_is_inclusive() -> None:
    frame = pd.DataFrame({"unit": [1.0, -1.0, 1.0, -1.0, np.nan]})  # var 1, mean |x| 1
    assert LowVarianceFilter(1.0).fit(frame).get_support().tolist() == [True]
    assert LowVarianceFilter(1.0001).fit(frame).get_support().tolist() == [False]


def test_selectors_follow_the_sklearn_contract() -> None:
    frame = pd.DataFrame({"a": _with_nan(10, 8), "b": _with_nan(10, 0)})
    selector = MissingFilter(0.5)
    assert selector.get_params() == {"max_fraction": 0.5}
    fitted = selector.fit(frame)
    assert fitted is selector
    assert selector.n_features_in_ == 2
    assert list(selector.get_feature_names_out()) == ["b"]
    assert selector.transform(frame).shape == (10, 1)
    out = clone(selector).set_output(transform="pandas").fit(frame).transform(frame)
    assert list(out.columns) == ["b"]
    fresh = clone(selector)
    assert not hasattr(fresh, "support_")
    assert fresh.get_params() == {"max_fraction": 0.5}
    array_fit = MissingFilter(0.5).fit(frame.to_numpy())
    assert list(array_fit.get_feature_names_out()) == ["x1"]


def test_unfitted_selector_refuses_to_report() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MissingFilter().get_support()


@pytest.mark.parametrize(
    ("selector", "param"),
    [
        (MissingFilter(1.5), "max_fraction"),
        (NanFilter(-0.1), "max_fraction"),
        (QuasiConstantFilter(2.0), "max_fraction"),
        (LowVarianceFilter(-1.0), "min_variance"),
        (CorrelationFilter(0.0), "threshold"),
        (CorrelationFilter(0.9, block_columns=0), "block_columns"),
    ],
)
def test_bad_parameters_are_named(selector: object, param: str) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=param):
        selector.fit(frame)  # type: ignore[attr-defined]
