"""The feature store on disk: blocks, metadata, resume by fingerprint, bounded memory."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from swingml.config import load_config
from swingml.features import generate
from swingml.features.plan import make_plan, plan_spec
from swingml.io.store import RunStore
from swingml.workflow.pipeline import StageContext, run_stage

TINY = [
    "features.profile=tiny",
    "features.timeframes=[4h]",
    "executor.max_concurrent_processes=1",
]


def run_features(store: RunStore, *sets: str) -> dict[str, Any]:
    config = load_config(None, (), [*TINY, *sets], store.root)
    ctx = StageContext(config, store, Console(stderr=True, quiet=True))
    run_stage("features", ctx)
    entry: dict[str, Any] = store.read_summary()["stages"]["features"]
    return entry


def metadata(store: RunStore) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((store.features_dir() / "metadata.json").read_text())
    return data


def test_blocks_hold_at_most_block_columns_and_match_metadata(run_store: RunStore) -> None:
    summary = run_features(run_store, "features.block_columns=8")
    meta = metadata(run_store)
    files: dict[str, list[str]] = {}
    for entry in meta["features"]:
        files.setdefault(entry["file"], []).append(entry["name"])
        assert entry["future"] is False
        assert entry["lookback"] >= 0
    for rel, names in files.items():
        schema = pq.read_schema(run_store.features_dir() / rel)
        assert schema.names == ["timestamp", *names]
        assert len(names) <= 8
        assert all(str(schema.field(n).type) == "float" for n in names)
        assert str(schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"
    assert summary["features_total"] == len(meta["features"])
    assert summary["block_columns"] == {"BTCUSDT": 8, "ETHUSDT": 8, "SOLUSDT": 8}
    assert set(meta["symbols"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "X"}
    assert meta["symbols"]["ETHUSDT"]["rows"] == 1193


def test_rerun_reuses_every_block(run_store: RunStore) -> None:
    first = run_features(run_store)
    stamps = {p: p.stat().st_mtime_ns for p in run_store.features_dir().glob("*/*.parquet")}
    second = run_features(run_store)
    assert first["blocks_written"] > 0
    assert second["blocks_written"] == 0
    assert second["blocks_reused"] == first["blocks_written"]
    assert second["tasks"] == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_a_changed_generator_rewrites_only_its_blocks(tmp_path: Path, make_run: Any) -> None:
    store = make_run(tmp_path / "run")
    custom = [
        "features.timeframes=[]",
        "features.cross_coin=false",
        "features.block_columns=8",
    ]
    rsi = "{name: rsi, params: {periods: [5, 7, 9, 11, 13, 15, 17, 19]}}"
    run_features(store, *custom, f"features.generators=[{rsi}, {{name: atr, params: {{}}}}]")
    atr = "{name: atr, params: {periods: [20]}}"
    second = run_features(store, *custom, f"features.generators=[{rsi}, {atr}]")
    # per symbol: the rsi block is reused, the atr block is rewritten
    assert second["blocks_written"] == 3
    assert second["blocks_reused"] == 3
    names = [e["name"] for e in metadata(store)["features"]]
    assert "BTC__natr_20" in names and "BTC__natr_14" not in names


def test_a_deleted_block_is_rebuilt(run_store: RunStore) -> None:
    run_features(run_store)
    victim = run_store.features_dir() / "ETHUSDT" / "technical-0000.parquet"
    before = pq.read_table(victim)
    victim.unlink()
    again = run_features(run_store)
    assert again["blocks_written"] == 1
    after = pq.read_table(victim)
    assert after.schema == before.schema
    for name in before.column_names[1:]:
        np.testing.assert_array_equal(after[name].to_numpy(), before[name].to_numpy())


def test_stale_blocks_are_removed_and_metadata_is_written_last(run_store: RunStore) -> None:
    run_features(run_store, "features.block_columns=8")
    many = len(list(run_store.features_dir().glob("*/*.parquet")))
    summary = run_features(run_store, "features.block_columns=64")
    files = {
        p.relative_to(run_store.features_dir()).as_posix()
        for p in run_store.features_dir().glob("*/*.parquet")
    }
    assert files == {e["file"] for e in metadata(run_store)["features"]}
    assert summary["stale_files_removed"] == many - len(files)


def test_block_size_follows_the_memory_budget() -> None:
    assert generate.block_size(1_000, 256, 2048) == 256
    small = generate.block_size(200_000, 256, 512)
    assert 8 <= small < 256
    assert small * 200_000 * generate.BYTES_PER_CELL <= (512 - generate.RESERVED_MB) * 2**20
    assert generate.block_size(10_000_000, 256, 64) == 8


def test_peak_memory_does_not_grow_with_the_number_of_features(
    candles: Callable[..., pd.DataFrame], save_candles: Any, tmp_path: Path
) -> None:
    store = RunStore(tmp_path / "run")
    save_candles(store, "BTCUSDT", candles(20_000))

    def peak(periods: list[int]) -> int:
        transforms = "transforms: [d_1, z_20]"
        sets = [
            "features.timeframes=[]",
            "features.cross_coin=false",
            "data.symbols=[BTCUSDT]",
            f"features.generators=[{{name: rsi, params: {{periods: {periods}, {transforms}}}}}]",
        ]
        config = load_config(None, (), [*TINY, *sets], store.root)
        spec = plan_spec(config)
        tracemalloc.start()
        generate.build_family(str(store.root), "BTCUSDT", "technical", spec, 16)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    column = 20_000 * 4
    few = peak(list(range(2, 82)))  # 240 columns
    many = peak(list(range(2, 242)))  # 720 columns
    # bounded by one block plus one generator piece, whatever the number of features
    assert many < few * 1.2
    assert many < 720 * column / 5


def test_plan_rejects_duplicate_feature_names() -> None:
    from swingml.errors import BadInputError

    config = load_config(
        None,
        (),
        ["features.generators=[{name: rsi, params: {periods: [14]}}, {name: rsi}]"],
    )
    with pytest.raises(BadInputError, match=r"features.generators\[1\]"):
        make_plan(plan_spec(config))


def test_metadata_describes_each_feature(run_store: RunStore) -> None:
    run_features(run_store)
    by_name = {e["name"]: e for e in metadata(run_store)["features"]}
    rsi = by_name["BTC__tf4h__rsi_14"]
    assert rsi["family"] == "technical"
    assert rsi["symbol"] == "BTCUSDT"
    assert rsi["generator"] == "rsi"
    assert rsi["params"]["period"] == 14 and rsi["params"]["timeframe"] == "4h"
    assert rsi["timeframe"] == "4h"
    assert rsi["lookback"] > by_name["BTC__rsi_14"]["lookback"] * 4
    z = by_name["BTC__natr_14__z_50"]
    assert z["transform"] == "z_50" and z["lookback"] == by_name["BTC__natr_14"]["lookback"] + 49
    corr = by_name["X__BTC_ETH__corr_48"]
    assert corr["family"] == "cross_coin" and corr["symbols"] == ["BTCUSDT", "ETHUSDT"]
    assert np.all(
        [e["name"].split("__")[0] in {"BTC", "ETH", "SOL", "X"} for e in by_name.values()]
    )
