"""Stage ``select``: per-variant shallow LightGBM screening, then the cross-variant aggregate.

Parent side: the prep-kept columns pass the leak guard; each variant's usable events (development,
known label) are split chronologically (most recent ``max_events``, last ``validation_fraction``
validates, horizon purge); a symbol's variants share one row set, the union of their events.
Workers: one task per symbol bins that row set once (quantile codes → LightGBM Dataset, a block
of features at a time, saved with ``save_binary``); one task per (symbol, window, kind) loads it
and screens each variant on ``subset()``s, writing ``selection/variants/<slug>.json`` per variant
(so a killed run resumes per variant).
Parent again (SPEC §6): ``selection/rankings.parquet``, ``selection/report.json`` and, last,
``selection/final_features.json``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.config import Config, SelectionConfig
from swingml.errors import BadInputError, StageFailedError
from swingml.features.matrix import load_matrix, read_metadata
from swingml.io.store import (
    RunStore,
    atomic_path,
    combine_fingerprints,
    file_fingerprint,
    read_json,
    write_json_atomic,
    write_parquet_atomic,
)
from swingml.modeling.splits import development_mask
from swingml.orchestration import check_failures, task_key, worker_threads
from swingml.orchestration.executor import Task, make_executor
from swingml.selection import screening
from swingml.selection.aggregate import (
    aggregate,
    family_mix,
    overlap,
    ranking_table,
    source_mix,
)
from swingml.targets.grid import Variant, variants
from swingml.targets.guard import guard_inputs
from swingml.workflow.loading import (
    Development,
    development,
    features_fingerprint,
    load_variant,
    read_kept,
)
from swingml.workflow.pipeline import StageContext, StageOutcome

SELECT_VERSION = "select-2"
"""Part of every key here: bump it when screening changes meaning for the same inputs."""
FINAL_BOUNDS = (300, 500)
"""SPEC §6 size of the final set; outside it the stage warns and reports, it does not fail."""
CODE_BLOCK = 512
"""Features quantised per feature-store read in a binning task."""


def _work(store: RunStore, symbol: str, name: str) -> Path:
    """One of select's scratch files of ``symbol`` (``select_rows``, ``select_binned``, ...)."""
    return store.dataset(name, symbol=symbol)


@dataclass
class SymbolPlan:
    """A symbol's screening inputs: its union rows, event table, and each variant's fate."""

    symbol: str
    rows: int
    events_print: str
    screened: list[Variant] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)


def run(ctx: StageContext) -> StageOutcome:
    """Screen every variant, aggregate, write the selection files (reused when unchanged)."""
    start = time.perf_counter()
    config, store = ctx.config, ctx.store
    kept = read_kept(store)
    metadata = read_metadata(store.features_dir())
    columns, guard_dropped = guard_inputs(kept, metadata)
    if not columns:
        raise BadInputError(
            str(store.dataset("prep_kept")),
            "no kept feature survives the leak guard",
            "re-run prep",
        )
    dev = development(config, store)
    key = _stage_key(config, store, dev, columns)
    final_path, report_path = store.dataset("final_features"), store.dataset("select_report")
    if store.is_current("final_features", key):
        report = read_json(report_path)
        ctx.console.print(f"select: reused {len(read_json(final_path)['features'])} features")
        return StageOutcome(0, 0, dict(report["summary"], reused=True))

    plans = [
        plan_symbol(store, config, dev, symbol, [v for v in variants(config) if v.symbol == symbol])
        for symbol in config.data.symbols
    ]
    executor = make_executor(config, store, ctx.console)
    seed = config.run.seed if config.selection.seed is None else config.selection.seed
    feature_print = combine_fingerprints(
        {"features": features_fingerprint(store), "columns": ",".join(columns)}
    )
    bin_tasks: list[Task] = []
    bin_keys: dict[str, str] = {}
    bin_stats: dict[str, dict[str, Any]] = {}
    for plan in plans:
        if not plan.screened:
            continue
        bin_key = task_key(
            bin_symbol, SELECT_VERSION, feature_print, plan.events_print, config.selection, seed
        )
        bin_keys[plan.symbol] = bin_key
        if store.is_current("select_binned", bin_key, symbol=plan.symbol):
            done = read_json(_work(store, plan.symbol, "select_binned_meta"))
            bin_stats[plan.symbol] = dict(done, reused=True)
            continue
        args = (str(store.root), plan.symbol, tuple(columns), config.selection, seed, bin_key)
        bin_tasks.append(Task(bin_key, bin_symbol, args, f"bin {plan.symbol}", reuse=False))
    bin_results = executor.run("select-bin", bin_tasks) if bin_tasks else []
    for task, result in zip(bin_tasks, bin_results, strict=True):
        if result.ok:
            bin_stats[task.args[1]] = dict(result.value, reused=False)

    screen_tasks: list[Task] = []
    expected: dict[str, str] = {}
    for plan in plans:
        if plan.symbol not in bin_stats:
            continue
        bin_key = bin_keys[plan.symbol]
        for w, kind in sorted({(v.w, v.kind) for v in plan.screened}):
            ids = tuple(v.id for v in plan.screened if (v.w, v.kind) == (w, kind))
            chunk_key = task_key(screen_chunk, SELECT_VERSION, bin_key, ids)
            expected.update({v: variant_key(bin_key, v) for v in ids})
            if all(_current(store, v, expected[v]) for v in ids):
                continue
            screen_tasks.append(
                Task(
                    chunk_key,
                    screen_chunk,
                    (str(store.root), plan.symbol, ids, config.selection, seed, bin_key),
                    f"{plan.symbol} w{w} {kind} ({len(ids)} variants)",
                    reuse=False,
                )
            )
    screen_results = executor.run("select", screen_tasks) if screen_tasks else []
    all_results = [*bin_results, *screen_results]
    check_failures(all_results, config, "select")

    outcomes = _collect(store, plans, expected)
    ranked = [o for o in outcomes if o["status"] == "ok"]
    if not ranked:
        raise StageFailedError("select: no variant could be screened; see selection/report.json")
    rankings = pd.concat(
        [
            ranking_table(o["variant"], [tuple(x) for x in o["ranking"]], o["total_gain"])
            for o in ranked
        ],
        ignore_index=True,
    )
    final = aggregate(rankings, config.selection.final_size)
    features = final["feature"].tolist()
    report = _report(
        config, plans, outcomes, rankings, final, metadata, guard_dropped, bin_stats, columns
    )
    report["summary"]["wall_s"] = round(time.perf_counter() - start, 3)
    write_parquet_atomic(store.dataset("select_rankings"), rankings)
    write_json_atomic(report_path, report)
    write_json_atomic(final_path, {"key": key, "features": features, "size": len(features)})
    summary = report["summary"]
    ctx.console.print(
        f"select: {summary['screened']} variants screened, {summary['candidates']} candidate "
        f"features → final {len(features)} (lgb.train {summary['train_s_total']:.1f} s)"
    )
    if summary.get("warning"):
        ctx.console.print(f"[yellow]select: {summary['warning']}[/yellow]")
    return StageOutcome(
        len(all_results), sum(not r.ok for r in all_results), dict(summary, reused=False)
    )


def _stage_key(config: Config, store: RunStore, dev: Development, columns: Sequence[str]) -> str:
    parts = dict(dev.fingerprints)
    for symbol in config.data.symbols:
        path = store.targets_path(symbol)
        if not path.is_file():
            raise BadInputError(
                str(path), f"no targets for {symbol}", "run `swingml targets` first"
            )
        parts[f"targets/{symbol}"] = file_fingerprint(path)
    parts.update(
        version=SELECT_VERSION,
        features=features_fingerprint(store),
        kept=file_fingerprint(store.dataset("prep_kept")),
        columns=",".join(columns),
        symbols=",".join(config.data.symbols),
        config=config.slice_hash("selection", "split", "targets", "grid"),
        seed=str(config.run.seed),
    )
    return combine_fingerprints(parts)


def plan_symbol(
    store: RunStore, config: Config, dev: Development, symbol: str, chosen: Sequence[Variant]
) -> SymbolPlan:
    """Split each variant's usable events; write the symbol's union rows and event table."""
    bars = dev.bars[symbol]
    bar_series = pd.Series(bars)
    cfg = config.selection
    parts: list[pd.DataFrame] = []
    skipped: dict[str, str] = {}
    counts: dict[str, tuple[int, int]] = {}
    screened: list[Variant] = []
    for variant in chosen:
        events = load_variant(store, variant)
        positions = bars.get_indexer(pd.DatetimeIndex(events["timestamp"]))
        if (positions < 0).any():
            raise BadInputError(
                str(store.targets_path(symbol)),
                f"{variant.id}: event timestamps that are not candle bars",
                "re-run `swingml targets` on the current candles",
            )
        horizon = variant.horizon(config.targets)
        usable = development_mask(positions, bar_series, dev.cutoff, horizon)
        usable &= events["label"].notna().to_numpy()
        pos = positions[usable].astype(np.int64)
        labels = events["label"].to_numpy()[usable].astype(np.int64)
        train, valid = screening.split_events(pos, horizon, cfg.max_events, cfg.validation_fraction)
        counts[variant.id] = (len(train), len(valid))
        if len(train) < cfg.min_events or len(valid) == 0:
            skipped[variant.id] = (
                f"{len(train)} training / {len(valid)} validation events after the split "
                f"(selection.min_events={cfg.min_events})"
            )
            continue
        screened.append(variant)
        for part, picks in (("train", train), ("valid", valid)):
            parts.append(
                pd.DataFrame(
                    {"variant": variant.id, "bar": pos[picks], "label": labels[picks], "part": part}
                )
            )
    if not parts:
        return SymbolPlan(symbol, 0, "", screened, skipped, counts)
    table = pd.concat(parts, ignore_index=True)
    union = np.unique(table["bar"].to_numpy())
    table["row"] = np.searchsorted(union, table["bar"].to_numpy()).astype(np.int32)
    table["label"] = table["label"].astype(np.int8)
    rows = pd.DataFrame({"timestamp": bars[union]})
    rows_path = _work(store, symbol, "select_rows")
    events_path = _work(store, symbol, "select_events")
    write_parquet_atomic(rows_path, rows)
    write_parquet_atomic(events_path, table[["variant", "row", "label", "part"]])
    prints = {"rows": file_fingerprint(rows_path), "events": file_fingerprint(events_path)}
    return SymbolPlan(symbol, len(union), combine_fingerprints(prints), screened, skipped, counts)


# ---- worker tasks ------------------------------------------------------------------------------


def bin_symbol(
    root: str,
    symbol: str,
    columns: tuple[str, ...],
    config: SelectionConfig,
    seed: int,
    bin_key: str,
) -> dict[str, Any]:
    """Quantise the symbol's features on its union rows and save the binned Dataset once.

    One ``CODE_BLOCK`` of features is read, quantised and binned at a time.
    """
    start = time.perf_counter()
    store = RunStore(root)
    stamps = pd.read_parquet(_work(store, symbol, "select_rows"))["timestamp"]
    quantise_s = 0.0

    def blocks() -> Iterator[tuple[npt.NDArray[np.float32], list[str]]]:
        nonlocal quantise_s
        for first in range(0, len(columns), CODE_BLOCK):
            began = time.perf_counter()
            chunk = list(columns[first : first + CODE_BLOCK])
            frame = load_matrix(store.features_dir(), symbol, chunk, stamps)
            if len(frame) != len(stamps):
                raise RuntimeError(
                    f"{symbol}: feature store has {len(frame)} of {len(stamps)} rows"
                )
            values = frame[chunk].to_numpy(dtype=np.float32).T
            del frame
            codes = screening.quantile_codes(
                values, config.max_bin - 1, config.bin_construct_sample_cnt
            )
            quantise_s += time.perf_counter() - began
            yield codes, chunk

    params = screening.dataset_params(config, worker_threads(), seed)
    dataset = screening.binned_blocks(blocks(), params)
    with atomic_path(_work(store, symbol, "select_binned")) as tmp:
        tmp.unlink()  # LightGBM will not save a binary over an existing (empty) file
        dataset.save_binary(str(tmp))
    stats = {
        "key": bin_key,
        "symbol": symbol,
        "rows": len(stamps),
        "features": len(columns),
        "quantise_s": round(quantise_s, 3),
        "wall_s": round(time.perf_counter() - start, 3),
    }
    write_json_atomic(_work(store, symbol, "select_binned_meta"), stats)
    return stats


def screen_chunk(
    root: str,
    symbol: str,
    ids: tuple[str, ...],
    config: SelectionConfig,
    seed: int,
    bin_key: str,
) -> list[dict[str, Any]]:
    """Screen each variant of ``ids`` on the symbol's binned Dataset; one JSON file per variant.

    A variant whose file already carries its key (``variant_key``) is read back, not re-trained.
    """
    store = RunStore(root)
    threads = worker_threads()
    parent: lgb.Dataset | None = None
    names: list[str] = []
    events = pd.read_parquet(
        _work(store, symbol, "select_events"), filters=[("variant", "in", list(ids))]
    )
    params = screening.train_params(config, threads, seed)
    out: list[dict[str, Any]] = []
    for variant_id in ids:
        path = _variant_path(store, variant_id)
        key = variant_key(bin_key, variant_id)
        if _current(store, variant_id, key):
            out.append(_brief(read_json(path), reused=True))
            continue
        if parent is None:
            parent = lgb.Dataset(
                str(_work(store, symbol, "select_binned")),
                params=screening.dataset_params(config, threads, seed),
            ).construct()
            names = list(parent.get_feature_name())
        mine = events[events["variant"] == variant_id]
        train = mine[mine["part"] == "train"]
        valid = mine[mine["part"] == "valid"]
        result = screening.screen_variant(
            parent,
            (train["row"].to_numpy(np.int64), train["label"].to_numpy(np.int64)),
            (valid["row"].to_numpy(np.int64), valid["label"].to_numpy(np.int64)),
            params,
            config,
        )
        payload = {
            "key": key,
            "variant": variant_id,
            "status": "ok",
            "n_train": result.n_train,
            "n_valid": result.n_valid,
            "best_iteration": result.best_iteration,
            "train_s": round(result.train_s, 4),
            "wall_s": round(result.wall_s, 4),
            "total_gain": float(result.gains.sum()),
            "ranking": screening.rank_features(names, result.gains, config.top_k),
        }
        write_json_atomic(path, payload)
        out.append(_brief(payload, reused=False))
    return out


def variant_key(bin_key: str, variant_id: str) -> str:
    """The key of one variant's screening: its binned Dataset's key and its id.

    Not the key of the task that screened it, so that how variants are grouped into tasks is
    free to change without screening any variant again.
    """
    return task_key(screen_chunk, SELECT_VERSION, bin_key, variant_id)


def _current(store: RunStore, variant_id: str, key: str) -> bool:
    slug = Variant.from_id(variant_id).slug
    return store.is_current("select_variant", key, slug=slug)


def _variant_path(store: RunStore, variant_id: str) -> Path:
    return store.dataset("select_variant", slug=Variant.from_id(variant_id).slug)


def _brief(payload: Mapping[str, Any], reused: bool) -> dict[str, Any]:
    brief = {k: v for k, v in payload.items() if k != "ranking"}
    brief["reused"] = reused
    return brief


# ---- parent: collect and report ----------------------------------------------------------------


def _collect(
    store: RunStore, plans: Sequence[SymbolPlan], expected: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One outcome per variant, in grid order: ok (with its ranking), skipped or failed.

    A variant is ok only if its result file carries the key this run expects for it.
    """
    outcomes: list[dict[str, Any]] = []
    for plan in plans:
        for variant_id, (n_train, n_valid) in plan.counts.items():
            base = {"variant": variant_id, "n_train": n_train, "n_valid": n_valid}
            if variant_id in plan.skipped:
                outcomes.append(dict(base, status="skipped", reason=plan.skipped[variant_id]))
                continue
            if variant_id in expected and _current(store, variant_id, expected[variant_id]):
                outcomes.append(read_json(_variant_path(store, variant_id)))
            else:
                outcomes.append(dict(base, status="failed", reason="its task failed (see logs)"))
    return outcomes


def _report(
    config: Config,
    plans: Sequence[SymbolPlan],
    outcomes: Sequence[Mapping[str, Any]],
    rankings: pd.DataFrame,
    final: pd.DataFrame,
    metadata: Mapping[str, Mapping[str, Any]],
    guard_dropped: Mapping[str, str],
    bin_stats: Mapping[str, Mapping[str, Any]],
    columns: Sequence[str],
) -> dict[str, Any]:
    """``selection/report.json``: summary, per-variant figures, overlap, mixes, top features."""
    ok = [o for o in outcomes if o["status"] == "ok"]
    walls = [float(o["wall_s"]) for o in ok]
    features = final["feature"].tolist()
    low, high = FINAL_BOUNDS
    summary: dict[str, Any] = {
        "variants": len(outcomes),
        "screened": len(ok),
        "no_gain": sum(not o["ranking"] for o in ok),
        "skipped": sum(o["status"] == "skipped" for o in outcomes),
        "failed": sum(o["status"] == "failed" for o in outcomes),
        "columns_in": len(columns) + len(guard_dropped),
        "guard_dropped": len(guard_dropped),
        "union_rows": {p.symbol: p.rows for p in plans},
        "bin_s": {symbol: float(stats["wall_s"]) for symbol, stats in bin_stats.items()},
        "bin_reused": sorted(symbol for symbol, stats in bin_stats.items() if stats["reused"]),
        "train_s_total": round(sum(float(o["train_s"]) for o in ok), 3),
        "variant_wall_s_total": round(sum(walls), 3),
        "variant_wall_s_median": round(statistics.median(walls), 4) if walls else 0.0,
        "variant_wall_s_max": round(max(walls, default=0.0), 4),
        "candidates": int(rankings["feature"].nunique()),
        "final_size": len(features),
        "final_in_bounds": low <= len(features) <= high,
    }
    if not summary["final_in_bounds"]:
        summary["warning"] = (
            f"final set has {len(features)} features, outside SPEC §6's {low}-{high} "
            f"(selection.final_size={config.selection.final_size}, "
            f"{summary['candidates']} candidates)"
        )
    tagged = rankings.copy()
    parsed = {v: Variant.from_id(v) for v in tagged["variant"].unique()}
    tagged["w"] = tagged["variant"].map(lambda v: parsed[v].w)
    tagged["kind"] = tagged["variant"].map(lambda v: parsed[v].kind)
    return {
        "summary": summary,
        "guard_dropped": dict(guard_dropped),
        "variants": [{k: v for k, v in o.items() if k not in ("ranking", "key")} for o in outcomes],
        "overlap": {"window": overlap(tagged, "w"), "kind": overlap(tagged, "kind")},
        "family_mix": family_mix(features, metadata),
        "source_mix": source_mix(features, metadata),
        "top_features": [
            {"feature": str(name), "variants": int(count), "mean_share": round(float(share), 6)}
            for name, count, share in zip(
                final["feature"][:20], final["variants"][:20], final["mean_share"][:20], strict=True
            )
        ],
    }
