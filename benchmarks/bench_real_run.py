"""The measured full real-data run: its stages, selection, tuning budget and hold-out skill.

    .venv/bin/python benchmarks/bench_real_run.py RUN BASELINE

``RUN`` is a finished ``swingml run`` (``grid-2160`` x profile ``full`` on the real hourly
files), ``BASELINE`` the 864-variant ``small``-profile run on the same files with the same tuning
budget. Writes the ``measured`` section of docs/results/full_real_run.md (the projection that
``bench_seed_scale.py --real-data`` writes is its other section): per-stage wall and tasks, peak
RSS per stage's tasks, selection's figures, the tuning budget, and the champions' hold-out AP
model by model against the baseline (``scripts/compare_holdout.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _bench import load_average, machine, write_section
from bench_seed_scale import schedule
from swingml.features.matrix import read_metadata

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from compare_holdout import holdout, render  # noqa: E402

RESULTS = REPO / "docs" / "results" / "full_real_run.md"
TITLE = "# Full real-data run: `grid-2160` x profile `full` on the real hourly files"
ORDER = ("data", "features", "targets", "prep", "select", "tune", "train", "predict_batch")


def _json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def task_peaks(run: Path) -> dict[str, float]:
    """The largest task's peak RSS (MB) per executor stage, where the tasks table records it."""
    peaks: dict[str, float] = {}
    for table_path in sorted((run / "tasks").glob("*/tasks.parquet")):
        table = pd.read_parquet(table_path)
        column = next((c for c in ("peak_rss_mb", "rss_mb") if c in table), None)
        if column is not None and len(table):
            peaks[table_path.parent.name] = float(table[column].max())
    return peaks


def stages_table(summary: dict[str, Any], base: dict[str, Any]) -> list[str]:
    lines = [
        "| stage | wall (s) | tasks | baseline wall (s) | baseline tasks |",
        "|---|---:|---:|---:|---:|",
    ]
    total = base_total = 0.0
    for name in ORDER:
        fig, ref = summary["stages"].get(name, {}), base["stages"].get(name, {})
        wall, ref_wall = float(fig.get("wall_s", 0.0)), float(ref.get("wall_s", 0.0))
        total, base_total = total + wall, base_total + ref_wall
        lines.append(
            f"| {name} | {wall:,.0f} | {fig.get('tasks', 0)} | {ref_wall:,.0f} | "
            f"{ref.get('tasks', 0)} |"
        )
    lines.append(f"| **total** | **{total:,.0f}** | | **{base_total:,.0f}** | |")
    return lines


def budget_table(run: Path) -> list[str]:
    stages = _json(run / "tuning" / "budget.json")["stages"]
    lines = [
        "| stage | share (s) | budget (s) | spent (s) | trials | models |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for number, fig in sorted(stages.items()):
        lines.append(
            f"| {number} {fig['name']} | {fig['share_s']:,.0f} | {fig['budget_s']:,.0f} | "
            f"{fig['spent_s']:,.0f} | {fig['trials']} | {fig['models']} |"
        )
    return lines


def selection_lines(run: Path, base: Path) -> list[str]:
    lines = []
    for name, root in (("this run", run), ("baseline", base)):
        s = _json(root / "selection" / "report.json")["summary"]
        lines.append(
            f"- {name}: {s['columns_in']:,} kept features in, {s['screened']:,} variants "
            f"screened ({s['skipped']} skipped: too few events), {s['candidates']:,} candidate "
            f"features, final set {s['final_size']}; `lgb.train` {s['train_s_total'] / 3600:.2f} "
            f"CPU-hours, a variant's wall median {s['variant_wall_s_median']:.1f} s, max "
            f"{s['variant_wall_s_max']:.0f} s"
        )
    final = set(_json(run / "selection" / "final_features.json")["features"])
    final_base = set(_json(base / "selection" / "final_features.json")["features"])
    shared = len(final & final_base)
    generated = set(read_metadata(base / "features"))
    new = len(final - generated)
    lines.append(
        f"- the two final sets share {shared} features ({shared / max(len(final), 1):.0%} of "
        f"this run's); {new} of this run's {len(final)} are features the baseline's profile "
        "does not generate"
    )
    return lines


def render_measured(run: Path, base: Path) -> str:
    summary, base_summary = _json(run / "summary.json"), _json(base / "summary.json")
    config = _json(run / "manifest.json")["config"]
    peaks = task_peaks(run)
    lines = [
        "## Measured",
        "",
        f"Run directory `{run.name}`, config: profile `real-1h` + `configs/grids/grid-2160.yaml` "
        f"+ `features.profile={config['features']['profile']}` + "
        f"`tuning.stage4_models={config['tuning']['stage4_models']}` (the baseline's tuning "
        f"settings: a {config['tuning']['budget']:g}-{config['tuning']['budget_unit']} budget, "
        f"stage-3 cap {config['tuning']['max_trials_stage3']}, stage-4 cap "
        f"{config['tuning']['max_trials_stage4']}); baseline `{base.name}` (profile `real-1h`: "
        f"the `small` features, the default 864-variant grid). Machine: {machine()}; load "
        f"average when rendered: {load_average()}.",
        "",
        "### Stages",
        "",
        *stages_table(summary, base_summary),
        "",
    ]
    if peaks:
        lines += [
            "Largest task's peak RSS per executor stage (MB): "
            + ", ".join(f"{k} {v:,.0f}" for k, v in peaks.items()),
            "",
        ]
    lines += [
        "### Selection",
        "",
        *selection_lines(run, base),
        "",
        "### Tuning budget (this run)",
        "",
        *budget_table(run),
        "",
        "### Hold-out: this run vs the baseline, model by model",
        "",
        render(holdout(run), holdout(base), ("full", "small")),
    ]
    return "\n".join(lines)


def selection_progress(run: Path) -> dict[str, Any]:
    """What an unfinished selection has screened, its per-variant cost fit and what is left.

    Cost per variant = a + b x training events, least squares on the screened variants (their
    wall, one thread each; refitted without those more than 5 median residuals off, such as a
    variant in flight while the run was paused); the rest is charged by that fit and scheduled
    on n workers after the binning tasks, one task per (symbol, window) as the run's code did
    and one per (symbol, window, kind) as the stage does now.
    """
    select = run / "selection"
    train_events: dict[str, int] = {}
    for events_path in sorted((select / "work").glob("*/events.parquet")):
        events = pd.read_parquet(events_path, columns=["variant", "part"])
        train_events.update(events[events["part"] == "train"].groupby("variant").size().to_dict())
    done: dict[str, tuple[int, float]] = {}
    for path in (select / "variants").glob("*.json"):
        payload = _json(path)
        done[payload["variant"]] = (int(payload["n_train"]), float(payload["wall_s"]))
    x = np.array([n for n, _ in done.values()], dtype=float)
    y = np.array([w for _, w in done.values()], dtype=float)
    design = np.vstack([np.ones_like(x), x]).T
    (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = np.abs(y - (a + b * x))
    usual = residual <= 5 * np.median(residual)  # not a variant that was in flight in a pause
    (a, b), *_ = np.linalg.lstsq(design[usual], y[usual], rcond=None)
    measured = {  # an outlier's wall counts what the fit charges it
        v: (w if ok else float(a + b * n))
        for (v, (n, w)), ok in zip(done.items(), usual, strict=True)
    }
    bins = pd.read_parquet(run / "tasks" / "select-bin" / "tasks.parquet")
    walls: dict[int, dict[int, float]] = {}
    largest: dict[int, float] = {}
    for parts in (2, 3):  # tasks per (symbol, window), as before; per (symbol, window, kind)
        chunks: dict[str, float] = {}
        for variant, n in train_events.items():
            chunk = "/".join(variant.split("/")[:parts])
            cost = measured[variant] if variant in measured else a + b * n
            chunks[chunk] = chunks.get(chunk, 0.0) + cost
        walls[parts] = {
            n: schedule(bins["wall_s"].tolist(), n) + schedule(sorted(chunks.values()), n)
            for n in (2, 16, 64)
        }
        largest[parts] = max(chunks.values())
    left = [a + b * n for v, n in train_events.items() if v not in done]
    return {
        "screened": len(done),
        "outliers": int((~usual).sum()),
        "screenable": len(train_events),
        "events_done": int(x.sum()),
        "events": sum(train_events.values()),
        "wall_done_s": float(y.sum()),
        "a": float(a),
        "b": float(b),
        "left_s": float(sum(left)),
        "bins": bins,
        "walls": walls,
        "largest_task_s": largest,
    }


def render_progress(run: Path, base: Path, tuning_min: float, train_s: float) -> str:
    """The section of a run not yet trained: what ran, and the measured rate's projection."""
    summary = _json(run / "summary.json")
    p = selection_progress(run)
    cheap = sum(
        float(summary["stages"].get(name, {}).get("wall_s", 0.0))
        for name in ("data", "features", "targets", "prep")
    )
    selected = "select" in summary["stages"]
    where = "selection is done, tuning runs" if selected else "the run is still in selection"
    lines = [
        f"## Measured so far ({where})",
        "",
        f"Run directory `{run.name}`; machine: {machine()}; load average when rendered: "
        f"{load_average()}.",
        "",
        "| stage | wall (s) | tasks |",
        "|---|---:|---:|",
        *[
            f"| {name} | {float(fig.get('wall_s', 0.0)):,.1f} | {fig.get('tasks', 0)} |"
            for name, fig in summary["stages"].items()
        ],
        "",
        "Selection's binning tasks: "
        + ", ".join(
            f"{row.label} {row.wall_s:.0f} s wall, {row.cpu_s:.0f} s CPU, {row.peak_rss_mb:,.0f} MB"
            for row in p["bins"].itertuples()
        )
        + ".",
        "",
        f"Screened so far: {p['screened']:,} of {p['screenable']:,} variants, "
        f"{p['events_done']:,} of {p['events']:,} training events "
        f"({p['events_done'] / p['events']:.0%}), {p['wall_done_s'] / 3600:.2f} hours of "
        f"variant wall (one thread each). Measured cost per variant: {p['a']:.2f} s + "
        f"{p['b'] * 1000:.2f} ms per training event (least squares over the screened variants, "
        f"{p['outliers']} outliers left out; "
        "the fixed part is LightGBM's split search over 7,523 features, paid every round "
        "whatever the rows). The rest: "
        f"{p['left_s'] / 3600:.2f} hours of variant wall.",
        "",
        "Projected wall of the whole run from these measured costs (selection scheduled as the "
        f"stage runs it; tuning is its {tuning_min:g}-minute budget; production as in the "
        "baseline run):",
        "",
        "| CPUs | selection, a task per (symbol, window) (h) | whole run (h) | selection, a "
        "task per (symbol, window, kind) (h) | whole run (h) |",
        "|---:|---:|---:|---:|---:|",
        *[
            f"| {n} | "
            + " | ".join(
                f"{p['walls'][parts][n] / 3600:.2f} | "
                f"{(p['walls'][parts][n] + cheap + tuning_min * 60 + train_s * 2 / n) / 3600:.2f}"
                for parts in (2, 3)
            )
            + " |"
            for n in (2, 16, 64)
        ],
        "",
        "This run's code screens one task per (symbol, window) (18 tasks); the stage now runs "
        "one per (symbol, window, kind) (72), which screens the same variants the same way: "
        f"largest task {p['largest_task_s'][2] / 3600:.2f} h before, "
        f"{p['largest_task_s'][3] / 3600:.2f} h now.",
    ]
    if selected:
        lines += ["", "### Selection (done)", "", *selection_lines(run, base)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    summary = _json(args.run / "summary.json")
    if "train" in summary["stages"]:
        text = render_measured(args.run, args.baseline)
    else:
        config = _json(args.run / "manifest.json")["config"]
        train_s = float(_json(args.baseline / "summary.json")["stages"]["train"]["wall_s"])
        budget = float(config["tuning"]["budget"])
        text = render_progress(args.run, args.baseline, budget, train_s)
    write_section(args.out, "measured", text, TITLE)
    print(text)


if __name__ == "__main__":
    main()
