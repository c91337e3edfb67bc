"""The variant grid: sizes, ids, order, main variants and reading one variant back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from swingml.config import load_config
from swingml.errors import BadInputError
from swingml.io.store import RunStore
from swingml.targets.grid import Variant, main_variants, variants
from swingml.workflow.loading import load_variant


def test_default_grid_has_864_variants_and_36_main_variants() -> None:
    config = load_config()
    assert len(variants(config)) == 864
    groups = main_variants(config)
    assert len(groups) == 36
    assert all(len(group) == 24 for group in groups.values())  # 2 kinds x 4 s x 3 k per side
    assert list(groups)[:2] == ["BTCUSDT-w2-high", "BTCUSDT-w2-low"]


def test_the_2160_grid_loads_from_its_profile_and_from_its_grid_file() -> None:
    grid_file = Path(__file__).resolve().parents[2] / "configs" / "grids" / "grid-2160.yaml"
    for config in (load_config("grid-2160"), load_config(files=[grid_file])):
        assert len(variants(config)) == 2160
        per_window = len(variants(config)) // (len(config.data.symbols) * len(config.grid.windows))
        assert per_window == 120
        assert len(main_variants(config)) == 36


def test_variant_ids_names_and_horizon() -> None:
    variant = Variant("BTCUSDT", 5, "high_breakout", 2.0, 1.0)
    assert variant.id == "BTCUSDT/w5/high_breakout/s2.0/k1.0"
    assert variant.slug == "BTCUSDT__w5__high_breakout__s2.0__k1.0"
    assert variant.side == "high" and variant.mode == "breakout"
    assert variant.main_id == "BTCUSDT-w5-high"
    assert variant.column == "target__high_breakout__w5__s2.0__k1.0"
    assert variant.horizon(load_config().targets) == 10
    low = Variant("SOLUSDT", 50, "low_reversion", 1.5, 0.5)
    assert low.main_id == "SOLUSDT-w50-low" and low.mode == "reversion"
    assert Variant.from_id(variant.id) == variant
    assert Variant.from_id(low.slug) == low
    with pytest.raises(ValueError, match="not a variant id"):
        Variant.from_id("BTCUSDT/w5/sideways/s2.0/k1.0")


def test_variants_are_in_a_deterministic_nested_order() -> None:
    config = load_config()
    listed = variants(config)
    assert listed == variants(config)
    assert len({v.id for v in listed}) == len(listed)
    assert listed[0].id == "BTCUSDT/w2/high_breakout/s1.0/k0.5"
    assert listed[1].id == "BTCUSDT/w2/high_breakout/s1.0/k1.0"
    assert listed[3].id == "BTCUSDT/w2/high_breakout/s1.5/k0.5"
    assert listed[-1].id == "SOLUSDT/w50/low_reversion/s2.5/k1.5"


def test_load_variant_reads_one_variant_in_time_order(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    stamps = pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC").as_unit("ms")
    frame = pd.DataFrame(
        {
            "timestamp": [stamps[2], stamps[0], stamps[1], stamps[3]],
            "kind": pd.Categorical(
                ["high_breakout", "high_breakout", "low_breakout", "high_breakout"]
            ),
            "w": [5, 5, 5, 5],
            "s": [2.0, 2.0, 2.0, 2.0],
            "k": [1.0, 1.0, 1.0, 0.5],
            "label": pd.array([2, None, 1, 0], dtype="Int8"),
        }
    )
    store.ensure("targets")
    frame.to_parquet(store.targets_path("BTCUSDT"), index=False)
    got = load_variant(store, Variant("BTCUSDT", 5, "high_breakout", 2.0, 1.0))
    assert list(got.columns) == ["timestamp", "label"]
    assert got["timestamp"].tolist() == [stamps[0], stamps[2]]
    assert got["label"].tolist() == [pd.NA, 2]
    assert str(got["label"].dtype) == "Int8"
    with pytest.raises(BadInputError, match="swingml targets"):
        load_variant(store, Variant("ETHUSDT", 5, "high_breakout", 2.0, 1.0))
