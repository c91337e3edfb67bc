"""Blocks → Parquet: compute one symbol's family (or the cross-coin set) and write column blocks.

Each task writes ``features/<SYMBOL>/<family>-NNNN.parquet`` files, each holding ``timestamp`` and
at most ``block`` float32 feature columns. Generators run one at a time and a block is written and
freed as soon as its last column is computed, so memory is bounded by one block plus one
generator's outputs, however many features the plan has. Every file carries the fingerprint of its
inputs (candles, generator specs, code version) in its Parquet metadata: a block already on disk
with the right fingerprint is reused, and a generator whose columns all sit in reused blocks is
not run at all. All writes are atomic (``store.atomic_path``).
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from swingml.data.symbols import short_name
from swingml.features import compute, cross_coin
from swingml.features import timeframes as tf
from swingml.features.plan import FEATURE_CODE_VERSION, Column, FeaturePlan, make_plan
from swingml.io import parted
from swingml.io.catalog import CATALOG
from swingml.io.store import RunStore, atomic_path, combine_fingerprints

BLOCK = CATALOG["features_block"]
assert BLOCK.key is not None
FINGERPRINT_KEY = BLOCK.key.at[0].encode()
"""The schema-metadata key a block's fingerprint (its input key) is written under."""
RESERVED_MB = 384
"""Memory a worker needs besides the block buffer: interpreter, libraries, candles, temporaries."""

BYTES_PER_CELL = 4 * 3
"""float32 block buffer, plus room for one generator's float64 outputs and the Arrow write."""

CROSS_GROUP = cross_coin.PREFIX
STAMP_TYPE = pa.timestamp("ms", tz="UTC")


def block_size(n_rows: int, block_columns: int, budget_mb: float) -> int:
    """Columns per block so that a worker stays within ``budget_mb`` (at least 8)."""
    free_mb = max(budget_mb - RESERVED_MB, budget_mb / 4)
    fit = int(free_mb * 2**20 // max(1, n_rows * BYTES_PER_CELL))
    return max(8, min(block_columns, fit))


def family_file(group: str, family: str, index: int) -> str:
    """A block's path relative to ``features/`` (``BTCUSDT/technical-0003.parquet``)."""
    return f"{group}/{family}-{index:04d}.parquet"


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` in consecutive chunks of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def _digest(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def column_fingerprint(plan: FeaturePlan, column: Column) -> dict[str, Any]:
    """What determines a column's values besides the candles."""
    return {
        "feature": column.feature,
        "generator": column.unit.generator.spec(),
        "timeframe": column.unit.timeframe,
        "base_seconds": plan.base_seconds,
    }


def block_fingerprint(inputs_fp: str, group: str, parts: Sequence[Any]) -> str:
    """Fingerprint of one block: its inputs, its columns' specs and the code version."""
    return _digest([FEATURE_CODE_VERSION, inputs_fp, group, list(parts)])


def write_block(
    path: Path, timestamps: pa.Array, columns: Mapping[str, np.ndarray], fingerprint: str
) -> None:
    """Write ``timestamp`` + float32 columns to ``path`` atomically, tagged with ``fingerprint``."""
    arrays = [timestamps, *(pa.array(v, type=pa.float32()) for v in columns.values())]
    table = pa.Table.from_arrays(arrays, names=["timestamp", *columns])
    table = table.replace_schema_metadata({FINGERPRINT_KEY: fingerprint.encode()})
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=False,
            use_byte_stream_split=list(columns),
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


@dataclass(frozen=True)
class Block:
    """One block file of the run's feature store: the fingerprint its content must carry (its
    input key) and the features it holds."""

    store: RunStore
    file: str
    """Its path relative to ``features/`` (:func:`family_file`)."""
    fingerprint: str
    names: tuple[str, ...]

    @property
    def keys(self) -> dict[str, str]:
        group, name = self.file.split("/", 1)
        return {"group": group, "block": name.removesuffix(".parquet")}

    @property
    def path(self) -> Path:
        return self.store.dataset(BLOCK.name, **self.keys)

    def is_current(self) -> bool:
        """The file exists and was written from the same inputs (``RunStore.is_current``)."""
        return self.store.is_current(BLOCK.name, self.fingerprint, **self.keys)


def family_blocks(
    plan: FeaturePlan, store: RunStore, symbol: str, family: str, block: int, candles_fp: str
) -> list[Block]:
    """The blocks of one symbol's family, in store order."""
    out: list[Block] = []
    for i, cols in enumerate(chunks(plan.family_columns(family), block)):
        parts = [column_fingerprint(plan, c) for c in cols]
        out.append(
            Block(
                store,
                family_file(symbol, family, i),
                block_fingerprint(candles_fp, symbol, parts),
                tuple(c.feature for c in cols),
            )
        )
    return out


def cross_blocks(
    plan: FeaturePlan, store: RunStore, symbols: Sequence[str], block: int, inputs_fp: str
) -> list[Block]:
    """The blocks of the cross-coin features, in store order."""
    assert plan.cross is not None
    out: list[Block] = []
    for i, outs in enumerate(chunks(cross_coin.outputs(symbols, plan.cross), block)):
        names = tuple(o.output.name for o in outs)
        parts = [list(symbols), plan.cross.as_dict(), plan.base_seconds, list(names)]
        out.append(
            Block(
                store,
                family_file(CROSS_GROUP, cross_coin.FAMILY, i),
                block_fingerprint(inputs_fp, CROSS_GROUP, parts),
                names,
            )
        )
    return out


def build_family(
    run_dir: str, symbol: str, family: str, spec: Mapping[str, Any], block: int
) -> dict[str, Any]:
    """Task: compute and write one symbol's features of one family; returns figures.

    Reads the symbol's candles; writes the family's blocks that are not current yet.
    """
    start = time.perf_counter()
    store = RunStore(run_dir)
    candles_path = store.candles_path(symbol)
    plan = make_plan(spec)
    columns = plan.family_columns(family)
    blocks = family_blocks(plan, store, symbol, family, block, parted.fingerprint(candles_path))
    reused = [b.is_current() for b in blocks]
    where = {id(c): i for i, cols in enumerate(chunks(columns, block)) for c in cols}
    remaining = [len(b.names) for b in blocks]
    buffers: dict[int, dict[str, np.ndarray]] = {}
    short = short_name(symbol)
    written = 0
    rows = 0
    if not all(reused):
        candles = parted.read_frame(candles_path)
        rows = len(candles)
        stamps = pa.array(tf.timestamps_ms(candles), type=STAMP_TYPE)
        todo = [c for c in columns if not reused[where[id(c)]]]
        for col, values in compute.stream(todo, candles, plan.base_seconds):
            i = where[id(col)]
            buffers.setdefault(i, {})[f"{short}__{col.feature}"] = values
            remaining[i] -= 1
            if remaining[i] == 0:
                write_block(blocks[i].path, stamps, buffers.pop(i), blocks[i].fingerprint)
                written += 1
    return {
        "symbol": symbol,
        "family": family,
        "columns": len(columns),
        "rows": rows,
        "blocks_written": written,
        "blocks_reused": int(sum(reused)),
        "wall_s": round(time.perf_counter() - start, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def build_cross(
    run_dir: str, symbols: Sequence[str], spec: Mapping[str, Any], block: int
) -> dict[str, Any]:
    """Task: compute and write the relational cross-coin features to ``features/X/``."""
    start = time.perf_counter()
    store = RunStore(run_dir)
    plan = make_plan(spec)
    assert plan.cross is not None
    inputs_fp = combine_fingerprints(
        {s: parted.fingerprint(store.candles_path(s)) for s in symbols}
    )
    blocks = cross_blocks(plan, store, symbols, block, inputs_fp)
    reused = [b.is_current() for b in blocks]
    written = 0
    if not all(reused):
        series = {}
        for s in symbols:
            frame = parted.read_frame(store.candles_path(s), ["timestamp", "close"])
            series[s] = (tf.timestamps_ms(frame), frame["close"].to_numpy(np.float64))
        stamps_ms, values = cross_coin.compute(series, plan.base_seconds * 1000, plan.cross)
        stamps = pa.array(stamps_ms, type=STAMP_TYPE)
        for b, done in zip(blocks, reused, strict=True):
            if not done:
                cols = {f"{CROSS_GROUP}__{n}": values[n] for n in b.names}
                write_block(b.path, stamps, cols, b.fingerprint)
                written += 1
    return {
        "symbol": CROSS_GROUP,
        "family": cross_coin.FAMILY,
        "columns": sum(len(b.names) for b in blocks),
        "blocks_written": written,
        "blocks_reused": int(sum(reused)),
        "wall_s": round(time.perf_counter() - start, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def metadata_entries(
    plan: FeaturePlan, symbol: str, block: int, interval: str
) -> list[dict[str, Any]]:
    """The metadata of every feature of one symbol, in store order."""
    short = short_name(symbol)
    entries: list[dict[str, Any]] = []
    for family in plan.families():
        for i, b in enumerate(chunks(plan.family_columns(family), block)):
            for col in b:
                entries.append(
                    {
                        "name": f"{short}__{col.feature}",
                        "feature": col.feature,
                        "family": family,
                        "symbol": symbol,
                        "generator": col.unit.generator.name,
                        "params": dict(col.params),
                        "lookback": col.lookback,
                        "timeframe": col.unit.timeframe or interval,
                        "transform": col.transform.suffix if col.transform else None,
                        "file": family_file(symbol, family, i),
                        "future": False,
                    }
                )
    return entries


def cross_entries(
    plan: FeaturePlan, symbols: Sequence[str], block: int, interval: str
) -> list[dict[str, Any]]:
    """The metadata of every relational cross-coin feature."""
    if plan.cross is None or len(symbols) < 2:
        return []
    entries: list[dict[str, Any]] = []
    for i, b in enumerate(chunks(cross_coin.outputs(symbols, plan.cross), block)):
        for o in b:
            entries.append(
                {
                    "name": f"{CROSS_GROUP}__{o.output.name}",
                    "feature": o.output.name,
                    "family": cross_coin.FAMILY,
                    "symbol": CROSS_GROUP,
                    "symbols": [o.a, o.b],
                    "generator": "cross_coin",
                    "params": dict(o.output.params),
                    "lookback": o.output.lookback,
                    "timeframe": interval,
                    "transform": None,
                    "file": family_file(CROSS_GROUP, cross_coin.FAMILY, i),
                    "future": False,
                }
            )
    return entries
