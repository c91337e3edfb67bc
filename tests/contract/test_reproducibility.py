"""Laws (SPEC §8): the same config and data give the same models, whatever happens to the run.

- A whole `swingml run` twice from scratch gives identical outputs: every Parquet file (timing
  columns aside), the selected features, the tuned parameters, the champions' hold-out metrics.
- A run SIGKILLed at a random moment during tuning and re-run ends with those same outputs.
- With a minutes budget, a resumed tuning charges the work it reuses what it cost when it ran, so
  every stage is granted what the uninterrupted attempt granted it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from command_line import LAW_SLICE as OVERRIDES
from swingml.config import load_config
from swingml.io.rundiff import differences, outputs
from swingml.tuning import budget
from swingml.tuning.stages import shares


def _command(run_dir: Path, *stage: str, extra: tuple[str, ...] = ()) -> list[str]:
    sets = [arg for o in (*OVERRIDES, *extra) for arg in ("--set", o)]
    command = [sys.executable, "-m", "swingml.cli", *(stage or ("run",))]
    return [*command, "--profile", "integration-test", "--run-dir", str(run_dir), *sets]


def _run(run_dir: Path, *stage: str, extra: tuple[str, ...] = ()) -> None:
    done = subprocess.run(
        _command(run_dir, *stage, extra=extra),
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _kill_when(command: list[str], ready: list[Path], delay_s: float) -> None:
    """Start ``command``; once every path in ``ready`` exists, wait ``delay_s``, then SIGKILL
    the whole process group (parent and workers) and check that nothing outlived it."""
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 400
    while not all(p.exists() for p in ready):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run never reached the kill point"
        time.sleep(0.05)
    time.sleep(delay_s)
    assert proc.poll() is None, "the run ended before it could be killed"
    family = psutil.Process(proc.pid).children(recursive=True)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _, alive = psutil.wait_procs(family, timeout=10)
    assert alive == [], "workers outlived the killed run"


@pytest.fixture
def reference(law_run: Path) -> Path:
    """The uninterrupted run of the laws' slice (``tests/conftest.py``)."""
    return law_run


@pytest.mark.slow
def test_a_whole_run_twice_gives_identical_outputs(reference: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    _run(again)
    names = outputs(reference)
    assert "training/holdout.parquet" in names and "tuning/stage4/results.parquet" in names
    assert any(n.startswith("predictions/") for n in names)
    assert differences(reference, again) == []


@pytest.mark.slow
def test_a_run_killed_during_tuning_and_rerun_gives_identical_outputs(
    reference: Path, tmp_path: Path
) -> None:
    seed = random.randrange(10_000)
    rng = random.Random(seed)
    stage = rng.choice((1, 2, 3, 4))
    killed = tmp_path / "killed"
    ready = [killed / "tasks" / f"tune-stage{stage}"]
    _kill_when(_command(killed), ready, rng.uniform(0.0, 1.0))
    assert not (killed / "training" / "holdout.parquet").exists(), f"seed {seed}: killed too late"
    _run(killed)
    assert differences(reference, killed) == [], f"kill seed {seed} (in tuning stage {stage})"
    ledger = json.loads((killed / "tuning" / "budget.json").read_text())
    reused = sum(s["reused_tasks"] for s in ledger["stages"].values())
    assert stage == 1 or reused > 0, f"seed {seed}: the re-run reused no tuning task"


@pytest.mark.slow
def test_a_resumed_minutes_budget_grants_every_stage_what_the_first_attempt_did(
    reference: Path, tmp_path: Path
) -> None:
    minutes = ("tuning.budget_unit=minutes", "tuning.budget=0.75")
    run_dir = tmp_path / "minutes"
    run_dir.mkdir()
    upstream = ("candles", "features", "targets", "prep", "selection", "manifest.json")
    for name in (*upstream, "summary.json"):
        source = reference / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, run_dir / name)
    ledger_path = run_dir / "tuning" / "budget.json"
    _kill_when(_command(run_dir, "tune", extra=minutes), [run_dir / "tasks" / "tune-stage3"], 0.5)
    first = json.loads(ledger_path.read_text())["stages"]
    assert set(first) == {"1", "2"}, "the kill was meant to land in stage 3"
    _run(run_dir, "tune", extra=minutes)
    second = json.loads(ledger_path.read_text())["stages"]

    for number in ("1", "2"):  # reused whole: charged what they cost the first time
        assert second[number]["reused_tasks"] > 0
        assert second[number]["spent_s"] == first[number]["spent_s"]
        assert second[number]["budget_s"] == first[number]["budget_s"]
    config = load_config("integration-test", (), (*OVERRIDES, *minutes), run_dir)
    total = config.tuning.budget * 60.0
    spent = [first["1"]["spent_s"], first["2"]["spent_s"]]
    expected = budget.grant(total, shares(config.tuning), spent)
    assert second["3"]["budget_s"] == pytest.approx(expected.budget_s, abs=1e-2)
