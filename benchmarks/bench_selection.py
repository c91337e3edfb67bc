"""Selection benchmark: one shared binned Dataset + ``subset()`` vs a fresh Dataset per variant.

Side by side on the same >= 48 real variants (real Binance 1h data; default: BTCUSDT, window 5,
every kind x s x k of the default grid), the same features (the prep-kept columns after the leak
guard), the same quantile-coded rows and the same LightGBM parameters, one thread each:

* naive: per variant, slice its rows, build ``lgb.Dataset`` (train) + a validation Dataset with
  ``reference=train``, ``lgb.train``;
* ours: bin the symbol's union rows once (``screening.binned_dataset``), then per variant
  ``subset()`` → ``construct()`` → ``set_label()`` and ``lgb.train`` (``screening.screen_variant``);
* ours through the stage's task functions (``bin_symbol`` + ``screen_chunk``, in this process):
  adds reading the feature store, quantising, ``save_binary`` and loading it back.

Then the whole machine, as each way would run it: the naive loop with LightGBM's default threads
(OpenMP, every core) vs the stage's tasks on the worker pool (workers = cores, one thread each).

Last, the issue's regime (one variant of 20K training + 5K validation events x the full profile's
prep-kept features, real BTC 1h rows): quantising, binning (codes and raw floats) vs training, the
bound on what binning once can save per variant at that size.

Reported: wall, summed ``lgb.train`` time, wall / summed train, throughput ratio, and whether every
variant's top-200 list is identical between naive and ours. Written into
``docs/benchmarks/prep_selection.md``.

Run it alone: ``flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_selection.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from _bench import load_average
from bench_prep import DOC, REAL, ensure_run, machine, write_section

TITLE = "# Prep and selection benchmarks"


def setup(run: Path, symbol: str, windows: list[int]) -> dict[str, Any]:
    """Plan the variants (the stage's own code), load and quantise the union rows once."""
    from swingml.config import load_config
    from swingml.features.matrix import load_matrix, read_metadata
    from swingml.io.store import RunStore
    from swingml.selection import screening
    from swingml.selection.tasks import CODE_BLOCK
    from swingml.stages import select
    from swingml.targets.grid import variants
    from swingml.targets.guard import guard_inputs
    from swingml.workflow.loading import development, read_kept

    windows_set = "[" + ", ".join(str(w) for w in windows) + "]"
    config = load_config("real-1h", (), [f"grid.windows={windows_set}"], run)
    store = RunStore(run)
    columns, _ = guard_inputs(read_kept(store), read_metadata(store.features_dir()))
    dev = development(config, store)
    chosen = [v for v in variants(config) if v.symbol == symbol]
    plan = select.plan_symbol(store, config, dev, symbol, chosen)
    work = store.path("selection", "work", symbol)
    stamps = pd.read_parquet(work / "rows.parquet")["timestamp"]
    events = pd.read_parquet(work / "events.parquet")
    start = time.perf_counter()
    codes = np.empty((len(columns), len(stamps)), dtype=np.float32)
    raw = np.empty_like(codes)
    cfg = config.selection
    for first in range(0, len(columns), CODE_BLOCK):
        chunk = columns[first : first + CODE_BLOCK]
        values = load_matrix(store.features_dir(), symbol, chunk, stamps)[chunk]
        raw[first : first + len(chunk)] = values.to_numpy(dtype=np.float32).T
        codes[first : first + len(chunk)] = screening.quantile_codes(
            raw[first : first + len(chunk)], cfg.max_bin - 1, cfg.bin_construct_sample_cnt
        )
    prepare_s = time.perf_counter() - start
    rows = {}
    for variant_id in plan.screened:
        mine = events[events["variant"] == variant_id]
        parts = [mine[mine["part"] == p] for p in ("train", "valid")]
        rows[variant_id] = tuple(
            (p["row"].to_numpy(np.int64), p["label"].to_numpy(np.int64)) for p in parts
        )
    return {
        "config": config,
        "columns": columns,
        "codes": codes,
        "raw": raw,
        "rows": rows,
        "prepare_s": prepare_s,
        "skipped": len(plan.skipped),
        "union_rows": len(stamps),
        "train_sizes": [len(train[0]) for train, _ in rows.values()],
    }


def ours(state: dict[str, Any]) -> dict[str, Any]:
    """Shared binned Dataset, one subset pair per variant."""
    from swingml.selection import screening

    cfg = state["config"].selection
    seed = state["config"].run.seed
    start = time.perf_counter()
    parent = screening.binned_dataset(
        state["codes"], state["columns"], screening.dataset_params(cfg, 1, seed)
    )
    bin_s = time.perf_counter() - start
    params = screening.train_params(cfg, 1, seed)
    ranks, trains = {}, []
    for variant_id, (train, valid) in state["rows"].items():
        result = screening.screen_variant(parent, train, valid, params, cfg)
        trains.append(result.train_s)
        ranks[variant_id] = screening.rank_features(state["columns"], result.gains, cfg.top_k)
    return {
        "wall_s": time.perf_counter() - start,
        "train_s": sum(trains),
        "bin_s": bin_s,
        "ranks": ranks,
    }


def _fresh_fit(
    params: dict[str, Any], train: lgb.Dataset, valid: lgb.Dataset, cfg: Any
) -> lgb.Booster:
    """The shallow screening model on a freshly built Dataset (what the naive loop does)."""
    return lgb.train(
        params,
        train,
        num_boost_round=cfg.num_rounds,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(cfg.early_stopping, first_metric_only=True, verbose=False)],
    )


def naive(state: dict[str, Any], threads: int | None = 1) -> dict[str, Any]:
    """A fresh Dataset per variant (same codes, same parameters); ``threads`` None: LightGBM's."""
    from swingml.selection import screening

    cfg = state["config"].selection
    seed = state["config"].run.seed
    params = screening.train_params(cfg, threads or 1, seed)
    if threads is None:
        del params["num_threads"]  # LightGBM's default: OpenMP's, one thread per core
    codes = state["codes"]
    ranks, trains, bins = {}, [], []
    start = time.perf_counter()
    for variant_id, ((tr_rows, tr_y), (va_rows, va_y)) in state["rows"].items():
        began = time.perf_counter()
        train = lgb.Dataset(
            codes[:, tr_rows].T, label=tr_y, feature_name=state["columns"], params=params
        ).construct()
        valid = lgb.Dataset(
            codes[:, va_rows].T, label=va_y, reference=train, params=params
        ).construct()
        bins.append(time.perf_counter() - began)
        fit = time.perf_counter()
        booster = _fresh_fit(params, train, valid, cfg)
        trains.append(time.perf_counter() - fit)
        gains = np.asarray(booster.feature_importance("gain"), dtype=np.float64)
        ranks[variant_id] = screening.rank_features(state["columns"], gains, cfg.top_k)
    return {
        "wall_s": time.perf_counter() - start,
        "train_s": sum(trains),
        "bin_s": sum(bins),
        "bin_median_s": statistics.median(bins),
        "ranks": ranks,
    }


def _stage_jobs(
    run: Path, state: dict[str, Any], symbol: str, key: str, threads: int
) -> tuple[Any, tuple[Any, ...], Any]:
    """The stage's task arguments for this run: the symbol's job, its variants (their result
    files removed, so each is screened), the feature reader."""
    import functools

    from swingml.features.matrix import load_matrix
    from swingml.io.store import RunStore
    from swingml.selection.tasks import SymbolJob, variant_path
    from swingml.stages import select

    config = state["config"]
    store = RunStore(run)
    jobs = select.variant_jobs(key, tuple(state["rows"]))
    for job in jobs:
        variant_path(store, job.slug).unlink(missing_ok=True)
    symbol_job = SymbolJob(str(run), symbol, config.selection, config.run.seed, threads)
    read = functools.partial(load_matrix, str(store.features_dir()), symbol)
    return symbol_job, jobs, read


def through_stage(run: Path, state: dict[str, Any], symbol: str) -> dict[str, Any]:
    """The stage's own task functions, in this process: store IO, quantising, binary save/load."""
    from swingml.selection.tasks import bin_symbol, screen_chunk

    key = f"bench-{time.time_ns()}"
    job, jobs, read = _stage_jobs(run, state, symbol, key, threads=1)
    start = time.perf_counter()
    stats = bin_symbol(job, tuple(state["columns"]), key, read)
    results = screen_chunk(job, jobs)
    return {
        "wall_s": time.perf_counter() - start,
        "train_s": sum(r["train_s"] for r in results),
        "bin_s": stats["wall_s"],
    }


def through_pool(run: Path, state: dict[str, Any], symbol: str) -> dict[str, Any]:
    """The stage's tasks on the local worker pool: bin once, then one chunk of variants a worker."""
    from rich.console import Console

    from swingml.io.store import RunStore, read_json
    from swingml.orchestration.executor import Task, make_executor
    from swingml.selection.tasks import bin_symbol, screen_chunk, variant_path

    config = state["config"]
    store = RunStore(run)
    workers = config.executor.max_concurrent_processes or os.cpu_count() or 1
    key = f"bench-pool-{time.time_ns()}"
    threads = config.executor.threads_per_worker
    job, jobs, read = _stage_jobs(run, state, symbol, key, threads)
    start = time.perf_counter()
    bin_symbol(job, tuple(state["columns"]), key, read)
    chunks = [jobs[i::workers] for i in range(workers)]
    tasks = [
        Task(f"{key}-{i}", screen_chunk, (job, chunk), f"chunk {i}")
        for i, chunk in enumerate(chunks)
    ]
    results = make_executor(config, store, Console(quiet=True)).run("bench-select", tasks)
    wall = time.perf_counter() - start
    if not all(r.ok for r in results):
        raise SystemExit(f"a pool task failed: {[r.error for r in results if not r.ok]}")
    ranks = {}
    for variant in jobs:
        ranking = read_json(variant_path(store, variant.slug))["ranking"]
        ranks[variant.id] = [(name, gain) for name, gain in ranking]
    return {
        "wall_s": wall,
        "train_s": sum(v["train_s"] for r in results for v in r.value),
        "workers": workers,
        "ranks": ranks,
    }


def regime(run: Path, symbol: str, n_train: int = 20_000, n_valid: int = 5_000) -> dict[str, Any]:
    """One variant at the issue's size on the full profile: binning vs training, one thread.

    Rows are the symbol's most recent development bars before the hold-out; the label is the
    tercile of the 10-bar forward log return (a stand-in for a variant's labels: only the costs
    are measured, and early stopping sees a realistically weak signal).
    """
    from swingml.config import load_config
    from swingml.features.matrix import load_matrix, read_metadata
    from swingml.io.store import RunStore
    from swingml.selection import screening
    from swingml.targets.guard import guard_inputs
    from swingml.workflow.loading import read_kept

    config = load_config("real-1h", (), ["features.profile=full"], run)
    store = RunStore(run)
    columns, _ = guard_inputs(read_kept(store), read_metadata(store.features_dir()))
    candles = pd.read_parquet(store.candles_path(symbol))
    n = n_train + n_valid
    cut = int(len(candles) * (1 - config.split.holdout_fraction))
    stamps = candles["timestamp"].iloc[cut - n - 10 : cut - 10]
    close = np.log(candles["close"].to_numpy(np.float64))
    forward = close[cut - n : cut] - close[cut - n - 10 : cut - 10]
    labels = np.digitize(forward, np.quantile(forward, [1 / 3, 2 / 3])).astype(np.float32)
    values = load_matrix(store.features_dir(), symbol, columns, stamps)[columns]
    raw = values.to_numpy(np.float32)
    del values
    cfg = config.selection
    params = screening.train_params(cfg, 1, config.run.seed)
    began = time.perf_counter()
    codes = screening.quantile_codes(raw.T, cfg.max_bin - 1, cfg.bin_construct_sample_cnt).T
    out: dict[str, Any] = {
        "quantise_s": time.perf_counter() - began,
        "features": len(columns),
        "n_train": n_train,
        "n_valid": n_valid,
    }
    for name, matrix in (("codes", codes), ("raw", raw)):
        began = time.perf_counter()
        train = lgb.Dataset(matrix[:n_train], label=labels[:n_train], params=params).construct()
        valid = lgb.Dataset(
            matrix[n_train:], label=labels[n_train:], reference=train, params=params
        ).construct()
        out[f"bin_{name}_s"] = time.perf_counter() - began
        began = time.perf_counter()
        booster = _fresh_fit(params, train, valid, cfg)
        out[f"train_{name}_s"] = time.perf_counter() - began
        out[f"rounds_{name}"] = booster.current_iteration()
    return out


SPEED_OPTIONS: dict[str, dict[str, Any]] = {
    "today (seed 42)": {},
    "noise floor: today, seed 43": {"seed": 43},
    "GOSS (no bagging)": {"data_sample_strategy": "goss", "bagging_freq": 0},
    "feature_fraction 0.5": {"feature_fraction": 0.5},
    "feature_fraction_bynode 0.5": {"feature_fraction_bynode": 0.5},
    "GOSS + feature_fraction 0.5": {
        "data_sample_strategy": "goss",
        "bagging_freq": 0,
        "feature_fraction": 0.5,
    },
    "learning_rate 0.2, <= 50 rounds, early stopping 10": {
        "learning_rate": 0.2,
        "num_rounds": 50,
        "early_stopping": 10,
    },
    "learning_rate 0.1, <= 100 rounds, early stopping 20 (the defaults until 2026-12-07)": {
        "learning_rate": 0.1,
        "num_rounds": 100,
        "early_stopping": 20,
    },
    "max_bin 31": {"max_bin": 31},
    "bins matched to rows": {"bins": "rows"},
    "bins matched to rows + GOSS": {
        "bins": "rows",
        "data_sample_strategy": "goss",
        "bagging_freq": 0,
    },
}
"""LightGBM settings that keep the seed's method (a shallow model ranked by gain), tried one by one.

``num_rounds``/``early_stopping``/``max_bin``/``bins`` are selection config keys; the rest are
parameters. ``bins: rows`` screens each variant on a Dataset built for its own rows
(``selection.row_bins``), one per distinct row set, its build counted in the wall of the variant
that needed it first.
"""

CONFIG_KEYS = ("num_rounds", "early_stopping", "max_bin", "bins")


def speed_options(state: dict[str, Any], names: list[str]) -> dict[str, dict[str, Any]]:
    """Each option on the same variants, one thread: summed per-variant time and the rankings."""
    from swingml.selection import screening

    base_cfg = state["config"].selection
    seed = state["config"].run.seed
    out: dict[str, dict[str, Any]] = {}
    parents: dict[int, Any] = {}
    for name in names:
        extra = dict(SPEED_OPTIONS[name])
        keys = {k: extra.pop(k) for k in CONFIG_KEYS if k in extra}
        cfg = base_cfg.model_copy(update=keys)
        params = {**screening.train_params(cfg, 1, seed), **extra}
        if cfg.bins == "rows":
            out[name] = _rows_option(state, cfg, params, seed)
            print(json.dumps({"option": name, "wall_s": out[name]["wall_s"]}), flush=True)
            continue
        if cfg.max_bin not in parents:
            codes = state["codes"]
            if cfg.max_bin != base_cfg.max_bin:
                codes = screening.quantile_codes(
                    state["raw"], cfg.max_bin - 1, cfg.bin_construct_sample_cnt
                )
            parents[cfg.max_bin] = screening.binned_dataset(
                codes, state["columns"], screening.dataset_params(cfg, 1, seed)
            )
        ranks, walls, rounds = {}, [], []
        for variant_id, (train, valid) in state["rows"].items():
            result = screening.screen_variant(parents[cfg.max_bin], train, valid, params, cfg)
            walls.append(result.wall_s)
            rounds.append(result.best_iteration)
            ranks[variant_id] = screening.rank_features(state["columns"], result.gains, cfg.top_k)
        out[name] = {"wall_s": sum(walls), "rounds": statistics.median(rounds), "ranks": ranks}
        print(json.dumps({"option": name, "wall_s": sum(walls)}), flush=True)
    return out


def _rows_option(
    state: dict[str, Any], cfg: Any, params: dict[str, Any], seed: int
) -> dict[str, Any]:
    """``speed_options`` for ``bins: rows``: the same variants on Datasets built for their rows
    from the same codes (packed as the binning task saves them), one per distinct row set."""
    from swingml.selection import row_bins, screening

    if cfg.max_bin != state["config"].selection.max_bin:
        raise ValueError("bins matched to rows coarsens the state's codes: keep max_bin")
    datasets = row_bins.RowDatasets(
        row_bins.packed(state["codes"]),
        state["columns"],
        screening.dataset_params(cfg, 1, seed),
        cfg.max_bin,
    )
    for train, valid in state["rows"].values():
        datasets.expect(train[0], valid[0])
    ranks, walls, rounds = {}, [], []
    for variant_id, (train, valid) in state["rows"].items():
        result, _ = row_bins.screen_rows(datasets, train, valid, params, cfg)
        walls.append(result.wall_s)
        rounds.append(result.best_iteration)
        ranks[variant_id] = screening.rank_features(state["columns"], result.gains, cfg.top_k)
    return {
        "wall_s": sum(walls),
        "rounds": statistics.median(rounds),
        "ranks": ranks,
        "built": datasets.built,
    }


def _final(ranks: dict[str, list[tuple[str, float]]], size: int) -> list[str]:
    """The aggregate of the stage (SPEC §6) over these variants' rankings, cut to ``size``."""
    from swingml.selection.aggregate import aggregate, ranking_table

    tables = [ranking_table(v, r, sum(g for _, g in r)) for v, r in ranks.items() if r]
    return list(aggregate(pd.concat(tables, ignore_index=True), size)["feature"])


def render_options(
    state: dict[str, Any],
    figures: dict[str, dict[str, Any]],
    symbol: str,
    final_size: int,
    title: str = "Selection speed options",
) -> str:
    """The table of the speed options: time ratio, final-set and top-k agreement with today."""
    base_name = next(iter(figures))
    base = figures[base_name]
    base_final = set(_final(base["ranks"], final_size))
    ids = list(state["rows"])
    rows = []
    floor = None
    for name, fig in figures.items():
        final = set(_final(fig["ranks"], final_size))
        shared = len(final & base_final) / max(len(base_final), 1)
        topk = statistics.median(
            len({f for f, _ in fig["ranks"][v]} & {f for f, _ in base["ranks"][v]})
            / max(len(base["ranks"][v]), 1)
            for v in ids
        )
        if name.startswith("noise floor"):
            floor = (shared, topk)
        rows.append((name, fig, shared, topk))
    lines = [
        f"## {title} (`benchmarks/bench_selection.py --options`)",
        "",
        f"Machine: {machine()}. Load average at the end: {load_average()}. No GPU.",
        "",
        f"{len(ids)} real variants ({symbol}, windows "
        f"{sorted({v.split('/')[1] for v in ids})}), {len(state['columns']):,} prep-kept features, "
        f"{statistics.median(state['train_sizes']):,.0f} training events "
        "median; one thread, the shared binned Dataset (bins matched to rows: a Dataset per "
        "distinct row set, its build in the first variant's wall), each option on the same "
        "variants. "
        f"Final set: the stage's aggregate of these variants cut to {final_size}; agreement is "
        "the share of today's final set (or of a variant's top-k, median over variants) that "
        "the option also picks. The noise floor is today's method under another seed (bagging "
        "and sampling draws).",
        "",
        "| option | sum per-variant wall (s) | speed vs today | median best iteration "
        "| final set shared with today | top-k shared (median) | within the noise floor |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for name, fig, shared, topk in rows:
        within = (
            "-"
            if floor is None or name == base_name
            else ("yes" if shared >= floor[0] and topk >= floor[1] else "no")
        )
        lines.append(
            f"| {name} | {fig['wall_s']:.1f} | {base['wall_s'] / fig['wall_s']:.2f}x "
            f"| {fig['rounds']:.0f} | {shared:.0%} | {topk:.0%} | {within} |"
        )
    lines += [
        "",
        "A change is kept only where both agreements reach the noise floor's and the "
        "champions' hold-out macro AP does not drop in a real-data run side by side: see "
        "the next section for those runs. Speeds were measured one option after another: "
        "the noise-floor row (the same work as today) shows how much the speed column itself "
        "can swing.",
    ]
    return "\n".join([*lines, ""])


def _same(a: dict[str, Any], b: dict[str, Any], ids: list[str]) -> int:
    return sum(a["ranks"][v] == b["ranks"][v] for v in ids)


def render(
    state: dict[str, Any],
    figures: dict[str, dict[str, Any]],
    symbol: str,
    big: dict[str, Any] | None,
) -> str:
    ids = list(state["rows"])
    n = len(ids)
    same = _same(figures["ours"], figures["naive"], ids)
    names_same = sum(
        [f for f, _ in figures["ours"]["ranks"][v]] == [f for f, _ in figures["naive"]["ranks"][v]]
        for v in ids
    )
    pool_same = _same(figures["pool"], figures["naive"], ids)
    threads_same = _same(figures["naive_all"], figures["naive"], ids)
    workers = figures["pool"]["workers"]
    cores = os.cpu_count()

    def row(label: str, f: dict[str, Any], base: float, binning: str) -> str:
        return (
            f"| {label} | {f['wall_s']:.1f} | {binning} | {f['train_s']:.1f} "
            f"| {f['wall_s'] / f['train_s']:.2f} | {n / f['wall_s']:.2f} "
            f"| {base / f['wall_s']:.2f}x |"
        )

    one = figures["naive"]["wall_s"]
    every = figures["naive_all"]["wall_s"]
    cfg = state["config"].selection
    windows = sorted({v.split("/")[1] for v in ids})
    share = figures["naive"]["bin_s"] / figures["naive"]["wall_s"]
    bound = 1.0 / (1.0 - share)
    lines = [
        "## Selection (`benchmarks/bench_selection.py`)",
        "",
        f"Machine: {machine()}. Load average at the end: {load_average()}.",
        "",
        f"{n} real variants ({symbol}, windows {windows}"
        f", every kind x s x k of the default grid; {state['skipped']} more had too few "
        f"events), {len(state['columns']):,} prep-kept features (small profile), "
        f"{state['union_rows']:,} union rows; shallow LightGBM: {cfg.num_leaves} leaves, depth "
        f"{cfg.max_depth}, <= {cfg.num_rounds} rounds, early stopping {cfg.early_stopping}, "
        f"max_bin {cfg.max_bin}. Reading + quantising the rows once took "
        f"{state['prepare_s']:.1f} s (not in the one-thread rows of ours).",
        "",
        "### One thread on both sides: what binning once saves",
        "",
        "| path | wall (s) | binning (s) | sum lgb.train (s) | wall / sum train "
        "| variants/s | throughput vs naive |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row(
            "naive: fresh `lgb.Dataset` per variant",
            figures["naive"],
            one,
            f"{figures['naive']['bin_s']:.1f}",
        ),
        row(
            "ours: one binned Dataset, `subset()` per variant",
            figures["ours"],
            one,
            f"{figures['ours']['bin_s']:.1f}",
        ),
        row(
            "ours via stage tasks (+ store read, quantise, save/load binary)",
            figures["stage"],
            one,
            f"{figures['stage']['bin_s']:.1f}",
        ),
        "",
        f"Top-{cfg.top_k} lists identical (names, order and gains) between naive and ours: "
        f"**{same} / {n}** variants (names and order only: {names_same} / {n}).",
        "",
        "### The whole machine, as each way runs",
        "",
        "| path | wall (s) | binning (s) | sum lgb.train (s) | wall / sum train "
        "| variants/s | throughput vs naive loop |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row(
            f"naive loop, LightGBM's default threads ({cores} OpenMP threads)",
            figures["naive_all"],
            every,
            f"{figures['naive_all']['bin_s']:.1f}",
        ),
        row(
            f"ours: stage tasks on the worker pool ({workers} workers x 1 thread)",
            figures["pool"],
            every,
            "in wall",
        ),
        "",
        f"Top-{cfg.top_k} lists identical to the one-thread naive loop: pool {pool_same} / {n}, "
        f"naive with default threads {threads_same} / {n}. On the pool, `wall / sum train` is "
        f"below 1 because {workers} workers train at once.",
        "",
        "### Where the time goes",
        "",
        f"Binning is {share:.0%} of the one-thread naive loop here "
        f"(median {figures['naive']['bin_median_s']:.2f} s per variant, "
        f"{statistics.median(state['train_sizes']):,.0f} training events median), so binning once "
        f"can speed the loop up by at most {bound:.2f}x; the rest is `lgb.train`, the same on "
        "both sides.",
    ]
    if big:
        fit = big["train_codes_s"]
        lines += [
            "",
            f"At the issue's size (one variant: {big['n_train']:,} training + {big['n_valid']:,} "
            f"validation events x {big['features']:,} full-profile prep-kept features, real "
            f"{symbol} 1h rows, one thread):",
            "",
            "| step | seconds | share of a naive variant |",
            "|---|---:|---:|",
            f"| quantise the rows (ours, once per symbol) | {big['quantise_s']:.1f} | - |",
            f"| build train + validation Dataset from codes | {big['bin_codes_s']:.1f} "
            f"| {big['bin_codes_s'] / (big['bin_codes_s'] + fit):.0%} |",
            f"| build train + validation Dataset from raw float32 | {big['bin_raw_s']:.1f} "
            f"| {big['bin_raw_s'] / (big['bin_raw_s'] + big['train_raw_s']):.0%} |",
            f"| `lgb.train` (codes: {big['rounds_codes']} rounds) | {fit:.1f} "
            f"| {fit / (big['bin_codes_s'] + fit):.0%} |",
            "",
            "Binning once removes the Dataset rows, so it bounds the per-variant speed-up at "
            f"{(big['bin_codes_s'] + fit) / fit:.2f}x (codes) or "
            f"{(big['bin_raw_s'] + big['train_raw_s']) / big['train_raw_s']:.2f}x (raw floats) "
            f"at that size; with {cores} cores, the pool adds at most {cores}x over one thread.",
        ]
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="real-1h run with features, targets and prep")
    parser.add_argument(
        "--full-run", type=Path, help="real-1h run on the full profile (built when missing)"
    )
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--windows", type=int, nargs="+", default=[5])
    parser.add_argument("--no-regime", action="store_true", help="skip the issue-size fit")
    parser.add_argument(
        "--options",
        nargs="*",
        metavar="NAME",
        help="only compare selection speed options (all when no name is given): "
        + "; ".join(SPEED_OPTIONS),
    )
    parser.add_argument("--final-size", type=int, default=200, help="final set size (--options)")
    parser.add_argument(
        "--section", default="bench_selection_options", help="page section (--options)"
    )
    parser.add_argument("--title", default="Selection speed options", help="its heading")
    parser.add_argument(
        "--k", type=float, nargs="*", help="only the variants with these k (--options)"
    )
    args = parser.parse_args()
    if not REAL.is_dir():
        sys.exit(f"real data not found at {REAL}")
    with tempfile.TemporaryDirectory(prefix="bench_select_") as tmp:
        run = ensure_run(args.run or Path(tmp) / "small", "small", ["features", "targets", "prep"])
        state = setup(run, args.symbol, args.windows)
        if args.options is not None:
            if args.k:
                keep = {f"k{x:g}" for x in args.k} | {f"k{x}" for x in args.k}
                state["rows"] = {
                    v: rows for v, rows in state["rows"].items() if v.split("/")[-1] in keep
                }
                state["train_sizes"] = [len(train[0]) for train, _ in state["rows"].values()]
            names = list(SPEED_OPTIONS)[:2] + [n for n in args.options if n in SPEED_OPTIONS]
            names = list(dict.fromkeys(names if args.options else SPEED_OPTIONS))
            figures = speed_options(state, names)
            text = render_options(state, figures, args.symbol, args.final_size, args.title)
            write_section(DOC, args.section, text, TITLE)
            return
        figures = {"naive": naive(state), "ours": ours(state)}
        figures["stage"] = through_stage(run, state, args.symbol)
        figures["naive_all"] = naive(state, threads=None)
        figures["pool"] = through_pool(run, state, args.symbol)
        print(
            json.dumps(
                {k: {m: v for m, v in f.items() if m != "ranks"} for k, f in figures.items()}
            ),
            flush=True,
        )
        big = None
        if not args.no_regime:
            full = ensure_run(
                args.full_run or Path(tmp) / "full", "full", ["features", "targets", "prep"]
            )
            big = regime(full, args.symbol)
            print(json.dumps(big), flush=True)
        write_section(DOC, "bench_selection", render(state, figures, args.symbol, big), TITLE)


if __name__ == "__main__":
    main()
