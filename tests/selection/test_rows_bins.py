"""``selection.bins: rows``: a Dataset binned for each variant's own rows, built once per row set.

Small synthetic codes, not the real data: coarser bins and fewer features for a small variant,
gains over every feature in input order, one build per shared row set with each variant's own
labels, and ``bins: shared`` (the default) exactly as before (no new file, field or key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from swingml.config import Config, SelectionConfig
from swingml.io.store import RunStore, read_json, write_parquet_atomic
from swingml.orchestration import task_key
from swingml.selection import row_bins, screening, tasks
from swingml.selection.tasks import SymbolJob, VariantJob
from swingml.workflow import pipeline

CONFIG = SelectionConfig(num_rounds=30, early_stopping=10, min_events=20)
ROWS = CONFIG.model_copy(update={"bins": "rows"})
N, F = 3000, 10
NAMES = [f"f{i:02d}" for i in range(F)]
SMALL = (np.arange(1000, 1200, dtype=np.int64), np.arange(1300, 1360, dtype=np.int64))
LARGE = (np.arange(0, 1600, dtype=np.int64), np.arange(1700, 2100, dtype=np.int64))


def _values() -> npt.NDArray[np.float32]:
    """Features x union rows: noise, some NaN, one feature constant on SMALL's training rows and
    one that differs there on 5 rows only (too few to split on: the pre-filter drops it)."""
    rng = np.random.default_rng(3)
    values = rng.standard_normal((F, N)).astype(np.float32)
    values[4, rng.random(N) < 0.1] = np.nan
    values[7, SMALL[0]] = 1.5
    values[8, SMALL[0]] = -2.0
    values[8, SMALL[0][:5]] = 2.0
    return values


def _labels(values: npt.NDArray[np.float32], rows: npt.NDArray[np.int64], feature: int) -> Any:
    """Labels 0/1/2 driven by one feature plus a little noise."""
    x = values[feature, rows]
    y = np.where(x > 0.4, 1, np.where(x < -0.4, 2, 0))
    flip = np.random.default_rng(feature).random(len(rows)) < 0.1
    y[flip] = 0
    return y.astype(np.int64)


def _parts(values: npt.NDArray[np.float32], rows: Any, feature: int) -> tuple[Any, Any]:
    train, valid = rows
    return (train, _labels(values, train, feature)), (valid, _labels(values, valid, feature))


def _datasets(values: npt.NDArray[np.float32]) -> row_bins.RowDatasets:
    codes = row_bins.packed(screening.quantile_codes(values, CONFIG.max_bin - 1, 25_000))
    params = screening.dataset_params(ROWS, 1, 7)
    return row_bins.RowDatasets(codes, NAMES, params, ROWS.max_bin, block=4)


def test_code_count_and_coarsening_keep_order_and_nan_apart() -> None:
    assert row_bins.code_count(580, 63) == 29
    assert row_bins.code_count(50, 63) == 8 and row_bins.code_count(30_000, 63) == 62
    packed = row_bins.packed(np.array([[-1.0, 0.0, 1.0, 30.0, 61.0]], dtype=np.float32))
    assert packed.dtype == np.uint8 and packed.tolist() == [[255, 0, 1, 30, 61]]
    coarse = row_bins.coarsened(packed, 10, 63)
    assert coarse.tolist() == [[-1.0, 0.0, 0.0, 4.0, 9.0]]
    every = row_bins.coarsened(np.arange(62, dtype=np.uint8)[None, :], 10, 63)[0]
    assert (np.diff(every) >= 0).all() and set(every.tolist()) == set(range(10))


def test_a_small_variant_trains_on_coarser_bins_and_fewer_features() -> None:
    values = _values()
    datasets = _datasets(values)
    train, valid = _parts(values, SMALL, feature=0)
    datasets.expect(train[0], valid[0])
    result, pair = row_bins.screen_rows(
        datasets, train, valid, screening.train_params(ROWS, 1, 7), ROWS
    )
    assert pair.n_codes == 10  # 200 training rows // 20
    bins = [pair.train.feature_num_bin(i) for i in range(F)]
    assert bins[7] == 0 and bins[8] == 0  # constant / too few rows to split: pre-filtered
    assert pair.features_used == F - 2
    assert 0 < max(bins) <= pair.n_codes + 2  # the shared binning has ~62 per feature
    assert len(result.gains) == F and result.gains[7] == 0 and result.gains[8] == 0
    ranking = screening.rank_features(NAMES, result.gains, 5)
    assert ranking[0][0] == "f00"  # gains indexed in input order
    assert (result.n_train, result.n_valid) == (200, 60)


def test_variants_sharing_rows_build_once_and_keep_their_own_labels() -> None:
    values = _values()
    datasets = _datasets(values)
    variants = {"a": (SMALL, 0), "b": (SMALL, 1), "c": (LARGE, 2)}
    parts = {v: _parts(values, rows, feature) for v, (rows, feature) in variants.items()}
    for train, valid in parts.values():
        datasets.expect(train[0], valid[0])
    params = screening.train_params(ROWS, 1, 7)
    tops, pairs = {}, {}
    for v, (train, valid) in parts.items():
        result, pair = row_bins.screen_rows(datasets, train, valid, params, ROWS)
        tops[v] = screening.rank_features(NAMES, result.gains, 1)[0][0]
        pairs[v] = pair
        assert np.array_equal(pair.train.get_field("label"), train[1].astype(np.float32))
        assert np.array_equal(pair.valid.get_field("label"), valid[1].astype(np.float32))
    assert datasets.built == 2  # a and b share one pair, c has its own
    assert pairs["a"] is pairs["b"] and pairs["c"] is not pairs["a"]
    assert pairs["c"].n_codes == 62  # 1600 training rows: the union's codes, uncoarsened
    assert tops == {"a": "f00", "b": "f01", "c": "f02"}
    fresh = _datasets(values)  # b alone, on a pair a never trained on: the same gains
    fresh.expect(parts["b"][0][0], parts["b"][1][0])
    alone = row_bins.screen_rows(fresh, *parts["b"], params, ROWS)[0]
    again = row_bins.screen_rows(_datasets(values), *parts["b"], params, ROWS)[0]
    assert np.array_equal(alone.gains, again.gains)


def _store(tmp_path: Path, values: npt.NDArray[np.float32]) -> tuple[RunStore, dict[str, Any]]:
    """A run directory with one symbol's union rows and event table (variants a, b share their
    rows, c has its own), as the stage writes them; the variants' labels by id."""
    store = RunStore(tmp_path / "run")
    stamps = pd.date_range("2024-01-01", periods=N, freq="h", tz="UTC")
    write_parquet_atomic(
        tasks.work_path(store, "X", "select_rows"), pd.DataFrame({"timestamp": stamps})
    )
    frames, labels = [], {}
    for v, (rows, feature) in {"a": (SMALL, 0), "b": (SMALL, 1), "c": (LARGE, 2)}.items():
        parts = _parts(values, rows, feature)
        labels[v] = parts
        for part, (r, y) in zip(("train", "valid"), parts, strict=True):
            frames.append(pd.DataFrame({"variant": v, "row": r.astype(np.int32), "label": y}))
            frames[-1]["part"] = part
    events = pd.concat(frames, ignore_index=True)
    events["label"] = events["label"].astype(np.int8)
    write_parquet_atomic(tasks.work_path(store, "X", "select_events"), events)
    return store, labels


def _screen_all(
    tmp_path: Path, config: SelectionConfig, monkeypatch: pytest.MonkeyPatch
) -> tuple[RunStore, dict[str, dict[str, Any]], int]:
    """Bin and screen the three variants in one task; their payloads and the pairs built."""
    values = _values()
    store, _ = _store(tmp_path, values)
    frame = pd.DataFrame(values.T, columns=NAMES)

    def read(names: Any, stamps: pd.Series) -> pd.DataFrame:
        assert len(stamps) == N
        return frame[list(names)]

    built = []
    build = row_bins.RowDatasets._build
    monkeypatch.setattr(
        row_bins.RowDatasets,
        "_build",
        lambda self, t, v: built.append(1) or build(self, t, v),
    )
    job = SymbolJob(str(store.root), "X", config, 7, 1)
    tasks.bin_symbol(job, tuple(NAMES), "bin-key", read)
    jobs = tuple(VariantJob(v, f"X-{v}", f"key-{v}") for v in "abc")
    tasks.screen_chunk(job, jobs)
    payloads = {j.id: read_json(tasks.variant_path(store, j.slug)) for j in jobs}
    return store, payloads, len(built)


def test_screen_chunk_with_rows_builds_per_row_set_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, payloads, built = _screen_all(tmp_path, ROWS, monkeypatch)
    assert built == 2
    assert tasks.work_path(store, "X", "select_codes").is_file()
    meta = read_json(tasks.work_path(store, "X", "select_binned_meta"))
    assert meta["bins"] == "rows" and meta["columns"] == NAMES
    assert tasks.binned(store, "X", "bin-key") is not None
    assert {v: p["ranking"][0][0] for v, p in payloads.items()} == {
        "a": "f00",
        "b": "f01",
        "c": "f02",
    }
    assert all(p["bins"] == "rows" for p in payloads.values())
    assert [payloads[v]["n_codes"] for v in "abc"] == [10, 10, 62]
    assert payloads["a"]["features_used"] == F - 2 == payloads["b"]["features_used"]
    tasks.work_path(store, "X", "select_codes").unlink()
    assert tasks.binned(store, "X", "bin-key") is None  # codes gone: bin again


def test_shared_bins_screen_and_write_exactly_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, payloads, built = _screen_all(tmp_path, CONFIG, monkeypatch)
    assert built == 0 and not tasks.work_path(store, "X", "select_codes").exists()
    meta = read_json(tasks.work_path(store, "X", "select_binned_meta"))
    assert set(meta) == {"key", "symbol", "rows", "features", "quantise_s", "wall_s"}
    fields = ["key", "variant", "status", "n_train", "n_valid", "best_iteration", "train_s"]
    fields += ["wall_s", "total_gain", "ranking"]
    assert all(set(p) == set(fields) for p in payloads.values())
    values = _values()
    codes = screening.quantile_codes(values, CONFIG.max_bin - 1, CONFIG.bin_construct_sample_cnt)
    parent = screening.binned_dataset(codes, NAMES, screening.dataset_params(CONFIG, 1, 7))
    params = screening.train_params(CONFIG, 1, 7)
    for v, (rows, feature) in {"a": (SMALL, 0), "b": (SMALL, 1), "c": (LARGE, 2)}.items():
        result = screening.screen_variant(parent, *_parts(values, rows, feature), params, CONFIG)
        ranking = [list(x) for x in screening.rank_features(NAMES, result.gains, CONFIG.top_k)]
        assert payloads[v]["ranking"] == ranking
        assert payloads[v]["best_iteration"] == result.best_iteration


def test_the_option_keys_only_when_it_is_rows() -> None:
    assert "bins" not in SelectionConfig().model_dump(mode="json")  # keys of earlier runs hold
    assert SelectionConfig(bins="rows").model_dump(mode="json")["bins"] == "rows"
    shared, rows = Config(), Config().model_copy(update={"selection": SelectionConfig(bins="rows")})
    assert shared.slice_hash("selection") != rows.slice_hash("selection")
    assert task_key(tasks.bin_symbol, SelectionConfig()) != task_key(tasks.bin_symbol, ROWS)
    assert SelectionConfig.model_validate(ROWS.model_dump()).bins == "rows"


def test_the_stage_screens_with_rows_bins_end_to_end(make_selected: Any) -> None:
    """On the tiny real run: ``selection.bins=rows`` re-keys the stage (nothing reused), saves
    each symbol's codes and screens every variant on its own rows."""
    ctx = make_selected("selection.bins=rows")
    outcome = pipeline.run_stage("select", ctx)
    assert outcome.details["reused"] is False and outcome.details["screened"] > 0
    for symbol in ctx.config.data.symbols:
        assert tasks.work_path(ctx.store, symbol, "select_codes").is_file()
    payloads = [read_json(f) for f in ctx.store.path("selection", "variants").glob("*.json")]
    assert payloads and all(p["bins"] == "rows" for p in payloads)
    assert read_json(ctx.store.path("selection", "final_features.json"))["features"]
