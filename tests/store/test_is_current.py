"""The one freshness rule: a dataset is current when it exists (with what lies beside it) and the
input key recorded where the catalog says equals the key its writer computes now."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from swingml.io import parted
from swingml.io.store import RunStore, write_json_atomic
from swingml.workflow.loading import built_on_current_candles


def test_a_key_in_the_dataset_itself_and_what_lies_beside_it(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    write_json_atomic(store.dataset("prep_kept"), {"key": "k1", "features": []})
    assert not store.is_current("prep_kept", "k1")  # prep/report.json is missing
    write_json_atomic(store.dataset("prep_report"), {"summary": {}})
    assert store.is_current("prep_kept", "k1")
    assert not store.is_current("prep_kept", "k2")


def test_a_key_recorded_in_another_dataset(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.write_manifest({}, {"data/BTCUSDT": "fp"})
    assert not store.is_current("candles", "fp", symbol="BTCUSDT")  # no candle file yet
    store.dataset("candles", symbol="BTCUSDT").parent.mkdir(parents=True)
    store.dataset("candles", symbol="BTCUSDT").write_bytes(b"")
    assert store.is_current("candles", "fp", symbol="BTCUSDT")
    assert not store.is_current("candles", "other", symbol="BTCUSDT")
    assert not store.is_current("candles", "fp", symbol="ETHUSDT")


def test_a_parquet_block_carries_its_key_in_its_schema(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    path = store.dataset("features_block", group="BTCUSDT", block="technical-0000")
    path.parent.mkdir(parents=True)
    table = pa.table({"timestamp": [1, 2]}).replace_schema_metadata({"swingml.fingerprint": "f"})
    pq.write_table(table, path)
    keys = {"group": "BTCUSDT", "block": "technical-0000"}
    assert store.is_current("features_block", "f", **keys)
    assert not store.is_current("features_block", "g", **keys)
    path.write_bytes(b"not parquet")
    assert not store.is_current("features_block", "f", **keys)


def test_a_mapping_key_is_compared_entry_by_entry(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    write_json_atomic(store.dataset("targets_meta"), {"version": 1, "targets": {"A": "x"}})
    pd.DataFrame({"a": [1]}).to_parquet(store.dataset("targets_summary"))
    assert store.is_current("targets_meta", {"version": 1})
    assert not store.is_current("targets_meta", {"version": 2})


def test_candle_fingerprints_recorded_by_a_dataset(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    candles = store.candles_path("BTCUSDT")
    candles.parent.mkdir(parents=True)
    parted.write_compacted(candles, pa.table({"timestamp": [1, 2]}))
    recorded = {"candles": {"BTCUSDT": parted.fingerprint(candles)}}
    write_json_atomic(store.dataset("targets_meta"), recorded)
    assert built_on_current_candles(store, "targets_meta", ["BTCUSDT"])
    parted.append(candles, pa.table({"timestamp": [3]}))  # a live cycle's new bar
    assert not built_on_current_candles(store, "targets_meta", ["BTCUSDT"])


def test_a_dataset_without_a_declared_key_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="declares no input key"):
        RunStore(tmp_path).is_current("summary", "k")
