"""The GPU path (``training.device: gpu``) finds what the CPU path finds.

It runs on PoCL, the OpenCL driver that runs kernels on the CPU (``scripts/setup_opencl.sh``), so
it needs no GPU. The GPU learner sums histograms in double precision (``gpu_use_dp``), so its gains
differ from the CPU's in the last digits at most; the stated tolerance allows near-ties to swap.
Measured on this profile: 30 / 30 final features and every variant's top-k identical (in single
precision, 26 / 30).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from swingml.io.store import read_json
from swingml.workflow import pipeline
from swingml.workflow.pipeline import StageContext

Make = Callable[..., StageContext]

FINAL_OVERLAP = 0.9
"""Share of the CPU path's final features the GPU path must also pick."""
TOP_OVERLAP = 0.8
"""Median share of a variant's CPU top-k the GPU path must also rank in its top-k."""


@pytest.mark.slow
def test_gpu_selection_matches_cpu_within_tolerance(make_run: Make, selected_run: Path) -> None:
    ctx = make_run("training.device=gpu")
    pipeline.run_stage("prep", ctx)
    pipeline.run_stage("select", ctx)
    store = ctx.store
    gpu = read_json(store.path("selection", "final_features.json"))["features"]
    cpu = read_json(selected_run / "selection" / "final_features.json")["features"]
    shared = len(set(gpu) & set(cpu)) / len(cpu)
    assert shared >= FINAL_OVERLAP, (shared, sorted(set(cpu) ^ set(gpu)))

    logs = sorted((store.root / "tasks" / "select").glob("*/task.log"))
    assert logs and all("device_type" not in p.read_text() for p in logs)  # no LightGBM error
    gpu_ranks = pd.read_parquet(store.path("selection", "rankings.parquet"))
    cpu_ranks = pd.read_parquet(selected_run / "selection" / "rankings.parquet")
    overlaps = []
    for variant, mine in cpu_ranks.groupby("variant"):
        theirs = set(gpu_ranks.loc[gpu_ranks["variant"] == variant, "feature"])
        overlaps.append(len(set(mine["feature"]) & theirs) / len(mine))
    assert pd.Series(overlaps).median() >= TOP_OVERLAP
