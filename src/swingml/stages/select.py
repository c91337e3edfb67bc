"""Stage ``select``: per-variant shallow LightGBM screening, then the cross-variant aggregate.

The leak-guarded prep-kept columns; each symbol's variants split on one union row set
(``selection.union``); a ``select-bin`` batch bins each symbol once, a ``select`` batch screens a
(symbol, window, kind) per task, one result file per variant (``selection.tasks``: a killed run
resumes per variant); then rankings, report and, last, ``final_features.json`` (SPEC §6).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.features.matrix import load_matrix, read_metadata
from swingml.io.store import RunStore, combine_fingerprints, file_fingerprint
from swingml.modeling.splits import development_mask
from swingml.orchestration import Task, TaskResult, task_key
from swingml.selection import report, tasks, union
from swingml.selection.tasks import SymbolJob, VariantJob
from swingml.selection.union import SymbolPlan, Usable
from swingml.targets.grid import Variant, variants
from swingml.targets.guard import guard_inputs
from swingml.workflow import loading
from swingml.workflow.loading import Development
from swingml.workflow.pipeline import StageContext
from swingml.workflow.runner import Plan, Stage, execute

SELECT_VERSION = "select-2"
"""Part of every key here: bump it when screening changes meaning for the same inputs."""


@dataclass(frozen=True)
class _Planned:
    start: float
    key: str
    inputs: report.Inputs
    expected: dict[str, VariantJob]


def _guarded(ctx: StageContext) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """The prep-kept columns that pass the leak guard, those it dropped, the feature metadata."""
    metadata = read_metadata(ctx.store.features_dir())
    columns, dropped = guard_inputs(loading.read_kept(ctx.store), metadata)
    if not columns:
        kept = str(ctx.store.dataset("prep_kept"))
        raise BadInputError(kept, "no kept feature survives the leak guard", "re-run prep")
    return list(columns), dict(dropped), metadata


def _key(ctx: StageContext) -> str:
    """Fingerprints of candles, targets, features and the kept list, the config and version."""
    config, store = ctx.config, ctx.store
    columns = _guarded(ctx)[0]
    parts = dict(loading.development(config, store).fingerprints)
    for symbol in config.data.symbols:
        path = store.targets_path(symbol)
        if not path.is_file():
            raise BadInputError(
                str(path), f"no targets for {symbol}", "run `swingml targets` first"
            )
        parts[f"targets/{symbol}"] = file_fingerprint(path)
    parts.update(
        version=SELECT_VERSION,
        features=loading.features_fingerprint(store),
        kept=file_fingerprint(store.dataset("prep_kept")),
        columns=",".join(columns),
        symbols=",".join(config.data.symbols),
        config=config.slice_hash("selection", "split", "targets", "grid"),
        seed=str(config.run.seed),
    )
    return combine_fingerprints(parts)


def _reuse(ctx: StageContext, key: str) -> dict[str, Any] | None:
    if not ctx.store.is_current("final_features", key):
        return None
    ctx.console.print(f"select: reused {len(loading.read_selected(ctx.store))} features")
    return dict(ctx.store.load("select_report")["summary"], reused=True)


def _plan(ctx: StageContext, key: str | None) -> Plan[_Planned]:
    """Split and write each symbol's rows, run the binning batch; the screening tasks."""
    start = time.perf_counter()
    config, store = ctx.config, ctx.store
    columns, dropped, metadata = _guarded(ctx)
    dev = loading.development(config, store)
    grid = {v.id: v for v in variants(config)}
    chosen = {s: [v for v in grid.values() if v.symbol == s] for s in config.data.symbols}
    plans = [plan_symbol(store, config, dev, s, mine) for s, mine in chosen.items()]
    tags = {v.id: (v.w, v.kind) for v in grid.values()}
    bin_stats, binned = _bin(ctx, plans, columns)
    batch: list[Task] = []
    expected: dict[str, VariantJob] = {}
    for plan in (p for p in plans if p.symbol in bin_stats):
        bin_key = bin_stats[plan.symbol]["key"]
        for (w, kind), ids in union.chunks(plan, tags):
            jobs = variant_jobs(bin_key, ids)
            expected.update({j.id: j for j in jobs})
            if not all(tasks.is_screened(store, j) for j in jobs):
                args = (_job(ctx, plan.symbol), jobs)
                label = f"{plan.symbol} w{w} {kind} ({len(ids)} variants)"
                key_ = task_key(tasks.screen_chunk, SELECT_VERSION, bin_key, ids)
                batch.append(Task(key_, tasks.screen_chunk, args, label, reuse=False))
    inputs = report.Inputs(plans, columns, dropped, metadata, bin_stats, tags)
    return Plan(_Planned(start, str(key), inputs, expected), batch, ran=binned)


def _bin(
    ctx: StageContext, plans: Sequence[SymbolPlan], columns: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], list[TaskResult]]:
    """Bin each symbol with variants to screen (reusing a current binary); the stats (with the
    key) of each symbol binned, and the binning tasks' results."""
    store = ctx.store
    features = {"features": loading.features_fingerprint(store), "columns": ",".join(columns)}
    feature_print = combine_fingerprints(features)
    stats: dict[str, dict[str, Any]] = {}
    batch: list[Task] = []
    for plan in (p for p in plans if p.screened):
        job = _job(ctx, plan.symbol)
        key = task_key(
            tasks.bin_symbol, SELECT_VERSION, feature_print, plan.events_print, job.config, job.seed
        )
        if (done := tasks.binned(store, plan.symbol, key)) is not None:
            stats[plan.symbol] = done
            continue
        read = functools.partial(load_matrix, str(store.features_dir()), plan.symbol)
        args = (job, tuple(columns), key, read)
        batch.append(Task(key, tasks.bin_symbol, args, f"bin {plan.symbol}", reuse=False))
    results = execute(ctx, "select-bin", batch) if batch else []
    for task, result in zip(batch, results, strict=True):
        if result.ok:
            stats[task.args[0].symbol] = dict(result.value, reused=False)
    return stats, results


def _finish(ctx: StageContext, planned: _Planned, results: list[TaskResult]) -> dict[str, Any]:
    """Aggregate the screened variants; write rankings, report and, last, the final list."""
    store = ctx.store
    final_size = ctx.config.selection.final_size
    done = report.conclude(store, planned.inputs, planned.expected, final_size)
    summary = done.report["summary"]
    summary["wall_s"] = round(time.perf_counter() - planned.start, 3)
    report.save(store, done, planned.key)
    for line in report.headline(summary):
        ctx.console.print(line)
    return dict(summary, reused=False)


STAGE = Stage("select", plan=_plan, finish=_finish, key=_key, reuse=_reuse)
"""Screen every variant, aggregate, write the selection files (reused when unchanged)."""


def plan_symbol(
    store: RunStore,
    config: Config,
    dev: Development,
    symbol: str,
    chosen: Sequence[Variant],
) -> SymbolPlan:
    """Split each variant's usable events; write the symbol's union rows and event table."""
    bars = dev.bars[symbol]
    bar_series, source = pd.Series(bars), str(store.targets_path(symbol))
    usable: list[Usable] = []
    for variant in chosen:
        events = loading.load_variant(store, variant)
        positions = union.bar_positions(bars, events["timestamp"], variant.id, source)
        horizon = variant.horizon(config.targets)
        keep = development_mask(positions, bar_series, dev.cutoff, horizon)
        keep &= events["label"].notna().to_numpy()
        usable.append(Usable.of(variant.id, positions, events["label"], keep, horizon))
    plan, table = union.split_variants(symbol, usable, config.selection)
    return plan if table is None else union.save_union(store, plan, table, bars)


def variant_jobs(bin_key: str, ids: Sequence[str]) -> tuple[VariantJob, ...]:
    """Variants to screen on the binned Dataset ``bin_key``, keyed by it and their id alone (not
    by their task: regrouping variants into tasks screens nothing again)."""
    return tuple(
        VariantJob(
            v, Variant.from_id(v).slug, task_key(tasks.screen_chunk, SELECT_VERSION, bin_key, v)
        )
        for v in ids
    )


def _job(ctx: StageContext, symbol: str) -> SymbolJob:
    """A symbol's task settings; the seed is ``selection.seed``, else ``run.seed``."""
    cfg = ctx.config
    seed = cfg.run.seed if cfg.selection.seed is None else cfg.selection.seed
    return SymbolJob(
        str(ctx.store.root), symbol, cfg.selection, seed, cfg.executor.threads_per_worker
    )
