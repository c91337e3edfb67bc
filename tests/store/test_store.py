"""The run store writes atomically: a failed write leaves the old file, never half a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from swingml.io.store import (
    RunStore,
    atomic_path,
    read_json,
    write_json_atomic,
    write_parquet_atomic,
)


def test_failed_write_leaves_previous_content_and_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json_atomic(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{half")
        raise RuntimeError("killed mid-write")
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_parquet_roundtrip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    write_parquet_atomic(tmp_path / "f.parquet", frame)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f.parquet"), frame)


def test_summary_records_each_stage(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.record_stage("data", {"status": "done", "wall_s": 1.0, "tasks": 3, "failed_tasks": 0})
    store.record_stage(
        "features", {"status": "failed", "wall_s": 2.0, "tasks": 0, "failed_tasks": 0}
    )
    summary = store.read_summary()
    assert summary["stages"]["data"]["tasks"] == 3
    assert summary["stages"]["features"]["status"] == "failed"


def test_manifest_fingerprint_is_order_independent(tmp_path: Path) -> None:
    one, two = RunStore(tmp_path / "1"), RunStore(tmp_path / "2")
    one.write_manifest({"a": 1}, {"x": "1", "y": "2"})
    two.write_manifest({"a": 1}, {"y": "2", "x": "1"})
    assert one.read_manifest()["input_fingerprint"] == two.read_manifest()["input_fingerprint"]


def test_parquet_keeps_utc_timestamps_and_nullable_ints_without_warnings(tmp_path: Path) -> None:
    import warnings

    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC").astype(
                "datetime64[ms, UTC]"
            ),
            "label": pd.array([1, None, 2], dtype="Int8"),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_parquet_atomic(tmp_path / "t.parquet", frame)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), frame)
