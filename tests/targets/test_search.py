"""The first-crossing search equals a scan, for every crossing operator and range shape."""

from __future__ import annotations

import numpy as np
import pytest

from swingml.targets.search import Crossing, RangeTable


def scan(values: np.ndarray, start: int, end: int, limit: float, op: Crossing) -> int:
    for t in range(start, min(end, len(values) - 1) + 1):
        v = values[t]
        if (
            (op == ">" and v > limit)
            or (op == ">=" and v >= limit)
            or (op == "<" and v < limit)
            or (op == "<=" and v <= limit)
        ):
            return t
    return -1


@pytest.mark.parametrize("op", [">", ">=", "<", "<="])
def test_first_crossing_matches_a_scan(op: Crossing) -> None:
    rng = np.random.default_rng(5)
    values = np.round(rng.normal(size=500).cumsum(), 0)  # integers: many exact ties
    table = RangeTable(values, "max" if op[0] == ">" else "min", 200)
    starts = rng.integers(0, 520, size=3000)
    ends = starts + rng.integers(-1, 200, size=3000)
    limits = values[np.minimum(starts, 499)] + rng.integers(-3, 4, size=3000)
    got = table.first_crossing(starts, ends, limits.astype(np.float64), op)
    expected = [scan(values, s, e, lim, op) for s, e, lim in zip(starts, ends, limits, strict=True)]
    assert got.tolist() == expected


def test_ranges_longer_than_the_table_span_are_refused() -> None:
    table = RangeTable(np.arange(100, dtype=np.float64), "max", 7)
    with pytest.raises(ValueError, match="longer than"):
        table.first_crossing(np.array([0]), np.array([10]), np.array([50.0]), ">")


def test_operator_must_match_the_table() -> None:
    table = RangeTable(np.arange(10, dtype=np.float64), "min", 5)
    with pytest.raises(ValueError, match="max"):
        table.first_crossing(np.array([0]), np.array([3]), np.array([5.0]), ">")
