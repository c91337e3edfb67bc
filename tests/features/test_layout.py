"""The store's layout: block sizes share the memory budget among the workers that can run."""

from __future__ import annotations

import pytest

from swingml.config import load_config
from swingml.errors import BadInputError
from swingml.features.generate import block_size
from swingml.features.layout import check_short_names, plan_layout
from swingml.features.plan import make_plan, plan_spec


def test_blocks_share_the_budget_among_concurrent_workers() -> None:
    config = load_config(overrides=["features.profile=tiny", "features.memory_budget_mb=4096"])
    plan = make_plan(plan_spec(config))
    rows = {"BTCUSDT": 200_000, "ETHUSDT": 100_000}
    fps = {"BTCUSDT": "a", "ETHUSDT": "b"}
    one = plan_layout(plan, rows, fps, config.features, max_processes=1)
    four = plan_layout(plan, rows, fps, config.features, max_processes=4)
    block_columns = config.features.block_columns
    assert one.blocks["BTCUSDT"] == block_size(200_000, block_columns, 4096)
    assert four.blocks["BTCUSDT"] == block_size(200_000, block_columns, 1024)
    assert four.cross_block == block_size(200_000, block_columns, 1024)
    assert one.symbols == ["BTCUSDT", "ETHUSDT"]


def test_one_symbol_has_no_cross_coin_blocks() -> None:
    config = load_config(overrides=["features.profile=tiny"])
    plan = make_plan(plan_spec(config))
    layout = plan_layout(plan, {"BTCUSDT": 1_000}, {"BTCUSDT": "a"}, config.features, 2)
    assert layout.cross_block is None


def test_short_names_must_differ_and_not_be_the_cross_prefix() -> None:
    check_short_names(["BTCUSDT", "ETHUSDT"])
    with pytest.raises(BadInputError, match=r"data.symbols\[1\]"):
        check_short_names(["BTCUSDT", "BTCBUSD"])
    with pytest.raises(BadInputError, match="cross-coin"):
        check_short_names(["XUSDT"])
