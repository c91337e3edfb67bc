"""Benchmark of the live service: one cycle with 36 champions at 2,000 and 40,000 bars of history.

For each history length a run is built (data, features with the default ``small`` profile,
targets with the default grid) on the last bars of the real Binance 1h files, ``--replay`` bars
before their end. 36 champions (one per main variant, each on 400 stored features) are trained
and registered once and served by both runs; ``predict batch`` fills the store first, as in
production. The loopback exchange (tests/data/exchange.py) then closes one bar per cycle, and
side by side, per cycle:

- ours, ``--follow``: a warm ``LiveSession`` (boosters loaded once), events and features on a
  bounded tail, monitoring on;
- ours, ``--once``: a fresh session each cycle (every booster loaded from MLflow), bounded tail;
- before: the whole-history path (a fresh session each cycle, events over the whole history).

On the 2,000-bar run the replay then goes on to ``--replay`` bars in all, and ``predict batch`` on
the completed history must find every live row with bit-identical probabilities.

Run under the machine-wide benchmark lock:
    flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_live.py
Writes docs/benchmarks/live.md.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from _bench import load_average, machine
from swingml.config import Config, load_config
from swingml.features.matrix import read_metadata
from swingml.inference import live as live_events
from swingml.io import parted
from swingml.io.store import RunStore
from swingml.stages.predict import batch
from swingml.stages.predict_live import LiveSession, cycle
from swingml.targets.grid import Variant
from swingml.workflow.loading import load_variant
from swingml.workflow.pipeline import StageContext, run_stage

ROOT = Path(__file__).resolve().parents[1]
BINANCE = ROOT.parent / "shared" / "data" / "binance"
OUT = ROOT / "docs" / "benchmarks" / "live.md"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
WINDOWS = (2, 3, 5, 10, 20, 50)
HOUR_MS = 3_600_000
sys.path.insert(0, str(ROOT / "tests" / "data"))
sys.path.insert(0, str(ROOT / "tests" / "inference"))

import exchange as ex  # noqa: E402  (the tests' loopback exchange, made importable just above)
import inference_run  # noqa: E402  (the inference tests' run helpers, likewise)


def real_rows(bars: int) -> dict[str, list[list[Any]]]:
    """The last ``bars`` kline rows of each real file (by BTC's time axis)."""
    return inference_run.real_kline_rows(BINANCE, SYMBOLS, bars)


write_rows = inference_run.write_kline_rows


def context(config: Config) -> StageContext:
    return StageContext(config, RunStore(config.run.dir), Console(file=io.StringIO(), width=200))


def config_for(run_dir: Path, data_dir: Path, url: str, *sets: str) -> Config:
    overrides = [
        f"data.dir={data_dir}",
        "inference.source=rest",
        f"data.fetch.rest_url={url}",
        "executor.max_concurrent_processes=2",
        *sets,
    ]
    return load_config(overrides=overrides, run_dir=run_dir)


def champions(ctx: StageContext, per_model: int, seed: int = 7) -> int:
    """Train and register one small champion per main variant (36) on ``per_model`` features."""
    ids = [
        Variant(symbol, w, f"{side}_breakout", 1.0, 1.0).id
        for symbol in SYMBOLS
        for w in WINDOWS
        for side in ("high", "low")
    ]
    return inference_run.register_champions(ctx, ids, seed, per_model=per_model, rows=3000)


def timed_cycles(ctx: StageContext, count: int, session: LiveSession | None) -> list[float]:
    """Wall seconds of ``count`` cycles (one new bar each); a fresh session each when None."""
    out = []
    for _ in range(count):
        start = time.perf_counter()
        outcome = run_stage("predict_live", ctx, lambda c: cycle(c, session or LiveSession()))
        out.append(time.perf_counter() - start)
        assert outcome.details["new_bars"] == 3, outcome.details["new_bars"]
    return out


def bench_history(
    root: Path, rows: dict[str, list[list[Any]]], bars: int, replay: int, cycles: int, mlflow: Path
) -> dict[str, Any]:
    """Build the run of ``bars`` bars of history and time the three paths, ``cycles`` each."""
    btc = rows["BTCUSDT"]
    cut = btc[-replay - 1][0]
    start_ms = btc[-replay - 1 - bars][0]
    history = {s: [r for r in items if r[0] >= start_ms] for s, items in rows.items()}
    data_dir = write_rows(root / f"data-{bars}", history, cut)
    run_dir = root / f"run-{bars}"
    exchange = ex.Exchange(history, HOUR_MS, cut, step_on_time=True)
    info: dict[str, Any] = {"bars": bars}
    with ex.serve(exchange):
        ctx = context(config_for(run_dir, data_dir, exchange.url))
        t0 = time.perf_counter()
        for stage in ("data", "features", "targets"):
            run_stage(stage, ctx)
        info["build_s"] = time.perf_counter() - t0
        if mlflow.is_file():
            shutil.copy2(mlflow, run_dir / "mlflow.db")
            info["models"] = 36
        else:
            info["models"] = champions(ctx, 400)
            shutil.copy2(run_dir / "mlflow.db", mlflow)
        t0 = time.perf_counter()
        run_stage("predict_batch", ctx, batch)
        info["batch_s"] = time.perf_counter() - t0
        session = LiveSession()
        timed_cycles(ctx, 1, session)  # warm-up: boosters, references, caches
        info["ours_follow"] = timed_cycles(ctx, cycles, session)
        info["ours_once"] = timed_cycles(ctx, cycles, None)
        saved = live_events.MIN_EVENT_TAIL
        live_events.MIN_EVENT_TAIL = 10**9  # the whole-history event detection
        try:
            off = context(config_for(run_dir, data_dir, exchange.url, "monitoring.enabled=false"))
            info["before"] = timed_cycles(off, cycles, None)
        finally:
            live_events.MIN_EVENT_TAIL = saved
        entry = RunStore(run_dir).read_summary()["stages"]["predict_live"]
        info["columns"] = sum(
            1 for _ in read_metadata(run_dir / "features") if not _.startswith("X__")
        )
        info["event_bars_read"] = max(
            (e.get("event_bars_read", 0) for e in entry["symbols"].values()), default=0
        )
        if replay > 3 * cycles + 2:
            done = 1 + 3 * cycles
            timed_cycles(ctx, replay - done, session)
            info["replay"] = replay_check(ctx, run_dir, history, cut)
    return info


def replay_check(
    ctx: StageContext, run_dir: Path, rows: dict[str, list[list[Any]]], cut: int
) -> dict[str, int]:
    """``predict batch`` on the completed history: every live row found, none differing."""
    from swingml.inference.store import PredictionStore

    store = PredictionStore(run_dir / "predictions")
    live_rows = pd.concat([store.read(m) for m in store.models()], ignore_index=True)
    live_rows = live_rows[live_rows["source"] == "live"]
    last = int(
        parted.read_frame(run_dir / "candles" / "BTCUSDT.parquet")["timestamp"].iloc[-1].value
        // 1_000_000
    )
    full = write_rows(run_dir.parent / "full", rows, last + 1)
    config = ctx.config.model_copy(
        update={"data": ctx.config.data.model_copy(update={"dir": str(full)})}
    )
    outcome = run_stage("predict_batch", context(config), batch)
    once = 0
    for name in store.models():
        stored = store.read(name)
        variant = Variant.from_id(str(stored["variant"].iloc[0]))
        events = load_variant(RunStore(run_dir), variant)
        after = events.loc[
            events["timestamp"] >= pd.Timestamp(cut, unit="ms", tz="UTC"), "timestamp"
        ]
        mine = live_rows[live_rows["model"] == name]
        once += int(mine["timestamp"].tolist() == after.tolist())
    return {
        "live_rows": len(live_rows),
        "rows_present": int(outcome.details["rows_present"]),
        "rows_differing": int(outcome.details["rows_differing"]),
        "models_each_event_once": once,
        "models": len(store.models()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--histories", default="2000,40000")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--replay", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    parser.add_argument(
        "--interleave", type=Path, default=None, help="a --keep folder: interleaved cycles only"
    )
    args = parser.parse_args()
    if args.interleave is not None:
        table = interleaved(args.interleave, args.cycles)
        with OUT.open("a") as handle:
            handle.write(table + "\n")
        print(table)
        return
    histories = [int(h) for h in args.histories.split(",")]
    rows = real_rows(max(histories) + args.replay + 2)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        mlflow = root / "champions.db"
        for bars in sorted(histories, reverse=True):  # the models train on the longest
            replay = args.replay if bars == min(histories) else 3 * args.cycles + 2
            info = bench_history(root, rows, bars, replay, args.cycles, mlflow)
            results.append(info)
            print(json.dumps(info, default=str))
    if len(results) > 1:
        report(sorted(results, key=lambda r: r["bars"]), args)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    med = {
        r["bars"]: {k: statistics.median(r[k]) for k in ("ours_follow", "ours_once", "before")}
        for r in results
    }
    small, large = results[0]["bars"], results[-1]["bars"]
    lines = [
        "# Live service benchmark",
        "",
        f"Machine: {machine()}; load average at the end {load_average()} (shared machine).",
        f"Data: real Binance 1h, last bars of each file; features profile `small`, default grid; "
        f"{results[0]['models']} champions (one per main variant, 400 features each); the "
        "prediction store filled by `predict batch` first. One cycle = one new closed bar per "
        f"symbol from the loopback exchange; median of {args.cycles} cycles.",
        "",
        f"| path (one cycle, 36 champions) | {small:,} bars | {large:,} bars | ratio |",
        "|---|---:|---:|---:|",
    ]
    for key, label in (
        ("ours_follow", "ours, `--follow` (warm session, bounded tails, monitoring on)"),
        ("ours_once", "ours, `--once` (every booster loaded, bounded tails, monitoring on)"),
        ("before", "before: whole-history events, every booster loaded, no monitoring"),
    ):
        a, b = med[small][key], med[large][key]
        lines.append(f"| {label} | {a:.3f} s | {b:.3f} s | {b / a:.2f} |")
    replay = next(r["replay"] for r in results if "replay" in r)
    lines += [
        "",
        f"Targets: ratio ≤ 1.2 and ≤ 1 s for `--follow`: "
        f"{'met' if med[large]['ours_follow'] / med[small]['ours_follow'] <= 1.2 else 'NOT met'} / "
        f"{'met' if max(m['ours_follow'] for m in med.values()) <= 1.0 else 'NOT met'}.",
        "",
        f"| replay law ({args.replay} bars, {small:,}-bar run) | value |",
        "|---|---:|",
        f"| live rows written | {replay['live_rows']} |",
        f"| found by `predict batch` on the completed history / differing | "
        f"{replay['rows_present']} / {replay['rows_differing']} |",
        f"| models whose live rows are exactly the events after the cut | "
        f"{replay['models_each_event_once']} / {replay['models']} |",
        "",
        "| run | build (data, features, targets) s | batch s |",
        "|---|---:|---:|",
        *(f"| {r['bars']:,} bars | {r['build_s']:.1f} | {r['batch_s']:.1f} |" for r in results),
        "",
        "Reproduce: `flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_live.py`.",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _fresh_run(kept: Path, rows: dict[str, list[list[Any]]], bars: int, cut: int) -> Path:
    """A run of ``bars`` bars before ``cut``, served by the kept champions, store batch-filled."""
    start = rows["BTCUSDT"][-400 - bars][0]
    history = {s: [r for r in items if r[0] >= start] for s, items in rows.items()}
    root = kept / f"interleave-{bars}"
    data_dir = write_rows(root / "data", history, cut)
    ctx = context(config_for(root / "run", data_dir, "http://127.0.0.1:9"))
    for stage in ("data", "features", "targets"):
        run_stage(stage, ctx)
    shutil.copy2(kept / "champions.db", root / "run" / "mlflow.db")
    run_stage("predict_batch", ctx, batch)
    return root


def interleaved(kept: Path, cycles: int) -> str:
    """Warm ``--follow`` cycles of a 2,000-bar and a 40,000-bar run, taken in turn so that both
    see the same machine load; a Markdown table."""
    rows = real_rows(40_000 + 400)
    cut = rows["BTCUSDT"][-400][0]
    roots = {n: _fresh_run(kept, rows, n, cut) for n in (2000, 40_000)}
    exchanges = {n: ex.Exchange(rows, HOUR_MS, cut, step_on_time=True) for n in roots}
    times: dict[int, list[float]] = {n: [] for n in roots}
    with ex.serve(exchanges[2000]), ex.serve(exchanges[40_000]):
        sessions = {
            n: (
                context(config_for(root / "run", root / "data", exchanges[n].url)),
                LiveSession(),
            )
            for n, root in roots.items()
        }
        for ctx, session in sessions.values():
            timed_cycles(ctx, 1, session)
        for _ in range(cycles):
            for n, (ctx, session) in sessions.items():
                times[n] += timed_cycles(ctx, 1, session)
    a, b = statistics.median(times[2000]), statistics.median(times[40_000])
    return "\n".join(
        [
            "",
            f"Interleaved (`--interleave <kept folder>`): warm `--follow` cycles of a 2,000-bar "
            f"and a 40,000-bar run taken in turn, {cycles} each; load average {load_average()}.",
            "",
            "| ours, `--follow`, 36 champions | 2,000 bars | 40,000 bars | ratio |",
            "|---|---:|---:|---:|",
            f"| median cycle | {a:.3f} s | {b:.3f} s | {b / a:.2f} |",
            f"| every cycle | {', '.join(f'{x:.2f}' for x in times[2000])} | "
            f"{', '.join(f'{x:.2f}' for x in times[40_000])} | |",
        ]
    )


if __name__ == "__main__":
    main()
