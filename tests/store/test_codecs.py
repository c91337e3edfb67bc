"""``RunStore.save``/``load``: every catalog format with a codec round-trips through the run
directory, written atomically where the catalog says; formats owned elsewhere are refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from swingml.io.store import RunStore


def test_each_codec_round_trips_at_the_catalog_path(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    table = pd.DataFrame({"main_id": ["a", "b"], "holdout_macro_ap": [0.5, 0.25]})
    where = store.save("holdout", table)
    assert where == tmp_path / "training" / "holdout.parquet"
    pd.testing.assert_frame_equal(store.load("holdout"), table)

    best = {"BTCUSDT-w2-high": {"variant_id": "BTCUSDT/w2/high_breakout/s1.0/k1.0"}}
    store.save("best_params", best)
    assert store.load("best_params") == best

    store.save("model", "tree\nversion=v4\n", main_id="BTCUSDT-w2-high")
    assert store.load("model", main_id="BTCUSDT-w2-high") == "tree\nversion=v4\n"
    assert sorted(p.name for p in (tmp_path / "training").rglob("*")) == [
        "BTCUSDT-w2-high.txt",
        "holdout.parquet",
        "models",
    ]  # no temporary file left beside them


def test_a_format_without_a_codec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"mlflow_db \(sqlite\) is read and written by its owner"):
        RunStore(tmp_path).save("mlflow_db", b"")
