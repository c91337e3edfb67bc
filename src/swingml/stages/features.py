"""Stage ``features``: candles → the feature store (``features/`` Parquet blocks + metadata).

Validates the generator list before reading anything, runs one task per (symbol, family) and one
for the cross-coin features through the executor, then writes ``features/metadata.json`` last: a
store without metadata is incomplete, and the metadata never names a block that is not on disk.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from swingml.data.symbols import short_name
from swingml.errors import BadInputError
from swingml.features import generate
from swingml.features.matrix import METADATA
from swingml.features.plan import FEATURE_CODE_VERSION, make_plan, plan_spec
from swingml.io import parted
from swingml.io.store import RunStore, combine_fingerprints, write_json_atomic
from swingml.orchestration.executor import Task, make_executor
from swingml.orchestration.failures import check_failures
from swingml.workflow.loading import candles_file
from swingml.workflow.pipeline import StageContext, StageOutcome

REQUIRED = ("timestamp", "open", "high", "low", "close", "volume")


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


def _check_short_names(symbols: list[str]) -> None:
    """Feature prefixes must be unique and must not be the cross-coin prefix ``X``."""
    seen: dict[str, str] = {}
    for i, symbol in enumerate(symbols):
        short = short_name(symbol)
        if short == generate.CROSS_GROUP or short in seen:
            other = seen.get(short, "the cross-coin features")
            raise BadInputError(
                f"config key data.symbols[{i}]",
                f"{symbol} would share the feature prefix {short}__ with {other}",
                "use symbols whose base assets differ",
            )
        seen[short] = symbol


def _concurrency(ctx: StageContext, n_tasks: int) -> int:
    limit = ctx.config.executor.max_concurrent_processes or os.cpu_count() or 1
    return max(1, min(limit, n_tasks))


def run(ctx: StageContext) -> StageOutcome:
    """Compute every feature of every symbol and the cross-coin features; write the store."""
    start = time.perf_counter()
    config, store = ctx.config, ctx.store
    spec = plan_spec(config)
    plan = make_plan(spec)
    symbols = list(config.data.symbols)
    _check_short_names(symbols)
    rows = {s: _check_candles(store, s) for s in symbols}
    fdir = store.ensure("features")
    (fdir / METADATA).unlink(missing_ok=True)

    families = plan.families()
    cross = plan.cross is not None and len(symbols) > 1
    n_tasks = len(symbols) * len(families) + int(cross)
    workers = _concurrency(ctx, n_tasks)
    budget = config.features.memory_budget_mb / workers
    blocks = {
        s: generate.block_size(rows[s], config.features.block_columns, budget) for s in symbols
    }
    fps = {s: parted.fingerprint(store.candles_path(s)) for s in symbols}

    # Resume is by block: a task whose blocks are all current is not run; one that runs rebuilds
    # only its blocks that are not, and never stands on a cached result (its outputs are files).
    tasks: list[Task] = []
    current = 0
    for s in symbols:
        for family in families:
            blocks_s = generate.family_blocks(plan, store, s, family, blocks[s], fps[s])
            if all(b.is_current() for b in blocks_s):
                current += len(blocks_s)
                continue
            key = plan.digest("features", s, family, fps[s], blocks[s])
            args = (str(store.root), s, family, spec, blocks[s])
            tasks.append(Task(key, generate.build_family, args, f"{s}/{family}", reuse=False))
    cross_block = generate.block_size(max(rows.values()), config.features.block_columns, budget)
    if cross:
        inputs_fp = combine_fingerprints(fps)
        blocks_x = generate.cross_blocks(plan, store, symbols, cross_block, inputs_fp)
        if all(b.is_current() for b in blocks_x):
            current += len(blocks_x)
        else:
            key = plan.digest("features", "cross", inputs_fp, cross_block)
            args_x = (str(store.root), symbols, spec, cross_block)
            tasks.append(Task(key, generate.build_cross, args_x, "cross_coin", reuse=False))

    results = make_executor(config, store, ctx.console).run("features", tasks) if tasks else []
    check_failures(results, config, "features", whole=True)

    interval = config.data.interval
    entries: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for s in symbols:
        own = generate.metadata_entries(plan, s, blocks[s], interval)
        entries.extend(own)
        groups[s] = _group(s, own, rows[s], fps[s])
    if cross:
        own = generate.cross_entries(plan, symbols, cross_block, interval)
        entries.extend(own)
        groups[generate.CROSS_GROUP] = _group(generate.CROSS_GROUP, own, None, None)
    metadata = {
        "version": FEATURE_CODE_VERSION,
        "interval": interval,
        "profile": config.features.profile,
        "custom_generators": config.features.generators is not None,
        "timeframes": list(config.features.timeframes),
        "symbols": groups,
        "features": entries,
    }
    write_json_atomic(fdir / METADATA, metadata)
    removed = _remove_stale(fdir, {e["file"] for e in entries})

    per_symbol = Counter(e["symbol"] for e in entries if e["symbol"] != generate.CROSS_GROUP)
    per_family = Counter(e["family"] for e in entries if e["symbol"] == symbols[0])
    figures = [r.value for r in results if isinstance(r.value, dict)]
    peak = max(
        [generate.peak_rss_mb(), *(r.peak_rss_mb for r in results)]
        + [float(f.get("peak_rss_mb") or 0.0) for f in figures]
    )
    details = {
        "profile": config.features.profile,
        "features_total": len(entries),
        "features_per_symbol": dict(per_symbol),
        "features_per_family": dict(per_family),
        "cross_coin_features": sum(1 for e in entries if e["family"] == "cross_coin"),
        "rows": rows,
        "block_columns": blocks,
        "blocks_written": sum(int(f.get("blocks_written", 0)) for f in figures),
        "blocks_reused": current + sum(int(f.get("blocks_reused", 0)) for f in figures),
        "stale_files_removed": removed,
        "peak_rss_mb": peak,
        "features_wall_s": round(time.perf_counter() - start, 3),
    }
    ctx.console.print(
        f"features: {len(entries):,} columns "
        f"({', '.join(f'{k} {v:,}' for k, v in per_symbol.items())}"
        f"{', cross ' + str(details['cross_coin_features']) if cross else ''}), "
        f"peak RSS {peak:,.0f} MB"
    )
    return StageOutcome(tasks=len(tasks), failed_tasks=0, details=details)


def _group(
    group: str, entries: list[dict[str, Any]], rows: int | None, fingerprint: str | None
) -> dict[str, Any]:
    files = list(dict.fromkeys(e["file"] for e in entries))
    return {
        "short": short_name(group) if group != generate.CROSS_GROUP else group,
        "rows": rows,
        "candles_fingerprint": fingerprint,
        "files": files,
        "index_file": files[0] if files else None,
        "features": len(entries),
    }


def _remove_stale(fdir: Path, keep: set[str]) -> int:
    """Delete block files (and leftover temporaries) that the new metadata does not name."""
    removed = 0
    for path in sorted(fdir.glob("*/*")):
        rel = path.relative_to(fdir).as_posix()
        stale_block = path.suffix == ".parquet" and rel not in keep
        leftover = path.name.startswith(".") and path.name.endswith(".tmp")
        if path.is_file() and (stale_block or leftover):
            path.unlink()
            removed += 1
    return removed
