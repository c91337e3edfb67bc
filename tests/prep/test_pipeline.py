"""The prep chain: SPEC order, development rows only, block-invariance, sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swingml.config import PrepConfig
from swingml.prep.pipeline import Block, development_rows, fit_frame, run_filters, union_bars

CUTOFF = pd.Timestamp("2024-01-01 00:00", tz="UTC")


def _frame(n_dev: int = 400, n_hold: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_dev + n_hold
    stamps = pd.date_range(CUTOFF - pd.Timedelta(hours=n_dev), periods=n, freq="1h", tz="UTC")
    signal = rng.standard_normal(n)
    frame = pd.DataFrame({"timestamp": stamps})
    frame["signal"] = signal
    frame["signal_copy"] = signal * 3.0 + 0.01 * rng.standard_normal(n)
    frame["mostly_nan"] = np.where(rng.random(n) < 0.8, np.nan, signal)
    frame["constant_in_dev"] = np.r_[np.ones(n_dev), rng.standard_normal(n_hold)]
    frame["varies_in_dev_only"] = np.r_[rng.standard_normal(n_dev), np.ones(n_hold)]
    frame["tiny_spread"] = 50_000.0 + 1e-3 * rng.standard_normal(n)
    frame["other"] = rng.standard_normal(n)
    return frame


def test_statistics_use_development_rows_only() -> None:
    result = fit_frame(_frame(), CUTOFF, PrepConfig())
    assert "constant_in_dev" not in result.kept
    assert "varies_in_dev_only" in result.kept
    assert result.rows == 400


def test_filters_run_in_spec_order_and_report_each_drop() -> None:
    result = fit_frame(_frame(), CUTOFF, PrepConfig())
    rules = [report.rule for report in result.reports]
    assert rules == ["missing", "nan", "quasi_constant", "low_variance", "correlation"]
    dropped = {r.rule: [e["feature"] for e in r.examples] for r in result.reports}
    assert dropped["missing"] == ["mostly_nan"]
    assert dropped["quasi_constant"] == ["constant_in_dev"]
    assert dropped["low_variance"] == ["tiny_spread"]
    assert dropped["correlation"] == ["signal_copy"]
    assert result.kept == ["signal", "varies_in_dev_only", "other"]
    counts = [(r.features_in, r.dropped) for r in result.reports]
    assert counts == [(7, 1), (6, 0), (6, 1), (5, 1), (4, 1)]


def test_blocks_give_the_same_answer_as_one_matrix() -> None:
    rng = np.random.default_rng(7)
    n = 600
    base = rng.standard_normal((n, 8))
    cols = {
        f"f{j:02d}": base[:, j % 8] + 0.1 * (j // 8 + 1) * rng.standard_normal(n) for j in range(32)
    }
    cols["sparse"] = np.where(rng.random(n) < 0.9, np.nan, 1.0)
    cols["flat"] = np.zeros(n)
    frame = pd.DataFrame(cols).astype(np.float32)
    names = list(frame.columns)
    values = frame.to_numpy()
    whole = run_filters([Block(names, values)], PrepConfig(), len(names))
    blocks = [Block(names[i : i + 5], values[:, i : i + 5]) for i in range(0, len(names), 5)]
    pieces = run_filters(blocks, PrepConfig(block_columns=16), len(names))
    assert pieces.kept == whole.kept
    assert [r.dropped for r in pieces.reports] == [r.dropped for r in whole.reports]
    assert whole.features_in == len(names)


def test_present_mask_separates_absent_bars_from_nan() -> None:
    n = 200
    values = np.full((n, 2), np.nan, dtype=np.float32)
    values[:100, 0] = np.arange(100)  # coin listed half-way: absent before, computed after
    values[:15, 1] = np.arange(15)  # coin trades on all rows, generator NaN on 92.5 %
    present = np.ones((n, 2), dtype=bool)
    present[100:, 0] = False
    config = PrepConfig(max_missing=1.0, max_nan=0.9)
    result = run_filters([Block(["late_coin", "broken"], values, present)], config, 2)
    assert result.kept == ["late_coin"]
    assert result.reports[1].examples[0]["feature"] == "broken"


def test_development_rows_are_before_the_cutoff_and_evenly_spaced() -> None:
    stamps = pd.date_range("2023-01-01", periods=1000, freq="1h", tz="UTC")
    cutoff = stamps[800]
    rows = development_rows(pd.Series(stamps), cutoff, 100)
    assert len(rows) == 100
    assert rows.max() < cutoff
    assert rows[0] == stamps[0] and rows[-1] == stamps[799]
    gaps = np.diff(rows.asi8)
    assert gaps.max() - gaps.min() <= 3600 * 10**9 * 1  # even spacing, up to rounding
    assert development_rows(pd.Series(stamps), cutoff, 5000).equals(pd.DatetimeIndex(stamps[:800]))


def test_mismatched_blocks_are_refused() -> None:
    with pytest.raises(ValueError, match="rows"):
        run_filters(
            [Block(["a"], np.zeros((5, 1))), Block(["b"], np.zeros((6, 1)))], PrepConfig(), 2
        )


def test_union_bars_merges_every_symbols_bars_sorted_in_utc() -> None:
    a = pd.date_range("2024-01-01", periods=3, freq="1h", tz="UTC")
    b = pd.date_range("2024-01-01 01:00", periods=3, freq="1h", tz="UTC")
    union = union_bars({"A": a, "B": b})
    assert list(union) == list(pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC"))
    assert str(union.tz) == "UTC"
