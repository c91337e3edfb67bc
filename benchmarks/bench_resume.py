"""Benchmark of resuming a minutes budget: uninterrupted tuning vs one SIGKILLed and re-run.

The integration-test profile is built once up to selection; two copies of it are tuned with the
same minutes budget, one straight through, the other killed (whole process group) once stage
``--kill-stage`` has started and then re-run. The table shows, per stage, the budget each was
granted, what it spent and what the resumed run reused: a resumed run must grant every stage what
the uninterrupted run would have, within the time the kill itself lost.

    flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_resume.py
Writes its section of docs/benchmarks/tuning.md (``--out`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _bench import machine, write_section

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "tuning.md"
TITLE = "# Benchmark: `swingml run` on the embedded default"
SETS = ("tuning.budget_unit=minutes", "tuning.budget=1.0")
UPSTREAM = ("candles", "features", "targets", "prep", "selection", "manifest.json", "summary.json")


def _command(run_dir: Path, *stage: str) -> list[str]:
    sets = [arg for s in SETS for arg in ("--set", s)]
    return [
        sys.executable,
        "-m",
        "swingml.cli",
        *stage,
        "--profile",
        "integration-test",
        "--run-dir",
        str(run_dir),
        *sets,
    ]


def _copy_upstream(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for name in UPSTREAM:
        path = source / name
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, target / name)


def _ledger(run_dir: Path) -> dict[str, Any]:
    stages: dict[str, Any] = json.loads((run_dir / "tuning" / "budget.json").read_text())["stages"]
    return stages


def _killed_then_resumed(run_dir: Path, kill_stage: int) -> tuple[float, float]:
    """Kill the tuning once ``kill_stage`` started; returns (killed attempt's wall, re-run's)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        _command(run_dir, "tune"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while not (run_dir / "tasks" / f"tune-stage{kill_stage}").is_dir():
        if proc.poll() is not None:
            raise SystemExit("the tuning ended before the kill point")
        time.sleep(0.05)
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(_command(run_dir, "tune"), check=True, capture_output=True)
    return first, time.perf_counter() - start


def table(whole: dict[str, Any], resumed: dict[str, Any]) -> str:
    """Per stage: budget and spend of both runs, and what the resumed run reused."""
    lines = [
        "| stage | budget (s), uninterrupted | budget (s), resumed | spent (s), uninterrupted "
        "| spent (s), resumed | reused tasks (resumed) | charged for reused work (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for number in sorted(whole, key=int):
        a, b = whole[number], resumed[number]
        lines.append(
            f"| {number} {a['name']} | {a['budget_s']:.1f} | {b['budget_s']:.1f} "
            f"| {a['spent_s']:.1f} | {b['spent_s']:.1f} | {b['reused_tasks']} "
            f"| {b['reused_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Build, tune twice (one killed), append the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-stage", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    source = base / "source"
    for stage in (("data", "synth"), ("features",), ("targets",), ("prep",), ("select",)):
        subprocess.run(_command(source, *stage), check=True, capture_output=True)
    whole, resumed = base / "whole", base / "resumed"
    _copy_upstream(source, whole)
    _copy_upstream(source, resumed)
    subprocess.run(_command(whole, "tune"), check=True, capture_output=True)
    killed_s, rerun_s = _killed_then_resumed(resumed, args.kill_stage)
    text = "\n".join(
        [
            "## Resume with a minutes budget (`benchmarks/bench_resume.py`)",
            "",
            f"Machine: {machine()}. Integration-test profile, `{' '.join(SETS)}`; the second "
            f"run was SIGKILLed 2 s into tuning stage {args.kill_stage} ({killed_s:.0f} s in) "
            f"and re-run ({rerun_s:.0f} s).",
            "",
            table(_ledger(whole), _ledger(resumed)),
            "",
        ]
    )
    write_section(args.out, "resume", text, TITLE)
    print(text)


if __name__ == "__main__":
    main()
