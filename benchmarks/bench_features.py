"""Feature generation benchmark: the column-blocked, streamed store vs one wide frame.

Three measurements, written as Markdown tables to ``docs/benchmarks/features.md``:

1. Side by side, 1 coin x ``--compare-bars`` bars x the full profile, ``--reps`` runs each in a
   fresh process: *ours* (``generate.build_family`` per family: one generator piece and one block
   in memory, zstd + byte-stream-split Parquet) vs *naive* (every column into one DataFrame, then
   ``DataFrame.to_parquet`` with pandas' defaults). Medians and ratios.
2. Seed scale: 3 coins x ``--bars`` synthetic bars x the full profile through ``swingml features``
   (process pool, default size): wall time, peak RSS of the whole process tree, cells per second.
3. The three real Binance 1h files, full profile, the same way.

Run it alone: ``flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_features.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _bench import machine, run_tree

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
FULL = ["--set", "features.profile=full"]


def swingml(*args: str) -> list[str]:
    """The command line of ``swingml`` from this interpreter's environment."""
    return [PYTHON, "-m", "swingml.cli", *args]


def store_bytes(run: Path) -> int:
    """Bytes of the feature store on disk."""
    return sum(p.stat().st_size for p in (run / "features").rglob("*.parquet"))


def summary(run: Path) -> dict[str, Any]:
    """The features entry of a run's summary.json."""
    data: dict[str, Any] = json.loads((run / "summary.json").read_text())["stages"]["features"]
    return data


# ---- side by side (child processes) ----------------------------------------------------------


def child(mode: str, run: str) -> None:
    """One measured run in this fresh process; prints a JSON line of figures."""
    import pandas as pd

    from swingml.config import load_config
    from swingml.features import compute, generate
    from swingml.features.plan import make_plan, plan_spec

    config = load_config(None, (), ["features.profile=full", "data.symbols=[BTCUSDT]"], run)
    spec = plan_spec(config)
    plan = make_plan(spec)
    out = Path(run) / "features"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    if mode == "ours":
        for family in plan.families():
            generate.build_family(run, "BTCUSDT", family, spec, config.features.block_columns)
        size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    else:
        candles = pd.read_parquet(Path(run) / "candles" / "BTCUSDT.parquet")
        columns = compute.columns_frame(plan.columns, candles, plan.base_seconds)
        frame = pd.DataFrame({"timestamp": candles["timestamp"], **columns})
        out.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out / "BTCUSDT.parquet", index=False)
        size = (out / "BTCUSDT.parquet").stat().st_size
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"wall_s": wall, "peak_mb": peak, "bytes": size, "columns": len(plan.columns)})
    )


def side_by_side(work: Path, bars: int, reps: int) -> list[dict[str, Any]]:
    """Median figures of ours vs naive on one coin."""
    run = work / "compare"
    synth = ["data", "synth", "--run-dir", str(run), "--set", f"data.synthetic.bars={bars}"]
    subprocess.run(
        swingml(*synth, "--set", "data.symbols=[BTCUSDT]"),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows: list[dict[str, Any]] = []
    for mode in ("ours", "naive"):
        figures = []
        for _ in range(reps):
            done = subprocess.run(
                [PYTHON, __file__, "--child", mode, "--run", str(run)],
                check=True,
                capture_output=True,
                text=True,
            )
            figures.append(json.loads(done.stdout.strip().splitlines()[-1]))
        rows.append(
            {
                "mode": mode,
                "wall_s": statistics.median(f["wall_s"] for f in figures),
                "peak_mb": statistics.median(f["peak_mb"] for f in figures),
                "bytes": statistics.median(f["bytes"] for f in figures),
                "columns": figures[0]["columns"],
                "bars": bars,
            }
        )
    shutil.rmtree(run, ignore_errors=True)
    return rows


# ---- whole stage -----------------------------------------------------------------------------


def stage_run(run: Path, data_args: list[str], feature_args: list[str]) -> dict[str, Any]:
    """``swingml data`` then a timed ``swingml features``; figures of the features stage."""
    subprocess.run(
        swingml(*data_args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall, peak = run_tree(swingml("features", "--run-dir", str(run), *feature_args))
    entry = summary(run)
    rows = sum(entry["rows"].values())
    per_symbol = entry["features_per_symbol"]
    cells = sum(entry["rows"][s] * n for s, n in per_symbol.items())
    result = {
        "wall_s": wall,
        "stage_wall_s": entry["wall_s"],
        "peak_tree_mb": peak,
        "peak_process_mb": entry["peak_rss_mb"],
        "rows": rows,
        "features_per_coin": max(per_symbol.values()),
        "features_total": entry["features_total"],
        "cells": cells,
        "bytes": store_bytes(run),
    }
    shutil.rmtree(run, ignore_errors=True)
    return result


def seed_scale(work: Path, bars: int) -> dict[str, Any]:
    """3 synthetic coins x ``bars`` bars x the full profile."""
    run = work / "seed"
    sets = ["--set", f"data.synthetic.bars={bars}"]
    return stage_run(run, ["data", "synth", "--run-dir", str(run), *sets], [*sets, *FULL])


def real_files(work: Path) -> dict[str, Any] | None:
    """The three real Binance 1h files x the full profile (None where they are absent)."""
    if not (REPO.parent / "shared" / "data" / "binance").is_dir():
        return None
    run = work / "real"
    prep = [
        PYTHON,
        "-c",
        "import sys; from rich.console import Console; from swingml.config import load_config;"
        "from swingml.workflow.pipeline import StageContext, run_stage;"
        "from swingml.io.store import RunStore;"
        "c = load_config('real-1h', run_dir=sys.argv[1]);"
        "run_stage('data', StageContext(c, RunStore(c.run.dir), Console(stderr=True)))",
        str(run),
    ]
    subprocess.run(prep, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    wall, peak = run_tree(swingml("features", "--profile", "real-1h", "--run-dir", str(run), *FULL))
    entry = summary(run)
    cells = sum(entry["rows"][s] * n for s, n in entry["features_per_symbol"].items())
    result = {
        "wall_s": wall,
        "stage_wall_s": entry["wall_s"],
        "peak_tree_mb": peak,
        "peak_process_mb": entry["peak_rss_mb"],
        "rows": sum(entry["rows"].values()),
        "features_per_coin": max(entry["features_per_symbol"].values()),
        "features_total": entry["features_total"],
        "cells": cells,
        "bytes": store_bytes(run),
    }
    shutil.rmtree(run, ignore_errors=True)
    return result


# ---- report ----------------------------------------------------------------------------------


def report(
    compare: list[dict[str, Any]],
    seed: dict[str, Any],
    real: dict[str, Any] | None,
    reps: int,
    bars: int,
) -> str:
    """The Markdown page."""
    ours, naive = compare
    lines = [
        "# Feature generation benchmark",
        "",
        f"Machine: {machine()}. Produced by `benchmarks/bench_features.py` "
        "(run under `flock /tmp/swingml-bench.lock`; other work may share the machine).",
        "",
        f"## Side by side: 1 coin x {ours['bars']:,} bars x full profile "
        f"({ours['columns']:,} features), median of {reps} runs in fresh processes",
        "",
        "| way | wall s | peak RSS MB | store MB |",
        "|---|---:|---:|---:|",
    ]
    for row, label in (
        (ours, "ours: streamed column blocks, zstd + byte-stream-split"),
        (naive, "naive: one wide DataFrame, `to_parquet` defaults"),
    ):
        lines.append(
            f"| {label} | {row['wall_s']:.1f} | {row['peak_mb']:,.0f} "
            f"| {row['bytes'] / 2**20:,.0f} |"
        )
    lines += [
        f"| ratio naive / ours | {naive['wall_s'] / ours['wall_s']:.2f}x "
        f"| {naive['peak_mb'] / ours['peak_mb']:.2f}x | {naive['bytes'] / ours['bytes']:.2f}x |",
        "",
        "## Whole stage (`swingml features`, process pool of the default size), one run each",
        "",
        "| input | features / coin | total features | bars (all coins) | wall s | "
        "peak RSS MB (process tree) | peak RSS MB (largest process) | Mcells/s | store GB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cases = [(f"seed scale: 3 synthetic coins x {bars:,} bars", seed)]
    if real is not None:
        cases.append(("real Binance 1h: BTC, ETH, SOL", real))
    for label, r in cases:
        lines.append(
            f"| {label} | {r['features_per_coin']:,} | {r['features_total']:,} | {r['rows']:,} | "
            f"{r['wall_s']:.1f} | {r['peak_tree_mb']:,.0f} | {r['peak_process_mb']:,.0f} | "
            f"{r['cells'] / r['wall_s'] / 1e6:.1f} | {r['bytes'] / 2**30:.2f} |"
        )
    lines += [
        "",
        "Goal at seed scale: <= 10 minutes and <= 4 GB peak RSS. Peak RSS of the process tree "
        "sums the parent and every pool worker, sampled every 0.2 s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run the measurements, write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--compare-bars", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "features.md")
    parser.add_argument("--no-real", action="store_true", help="skip the real 1h files")
    parser.add_argument("--child", choices=["ours", "naive"])
    parser.add_argument("--run")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.run)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        compare = side_by_side(work, args.compare_bars, args.reps)
        print(json.dumps(compare), flush=True)
        seed = seed_scale(work, args.bars)
        print(json.dumps(seed), flush=True)
        real = None if args.no_real else real_files(work)
        print(json.dumps(real), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(compare, seed, real, args.reps, args.bars)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
