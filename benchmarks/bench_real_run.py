"""The measured full real-data run: its stages, selection, tuning budget and hold-out skill.

    .venv/bin/python benchmarks/bench_real_run.py RUN BASELINE

``RUN`` is a finished ``swingml run`` (``grid-2160`` x profile ``full`` on the real hourly
files), ``BASELINE`` the 864-variant ``small``-profile run on the same files with the same tuning
budget. Writes the ``measured`` section of docs/results/full_real_run.md (the projection that
``bench_seed_scale.py --real-data`` writes is its other section): per-stage wall and tasks, peak
RSS per stage's tasks, selection's figures, the tuning budget, the hold-out table (champion vs
class prior vs random ranking, lift with the report's calibrated interval), the champions'
hold-out AP model by model against the baseline (``scripts/compare_holdout.py``) and whether
the run's mean AP lies outside the range of the ``small`` runs (``--small NAME=RUN_OR_AP``: more
of them, e.g. the other seeds of the selection batch).
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


def champions(run: Path) -> pd.DataFrame:
    """The report's champions table (hold-out AP, class prior, random ranking, lift and its
    calibrated 90 % interval), writing the run's report first where it has none."""
    path = run / "report" / "report_data" / "champions.parquet"
    if not path.is_file():
        from swingml.report.command import write_report

        write_report(run)
    return pd.read_parquet(path)


def skill_lines(run: Path) -> list[str]:
    """The hold-out table of ``run``: each champion against the class prior and a random ranking,
    its lift over the random ranking with the report's calibrated interval."""
    table = champions(run).sort_values("model")
    lines = [
        "| model | variant | train / hold-out events | champion AP | class prior AP | random "
        "ranking AP | lift (90 % interval) | skill |",
        "|---|---|---:|---:|---:|---:|---|:---:|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.model} | `{row.variant}` | {row.train_events:,} / {row.holdout_events:,} "
            f"| {row.holdout_macro_ap:.3f} | {row.prior_macro_ap:.3f} | "
            f"{row.random_macro_ap:.3f} | {row.lift:+.3f} ({row.lift_low:+.3f} to "
            f"{row.lift_high:+.3f}) | {'yes' if row.skill else 'no'} |"
        )
    ap = table["holdout_macro_ap"]
    lines += [
        "",
        f"{len(table)} champions: mean hold-out macro AP {ap.mean():.4f}, class prior "
        f"{table['prior_macro_ap'].mean():.4f}, random ranking "
        f"{table['random_macro_ap'].mean():.4f}"
        f"; beat the class prior {int((ap > table['prior_macro_ap']).sum())}/{len(table)}, the "
        f"random ranking {int((ap > table['random_macro_ap']).sum())}/{len(table)}; skill (the "
        f"lift's calibrated 90 % interval above zero, `swingml report`) "
        f"{int(table['skill'].sum())}/{len(table)}.",
    ]
    return lines


def small_runs_lines(run: Path, smalls: dict[str, float]) -> list[str]:
    """Is the full run's mean hold-out AP outside the range of the ``small`` runs' means?"""
    mean = float(holdout(run)["holdout_macro_ap"].mean())
    low, high = min(smalls.values()), max(smalls.values())
    verdict = "outside" if mean < low or mean > high else "inside"
    lines = [
        "| run | champions' mean hold-out macro AP |",
        "|---|---:|",
        *[f"| {name} | {ap:.4f} |" for name, ap in smalls.items()],
        f"| **this run (full profile, 2160 variants)** | **{mean:.4f}** |",
        "",
        f"The `small` runs span {low:.4f} to {high:.4f} (a spread of {high - low:.4f}); this "
        f"run's {mean:.4f} is **{verdict}** that range"
        + (
            ": on these files, 15K features and 2160 variants buy no hold-out skill that the "
            "small profile's own seed-to-seed noise does not also produce."
            if verdict == "inside"
            else (
                f", {'above' if mean > high else 'below'} it by "
                f"{(mean - high) if mean > high else (low - mean):.4f}."
            )
        ),
    ]
    return lines


def render_measured(run: Path, base: Path, smalls: dict[str, float]) -> str:
    summary, base_summary = _json(run / "summary.json"), _json(base / "summary.json")
    config = _json(run / "manifest.json")["config"]
    peaks = task_peaks(run)
    lines = [
        "## Measured",
        "",
        f"Run directory `{run.name}`, config: profile `real-1h` + `configs/grids/grid-2160.yaml` "
        f"+ `features.profile={config['features']['profile']}` + the baseline's tuning settings "
        f"(a {config['tuning']['budget']:g}-{config['tuning']['budget_unit']} budget, stage-3 "
        f"cap {config['tuning']['max_trials_stage3']}, stage-4 cap "
        f"{config['tuning']['max_trials_stage4']}, {config['tuning']['stage4_models']} stage-4 "
        f"models); selection: {config['selection']['sampling']}, learning rate "
        f"{config['selection']['learning_rate']:g}, <= {config['selection']['num_rounds']} "
        f"rounds, patience {config['selection']['early_stopping']}. Baseline `{base.name}` "
        "(profile `real-1h`: the `small` features, the default 864-variant grid; its cheap "
        "stages were copied from an earlier run, so they show 0 s). Machine: "
        f"{machine()}; load average when rendered: {load_average()}.",
        "",
        "### Stages",
        "",
        *stages_table(summary, base_summary),
        "",
        goal_line(summary),
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
        "### Hold-out: champion vs class prior vs random ranking",
        "",
        *skill_lines(run),
        "",
        "### Hold-out: this run vs the baseline, model by model",
        "",
        render(holdout(run), holdout(base), ("full", "small")),
        "",
        "### Against the `small` profile's runs",
        "",
        *small_runs_lines(run, smalls),
    ]
    return "\n".join(lines)


GOAL_MIN = 100.0
"""The issue's goal for the whole run on this 2-core machine, minutes of wall."""


def goal_line(summary: dict[str, Any]) -> str:
    """The run's wall by its own stage table against ``GOAL_MIN``."""
    total = sum(float(summary["stages"].get(name, {}).get("wall_s", 0.0)) for name in ORDER)
    verdict = "within" if total <= GOAL_MIN * 60 else "over"
    return (
        f"Whole run by its stage table: **{total / 60:.1f} min** of wall, {verdict} the "
        f"{GOAL_MIN:.0f}-minute goal on this 2-core machine."
    )


def small_runs(entries: list[str]) -> dict[str, float]:
    """``NAME=RUN_DIR`` (a finished run: its champions' mean hold-out AP) or ``NAME=AP`` (a
    figure recorded from a run whose directory is gone) per entry."""
    out: dict[str, float] = {}
    for entry in entries:
        name, _, value = entry.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            out[name] = float(holdout(Path(value))["holdout_macro_ap"].mean())
    return out


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
    parser.add_argument(
        "--small",
        nargs="*",
        default=[],
        metavar="NAME=RUN_OR_AP",
        help="the small profile's runs to compare with (a finished run or a recorded mean AP)",
    )
    args = parser.parse_args()
    summary = _json(args.run / "summary.json")
    if "train" in summary["stages"]:
        smalls = {args.baseline.name: float(holdout(args.baseline)["holdout_macro_ap"].mean())}
        text = render_measured(args.run, args.baseline, smalls | small_runs(args.small))
    else:
        config = _json(args.run / "manifest.json")["config"]
        train_s = float(_json(args.baseline / "summary.json")["stages"]["train"]["wall_s"])
        budget = float(config["tuning"]["budget"])
        text = render_progress(args.run, args.baseline, budget, train_s)
    write_section(args.out, "measured", text, TITLE)
    print(text)


if __name__ == "__main__":
    main()
