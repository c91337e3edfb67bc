"""Prep benchmark: the blocked float32 correlation filter vs feature-engine, and prep at 15K.

Two measurements on the real Binance 1h files, written into ``docs/benchmarks/prep_selection.md``:

(a) Side by side on the same >= 1,000 real features (those that pass the four per-feature
    filters, small feature profile) x ``--rows`` development rows: ours
    (``CorrelationFilter(0.9)``) vs feature-engine ``DropCorrelatedFeatures(threshold=0.9)``.
    Median wall of ``--reps`` runs each; the ratio; and whether the kept sets are equivalent:
    no kept pair above 0.9, every dropped feature with a kept partner above 0.9 (checked with an
    exact float64 correlation matrix), and the symmetric difference of the two kept sets. NaN is
    mean-filled first so that both see the same complete data (feature-engine's pandas
    correlation is pairwise-complete, ours mean-imputes; with no NaN they are the same r).
(c) ``swingml prep`` on the full feature profile (~14K features) x the default development
    sample (``prep.sample_rows``) in a fresh process: wall and peak RSS of its process tree.

Run it alone: ``flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_prep.py``.
``--run-small``/``--run-full`` reuse run directories that already hold a feature store.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _bench import machine, run_tree, write_section
from swingml.config import PrepConfig

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks" / "prep_selection.md"
REAL = REPO.parent / "shared" / "data" / "binance"
PYTHON = sys.executable


def swingml(*args: str) -> list[str]:
    """The ``swingml`` command line from this interpreter's environment."""
    return [PYTHON, "-m", "swingml.cli", *args]


def ensure_run(run: Path, profile: str, stages: list[str]) -> Path:
    """A real-1h run directory with ``stages`` done (each skipped if it already has output)."""
    outputs = {
        "features": "features/metadata.json",
        "targets": "targets/BTCUSDT.parquet",
        "prep": "prep/kept_features.json",
    }
    common = ["--profile", "real-1h", "--run-dir", str(run), "--set", f"features.profile={profile}"]
    if not (run / "candles" / "BTCUSDT.parquet").is_file():
        subprocess.run([PYTHON, "-c", _DATA_STAGE, str(run), profile], check=True, cwd=REPO)
    for stage in stages:
        if not (run / outputs[stage]).is_file():
            subprocess.run(swingml(stage, *common), check=True, cwd=REPO)
    return run


_DATA_STAGE = """
import sys
from rich.console import Console
from swingml.workflow import pipeline
from swingml.config import load_config
from swingml.workflow.pipeline import StageContext
from swingml.io.store import RunStore
config = load_config("real-1h", (), [f"features.profile={sys.argv[2]}"], sys.argv[1])
store = RunStore(config.run.dir)
pipeline.run_stage("data", StageContext(config, store, Console(stderr=True)))
"""


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """Median wall seconds of ``reps`` calls and the last result."""
    walls, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), result


# ---- (a) correlation filter vs feature-engine ------------------------------------------------


def real_frame(run: Path, rows: int, limit: int) -> pd.DataFrame:
    """Up to ``limit`` real features passing filters 1-4, on ``rows`` BTC development rows."""
    from swingml.config import PrepConfig, load_config
    from swingml.features.matrix import feature_names, load_matrix
    from swingml.io.store import RunStore
    from swingml.prep.pipeline import chain, development_rows
    from swingml.workflow.loading import development

    config = load_config("real-1h", (), [], run)
    store = RunStore(run)
    dev = development(config, store)
    stamps = development_rows(dev.bars["BTCUSDT"], dev.cutoff, rows)
    names = feature_names(store.features_dir())
    frame = load_matrix(store.features_dir(), "BTCUSDT", names, stamps).drop(columns="timestamp")
    keep = np.ones(len(names), dtype=bool)
    for selector in chain(PrepConfig()):
        current = [n for n, k in zip(names, keep, strict=True) if k]
        selector.fit(frame[current])
        keep[np.flatnonzero(keep)[~selector.get_support()]] = False
    chosen = [n for n, k in zip(names, keep, strict=True) if k][:limit]
    return frame[chosen].fillna(frame[chosen].mean()).astype(np.float32)


def rule_holds(values: np.ndarray, kept: np.ndarray, threshold: float) -> tuple[int, int]:
    """(kept pairs above the threshold, dropped features without a kept partner above it)."""
    corr = np.abs(np.corrcoef(values.astype(np.float64).T))
    np.fill_diagonal(corr, 0.0)
    inside = corr[np.ix_(kept, kept)]
    pairs = int((np.triu(inside, 1) > threshold).sum())
    dropped = np.flatnonzero(~kept)
    orphans = int(sum(not (corr[j, kept] > threshold).any() for j in dropped))
    return pairs, orphans


def correlation_side_by_side(run: Path, rows: int, limit: int, reps: int) -> dict[str, Any]:
    """Ours vs feature-engine on the same frame: medians, ratio, kept-set equivalence."""
    from feature_engine.selection import DropCorrelatedFeatures

    from swingml.prep.filters import CorrelationFilter

    frame = real_frame(run, rows, limit)
    ours_s, ours = timed(lambda: CorrelationFilter(0.9).fit(frame), reps)
    fe_s, fe = timed(
        lambda: DropCorrelatedFeatures(threshold=0.9, missing_values="ignore").fit(frame),
        max(1, reps // 3),
    )
    kept_ours = set(ours.get_feature_names_out())
    kept_fe = set(frame.columns) - set(fe.features_to_drop_)
    pairs, orphans = rule_holds(frame.to_numpy(), ours.get_support(), 0.9)
    return {
        "features": frame.shape[1],
        "rows": frame.shape[0],
        "ours_s": ours_s,
        "fe_s": fe_s,
        "ratio": fe_s / ours_s,
        "kept_ours": len(kept_ours),
        "kept_fe": len(kept_fe),
        "sym_diff": sorted(kept_ours ^ kept_fe),
        "pairs_above": pairs,
        "orphans": orphans,
    }


# ---- (c) prep at full scale --------------------------------------------------------------------


def prep_at_scale(run: Path) -> dict[str, Any]:
    """``swingml prep`` on the full-profile store in a fresh process: wall, peak RSS, counts."""
    for name in ("kept_features.json", "report.json"):
        (run / "prep" / name).unlink(missing_ok=True)
    cmd = swingml(
        "prep", "--profile", "real-1h", "--run-dir", str(run), "--set", "features.profile=full"
    )
    wall, peak = run_tree(cmd, cwd=REPO, poll_s=0.1)
    stage = json.loads((run / "summary.json").read_text())["stages"]["prep"]
    return dict(stage, process_wall_s=wall, process_peak_mb=peak)


def render(corr: dict[str, Any] | None, scale: dict[str, Any] | None) -> str:
    lines = [
        "## Prep (`benchmarks/bench_prep.py`)",
        "",
        f"Machine: {machine()}. Data: the real Binance 1h files (BTC/ETH/SOL).",
        "",
    ]
    if corr:
        equivalent = corr["pairs_above"] == 0 and corr["orphans"] == 0
        lines += [
            "### (a) Correlation filter, |r| > 0.9: ours vs feature-engine",
            "",
            f"{corr['features']:,} real features (small profile, after filters 1-4) x "
            f"{corr['rows']:,} BTC development rows, NaN mean-filled; median wall.",
            "",
            "| method | wall (s) | kept | ratio |",
            "|---|---:|---:|---:|",
            f"| ours: `CorrelationFilter(0.9)` (blocked float32 GEMM, greedy keep rule) "
            f"| {corr['ours_s']:.3f} | {corr['kept_ours']:,} | 1.0x |",
            f"| feature-engine `DropCorrelatedFeatures(threshold=0.9)` "
            f"| {corr['fe_s']:.2f} | {corr['kept_fe']:,} | {corr['ratio']:.0f}x slower |",
            "",
            f"Kept set of ours, checked with an exact float64 correlation matrix: "
            f"{corr['pairs_above']} kept pairs above 0.9, {corr['orphans']} dropped features "
            f"without a kept partner above 0.9 ({'equivalent' if equivalent else 'NOT equivalent'}"
            f" to the rule). Symmetric difference with feature-engine's kept set: "
            f"{len(corr['sym_diff'])} features"
            + (f" ({', '.join(corr['sym_diff'][:6])})" if corr["sym_diff"] else "")
            + ".",
            "",
        ]
    if scale:
        lines += [
            "### (c) `swingml prep` at full scale",
            "",
            "Full feature profile on the real 1h data, default config "
            f"({scale['sample_rows']:,} development rows = `prep.sample_rows`, "
            f"`prep.block_columns`={PrepConfig().block_columns}); fresh process.",
            "",
            "| features in | after missing | after NaN | after quasi-constant | after variance "
            "| out | rows | load (s) | compute (s) | wall (s) | peak RSS (MB) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {scale['features_in']:,} | {scale['after_missing']:,} | {scale['after_nan']:,} "
            f"| {scale['after_quasi_constant']:,} | {scale['after_low_variance']:,} "
            f"| {scale['features_out']:,} | {scale['sample_rows']:,} | {scale['load_s']:.1f} "
            f"| {scale['compute_s']:.1f} | {scale['process_wall_s']:.1f} "
            f"| {scale['process_peak_mb']:,.0f} |",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows for (a)")
    parser.add_argument("--features", type=int, default=1_200, help="max features for (a)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--run-small", type=Path, help="real-1h run with a small-profile store")
    parser.add_argument("--run-full", type=Path, help="real-1h run with a full-profile store")
    parser.add_argument("--skip-scale", action="store_true", help="skip (c)")
    args = parser.parse_args()
    if not REAL.is_dir():
        sys.exit(f"real data not found at {REAL}")
    with tempfile.TemporaryDirectory(prefix="bench_prep_") as tmp:
        small = ensure_run(args.run_small or Path(tmp) / "small", "small", ["features"])
        corr = correlation_side_by_side(small, args.rows, args.features, args.reps)
        print(json.dumps({k: v for k, v in corr.items() if k != "sym_diff"}), flush=True)
        scale = None
        if not args.skip_scale:
            full = ensure_run(args.run_full or Path(tmp) / "full", "full", ["features"])
            scale = prep_at_scale(full)
            print(json.dumps(scale, default=str), flush=True)
        write_section(DOC, "bench_prep", render(corr, scale), "# Prep and selection benchmarks")


if __name__ == "__main__":
    main()
