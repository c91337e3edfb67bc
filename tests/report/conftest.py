"""The run the report tests read: the integration-test profile end to end, built once per session.

Built in-process through ``pipeline.run_all`` (as the contract tests build theirs), with one (s, k)
per event kind and a short tuning: the report needs every stage's files, not well-tuned models.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.console import Console

from swingml.config import load_config
from swingml.io.store import RunStore, read_json, write_json_atomic
from swingml.workflow.pipeline import RUN_ORDER, StageContext, run_all

PROFILE = "integration-test"
SETS = (
    "tuning.budget=0.25",
    "tuning.max_trials_stage2=1",
    "tuning.max_trials_stage3=1",
    "tuning.max_trials_stage4=1",
    "training.num_rounds=60",
    "grid.s=[1.0]",
    "grid.k=[1.0]",
    "executor.max_concurrent_processes=2",
)
LATER_STAGES = ("tune", "train", "predict_batch")


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage of the integration-test run, done (read-only for the tests)."""
    root = tmp_path_factory.mktemp("report") / "run"
    config = load_config(PROFILE, (), SETS, root)
    store = RunStore(root)
    ctx = StageContext(config, store, Console(stderr=True, quiet=True))
    store.root.mkdir(parents=True)
    store.write_manifest(config.model_dump(mode="json"), {})
    run_all(ctx)
    stages = store.read_summary()["stages"]
    assert all(stages[name]["status"] == "done" for name in RUN_ORDER), stages
    return root


@pytest.fixture
def stopped_after_select(full_run: Path, tmp_path: Path) -> Path:
    """A copy of the run as a run stopped after ``select`` leaves it."""
    root = shutil.copytree(full_run, tmp_path / "partial")
    later = [root / name for name in ("tuning", "training", "predictions")]
    later += [
        p for p in (root / "tasks").iterdir() if p.name.startswith(("tune", "train", "predict"))
    ]
    for folder in later:
        shutil.rmtree(folder, ignore_errors=True)
    (root / "mlflow.db").unlink(missing_ok=True)
    summary = read_json(root / "summary.json")
    for name in LATER_STAGES:
        summary["stages"].pop(name, None)
    write_json_atomic(root / "summary.json", summary)
    return root
