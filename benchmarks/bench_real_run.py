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

import pandas as pd

from _bench import load_average, machine, write_section

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
    lines.append(
        f"- the two final sets share {shared} features ({shared / max(len(final), 1):.0%} of "
        "this run's)"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    text = render_measured(args.run, args.baseline)
    write_section(args.out, "measured", text, TITLE)
    print(text)


if __name__ == "__main__":
    main()
