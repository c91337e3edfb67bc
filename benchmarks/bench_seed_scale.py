"""Seed-scale benchmark: the 2160-variant, full-feature job, measured per stage and projected.

The seed's job is 3 coins x 200,000 15-minute bars, profile ``full``, grid ``grid-2160``. This
script builds it on the synthetic market at ``--scale`` of those bars (1.0 = the whole job):

* data, features, targets (the whole 2160-variant grid) and prep run whole;
* selection and tuning stage 1 run on a stratified sample of the variants: every coin, window and
  kind, the lowest and highest ``s`` (the most and the fewest events) and one ``k`` (``k`` changes
  labels, not rows): 144 of 2160 (6.7 %, >= 5 % and >= 100);
* tuning stages 2-4 run on the stated ``--budget`` (minutes), production trains the 36 champions.

Each stage runs as its own process (``pipeline.run_stage``); its wall, CPU (its process tree's,
with every worker it waited for) and peak RSS (the whole tree, sampled every 0.2 s) are measured.

Projection to all 2160 variants: every variant takes the measured cost of the sampled variant of
the same coin, window and kind with the nearest ``s``; the stage's real tasks (selection: one
per coin and window, with a binning task per coin first; stage 1: one per main variant) are then
scheduled in the stage's order on 2, 16, 64 and 256 one-thread workers (greedy: a free worker
takes the next task), which gives each stage's wall on that many CPUs. Features and targets are
scheduled from their measured tasks; prep runs in one process. At ``--scale`` below 1 the row-
dependent costs are further extrapolated to the seed's rows linearly (stated as such).

Two more modes, each writing its own part of the docs:

* ``--memory-probe`` (scale 1.0 unless ``--scale``): data, features, targets and prep whole, then
  one task of each later stage alone in its own process (select's plan, binning and its largest
  window task on a few variants; one stage-3 study; one production model): peak RSS and CPU
  seconds at the seed's size, a section of docs/benchmarks/seed_scale.md (``--render`` rewrites
  it from the saved figures);
* ``--real-data DIR``: the full real run's cheap stages on the hourly files, the rest projected
  with the same schedules and cost models, docs/results/full_real_run.md.

Run it alone: ``flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_seed_scale.py``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from _bench import load_average, machine, tree_rss_mb, write_section

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks" / "seed_scale.md"
SEED_BARS = 200_000
CPUS = (2, 16, 64, 256)
SAMPLE_S = (1.0, 3.0)
SAMPLE_K = (1.5,)
GRID_VARIANTS = 2160
SEED_FEATURES_S = 70.4
"""``swingml features`` at seed scale, 2 workers (docs/benchmarks/features.md)."""
SEED_TARGETS_S = 2.1
"""All 2160 variants' targets on 3 x 200,000 bars (docs/benchmarks/targets.md)."""
SEED_PREP_S = 55.6
"""``swingml prep`` on the full profile, 50,000-row sample (docs/benchmarks/prep_selection.md)."""
SEED_FEATURES_KEPT = 7510
"""Prep's output on the full profile (docs/benchmarks/prep_selection.md)."""

_STAGE = """
import sys, json
from rich.console import Console
from swingml.workflow import pipeline
from swingml.config import load_config
from swingml.workflow.pipeline import StageContext
from swingml.io.store import RunStore
config = load_config("grid-2160", (), json.loads(sys.argv[3]), sys.argv[1])
pipeline.run_stage(sys.argv[2], StageContext(config, RunStore(sys.argv[1]), Console(stderr=True)))
"""


def overrides(scale: float, profile: str, budget: float, sample: bool) -> list[str]:
    """The config of the job at ``scale``; ``sample`` narrows the grid to the stratified sample."""
    bars = max(int(SEED_BARS * scale), 2000)
    out = [
        "data.interval=15m",
        f"data.synthetic.bars={bars}",
        f"features.profile={profile}",
        f"tuning.budget={budget}",
    ]
    if sample:
        out += [f"grid.s=[{', '.join(map(str, SAMPLE_S))}]", f"grid.k=[{SAMPLE_K[0]}]"]
    return out


def measured(cmd: list[str], log_path: Path, what: str) -> dict[str, float]:
    """Run ``cmd`` in a fresh process; its wall, CPU of the tree and peak RSS of the tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    log = log_path.open("w")
    proc = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc))
        time.sleep(0.2)
    log.close()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak}


def run_stage(run: Path, stage: str, sets: list[str]) -> dict[str, float]:
    """Run one stage in a fresh process; its wall, CPU of the tree and peak RSS of the tree."""
    cmd = [sys.executable, "-c", _STAGE, str(run), stage, json.dumps(sets)]
    return measured(cmd, run.parent / f"{run.name}-{stage}.log", f"stage {stage}")


def tasks_table(run: Path, stage: str) -> pd.DataFrame:
    """The stage's tasks table (empty when the stage ran no tasks)."""
    path = run / "tasks" / stage / "tasks.parquet"
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=["wall_s"])


def cpu_share(run: Path, stage: str) -> float:
    """CPU seconds per wall second of the stage's tasks: how much of a task's wall the shared
    machine's other load took (1.0 on a machine of one's own)."""
    table = tasks_table(run, stage)
    if table.empty or "cpu_s" not in table or table["wall_s"].sum() <= 0:
        return 1.0
    return float(min(table["cpu_s"].sum() / table["wall_s"].sum(), 1.0))


def schedule(costs: Sequence[float], workers: int) -> float:
    """Wall of running ``costs`` in order on ``workers`` (a free worker takes the next task)."""
    free = [0.0] * min(workers, max(len(costs), 1))
    heapq.heapify(free)
    end = 0.0
    for cost in costs:
        start = heapq.heappop(free)
        heapq.heappush(free, start + cost)
        end = max(end, start + cost)
    return end


def _parse(variant_id: str) -> tuple[str, str, str, float]:
    """(symbol, window, kind, s) of a variant id ``SYMBOL/wW/kind/sS/kK``."""
    symbol, w, kind, s, _ = variant_id.split("/")
    return symbol, w, kind, float(s.lstrip("s"))


def variant_costs(run: Path) -> dict[tuple[str, str, str, float], float]:
    """Measured selection wall per sampled variant (``selection/report.json``), by stratum."""
    report = json.loads((run / "selection" / "report.json").read_text())
    out: dict[tuple[str, str, str, float], float] = {}
    for entry in report["variants"]:
        if entry.get("status") == "ok":
            out[_parse(entry["variant"])] = float(entry["wall_s"])
    return out


def full_grid() -> list[tuple[str, str, str, float, float]]:
    """Every variant of ``grid-2160`` as (symbol, window, kind, s, k)."""
    from swingml.config import load_config
    from swingml.targets.grid import variants

    config = load_config("grid-2160")
    return [(v.symbol, f"w{v.w}", v.kind, float(v.s), float(v.k)) for v in variants(config)]


def projected_selection(run: Path) -> dict[str, Any]:
    """The 2160 variants' selection tasks from the sampled costs, and their schedules."""
    share = cpu_share(run, "select")
    measured = {k: v * share for k, v in variant_costs(run).items()}
    bins = tasks_table(run, "select-bin")["cpu_s"].tolist()
    chunks: dict[tuple[str, str, str], float] = {}
    per_variant: list[float] = []
    for symbol, w, kind, s, _ in full_grid():
        same = [
            (abs(ms - s), cost)
            for (sy, mw, mk, ms), cost in measured.items()
            if (sy, mw, mk) == (symbol, w, kind)
        ]
        cost = min(same)[1] if same else 0.0  # a stratum with no screened variant: skipped
        per_variant.append(cost)
        chunks[(symbol, w, kind)] = chunks.get((symbol, w, kind), 0.0) + cost
    tasks = sorted(chunks.values(), reverse=False)
    walls = {n: schedule(bins, n) + schedule(tasks, n) for n in CPUS}
    return {
        "variants": len(per_variant),
        "sampled": len(measured),
        "cpu_s": sum(per_variant) + sum(bins),
        "median_s": statistics.median(per_variant),
        "p90_s": sorted(per_variant)[int(0.9 * (len(per_variant) - 1))],
        "max_s": max(per_variant),
        "largest_task_s": max(tasks),
        "walls": walls,
    }


def seed_events(root: Path) -> dict[str, int]:
    """Training events per variant of ``grid-2160`` at the seed's size (scale 1.0).

    Builds the seed's candles and targets (both cheap: ~2 s for the targets of 2160 variants on
    600,000 bars) and counts each variant's labelled development events, capped at
    ``selection.max_events``, less the validation share: what selection would train on.
    """
    import numpy as np

    from swingml.config import load_config
    from swingml.modeling.splits import holdout_cutoff, span_of
    from swingml.targets.grid import variants
    from swingml.workflow.loading import load_variant

    run = root / "seed-events"
    root.mkdir(parents=True, exist_ok=True)
    sets = overrides(1.0, "tiny", 1.0, sample=False)
    for stage in ("data", "targets"):
        if not (run / ("targets" if stage == "targets" else "candles")).is_dir():
            run_stage(run, stage, sets)
    from swingml.io.store import RunStore

    config = load_config("grid-2160", (), sets, run)
    store = RunStore(run)
    stamps = [
        pd.read_parquet(store.candles_path(s), columns=["timestamp"])["timestamp"]
        for s in config.data.symbols
    ]
    first, last = span_of(stamps)
    cutoff = holdout_cutoff(first, last, config.split.holdout_fraction)
    cfg = config.selection
    out: dict[str, int] = {}
    for variant in variants(config):
        events = load_variant(store, variant)
        usable = int(np.count_nonzero(events["label"].notna() & (events["timestamp"] < cutoff)))
        out[variant.id] = int(min(usable, cfg.max_events) * (1 - cfg.validation_fraction))
    return out


ANCHOR_S_PER_EVENT_FEATURE = 49.6 / (20_000 * 7_510)
"""One measured variant at the issue's size: 49.6 s of ``lgb.train`` on 20,000 training events x
7,510 features, one thread (docs/benchmarks/prep_selection.md); binning is shared, so it is out."""


def selection_at_seed(
    run: Path, events: dict[str, int], features_seed: int, per_event_feature: float | None = None
) -> dict[str, Any]:
    """Per-variant selection cost at the seed's size: ``a + b * events * features``, fitted on the
    sampled variants (least squares), applied to the seed's event counts; scheduled as the stage
    schedules it (one task per coin and window)."""
    import numpy as np

    report = json.loads((run / "selection" / "report.json").read_text())
    kept = len(json.loads((run / "prep" / "kept_features.json").read_text())["features"])
    ok = [v for v in report["variants"] if v.get("status") == "ok"]
    x = np.array([v["n_train"] * kept for v in ok], dtype=float)
    y = np.array([v["wall_s"] for v in ok], dtype=float) * cpu_share(run, "select")
    b, a = np.polyfit(x, y, 1)
    b, a = max(b, 0.0), max(a, 0.0)
    if per_event_feature is not None:
        a, b = 0.0, per_event_feature
    chunks: dict[str, float] = {}
    costs = []
    for variant_id, n in events.items():
        cost = a + b * n * features_seed
        costs.append(cost)
        key = "/".join(variant_id.split("/")[:2])
        chunks[key] = chunks.get(key, 0.0) + cost
    tasks = list(chunks.values())
    return {
        "a": a,
        "b": b,
        "kept": kept,
        "cpu_s": sum(costs),
        "median_s": statistics.median(costs),
        "max_s": max(costs),
        "events_max": max(events.values()),
        "events_median": statistics.median(events.values()),
        "walls": {n: schedule(tasks, n) for n in CPUS},
    }


def projected_stage1(run: Path) -> dict[str, Any] | None:
    """Stage 1 from its measured per-variant cost (task wall / variants fitted), all 2160."""
    board_path = run / "tuning" / "stage1" / "leaderboard.parquet"
    table = tasks_table(run, "tune-stage1")
    if not board_path.is_file() or table.empty:
        return None
    from swingml.targets.grid import Variant

    board = pd.read_parquet(board_path)
    fitted = board["variant_id"].map(lambda v: Variant.from_id(str(v)).main_id).value_counts()
    per_variant = table.set_index("label")["cpu_s"] / fitted.reindex(table["label"]).to_numpy()
    cost = float(per_variant.median())
    groups = GRID_VARIANTS // 36
    tasks = [cost * groups] * 36
    return {
        "sampled": len(board),
        "per_variant_s": cost,
        "cpu_s": cost * GRID_VARIANTS,
        "walls": {n: schedule(tasks, n) for n in CPUS},
    }


def measured_schedule(run: Path, stage: str) -> dict[int, float]:
    """A stage's measured tasks scheduled on each CPU count."""
    table = tasks_table(run, stage)
    costs = table["cpu_s"].tolist() if "cpu_s" in table else []
    return {n: schedule(costs, n) for n in CPUS}


# ---- memory probe: select, tune and train tasks at the seed's size ----------------------------

PROBE_VARIANTS = 3
"""Variants the probe's selection task screens (of the largest coin and window)."""
PROBE_TRIALS = 2
"""Trials of the probe's stage-3 study (rolling CV, 5 folds each)."""
PROBE_PARTS = (
    "select-plan",
    "select-bin-whole",
    "select-bin",
    "select-screen",
    "tune-study",
    "train",
)
"""``select-bin-whole`` is the reference: the binning task as it was, every code in one matrix."""

_PART = """
import sys
sys.path.insert(0, sys.argv[1])
import bench_seed_scale
bench_seed_scale.probe_part(*sys.argv[2:])
"""


def _probe_file(run: Path, part: str) -> Path:
    return run.parent / f"{run.name}-probe-{part}.json"


def _variant_file(store: Any, variant_id: str) -> Path:
    """Select's per-variant ranking file (the catalog's ``select_variant``)."""
    from swingml.targets.grid import Variant

    return Path(store.dataset("select_variant", slug=Variant.from_id(variant_id).slug))


def _largest_variant(config: Any, store: Any, dev: Any) -> tuple[Any, int]:
    """The grid's variant with the most usable development events, and that count."""
    import numpy as np

    from swingml.modeling.splits import development_mask
    from swingml.targets.grid import variants
    from swingml.workflow.loading import load_variant

    best: tuple[Any, int] = (None, -1)
    for variant in variants(config):
        if variant.k != config.grid.k[0]:
            continue  # k changes labels, not rows
        events = load_variant(store, variant)
        bars = dev.bars[variant.symbol]
        positions = bars.get_indexer(pd.DatetimeIndex(events["timestamp"]))
        usable = development_mask(
            positions, pd.Series(bars), dev.cutoff, variant.horizon(config.targets)
        )
        count = int(np.count_nonzero(usable & events["label"].notna().to_numpy()))
        if count > best[1]:
            best = (variant, count)
    return best


def _bin_whole(run: Path, config: Any, seed: int) -> dict[str, Any]:
    """The binning task before it went by blocks: all codes in one matrix, one Dataset."""
    import numpy as np

    from swingml.features.matrix import load_matrix
    from swingml.io.store import RunStore
    from swingml.selection import screening
    from swingml.stages import select

    plan_out = json.loads(_probe_file(run, "select-plan").read_text())
    store, symbol, columns = RunStore(run), plan_out["symbol"], plan_out["columns"]
    stamps = pd.read_parquet(store.dataset("select_rows", symbol=symbol))["timestamp"]
    codes = np.empty((len(columns), len(stamps)), dtype=np.float32)
    for first in range(0, len(columns), select.CODE_BLOCK):
        chunk = columns[first : first + select.CODE_BLOCK]
        frame = load_matrix(store.features_dir(), symbol, chunk, stamps)
        codes[first : first + len(chunk)] = screening.quantile_codes(
            frame[chunk].to_numpy(dtype=np.float32).T,
            config.selection.max_bin - 1,
            config.selection.bin_construct_sample_cnt,
        )
    params = screening.dataset_params(config.selection, 1, seed)
    dataset = screening.binned_dataset(codes, columns, params)
    del codes
    scratch = run.parent / f"{run.name}-probe-whole.bin"
    scratch.unlink(missing_ok=True)
    dataset.save_binary(str(scratch))
    scratch.unlink()
    return {"symbol": symbol, "rows": len(stamps), "features": len(columns)}


def probe_part(part: str, run_dir: str, sets_json: str) -> None:
    """One part of the memory probe, in its own process (its peak RSS is the part's).

    ``select-plan`` is select's parent side for the symbol with the most events (its union rows
    over the whole grid), ``select-bin`` that symbol's binning task, ``select-screen`` the task
    of its largest window restricted to the ``PROBE_VARIANTS`` variants with the most training
    events; ``tune-study`` one stage-3 study (``PROBE_TRIALS`` trials, rolling CV) of the grid's
    largest variant on the final set; ``train`` its production model. Each writes what ran.
    """
    from swingml.config import load_config
    from swingml.features.matrix import read_metadata
    from swingml.io.store import RunStore
    from swingml.selection.aggregate import aggregate, ranking_table
    from swingml.stages import select
    from swingml.targets.grid import Variant, variants
    from swingml.targets.guard import guard_inputs
    from swingml.workflow.loading import development, read_kept

    run = Path(run_dir)
    config = load_config("grid-2160", (), json.loads(sets_json), run)
    store = RunStore(run)
    seed = config.run.seed
    out: dict[str, Any] = {}
    if part == "select-plan":
        columns, _ = guard_inputs(read_kept(store), read_metadata(store.features_dir()))
        dev = development(config, store)
        totals = {
            symbol: len(pd.read_parquet(store.targets_path(symbol), columns=["w"]))
            for symbol in config.data.symbols
        }
        symbol = max(totals, key=lambda s: totals[s])
        chosen = [v for v in variants(config) if v.symbol == symbol]
        plan = select.plan_symbol(store, config, dev, symbol, chosen)
        by_w: dict[int, int] = {}
        for v in plan.screened:
            by_w[v.w] = by_w.get(v.w, 0) + plan.counts[v.id][0]
        w = max(by_w, key=lambda x: by_w[x])
        group = sorted((v for v in plan.screened if v.w == w), key=lambda v: -plan.counts[v.id][0])
        picked: list[Variant] = []
        for v in group:  # the largest of different event rows (kind, s), not k's relabellings
            if (v.kind, v.s) not in {(p.kind, p.s) for p in picked}:
                picked.append(v)
        out = {
            "symbol": symbol,
            "union_rows": plan.rows,
            "features": len(columns),
            "columns": list(columns),
            "screened": len(plan.screened),
            "w": w,
            "group_variants": len(group),
            "group_train_events": by_w[w],
            "ids": [v.id for v in picked[:PROBE_VARIANTS]],
            "counts": {v.id: plan.counts[v.id] for v in picked[:PROBE_VARIANTS]},
        }
    elif part == "select-bin-whole":
        out = _bin_whole(run, config, seed)
    elif part == "select-bin":
        plan_out = json.loads(_probe_file(run, "select-plan").read_text())
        out = select.bin_symbol(
            str(run),
            plan_out["symbol"],
            tuple(plan_out["columns"]),
            config.selection,
            seed,
            "probe",
        )
    elif part == "select-screen":
        plan_out = json.loads(_probe_file(run, "select-plan").read_text())
        ids = tuple(plan_out["ids"])
        for variant_id in ids:  # screen afresh, not from an earlier probe's files
            _variant_file(store, variant_id).unlink(missing_ok=True)
        briefs = select.screen_chunk(
            str(run), plan_out["symbol"], ids, config.selection, seed, "probe"
        )
        rankings = pd.concat(
            [
                ranking_table(
                    v,
                    [tuple(x) for x in json.loads(_variant_file(store, v).read_text())["ranking"]],
                    1.0,
                )
                for v in ids
            ]
        )
        final = aggregate(rankings, config.selection.final_size)["feature"].tolist()
        for name in plan_out["columns"]:  # pad to the final size, as a full grid would fill it
            if len(final) >= config.selection.final_size:
                break
            if name not in final:
                final.append(name)
        out = {"variants": briefs, "final_features": final}
    elif part in ("tune-study", "train"):
        from swingml.training.production import production_plan
        from swingml.training.tasks import ModelJob, train_task
        from swingml.tuning import tasks
        from swingml.tuning.driver import StudyPlan
        from swingml.tuning.stages import spec
        from swingml.workflow.loading import load_events

        features = tuple(
            json.loads(_probe_file(run, "select-screen").read_text())["final_features"]
        )
        dev = development(config, store)
        if part == "tune-study":
            variant, count = _largest_variant(config, store, dev)
            stage = spec(3)
            study = tasks.study_task(
                load_events,
                str(run),
                variant.id,
                features,
                dev.cutoff,
                variant.horizon(config.targets),
                StudyPlan(
                    stage=3,
                    model_id=variant.main_id,
                    variant_id=variant.id,
                    space=stage.search_space(None),
                    cv=tasks.cv_plan(config, stage),
                    settings=tasks.train_settings(config, stage),
                    max_trials=PROBE_TRIALS,
                    time_limit_s=3600.0,
                    journal=run / "probe-study.journal",
                    n_trials=PROBE_TRIALS,
                    study_name=f"probe-{time.time_ns()}",
                ),
                time.time() + 3600.0,
            )
            out = {
                "variant": variant.id,
                "dev_events": count,
                "features": len(features),
                "trials": study.trials,
                "folds": study.folds,
                "best_score": study.best_score,
                "params": study.best_params,
            }
        else:
            tuned = json.loads(_probe_file(run, "tune-study").read_text())
            variant = Variant.from_id(tuned["variant"])
            result = train_task(
                ModelJob(
                    load_events,
                    str(run),
                    variant.main_id,
                    variant.id,
                    features,
                    dev.cutoff,
                    variant.horizon(config.targets),
                    tuned["params"],
                    production_plan(config, spec(1).early_stopping),
                )
            )
            out = {k: v for k, v in result.items() if k not in ("model", "example", "params")}
    else:
        raise SystemExit(f"unknown probe part {part!r}")
    _probe_file(run, part).write_text(json.dumps(out, indent=1, default=str))


def memory_probe(
    run: Path, sets: list[str], parts: Sequence[str] = PROBE_PARTS
) -> dict[str, dict[str, Any]]:
    """Run each of ``parts`` in its own measured process; their figures and what ran."""
    figures: dict[str, dict[str, Any]] = {}
    for part in parts:
        cmd = [sys.executable, "-c", _PART, str(REPO / "benchmarks"), part, str(run)]
        fig: dict[str, Any] = measured(
            [*cmd, json.dumps(sets)], run.parent / f"{run.name}-probe-{part}.log", part
        )
        fig["ran"] = json.loads(_probe_file(run, part).read_text())
        figures[part] = fig
        print(json.dumps({part: {k: v for k, v in fig.items() if k != "ran"}}), flush=True)
    return figures


def render(args: argparse.Namespace, figures: dict[str, Any]) -> str:
    scale = args.scale
    bars = max(int(SEED_BARS * scale), 2000)
    stages = figures["stages"]
    rss_max = max(f["peak_rss_mb"] for f in stages.values())
    lines = [
        "# Seed scale (`benchmarks/bench_seed_scale.py`)",
        "",
        f"Machine: {machine()}; shared with other jobs (load average at the end: "
        f"{load_average()}). **No GPU was available**: every figure is CPU-only, and the GPU "
        "rows of the issue (a selection variant at 20K x 7.5K and stage 1 on a GPU) were not "
        "measured.",
        "",
        f"Measured: synthetic market, 3 coins x {bars:,} 15-minute bars (scale {scale} of the "
        f"seed's {SEED_BARS:,}), profile `{args.profile}`, grid `grid-2160`; tuning budget "
        f"{args.budget} min; `executor` = 2 workers x 1 thread. Selection and tuning ran on the "
        f"stratified sample (s in {list(SAMPLE_S)}, k = {SAMPLE_K[0]}: every coin, window and "
        "kind, 144 of 2160 variants).",
        "",
        "## Measured per stage",
        "",
        "| stage | what ran | wall (s) | CPU (s) | peak RSS of the tree (MB) "
        "| largest task RSS (MB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    what = {
        "data": "whole",
        "features": "whole",
        "targets": "whole (2160 variants)",
        "prep": "whole",
        "select": "144-variant sample",
        "tune": f"144-variant sample, budget {args.budget} min",
        "train": "36 production models",
    }
    for name, fig in stages.items():
        lines.append(
            f"| {name} | {what.get(name, '')} | {fig['wall_s']:.1f} | {fig['cpu_s']:.1f} "
            f"| {fig['peak_rss_mb']:,.0f} | {fig.get('task_rss_mb', 0):,.0f} |"
        )
    sel = figures["selection"]
    lines += [
        "",
        f"Peak RSS of any stage's process tree (parent + 2 workers): {rss_max:,.0f} MB.",
        "",
        "## Projected to all 2160 variants at this scale (scheduling simulation)",
        "",
        "Task costs are the tasks' CPU seconds (one thread each), not their wall: the machine "
        f"was shared (selection's tasks got {figures['select_share']:.0%} of a core per wall "
        "second), so the projections are for machines of one's own. Prep is the measured wall.",
        "",
        f"Selection: {sel['sampled']} of the {figures['sample_size']} sampled variants "
        "screened (the others had fewer than `selection.min_events` training events at this "
        "scale; their strata cost nothing here, as the stage skips them); per variant median "
        f"{sel['median_s']:.2f} s, p90 {sel['p90_s']:.2f} s, max {sel['max_s']:.2f} s; "
        f"{sel['variants']} variants = {sel['cpu_s']:.0f} CPU-seconds in 72 tasks (one per coin, "
        f"window and kind), the largest {sel['largest_task_s']:.0f} s.",
        "",
        "| stage | " + " | ".join(f"{n} CPUs (s)" for n in CPUS) + " |",
        "|---|" + "---:|" * len(CPUS),
    ]
    rows: dict[str, dict[int, float]] = {}
    rows["features"] = figures["features_sched"]
    rows["targets"] = figures["targets_sched"]
    rows["prep (one process)"] = dict.fromkeys(CPUS, stages["prep"]["wall_s"])
    rows["select (2160 variants)"] = sel["walls"]
    st1 = figures.get("stage1")
    if st1 is not None:
        rows["tune stage 1 (2160 variants, no budget cut)"] = st1["walls"]
    rows["tune stages 2-4 (stated budget)"] = dict.fromkeys(CPUS, args.budget * 60 * (1 - 0.25))
    rows["train (36 models)"] = figures["train_sched"]
    for name, walls in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{walls[n]:,.0f}" for n in CPUS) + " |")
    totals = {n: sum(walls[n] for walls in rows.values()) for n in CPUS}
    lines.append("| **total** | " + " | ".join(f"**{totals[n]:,.0f}**" for n in CPUS) + " |")
    lines += [
        "",
        "Selection tasks are one per coin, window and kind (72), so beyond 72 workers "
        "selection gains nothing: its wall is the largest chunk. Stage 1's tasks are one per "
        "main variant (36).",
    ]
    seed = figures.get("seed_selection")
    if seed is not None and scale < 1:
        factor = 1.0 / scale
        events_factor = seed["events_median"] / max(figures["sample_events_median"], 1.0)
        budgeted = rows["tune stages 2-4 (stated budget)"]
        at_seed: dict[str, dict[int, float]] = {
            "features (measured at seed scale: docs/benchmarks/features.md, 70.4 s on 2)": {
                n: SEED_FEATURES_S * rows["features"][n] / max(rows["features"][2], 1e-9)
                for n in CPUS
            },
            "targets (measured at seed scale: docs/benchmarks/targets.md)": dict.fromkeys(
                CPUS, SEED_TARGETS_S
            ),
            "prep (measured, full profile, 50,000-row sample: prep_selection.md)": dict.fromkeys(
                CPUS, SEED_PREP_S
            ),
            "select (2160 variants, fitted on the sample)": seed["walls"],
            "select (2160 variants, anchored on the 20K x 7.5K variant)": figures["seed_anchor"][
                "walls"
            ],
        }
        if st1 is not None:
            at_seed["tune stage 1 (2160 variants, x events)"] = {
                n: st1["walls"][n] * events_factor for n in CPUS
            }
        at_seed["tune stages 2-4 (stated budget)"] = budgeted
        at_seed["train (36 models, x bars)"] = {
            n: rows["train (36 models)"][n] * factor for n in CPUS
        }
        anchor_name = "select (2160 variants, anchored on the 20K x 7.5K variant)"
        fitted_name = "select (2160 variants, fitted on the sample)"
        seed_totals = {n: sum(w[n] for k, w in at_seed.items() if k != anchor_name) for n in CPUS}
        anchor_totals = {n: sum(w[n] for k, w in at_seed.items() if k != fitted_name) for n in CPUS}
        lines += [
            "",
            "## Projected to the seed's size (3 x 200,000 bars; extrapolated, not measured)",
            "",
            f"Selection cost per variant = a + b x training events x features, fitted (least "
            f"squares) on the {sel['sampled']} sampled variants: a = {seed['a']:.3f} s, b = "
            f"{seed['b'] * 1e6:.4f} s per million event-features ({seed['kept']:,} prep-kept "
            f"features at this scale). Applied to the seed's own event counts (the targets of "
            f"all 2160 variants built at scale 1.0: median {seed['events_median']:,.0f}, max "
            f"{seed['events_max']:,} training events after the 25,000 cap) and "
            f"{SEED_FEATURES_KEPT:,} features (prep's output on the full profile): median "
            f"{seed['median_s']:.1f} s, max {seed['max_s']:.1f} s per variant, "
            f"{seed['cpu_s'] / 3600:.1f} CPU-hours in all. Check against a measurement: one "
            "variant of 20,000 + 5,000 events x 7,510 features took 49.6 s of `lgb.train` "
            "(15 rounds; docs/benchmarks/prep_selection.md). Stage 1 scales with the events "
            f"(x{events_factor:.1f} median), production with the bars (x{factor:.0f}).",
            "",
            "| stage | " + " | ".join(f"{n} CPUs (s)" for n in CPUS) + " |",
            "|---|" + "---:|" * len(CPUS),
        ]
        for name, walls in at_seed.items():
            lines.append(f"| {name} | " + " | ".join(f"{walls[n]:,.0f}" for n in CPUS) + " |")
        lines.append(
            "| **total (h), selection fitted on the sample** | "
            + " | ".join(f"**{seed_totals[n] / 3600:,.2f}**" for n in CPUS)
            + " |"
        )
        lines.append(
            "| **total (h), selection anchored** | "
            + " | ".join(f"**{anchor_totals[n] / 3600:,.2f}**" for n in CPUS)
            + " |"
        )
        anchor = figures["seed_anchor"]
        lines += [
            "",
            f"The two selection rows bracket it. Fitted on the sample (its variants have "
            f"~{figures['sample_events_median']:,.0f} events, where LightGBM's per-feature split "
            "search, not the rows, dominates) the model charges "
            f"{seed['b'] / ANCHOR_S_PER_EVENT_FEATURE:.1f}x more per event-feature than the one "
            "variant measured at the issue's size, so it overstates large variants; anchored on "
            f"that variant ({ANCHOR_S_PER_EVENT_FEATURE * 1e9:.0f} ns per event-feature) it "
            f"gives median {anchor['median_s']:.1f} s, max {anchor['max_s']:.1f} s per variant, "
            f"{anchor['cpu_s'] / 3600:.1f} CPU-hours, but that variant stopped early at 15 "
            "rounds (a weak label), so variants that train longer cost more. Either way the "
            "wall at 16 or more CPUs is the largest (coin, window) task: selection's tasks "
            "should be split finer (per variant, or per window x kind) to use more CPUs.",
        ]
        lines += [
            "",
            "Memory per worker at the seed's size: selection holds a symbol's binned Dataset "
            "(rows x features bytes: the union of a symbol's event rows x 7,510 features, one "
            "byte a bin) plus one variant's subsets; measured at this scale in the table above "
            "(largest task RSS); prep measured 3,760 MB at the full profile on 50,000 rows.",
        ]
    lines += ["", "## Not run", "", *[f"- {line}" for line in figures["not_run"]], ""]
    return "\n".join(lines)


PROBE_BEGIN = "<!-- memory-probe: begin -->"
PROBE_END = "<!-- memory-probe: end -->"
RSS_GOAL_MB = 8 * 1024
SELECT_SAMPLE_ROWS = 25_000
"""``selection.bin_construct_sample_cnt`` of base.yaml: rows LightGBM samples to build bins."""


def probe_cost(probe: dict[str, Any]) -> dict[str, float]:
    """Screening cost per event-feature measured by the probe's selection task (CPU, one thread):
    the tasks' ``lgb.train`` wall times the part's CPU share (the machine is shared)."""
    screen = probe["select-screen"]
    share = min(screen["cpu_s"] / max(screen["wall_s"], 1e-9), 1.0)
    features = probe["select-plan"]["ran"]["features"]
    ran = screen["ran"]["variants"]
    event_features = sum(v["n_train"] * features for v in ran)
    train_cpu = sum(v["train_s"] for v in ran) * share
    return {"share": share, "per_event_feature": train_cpu / max(event_features, 1)}


def render_probe(probe: dict[str, Any], stages: dict[str, dict[str, float]], scale: float) -> str:
    """The memory probe's section of the benchmark page."""
    bars = max(int(SEED_BARS * scale), 2000)
    plan = probe["select-plan"]["ran"]
    screen = probe["select-screen"]["ran"]["variants"]
    study = probe["tune-study"]["ran"]
    train = probe["train"]["ran"]
    binned = probe["select-bin"]["ran"]
    cost = probe_cost(probe)
    what = {
        "select-plan": f"select's parent side for {plan['symbol']} (most events): "
        f"{GRID_VARIANTS // 3} variants planned, {plan['screened']} screenable, union "
        f"{plan['union_rows']:,} rows",
        "select-bin-whole": "the same binning task the old way (reference): every "
        "feature's codes in one matrix, one Dataset",
        "select-bin": f"binning task of {plan['symbol']}: {binned['rows']:,} rows x "
        f"{binned['features']:,} features quantised and binned 512 features at a time, saved "
        "as one binned Dataset",
        "select-screen": f"the ({plan['symbol']}, w{plan['w']}) task (the largest: "
        f"{plan['group_variants']} variants, {plan['group_train_events']:,} training events) "
        f"restricted to its {len(screen)} largest variants of different rows: "
        + ", ".join(
            f"{v['n_train']:,}/{v['n_valid']:,} events, {v['best_iteration']} rounds"
            for v in screen
        ),
        "tune-study": f"one stage-3 study of the largest variant `{study['variant']}` "
        f"({study['dev_events']:,} development events x {study['features']} features: the "
        "screened variants' union, padded from prep's list to `selection.final_size`): "
        f"{study['trials']} trials x {study['folds']} rolling folds",
        "train": f"production model of `{train['variant_id']}` ({train['train_rows']:,} train / "
        f"{train['valid_rows']:,} validation rows, {train['best_iteration']} rounds) with the "
        "study's parameters, its stage-1 twin, hold-out scoring",
    }
    lines = [
        PROBE_BEGIN,
        "## Peak RSS at the seed's size (`--memory-probe`)",
        "",
        f"Machine: {machine()}; shared with other engineers' jobs (load average at the "
        f"end: {load_average()}), so wall is not the cost: CPU seconds are, and memory does not "
        f"depend on load. Scale {scale}: synthetic 3 coins x {bars:,} 15-minute bars, profile "
        "`full`, grid `grid-2160`; data, features, targets and prep ran whole; then each task "
        "below ran alone in a fresh process (one thread, as in a worker), its process's peak "
        "RSS sampled every 0.2 s.",
        "",
        "| stage | what ran | wall (s) | CPU (s) | peak RSS (MB) |",
        "|---|---|---:|---:|---:|",
    ]
    for name in ("data", "features", "targets", "prep"):
        fig = stages.get(name)
        if fig is not None:
            lines.append(
                f"| {name} | whole, 2 workers (process tree) | {fig['wall_s']:.1f} | "
                f"{fig['cpu_s']:.1f} | {fig['peak_rss_mb']:,.0f} |"
            )
    for part in PROBE_PARTS:
        fig = probe[part]
        lines.append(
            f"| {part} | {what[part]} | {fig['wall_s']:.1f} | {fig['cpu_s']:.1f} | "
            f"{fig['peak_rss_mb']:,.0f} |"
        )
    peaks = {k: probe[k]["peak_rss_mb"] for k in PROBE_PARTS if k != "select-bin-whole"}
    peaks.update({k: v["peak_rss_mb"] for k, v in stages.items()})
    worst = max(peaks, key=lambda k: peaks[k])
    verdict = "within" if peaks[worst] <= RSS_GOAL_MB else "OVER"
    bin_mb = probe["select-bin"]["peak_rss_mb"]
    whole_mb = probe["select-bin-whole"]["peak_rss_mb"]
    screen_mb = probe["select-screen"]["peak_rss_mb"]
    cells = binned["rows"] * binned["features"]
    unions = sorted(probe.get("unions", {}).values(), reverse=True) or [binned["rows"]] * 2

    def two_workers(task_mb: float) -> float:
        """Select's tree on 2 workers: the two largest binning tasks (by rows) + the parent."""
        return task_mb * (1 + unions[1] / unions[0]) + probe["select-plan"]["peak_rss_mb"]

    two, two_whole = two_workers(bin_mb), two_workers(whole_mb)
    stage_verdict = "within" if two <= RSS_GOAL_MB else "OVER"
    lines += [
        "",
        f"Largest single process: {worst}, {peaks[worst]:,.0f} MB: every task is {verdict} "
        f"the 8 GB goal ({RSS_GOAL_MB:,} MB) at the seed's size. Tune and train tasks hold "
        "one variant's rows x the final set, so they stay small.",
        "",
        "**Select's stage is not one task**: its binning tasks (one per symbol; union rows "
        + ", ".join(f"{n:,}" for n in unions)
        + ") run side by side on the stage's workers. The binning task reads, quantises and "
        "bins one 512-feature block at a time and merges the blocks' Datasets "
        "(`screening.binned_blocks`); before, it held every feature's float32 codes "
        f"(rows x features x 4 B = {cells * 4 / 2**20:,.0f} MB) and LightGBM's "
        f"bin-construction sample of every feature ({SELECT_SAMPLE_ROWS:,} rows x features "
        f"x 12 B = {SELECT_SAMPLE_ROWS * binned['features'] * 12 / 2**20:,.0f} MB) at once "
        "(`select-bin-whole` above, the same task run the old way in this probe). Binning "
        f"task: **{whole_mb:,.0f} MB before, {bin_mb:,.0f} MB now** "
        f"({whole_mb / bin_mb:.1f}x less; CPU {probe['select-bin-whole']['cpu_s']:,.0f} s "
        f"before, {probe['select-bin']['cpu_s']:,.0f} s now); select's process tree on 2 "
        "workers (the two largest binning tasks, scaled by rows, + the parent): "
        f"{two_whole:,.0f} MB before, **{two:,.0f} MB now**, {stage_verdict} 8 GB; a "
        f"screening task holds {screen_mb:,.0f} MB. The Datasets are the same: each feature is "
        "binned by itself from sample rows set by the row count and the seed, and the "
        "screening test `test_blocks_train_like_one_dataset` checks equal gains through "
        "`save_binary`.",
        "",
        f"Screening cost at the seed's size, from this task: "
        f"{cost['per_event_feature'] * 1e9:.0f} ns of CPU per training event-feature "
        f"(`lgb.train` wall x the task's CPU share {cost['share']:.0%}), between the two "
        f"brackets of the projection below ({ANCHOR_S_PER_EVENT_FEATURE * 1e9:.0f} ns "
        f"anchored, {FITTED_S_PER_EVENT_FEATURE * 1e9:,.0f} ns fitted): selection at the "
        f"seed's size costs about {cost['per_event_feature'] / ANCHOR_S_PER_EVENT_FEATURE:.1f}x "
        "the anchored row. The full real run's projection "
        "(docs/results/full_real_run.md) uses all three.",
        PROBE_END,
    ]
    return "\n".join(lines)


def write_probe_section(text: str) -> None:
    """Put the probe's section into the page (replacing an earlier one), before "Not run"."""
    page = DOC.read_text()
    if PROBE_BEGIN in page:
        head, rest = page.split(PROBE_BEGIN, 1)
        page = head + text + rest.split(PROBE_END, 1)[1]
    else:
        head, tail = page.split("## Not run", 1)
        page = head + text + "\n\n## Not run" + tail
    DOC.write_text(page)


def whole_cheap_stages(
    run: Path, sets: list[str], echo: bool = False
) -> dict[str, dict[str, float]]:
    """Data, features, targets and prep run whole once; their figures kept beside the run."""
    stages_path = run.parent / f"{run.name}-stages.json"
    stages: dict[str, dict[str, float]] = (
        json.loads(stages_path.read_text()) if stages_path.is_file() else {}
    )
    for stage in ("data", "features", "targets", "prep"):
        if stage not in stages:
            stages[stage] = run_stage(run, stage, sets)
            stages_path.write_text(json.dumps(stages, indent=1))
            if echo:
                print(json.dumps({stage: stages[stage]}), flush=True)
    return stages


def run_memory_probe(args: argparse.Namespace) -> None:
    """``--memory-probe``: the seed-size stages whole, then the probe's tasks; the page section."""
    run = args.run / f"scale-{args.scale}-{args.profile}"
    run.mkdir(parents=True, exist_ok=True)
    whole = [
        *overrides(args.scale, args.profile, args.budget, sample=False),
        "executor.max_concurrent_processes=2",
    ]
    stages = whole_cheap_stages(run, whole, echo=True)
    probe_path = run.parent / f"{run.name}-probe.json"
    probe: dict[str, Any] = {}
    if args.parts and probe_path.is_file():  # the other parts' figures from the last probe
        probe = json.loads(probe_path.read_text())
    probe.update(memory_probe(run, whole, args.parts or PROBE_PARTS))
    probe["unions"] = usable_events(run, whole)[1]
    probe_path.write_text(json.dumps(probe, indent=1, default=str))
    write_probe_section(render_probe(probe, stages, args.scale))
    print(f"wrote {DOC}")


# ---- the full real-data run: its bound, projected -----------------------------------------------

RESULTS = REPO / "docs" / "results" / "full_real_run.md"
RESULTS_TITLE = "# Full real-data run: `grid-2160` x profile `full` on the real hourly files"
REAL_DATA = Path("/work/shared/data/binance")
FITTED_S_PER_EVENT_FEATURE = 2.6497e-6
"""Selection's cost per training event-feature fitted on the 48 screened variants of the last
sample run (scale 0.025; docs/benchmarks/seed_scale.md): small variants, so an upper bracket."""
REAL_1H = {
    "stage1_s_per_variant": 318.0 * 2 / 750,
    "stage_studies": {2: (6, 101.0 * 2), 3: (36, 632.0 * 2), 4: (36, 337.0 * 2)},
    "train_s_per_model": 74.0 * 2 / 36,
}
"""The real-1h run (docs/results/real-1h.md, 2 workers, small profile, 864 variants): stage 1
screened 750 variants in 318 s; stages 2-4 spent 101/632/337 s on (studies, CPU-s); production
74 s for 36 models. Tuning and production train on the final 300-500 features whatever the
profile, so their per-variant cost carries over to the full profile."""


def usable_events(run: Path, sets: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Training events per variant (what selection trains on: labelled development events,
    the most recent ``max_events``, less the validation share) and each symbol's union rows."""
    import numpy as np

    from swingml.config import load_config
    from swingml.io.store import RunStore
    from swingml.modeling.splits import development_mask
    from swingml.targets.grid import variants
    from swingml.workflow.loading import development, load_variant

    config = load_config("grid-2160", (), sets, run)
    store = RunStore(run)
    dev = development(config, store)
    cfg = config.selection
    counts: dict[str, int] = {}
    union: dict[str, set[int]] = {}
    for variant in variants(config):
        events = load_variant(store, variant)
        bars = dev.bars[variant.symbol]
        positions = bars.get_indexer(pd.DatetimeIndex(events["timestamp"]))
        usable = development_mask(
            positions, pd.Series(bars), dev.cutoff, variant.horizon(config.targets)
        )
        kept = positions[usable & events["label"].notna().to_numpy()][-cfg.max_events :]
        n_train = int(len(kept) * (1 - cfg.validation_fraction))
        counts[variant.id] = n_train if n_train >= cfg.min_events else 0
        if counts[variant.id]:
            union.setdefault(variant.symbol, set()).update(np.asarray(kept).tolist())
    return counts, {symbol: len(rows) for symbol, rows in union.items()}


def real_projection(
    run: Path, counts: dict[str, int], union: dict[str, int], probe: dict[str, Any] | None
) -> dict[str, Any]:
    """The full run's stages on 2, 16 and 64 CPUs: task costs from the cost models, scheduled."""
    kept = len(json.loads((run / "prep" / "kept_features.json").read_text())["features"])
    rates = {"fitted": FITTED_S_PER_EVENT_FEATURE, "anchored": ANCHOR_S_PER_EVENT_FEATURE}
    bin_s_per_cell = 0.0
    if probe is not None:
        rates["probed"] = probe_cost(probe)["per_event_feature"]
        binned = probe["select-bin"]
        bin_s_per_cell = binned["cpu_s"] / (binned["ran"]["rows"] * binned["ran"]["features"])
    bins = [rows * kept * bin_s_per_cell for rows in union.values()]
    select: dict[str, dict[str, Any]] = {}
    for name, rate in rates.items():
        chunks: dict[str, float] = {}
        for variant_id, n in counts.items():
            key = "/".join(variant_id.split("/")[:3])  # select's task: (symbol, window, kind)
            chunks[key] = chunks.get(key, 0.0) + rate * n * kept
        select[name] = {
            "cpu_s": sum(chunks.values()) + sum(bins),
            "largest_task_s": max(chunks.values()),
            "walls": {n: schedule(bins, n) + schedule(list(chunks.values()), n) for n in CPUS},
        }
    stage1 = [REAL_1H["stage1_s_per_variant"] * GRID_VARIANTS / 36] * 36
    studies = REAL_1H["stage_studies"]
    tune_tasks = {n: [cpu / n for _ in range(n)] for n, cpu in studies.values()}
    later = {n: sum(schedule(tasks, n) for tasks in tune_tasks.values()) for n in CPUS}
    train = [REAL_1H["train_s_per_model"]] * 36
    return {
        "kept": kept,
        "counts": counts,
        "union": union,
        "bins_cpu_s": sum(bins),
        "select": select,
        "stage1": {"cpu_s": sum(stage1), "walls": {n: schedule(stage1, n) for n in CPUS}},
        "later": {"cpu_s": sum(cpu for _, cpu in studies.values()), "walls": later},
        "train": {"cpu_s": sum(train), "walls": {n: schedule(train, n) for n in CPUS}},
    }


def render_real(
    run: Path,
    stages: dict[str, dict[str, float]],
    proj: dict[str, Any],
    probe_mb: float | None,
) -> str:
    """The results page of the full real-data run: what ran, the projection, what it needs."""
    prep = json.loads((run / "prep" / "report.json").read_text())["summary"]
    candles = {
        p.stem: len(pd.read_parquet(p, columns=["timestamp"]))
        for p in sorted((run / "candles").glob("*.parquet"))
    }
    counts = proj["counts"]
    screened = [n for n in counts.values() if n]
    feats = measured_schedule(run, "features")
    targets = measured_schedule(run, "targets")
    rows: dict[str, dict[int, float]] = {
        "features (measured here, tasks scheduled)": feats,
        "targets (measured here, tasks scheduled)": targets,
        "prep (measured here: its CPU seconds, one process)": dict.fromkeys(
            CPUS, stages["prep"]["cpu_s"]
        ),
    }
    fixed = {n: sum(w[n] for w in rows.values()) for n in CPUS}
    rest = {
        "tune stage 1 (2160 variants, no budget cut)": proj["stage1"]["walls"],
        "tune stages 2-4 (real-1h's trials)": proj["later"]["walls"],
        "train (36 production models)": proj["train"]["walls"],
    }
    fixed_rest = {n: sum(w[n] for w in rest.values()) for n in CPUS}
    totals = {
        name: {n: fixed[n] + fixed_rest[n] + sel["walls"][n] for n in CPUS}
        for name, sel in proj["select"].items()
    }
    low, high = min(t[2] for t in totals.values()), max(t[2] for t in totals.values())
    cpu_fixed = sum(stages[s]["cpu_s"] for s in ("features", "targets", "prep"))
    cpu_rest = proj["stage1"]["cpu_s"] + proj["later"]["cpu_s"] + proj["train"]["cpu_s"]
    head = "| stage | " + " | ".join(f"{n} CPUs (min)" for n in CPUS if n != 256) + " |"
    cpus = [n for n in CPUS if n != 256]

    def row(name: str, walls: dict[int, float], bold: bool = False) -> str:
        cells = [f"{walls[n] / 60:,.1f}" for n in cpus]
        if bold:
            return f"| **{name}** | " + " | ".join(f"**{c}**" for c in cells) + " |"
        return f"| {name} | " + " | ".join(cells) + " |"

    lines = [
        "## Projection, made before the run",
        "",
        f"Projected at {low / 3600:,.1f} to {high / 3600:,.1f} hours of wall on 2 CPUs of one's "
        "own, from the cheap stages run whole and the costs below; the run itself is measured "
        "in the section above (`benchmarks/bench_real_run.py`).",
        "",
        f"Measured on: {machine()}; load average at the end {load_average()}. Built with "
        "`benchmarks/bench_seed_scale.py --real-data /work/shared/data/binance`.",
        "",
        "### What ran: the cheap stages, whole",
        "",
        "Config: `--profile grid-2160 --set data.dir=../shared/data/binance --set "
        "data.interval=1h --set features.profile=full` (2 workers).",
        "",
        "| stage | wall (s) | CPU (s) | peak RSS of the tree (MB) |",
        "|---|---:|---:|---:|",
        *[
            f"| {name} | {fig['wall_s']:.1f} | {fig['cpu_s']:.1f} | {fig['peak_rss_mb']:,.0f} |"
            for name, fig in stages.items()
        ],
        "",
        "Bars: " + ", ".join(f"{s} {n:,}" for s, n in candles.items()) + f". Features: "
        f"{prep['features_in']:,} generated (cross-coin), {prep['features_out']:,} kept by prep "
        f"(statistics on {prep['sample_rows']:,} development rows). Variants: {len(counts):,}; "
        f"{len(screened):,} have at least `selection.min_events` training events (the others "
        f"are skipped by selection); training events per screened variant: median "
        f"{statistics.median(screened):,.0f}, max {max(screened):,}, "
        f"{sum(screened):,} in all. Selection's union rows per symbol (the rows of its binned "
        "Dataset): " + ", ".join(f"{s} {n:,}" for s, n in proj["union"].items()) + ".",
        "",
        "### Projected wall (scheduling simulation, a machine of one's own)",
        "",
        "Every task's cost comes from a cost model; the stage's real tasks are scheduled in "
        "order on that many one-thread workers (a free worker takes the next task), as "
        "`bench_seed_scale.py` does for the seed. Selection: cost per variant = rate x training "
        f"events x {proj['kept']:,} kept features, one task per (symbol, window, kind) after "
        "a binning task per symbol; three rates bracket it:",
        "",
        *[
            f"- {name}: {rate_line(name)}, {sel['cpu_s'] / 3600:,.1f} CPU-hours, largest "
            f"task {sel['largest_task_s'] / 3600:,.2f} h"
            for name, sel in proj["select"].items()
        ],
        "",
        "Tuning and production train on the final 300-500 features whatever the profile, so "
        "their costs are the real-1h run's (docs/results/real-1h.md, same files): stage 1 "
        f"{REAL_1H['stage1_s_per_variant']:.2f} CPU-s per variant (36 tasks of 60), stages "
        "2-4 the trials that run's 25-minute budget bought (6, 36 and 36 studies), "
        f"{REAL_1H['train_s_per_model']:.1f} CPU-s per production model.",
        "",
        head,
        "|---|" + "---:|" * len(cpus),
        *[row(name, walls) for name, walls in rows.items()],
        *[row(f"select, {name} rate", sel["walls"]) for name, sel in proj["select"].items()],
        *[row(name, walls) for name, walls in rest.items()],
    ]
    for name, total in totals.items():
        lines.append(row(f"total, selection at the {name} rate", total, bold=True))
    lines += [
        "",
        "Wall of the whole run in hours, 2 / 16 / 64 CPUs: "
        + "; ".join(
            f"{' / '.join(f'{t[n] / 3600:.2f}' for n in cpus)} ({name})"
            for name, t in totals.items()
        )
        + ". CPU-hours of the whole run: "
        + ", ".join(
            f"{(cpu_fixed + cpu_rest + sel['cpu_s']) / 3600:,.1f} ({name})"
            for name, sel in proj["select"].items()
        )
        + ". Selection's tasks are one per (symbol, window, kind) (72): at 64 CPUs its wall "
        "is close to its largest task.",
        "",
        "### What running it needs",
        "",
        "- **Memory per worker**: "
        + (
            f"at most {probe_mb:,.0f} MB, the largest task measured at the seed's size "
            "(docs/benchmarks/seed_scale.md, memory probe); these files' tasks are smaller "
            f"(selection's largest union here is {max(proj['union'].values()):,} rows, the "
            "seed's 82,275)"
            if probe_mb is not None
            else "see docs/benchmarks/seed_scale.md"
        )
        + "; `executor.memory_limit_mb` (default 6,144) covers it, and on Ray a node "
        "runs at most its memory / 6,144 MB tasks (10 on a 64 GiB node). Prep holds its row "
        "sample in one process (peak above).",
        "- **CPUs**: selection has 72 tasks (one per symbol, window and kind); beyond that "
        "many one-thread workers its wall is its largest task.",
        "- **Launch on a Ray cluster** (the run directory at the same path on every node):",
        "",
        "```bash",
        "ray start --head --port=6379 --num-cpus=16 --memory=$((64 * 2**30))",
        "ray start --address=HEAD:6379 --num-cpus=16 --memory=$((64 * 2**30))  # each worker node",
        "swingml run --profile grid-2160 --run-dir /shared/runs/full-real \\",
        "    --set data.dir=/shared/data/binance --set data.interval=1h \\",
        "    --set features.profile=full --set tuning.budget=60 \\",
        "    --set executor.kind=ray --set executor.ray_address=HEAD:6379",
        "```",
        "",
        "- **or on Vertex AI**: `swingml deploy submit --profile central-dev --set "
        "grid.s=[1.0,1.5,2.0,2.5,3.0] --set grid.k=[0.5,1.0,1.5,2.0,2.5,3.0] --set "
        "features.profile=full --set data.interval=1h` with the three files under the "
        "profile's `data.dir` (each step gets the CPUs of `deploy.machine_type`; "
        "docs/user-guide/vertex.md).",
        "",
    ]
    return "\n".join(lines)


def rate_line(name: str) -> str:
    """Where a selection rate comes from."""
    return {
        "fitted": "fitted on the last sample run's small variants (upper bracket)",
        "anchored": "one 20,000-event x 7,510-feature variant (lower bracket: it stopped at "
        "15 rounds)",
    }.get(
        name,
        "measured by the memory probe's screening task at the seed's size (3 variants "
        "of 8-11K events x 7,247 features; the most direct of the three)",
    )


def run_real(args: argparse.Namespace) -> None:
    """``--real-data DIR``: the full real run's cheap stages whole, its projection, the page."""
    run = args.run / "real-1h-full"
    run.mkdir(parents=True, exist_ok=True)
    sets = [
        f"data.dir={args.real_data}",
        "data.interval=1h",
        "features.profile=full",
        "executor.max_concurrent_processes=2",
    ]
    stages = whole_cheap_stages(run, sets)
    probe_path = args.run / "scale-1.0-full-probe.json"
    probe = json.loads(probe_path.read_text()) if probe_path.is_file() else None
    counts, union = usable_events(run, sets)
    proj = real_projection(run, counts, union, probe)
    ours = [k for k in PROBE_PARTS if k != "select-bin-whole"]
    probe_mb = max(probe[k]["peak_rss_mb"] for k in ours) if probe else None
    text = render_real(run, stages, proj, probe_mb)
    write_section(RESULTS, "projection", text, RESULTS_TITLE)
    print(f"wrote {RESULTS}")


SEED_BIN_CPU_S = 85.8
"""Selection's binning task at the seed's size (82,275 union rows x 7,247 features), CPU seconds,
measured by ``--memory-probe`` (section of docs/benchmarks/seed_scale.md)."""
SEED_PREP_CPU_S = 169.4
"""Prep at the seed's size (full profile): CPU seconds of its process tree (``--memory-probe``)."""


def from_real_run(real: Path, root: Path) -> dict[str, Any]:
    """The seed's job projected with the costs of a finished full real run (``real``).

    Selection: the run's own fit of a variant's wall, a + b x training events (one thread;
    ``bench_real_run.selection_progress``), scaled by the seed's kept features over the run's,
    applied to the seed's event counts (``seed_events``), one task per (symbol, window, kind)
    after a binning task per symbol (measured at the seed's size). Tuning and production: the
    run's measured tasks (CPU seconds) times the ratio of the seed's median training events to
    the run's; stage 1 charged for all 2160 variants, no budget cut. Features, targets and prep:
    measured at the seed's size.
    """
    from bench_real_run import selection_progress

    fit = selection_progress(real)
    kept = len(json.loads((real / "prep" / "kept_features.json").read_text())["features"])
    per_feature = SEED_FEATURES_KEPT / kept
    events = seed_events(root)
    real_events = [n for n in usable_train_events(real).values() if n]
    ratio = statistics.median(n for n in events.values() if n) / statistics.median(real_events)
    chunks: dict[str, float] = {}
    costs = []
    for variant_id, n in events.items():
        cost = (fit["a"] + fit["b"] * n) * per_feature * cpu_share(real, "select")
        costs.append(cost)
        key = "/".join(variant_id.split("/")[:3])
        chunks[key] = chunks.get(key, 0.0) + cost
    bins = [SEED_BIN_CPU_S] * 3
    select = {n: schedule(bins, n) + schedule(sorted(chunks.values()), n) for n in CPUS}
    budget = json.loads((real / "tuning" / "budget.json").read_text())["stages"]
    stage1_cpu = tasks_table(real, "tune-stage1")["cpu_s"].sum() / budget["1"]["trials"]
    stage1 = [stage1_cpu * ratio * GRID_VARIANTS / 36] * 36
    walls: dict[str, dict[int, float]] = {
        "features (measured at the seed's size, docs/benchmarks/features.md)": {
            n: SEED_FEATURES_S if n == 2 else 28.0 for n in CPUS
        },
        "targets (measured at the seed's size)": dict.fromkeys(CPUS, SEED_TARGETS_S),
        "prep (measured at the seed's size: its CPU seconds, one process)": dict.fromkeys(
            CPUS, SEED_PREP_CPU_S
        ),
        "select (2160 variants, the full real run's cost per variant)": select,
        "tune stage 1 (2160 variants, no budget cut)": {n: schedule(stage1, n) for n in CPUS},
    }
    for stage in ("tune-stage2", "tune-stage3", "tune-stage4", "train"):
        tasks = [c * ratio for c in tasks_table(real, stage)["cpu_s"].tolist()]
        walls[f"{stage} (the run's tasks x events)"] = {n: schedule(tasks, n) for n in CPUS}
    peaks = {
        stage: float(tasks_table(real, stage)["peak_rss_mb"].max())
        for stage in ("select-bin", "select", "tune-stage1", "tune-stage3", "train")
    }
    return {
        "fit": {k: fit[k] for k in ("a", "b", "screened")},
        "kept": kept,
        "ratio": ratio,
        "events_median": statistics.median(events.values()),
        "events_max": max(events.values()),
        "select_cpu_s": sum(costs) + sum(bins),
        "largest_task_s": max(chunks.values()),
        "walls": walls,
        "peaks": peaks,
    }


def usable_train_events(run: Path) -> dict[str, int]:
    """Training events per screened variant of a finished run (its selection results)."""
    return {
        payload["variant"]: int(payload["n_train"])
        for payload in (
            json.loads(p.read_text()) for p in (run / "selection" / "variants").glob("*.json")
        )
    }


def render_from_real(real: Path, fig: dict[str, Any]) -> str:
    walls = fig["walls"]
    total = {n: sum(w[n] for w in walls.values()) for n in CPUS}
    fit = fig["fit"]
    lines = [
        "## Projected to the seed's size from the full real run (current)",
        "",
        f"Made on: {machine()}; load average {load_average()}. Costs from the finished full "
        f"real run `{real.name}` (docs/results/full_real_run.md, the selection defaults of "
        "today: GOSS, learning rate 0.2, <= 50 rounds, patience 5): a variant's screening "
        f"wall = {fit['a']:.2f} s + {fit['b'] * 1000:.3f} ms per training event (least squares "
        f"over its {fit['screened']:,} screened variants, {fig['kept']:,} features), scaled to "
        f"the seed's {SEED_FEATURES_KEPT:,} features and applied to the seed's own event counts "
        f"(grid-2160's targets built at 3 x {SEED_BARS:,} bars: median {fig['events_median']:,.0f} "
        f"and max {fig['events_max']:,} training events); {fig['select_cpu_s'] / 3600:.2f} "
        f"CPU-hours of selection, largest task (symbol, window, kind) "
        f"{fig['largest_task_s'] / 60:.1f} min. Tuning and production: the run's tasks x "
        f"{fig['ratio']:.2f} (the seed's median training events over the run's), at the run's "
        "trial counts (its stage 2 had the 6 trials its budget left after stage 1).",
        "",
        "| stage | " + " | ".join(f"{n} CPUs (min)" for n in CPUS) + " |",
        "|---|" + "---:|" * len(CPUS),
        *[
            f"| {name} | " + " | ".join(f"{w[n] / 60:,.1f}" for n in CPUS) + " |"
            for name, w in walls.items()
        ],
        "| **total** | " + " | ".join(f"**{total[n] / 60:,.1f}**" for n in CPUS) + " |",
        "",
        f"On 16 CPUs: **{total[16] / 3600:.2f} h** (goal: <= 1 h). Memory: the full real run's "
        "largest task per stage (MB): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in fig["peaks"].items())
        + "; at the seed's size the memory probe (its section on this page) measured at most "
        "3,795 MB "
        "(prep), so every task stays within 8 GB. Binning and prep at the seed's size are "
        "measured there; the selection options change neither.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=None, help="share of the seed's bars")
    parser.add_argument("--profile", default="full", choices=["tiny", "small", "full"])
    parser.add_argument("--budget", type=float, default=2.0, help="tuning budget (minutes)")
    parser.add_argument("--run", type=Path, default=Path("/tmp/swingml-seed-scale"))
    parser.add_argument(
        "--stages",
        nargs="*",
        default=["data", "features", "targets", "prep", "select", "tune", "train"],
    )
    parser.add_argument(
        "--memory-probe",
        action="store_true",
        help="peak RSS of select, tune and train tasks at --scale (default 1.0, the seed's size)",
    )
    parser.add_argument(
        "--real-data",
        type=Path,
        default=None,
        help="candle folder of the real hourly files: project the full real run (results page)",
    )
    parser.add_argument(
        "--from-real-run",
        type=Path,
        default=None,
        help="a finished full real run: project the seed's job with its costs (no stage runs)",
    )
    parser.add_argument(
        "--parts",
        nargs="*",
        choices=PROBE_PARTS,
        default=None,
        help="with --memory-probe: run only these parts, keeping the others' last figures",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="with --memory-probe: rewrite the page section from the saved figures, run nothing",
    )
    args = parser.parse_args()
    if args.render and args.memory_probe:
        run = args.run / f"scale-{args.scale or 1.0}-{args.profile}"
        probe_path = run.parent / f"{run.name}-probe.json"
        probe = json.loads(probe_path.read_text())
        stages = json.loads((run.parent / f"{run.name}-stages.json").read_text())
        if "unions" not in probe:
            sets = overrides(args.scale or 1.0, args.profile, args.budget, sample=False)
            probe["unions"] = usable_events(run, sets)[1]
            probe_path.write_text(json.dumps(probe, indent=1, default=str))
        write_probe_section(render_probe(probe, stages, args.scale or 1.0))
        return
    if args.real_data is not None:
        run_real(args)
        return
    if args.from_real_run is not None:
        fig = from_real_run(args.from_real_run, args.run)
        text = render_from_real(args.from_real_run, fig)
        write_section(DOC, "from-real-run", text, "# Seed scale (`benchmarks/bench_seed_scale.py`)")
        print(text)
        return
    if args.memory_probe:
        args.scale = 1.0 if args.scale is None else args.scale
        run_memory_probe(args)
        return
    args.scale = 0.02 if args.scale is None else args.scale
    run = args.run / f"scale-{args.scale}-{args.profile}"
    run.mkdir(parents=True, exist_ok=True)
    whole = overrides(args.scale, args.profile, args.budget, sample=False)
    sample = overrides(args.scale, args.profile, args.budget, sample=True)
    sample.append("executor.max_concurrent_processes=2")
    results_path = run.parent / f"{run.name}-stages.json"
    stages: dict[str, dict[str, float]] = (
        json.loads(results_path.read_text()) if results_path.is_file() else {}
    )
    for stage in args.stages:
        sets = whole if stage in ("data", "features", "targets", "prep") else sample
        fig = run_stage(run, stage, [*sets, "executor.max_concurrent_processes=2"])
        names = {"select": "select", "tune": "tune-stage1", "train": "train"}
        table = tasks_table(run, names.get(stage, stage))
        fig["task_rss_mb"] = float(table["peak_rss_mb"].max()) if "peak_rss_mb" in table else 0.0
        stages[stage] = fig
        results_path.write_text(json.dumps(stages, indent=1))
        print(json.dumps({stage: fig}), flush=True)
    events = seed_events(args.run)
    report = json.loads((run / "selection" / "report.json").read_text())
    sampled = [v["n_train"] for v in report["variants"] if v.get("status") == "ok"]
    figures: dict[str, Any] = {
        "seed_selection": selection_at_seed(run, events, SEED_FEATURES_KEPT),
        "seed_anchor": selection_at_seed(
            run, events, SEED_FEATURES_KEPT, ANCHOR_S_PER_EVENT_FEATURE
        ),
        "sample_events_median": statistics.median(sampled),
        "select_share": cpu_share(run, "select"),
        "sample_size": len(report["variants"]),
        "stages": stages,
        "selection": projected_selection(run),
        "stage1": projected_stage1(run),
        "features_sched": measured_schedule(run, "features"),
        "targets_sched": measured_schedule(run, "targets"),
        "train_sched": measured_schedule(run, "train"),
        "not_run": [
            f"the whole job at the seed's full size (scale 1.0): {SEED_BARS:,} bars x 3 coins, "
            "hours on this 2-core shared machine; every seed-scale wall above is extrapolated "
            "(the memory probe ran the seed's cheap stages whole and one task of each later "
            "stage)",
            "a GPU comparison (no GPU on this machine)",
            "a multi-node run at this size (the two-raylet law runs the integration-test profile)",
            "selection, tuning and production whole at the seed's size: their peak RSS is "
            "measured on one task each by `--memory-probe` (its section above), their wall "
            "only projected",
            "the full real-data run (`grid-2160` x `full` on the real hourly files) to its "
            "end: docs/results/full_real_run.md has what it measured and its projection",
            "tuning stages 2-4 at a realistic budget: they take whatever "
            "`tuning.budget` (minutes of wall on the configured workers) the user sets; the "
            "rows above charge the 1-minute budget run here, 75 % of it for stages 2-4",
        ],
    }
    DOC.write_text(render(args, figures))
    print(f"wrote {DOC} (cpus: {os.cpu_count()})")


if __name__ == "__main__":
    main()
