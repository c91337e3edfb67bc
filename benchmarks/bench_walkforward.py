"""Walk-forward and retrain on a finished run: wall and memory next to the run's own cost, and
the walk-forward results page.

    python benchmarks/bench_walkforward.py RUN_DIR [--results docs/results/walkforward.md]

On a copy of ``RUN_DIR`` (a finished ``swingml run``): ``swingml walkforward`` is timed (wall,
peak RSS of the process tree); then ``swingml retrain --force`` is timed after every champion's
``trained_last_event`` tag is moved back by ``--retrain-days`` (30), so each champion has a month
of newly resolved events to refit on and gate with, exactly the work of a monthly retrain (the
run's candles hold no bars after its champions' data). The run's own stage walls (its
``summary.json``) stand beside them. ``--results`` writes the walk-forward page from the copy's
``walkforward/`` outputs: per model and cadence, and in summary with intervals over models.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _bench import load_average, machine, run_tree, write_section
from swingml.registry.mlflow_registry import MlflowRegistry

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "walkforward.md"
TITLE = "# Walk-forward replay and retraining: cost"


def _swingml(*args: str) -> list[str]:
    return [sys.executable, "-m", "swingml.cli", *args]


def _age_champions(run_dir: Path, days: int) -> int:
    """Move every champion's ``trained_last_event`` back by ``days``; the champions moved."""
    registry = MlflowRegistry.for_run(None, None, "swingml", run_dir)
    moved = 0
    for model in registry.models():
        mv = registry.client.get_model_version_by_alias(model.name, "champion")
        last = mv.tags.get("trained_last_event")
        if last:
            earlier = pd.Timestamp(last) - pd.Timedelta(days=days)
            registry.client.set_model_version_tag(
                model.name, mv.version, "trained_last_event", str(earlier)
            )
            moved += 1
    return moved


def _task_cpu_s(work: Path, earlier: list[Path]) -> float:
    """CPU seconds of every walk-forward task that ran, in this invocation and the ``earlier``
    interrupted ones (a reused task shows zeros in the invocation that reused it)."""
    tables = [pd.read_parquet(work / "tasks" / "walkforward" / "tasks.parquet")]
    tables += [pd.read_parquet(path) for path in earlier]
    return float(sum(t.loc[~t["reused"], "cpu_s"].sum() for t in tables))


BUILD = ("data", "features", "targets", "prep", "select", "tune", "train", "predict_batch")


def _run_cost(run_dir: Path, logs: list[Path]) -> tuple[float, dict[str, float]]:
    """The run's stage walls: its ``summary.json``, or the longest ``stage X done in N s`` of
    each stage in the console ``logs`` of its invocations (a resumed run records the short
    walls of the stages it reused)."""
    stages = json.loads((run_dir / "summary.json").read_text())["stages"]
    walls = {s: float(stages[s]["wall_s"]) for s in BUILD if s in stages}
    if logs:
        walls = {}
        for log in logs:
            for name, wall in re.findall(r"stage (\w+) done in ([\d.]+) s", log.read_text()):
                walls[name] = max(walls.get(name, 0.0), float(wall))
        walls = {s: walls[s] for s in BUILD if s in walls}
    return sum(walls.values()), walls


def _bootstrap_mean(values: np.ndarray, seed: int = 0, samples: int = 2000) -> tuple[float, float]:
    """90 % percentile interval of the mean of ``values`` (resampling models)."""
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(samples, len(values)), replace=True).mean(axis=1)
    low, high = np.quantile(means, [0.05, 0.95])
    return float(low), float(high)


def results_page(copy: Path, source: Path, wall_s: float, title: str) -> str:
    """The walk-forward page: summary with intervals, per model, and the trader's view."""
    scores = pd.read_parquet(copy / "walkforward" / "scores.parquet")
    trades = pd.read_parquet(copy / "walkforward" / "trades.parquet")
    top = pd.read_parquet(copy / "walkforward" / "confident.parquet")
    summary = json.loads((copy / "summary.json").read_text())["stages"]["walkforward"]
    cadences = list(dict.fromkeys(scores["cadence"]))
    wide = scores.pivot(index="main_id", columns="cadence")
    lines = [
        f"# {title}",
        "",
        f"Run: `{source.name}` (`swingml walkforward` from "
        f"{summary['start']} to the last event, steps of {summary['every']}; {summary['models']} "
        f"champions; {wall_s:.0f} s on {machine()}). {summary['scope'].capitalize()}.",
        "",
        "`never` is the development model `train` scored on the hold-out (its AP is the hold-out "
        "AP); the other cadences refit on every event resolved before each refit point, for the "
        "development model's best iteration (the served model's recipe). Lift: macro AP minus "
        "the random ranking's, with the report's calibrated 90 % interval per model; means over "
        "models with a 90 % bootstrap interval over models.",
        "",
        "## Summary",
        "",
        "| cadence | mean macro AP | 90 % | mean lift | 90 % | lift > 0 | interval > 0 | "
        "mean step-AP spread | refits per model |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    for cadence in cadences:
        group = scores[scores["cadence"] == cadence]
        ap_lo, ap_hi = _bootstrap_mean(group["macro_ap"].to_numpy())
        lift_lo, lift_hi = _bootstrap_mean(group["lift"].to_numpy())
        lines.append(
            f"| {cadence} | {group['macro_ap'].mean():.4f} | {ap_lo:.4f} to {ap_hi:.4f} | "
            f"{group['lift'].mean():+.4f} | {lift_lo:+.4f} to {lift_hi:+.4f} | "
            f"{int((group['lift'] > 0).sum())}/{len(group)} | "
            f"{int((group['lift_low'] > 0).sum())}/{len(group)} | "
            f"{group['step_ap_std'].mean():.4f} | {group['refits'].median():.0f} |"
        )
    lines += ["", "Paired differences over models (cadence minus never):", ""]
    lines += [
        "| cadence | mean Δ macro AP | 90 % | models better | models worse |",
        "|---|---:|---|---:|---:|",
    ]
    never = wide["macro_ap"]["never"]
    verdicts = []
    for cadence in cadences[1:]:
        delta = (wide["macro_ap"][cadence] - never).to_numpy()
        lo, hi = _bootstrap_mean(delta, seed=1)
        lines.append(
            f"| {cadence} | {np.nanmean(delta):+.4f} | {lo:+.4f} to {hi:+.4f} | "
            f"{int((delta > 0).sum())} | {int((delta < 0).sum())} |"
        )
        verdict = "pays" if lo > 0 else "costs" if hi < 0 else "neither pays nor costs measurably"
        verdicts.append(
            f"Refitting every {cadence} {verdict} (90 % interval {lo:+.4f} to {hi:+.4f})."
        )
    lines += ["", "  \n".join(verdicts), "", "## Per model", ""]
    head = " | ".join(f"AP {c} | lift {c} (90 %)" for c in cadences)
    lines += [f"| model | events | {head} |", "|---|---:|" + "---:|---|" * len(cadences)]
    for main_id in wide.index:
        cells = []
        for c in cadences:
            lift, lo, hi = (wide[k][c][main_id] for k in ("lift", "lift_low", "lift_high"))
            cells.append(f"{wide['macro_ap'][c][main_id]:.3f} | {lift:+.3f} ({lo:+.3f}..{hi:+.3f})")
        events = int(wide["events"]["never"][main_id])
        lines.append(f"| {main_id} | {events} | {' | '.join(cells)} |")
    lines += ["", "## The trader's view", ""]
    lines += [
        f"Moves are close-to-close returns in the breakout direction; a breakout call trades with "
        f"the move, a reversal call against it; each trade pays the fee "
        f"({summary['fee']:.4f}, both legs). Means over models.",
        "",
        "| cadence | predicted | horizon | events per model | mean move | mean trade (net) "
        "| hit rate |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    names = {0: "neither", 1: "breakout", 2: "reversal"}
    grouped = trades.groupby(["cadence", "predicted", "horizon"], sort=False)
    table = grouped.mean(numeric_only=True).reindex(cadences, level=0)
    for (cadence, predicted, horizon), row in table.iterrows():
        trade = "no trade" if int(predicted) == 0 else f"{row['trade_mean']:+.4%}"
        hit = "-" if int(predicted) == 0 else f"{row['hit_rate']:.3f}"
        lines.append(
            f"| {cadence} | {names[int(predicted)]} | {horizon} | {row['count']:.1f} | "
            f"{row['move_mean']:+.4%} | {trade} | {hit} |"
        )
    lines += ["", "Top decile of a class's probability (per model, then averaged):", ""]
    lines += [
        "| cadence | class | events per model | precision | base rate | mean trade (net) "
        "| hit rate |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    topline = top.groupby(["cadence", "predicted"], sort=False).mean(numeric_only=True)
    for (cadence, predicted), row in topline.iterrows():
        lines.append(
            f"| {cadence} | {names[int(predicted)]} | {row['count']:.1f} | "
            f"{row['precision']:.3f} | {row['base_rate']:.3f} | {row['trade_mean']:+.4%} | "
            f"{row['hit_rate']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--retrain-days", type=int, default=30)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--title", default="Walk-forward replay on the real hourly files")
    parser.add_argument(
        "--results-only",
        action="store_true",
        help="RUN_DIR already holds a replay: write --results from it, time nothing",
    )
    parser.add_argument("--keep", type=Path, default=None, help="copy here instead of a temp dir")
    parser.add_argument(
        "--run-log", type=Path, action="append", default=[], help="console log of the run"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="--keep already holds an interrupted replay: finish it there (finished tasks reused)",
    )
    parser.add_argument(
        "--earlier-tasks",
        type=Path,
        action="append",
        default=[],
        help="task table (tasks/walkforward/tasks.parquet) of an interrupted earlier invocation",
    )
    args = parser.parse_args()
    if args.results_only:
        stages = json.loads((args.run_dir / "summary.json").read_text())["stages"]
        wall = float(stages["walkforward"]["wall_s"])
        args.results.write_text(results_page(args.run_dir, args.run_dir, wall, args.title))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-walkforward-")) / "run"
    if not (args.resume and work.exists()):
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(args.run_dir, work)
    wf_wall, wf_rss = run_tree(_swingml("walkforward", "--run-dir", str(work)))
    cpu_s = _task_cpu_s(work, args.earlier_tasks)
    moved = _age_champions(work, args.retrain_days)
    rt_wall, rt_rss = run_tree(_swingml("retrain", "--run-dir", str(work), "--force"))
    total, walls = _run_cost(args.run_dir, args.run_log)
    executor = json.loads((work / "manifest.json").read_text())["config"]["executor"]
    workers = int(executor.get("max_concurrent_processes") or os.cpu_count() or 1)
    stages = json.loads((work / "summary.json").read_text())["stages"]
    fits = int(pd.read_parquet(work / "walkforward" / "predictions.parquet")
               .groupby(["main_id", "cadence"])["refit_at"].nunique().sum())  # fmt: skip
    text = "\n".join(
        [
            f"## {args.run_dir.name}",
            "",
            f"Machine: {machine()}; load average at the end {load_average()}.",
            "",
            "| what | wall (s) | peak RSS (MB) | vs the whole run |",
            "|---|---:|---:|---:|",
            f"| `swingml run` (its stage walls: data to predict batch) | {total:.0f} | | 1.00 |",
            f"| `swingml train` alone (evaluated + served fits, registration) | "
            f"{walls.get('train', float('nan')):.0f} | | {walls.get('train', 0) / total:.2f} |",
            f"| `swingml walkforward` ({stages['walkforward']['models']} champions, "
            f"{fits} fits over the cadences) | {wf_wall:.0f} | {wf_rss:.0f} | "
            f"{wf_wall / total:.2f} |",
            f"| the same replay's task CPU seconds / {workers} workers (its wall on a quiet "
            f"machine, across {1 + len(args.earlier_tasks)} invocation(s)) | "
            f"{cpu_s / workers:.0f} | | {cpu_s / workers / total:.2f} |",
            f"| `swingml retrain --force` ({moved} champions, {args.retrain_days} days of new "
            f"events each) | {rt_wall:.0f} | {rt_rss:.0f} | {rt_wall / total:.2f} |",
        ]
    )
    write_section(DOC, f"walkforward_{args.run_dir.name}", text, TITLE)
    print(text)
    if args.results:
        args.results.write_text(results_page(work, args.run_dir, wf_wall, args.title))
        print(f"results: {args.results}")


if __name__ == "__main__":
    main()
