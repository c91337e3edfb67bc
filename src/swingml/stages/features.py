"""Stage ``features``: candles → the feature store (``features/`` Parquet blocks + metadata).

Validates the generator list before reading anything, runs one task per (symbol, family) and one
for the cross-coin features (``swingml.features.generate``), then writes ``features/metadata.json``
last: a store without metadata is incomplete, and the metadata never names a block that is not on
disk. Resume is by block: a task whose blocks are all current is not run; one that runs rebuilds
only its blocks that are not, and never stands on a cached result (its outputs are files).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from swingml.errors import BadInputError
from swingml.features import generate
from swingml.features.layout import Layout, check_short_names, plan_layout
from swingml.features.metadata import remove_stale, store_details, store_metadata, summary_line
from swingml.features.plan import FeaturePlan, make_plan, plan_spec
from swingml.io import parted
from swingml.io.store import RunStore, combine_fingerprints
from swingml.orchestration import Task, TaskResult
from swingml.workflow.loading import candles_file
from swingml.workflow.pipeline import StageContext
from swingml.workflow.runner import Plan, Stage

REQUIRED = ("timestamp", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class _Planned:
    start: float
    plan: FeaturePlan
    layout: Layout
    current: int
    """Blocks already current, whose tasks are not run."""


def _check_candles(store: RunStore, symbol: str) -> int:
    """Rows of a symbol's candle file; a missing file or column is bad input."""
    path = candles_file(store, symbol)
    try:
        files = parted.files(path)
        schema = pq.read_schema(files[0])
        rows = sum(int(pq.read_metadata(f).num_rows) for f in files)
    except (OSError, pa.ArrowInvalid) as exc:
        raise BadInputError(
            str(path), f"not a readable Parquet file ({exc})", "re-run `swingml data prepare`"
        ) from None
    missing = [c for c in REQUIRED if c not in schema.names]
    if missing:
        raise BadInputError(
            str(path), f"candle columns {missing} are missing", "re-run `swingml data prepare`"
        )
    if rows == 0:
        raise BadInputError(str(path), "the candle table is empty", "check the data source")
    return rows


def _plan(ctx: StageContext, key: str | None) -> Plan[_Planned]:
    """Check the plan and the candles, lay the store out, and task what is not current."""
    start = time.perf_counter()
    config, store = ctx.config, ctx.store
    spec = plan_spec(config)
    plan = make_plan(spec)
    symbols = list(config.data.symbols)
    check_short_names(symbols)
    rows = {s: _check_candles(store, s) for s in symbols}
    store.ensure("features")
    store.dataset("features_metadata").unlink(missing_ok=True)
    fps = {s: parted.fingerprint(store.candles_path(s)) for s in symbols}
    limit = config.executor.max_concurrent_processes or os.cpu_count() or 1
    layout = plan_layout(plan, rows, fps, config.features, limit)
    tasks, current = _family_tasks(store, plan, spec, layout)
    cross, cross_current = _cross_task(store, plan, spec, layout)
    return Plan(_Planned(start, plan, layout, current + cross_current), tasks + cross)


def _family_tasks(
    store: RunStore, plan: FeaturePlan, spec: dict[str, Any], layout: Layout
) -> tuple[list[Task], int]:
    """One task per (symbol, family) with a block not current; the count of current blocks."""
    tasks: list[Task] = []
    current = 0
    for s in layout.symbols:
        block, fp = layout.blocks[s], layout.fingerprints[s]
        for family in plan.families():
            blocks = generate.family_blocks(plan, store, s, family, block, fp)
            if all(b.is_current() for b in blocks):
                current += len(blocks)
                continue
            key = plan.digest("features", s, family, fp, block)
            args = (str(store.root), s, family, spec, block)
            tasks.append(Task(key, generate.build_family, args, f"{s}/{family}", reuse=False))
    return tasks, current


def _cross_task(
    store: RunStore, plan: FeaturePlan, spec: dict[str, Any], layout: Layout
) -> tuple[list[Task], int]:
    """The cross-coin task unless its blocks are all current (then their count)."""
    block = layout.cross_block
    if block is None:
        return [], 0
    inputs_fp = combine_fingerprints(dict(layout.fingerprints))
    blocks = generate.cross_blocks(plan, store, layout.symbols, block, inputs_fp)
    if all(b.is_current() for b in blocks):
        return [], len(blocks)
    key = plan.digest("features", "cross", inputs_fp, block)
    args = (str(store.root), layout.symbols, spec, block)
    return [Task(key, generate.build_cross, args, "cross_coin", reuse=False)], 0


def _finish(ctx: StageContext, planned: _Planned, results: list[TaskResult]) -> dict[str, Any]:
    """Write the metadata (it completes the store), drop stale blocks, report the counts."""
    config, layout = ctx.config, planned.layout
    metadata = store_metadata(planned.plan, layout, config.features, config.data.interval)
    ctx.store.save("features_metadata", metadata)
    removed = remove_stale(ctx.store.features_dir(), {e["file"] for e in metadata["features"]})
    figures = [r.value for r in results if isinstance(r.value, dict)]
    peaks = [r.peak_rss_mb for r in results]
    details = store_details(metadata, layout, figures, peaks, planned.current, removed)
    details["features_wall_s"] = round(time.perf_counter() - planned.start, 3)
    ctx.console.print(summary_line(details, layout.cross_block is not None))
    return details


STAGE = Stage("features", plan=_plan, finish=_finish, whole=True)
"""Compute every feature of every symbol and the cross-coin features; write the store."""
