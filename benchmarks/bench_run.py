"""Benchmark of the whole workflow: ``swingml run`` on the embedded default, wall time per stage.

Also, side by side in the same run directory:
- one stage-3 trial (rolling CV, 5 folds) on a variant's rows binned once and reused through
  ``Dataset.subset`` (ours) vs a Dataset built from raw rows for every fold (naive);
- registering a model: our lean batch (explicit pip requirements, autolog off) vs
  ``mlflow.lightgbm.log_model`` with its defaults (requirements inferred in a subprocess).

Run under the machine-wide benchmark lock:
    flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_run.py
Writes its section of docs/benchmarks/tuning.md (``--out`` to change). ``--run-dir`` reuses a
finished run (``--skip-run``) for the side-by-side part only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from _bench import machine, write_section
from swingml.config import load_config
from swingml.io.store import RunStore
from swingml.targets.grid import Variant
from swingml.training.metrics import macro_ap
from swingml.training.model import TrainSettings, binned_dataset, lgb_params
from swingml.tuning.driver import CvPlan, make_folds
from swingml.tuning.objective import evaluate
from swingml.workflow.loading import load_events, load_inputs

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks" / "tuning.md"
TITLE = "# Benchmark: `swingml run` on the embedded default"
TRIAL = {"num_leaves": 50, "max_depth": 7, "learning_rate": 0.05, "lambda_l1": 0.01}
TRIAL_FULL = {**TRIAL, "feature_fraction": 0.7, "min_child_fraction": 0.01}


def whole_run(run_dir: Path, profile: str | None) -> tuple[float, dict[str, Any]]:
    """Run ``swingml run`` in a fresh process; its wall time and ``summary.json``."""
    command = [sys.executable, "-m", "swingml.cli", "run", "--run-dir", str(run_dir)]
    if profile:
        command += ["--profile", profile]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"swingml run failed ({done.returncode}):\n{done.stderr[-4000:]}")
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return wall, summary


def naive_evaluate(
    X: np.ndarray, y: np.ndarray, folds: list[Any], settings: TrainSettings
) -> list[float]:
    """The peer way: a fresh Dataset from raw rows for every fold (binning every time)."""
    scores = []
    for fold in folds:
        params = lgb_params(TRIAL_FULL, len(fold.train), settings.seed, settings.threads)
        params["max_bin"] = settings.max_bin
        train = lgb.Dataset(X[fold.train], y[fold.train], params={"max_bin": settings.max_bin})
        valid = lgb.Dataset(X[fold.valid], y[fold.valid], reference=train)
        booster = lgb.train(
            params,
            train,
            num_boost_round=settings.num_rounds,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(settings.early_stopping, verbose=False)],
        )
        proba = booster.predict(X[fold.valid], num_iteration=booster.best_iteration)
        scores.append(macro_ap(y[fold.valid], np.asarray(proba)))
    return scores


def trial_side_by_side(run_dir: Path, repeats: int) -> dict[str, Any]:
    """Median wall of one 5-fold trial: shared binned Dataset vs binning per fold."""
    config = load_config(None, (), (), run_dir)
    store = RunStore(run_dir)
    inputs = load_inputs(config, store)
    best = pd.read_parquet(run_dir / "tuning" / "stage1" / "best.parquet")
    variant = Variant.from_id(str(best.sort_values("train_rows").iloc[-1]["variant_id"]))
    horizon = variant.horizon(config.targets)
    events = load_events(inputs.root, variant, inputs.features, inputs.cutoff, horizon)
    rows = events.rows(events.dev)
    folds = make_folds(rows.bars, horizon, CvPlan("rolling", 5, 0.2, 30_000))
    settings = TrainSettings(300, 40, config.run.seed, 1, config.tuning.max_bin)
    ours, naive = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        full = binned_dataset(rows.X, rows.feature_names, 1, settings.max_bin)
        evaluate(full, rows.y, folds, dict(TRIAL_FULL), settings)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        naive_evaluate(rows.X, rows.y, folds, settings)
        naive.append(time.perf_counter() - start)
    return {
        "variant": variant.id,
        "rows": len(rows.y),
        "features": len(rows.feature_names),
        "ours_s": statistics.median(ours),
        "naive_s": statistics.median(naive),
    }


def registration_side_by_side(run_dir: Path, models: int) -> dict[str, Any]:
    """Median seconds to log and register one model: lean batch vs mlflow defaults."""
    import mlflow
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    from swingml.registry.mlflow_registry import MlflowRegistry, ModelCard

    files = sorted((run_dir / "training" / "models").glob("*.txt"))[:models]
    boosters = [lgb.Booster(model_file=str(f)) for f in files]
    names = boosters[0].feature_name()
    example = pd.DataFrame(np.zeros((3, len(names)), dtype=np.float32), columns=names)
    with tempfile.TemporaryDirectory() as tmp:
        registry = MlflowRegistry.for_run(None, None, "bench", Path(tmp))
        cards = [
            ModelCard(f"lean-{i}", b, "v", {}, names, "fp", {"holdout_macro_ap": 0.5}, example)
            for i, b in enumerate(boosters)
        ]
        lean = []
        for card in cards:
            start = time.perf_counter()
            registry.register([card])
            lean.append(time.perf_counter() - start)
        default = []
        for i, booster in enumerate(boosters):
            start = time.perf_counter()
            signature = infer_signature(example, booster.predict(example.to_numpy()))
            with mlflow.start_run(experiment_id=registry.experiment_id):
                mlflow.lightgbm.log_model(
                    booster,
                    name="model",
                    signature=signature,
                    input_example=example,
                    registered_model_name=f"default-{i}",
                )
            default.append(time.perf_counter() - start)
    return {
        "models": len(files),
        "lean_s": statistics.median(lean),
        "default_s": statistics.median(default),
    }


def holdout_table(run_dir: Path) -> str:
    """Per model: champion vs class prior vs random ranking vs stage-1 model (Markdown)."""
    table = pd.read_parquet(run_dir / "training" / "holdout.parquet").sort_values("main_id")
    lines = [
        "| model | variant | train rows | hold-out rows | classes | champion AP | prior AP "
        "| random-ranking AP | stage-1 AP | champion - prior | champion - random |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table.to_dict("records"):
        lines.append(
            f"| {row['main_id']} (v{row['version']}) | `{row['variant_id']}` | {row['train_rows']} "
            f"| {row['holdout_rows']} | {row['holdout_classes']} "
            f"| {row['holdout_macro_ap']:.3f} | {row['prior_macro_ap']:.3f} "
            f"| {row['random_macro_ap']:.3f} | {row['stage1_holdout_macro_ap']:.3f} "
            f"| {row['holdout_macro_ap'] - row['prior_macro_ap']:+.3f} "
            f"| {row['holdout_macro_ap'] - row['random_macro_ap']:+.3f} |"
        )
    n = len(table)
    champion = table["holdout_macro_ap"]
    beats = int((champion > table["prior_macro_ap"]).sum())
    skill = int((champion > table["random_macro_ap"]).sum())
    stage1 = table["stage1_holdout_macro_ap"]
    lines += [
        "",
        f"Champions beating the class prior: **{beats}/{n}** (stage-1 models: "
        f"{int((stage1 > table['prior_macro_ap']).sum())}/{n}); beating the expected AP of a "
        f"random ranking (the stricter bar on small hold-outs): **{skill}/{n}** (stage-1 models: "
        f"{int((stage1 > table['random_macro_ap']).sum())}/{n}). Mean hold-out macro AP: champions "
        f"{champion.mean():.3f}, class prior {table['prior_macro_ap'].mean():.3f}, random "
        f"ranking {table['random_macro_ap'].mean():.3f}, stage-1 models {stage1.mean():.3f}.",
    ]
    return "\n".join(lines)


def report(
    wall: float | None, summary: dict[str, Any], trial: dict[str, Any], reg: dict[str, Any]
) -> str:
    """The Markdown page."""
    lines = [
        f"Machine: {machine()}. Generated by `benchmarks/bench_run.py` "
        f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
    ]
    if wall is not None:
        lines += [
            f"## Whole run ({load_config(None, (), ()).data.synthetic.bars:,} synthetic bars x 3 "
            "coins, small features profile, 864 variants)",
            "",
            "| stage | status | wall (s) | tasks | failed |",
            "|---|---|---:|---:|---:|",
        ]
        for name, entry in summary["stages"].items():
            lines.append(
                f"| {name} | {entry['status']} | {entry['wall_s']:.1f} | {entry.get('tasks', 0)} "
                f"| {entry.get('failed_tasks', 0)} |"
            )
        lines += ["", f"Total wall of `swingml run`: **{wall:.0f} s** ({wall / 60:.1f} min).", ""]
    tune = summary["stages"].get("tune", {})
    if tune:
        unit = "trials" if tune.get("budget_unit") == "trials" else "s"
        lines += [
            f"## Tuning budget ({tune['budget_s']:.0f} {unit}) vs spent ({tune['spent_s']:.0f} "
            f"{unit})",
            "",
            f"Budget columns in {unit}; wall in seconds. Reused: tasks taken from an earlier "
            "attempt of the run (and what they were charged).",
            "",
            "| stage | share | carried over | budget | may run to | spent | wall (s) | trials "
            "| models | reused tasks | best score |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n in (1, 2, 3, 4):
            s = tune.get(f"stage{n}")
            if s:
                best = "-" if s["best_score"] is None else f"{s['best_score']:.3f}"
                lines.append(
                    f"| {n} {s['name']} | {s['share_s']:.0f} | {s['carried_over_s']:.0f} "
                    f"| {s['budget_s']:.0f} | {s.get('limit_s', s['budget_s']):.0f} "
                    f"| {s['spent_s']:.0f} | {s.get('wall_s', 0.0):.0f} | {s['trials']} "
                    f"| {s['models']} | {s.get('reused_tasks', 0)} | {best} |"
                )
        lines.append("")
    train = summary["stages"].get("train", {})
    if train:
        lines += [
            "## Production models",
            "",
            f"{train['models']} trained, {train['registered']} registered, "
            f"{train['champions']} champions; {train['beats_prior']}/{train['models']} beat the "
            f"class prior and {train.get('beats_random', '-')}/{train['models']} the expected AP "
            f"of a random ranking on the hold-out. Mean hold-out macro AP "
            f"{train['holdout_macro_ap_mean']:.3f} "
            f"(class prior {train['prior_macro_ap_mean']:.3f}, "
            f"stage-1 models {train['stage1_holdout_macro_ap_mean']:.3f}). Registering all "
            f"models took {train['register_s']:.1f} s.",
            "",
        ]
    lines += [
        "## Side by side",
        "",
        "| what | ours (median s) | peer way (median s) | ratio |",
        "|---|---:|---:|---:|",
        f"| one 5-fold trial, {trial['rows']} rows x {trial['features']} features "
        f"(`{trial['variant']}`): bin once + `Dataset.subset` vs a Dataset per fold "
        f"| {trial['ours_s']:.2f} | {trial['naive_s']:.2f} "
        f"| {trial['naive_s'] / trial['ours_s']:.2f}x |",
        f"| log + register one model ({reg['models']} models): explicit requirements vs "
        f"`mlflow.lightgbm.log_model` defaults | {reg['lean_s']:.2f} | {reg['default_s']:.2f} "
        f"| {reg['default_s'] / reg['lean_s']:.1f}x |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run the benchmark, write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--holdout-only", action="store_true", help="print the hold-out table of --run-dir"
    )
    args = parser.parse_args()
    if args.holdout_only:
        print(holdout_table(args.run_dir))
        return
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="bench-run-")) / "run"
    wall: float | None = None
    if args.skip_run:
        summary = json.loads((run_dir / "summary.json").read_text())
    else:
        wall, summary = whole_run(run_dir, args.profile)
        print(f"swingml run: {wall:.0f} s", flush=True)
    trial = trial_side_by_side(run_dir, args.repeats)
    print(f"trial: {trial}", flush=True)
    reg = registration_side_by_side(run_dir, args.models)
    print(f"registration: {reg}", flush=True)
    text = report(wall, summary, trial, reg)
    text += "\n## Hold-out, per model\n\n" + holdout_table(run_dir) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_section(args.out, "run", text, TITLE)
    print(text)


if __name__ == "__main__":
    main()
