"""Small hand-made variant rows with a learnable signal, shared by the tuning tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from swingml.modeling.rows import VariantRows


def make_rows(n: int = 600, features: int = 12, seed: int = 0, horizon: int = 6) -> VariantRows:
    """Events at increasing bars; class depends on the first two features plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype(np.float32)
    noise = rng.normal(scale=0.7, size=n)
    y = np.where(X[:, 0] + noise > 0.6, 1, np.where(X[:, 1] + noise > 0.6, 2, 0))
    bars = np.cumsum(rng.integers(1, 5, size=n)).astype(np.int64)
    names = tuple(f"BTC__f{i}" for i in range(features))
    return VariantRows(X, y.astype(np.int64), bars, names, horizon)


RowsFactory = Callable[..., VariantRows]


@pytest.fixture
def rows() -> VariantRows:
    return make_rows()


@pytest.fixture
def rows_factory() -> RowsFactory:
    return make_rows
