"""`swingml run` with run.dir on gs:// (Cloud Storage emulator on loopback) gives the outputs of the
same run on local disk, and a run killed mid-way re-runs to the same outputs from another machine's
empty working copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

from gcs_emulator import BUCKET, emulator, environment

from command_line import LAW_SLICE
from swingml.io.gcs import RemoteRunStore
from swingml.io.rundiff import differences, outputs

URI = f"gs://{BUCKET}/runs/e2e"


def _command(run_dir: str, work_dir: Path) -> list[str]:
    sets = [arg for item in LAW_SLICE for arg in ("--set", item)]
    return [
        sys.executable, "-m", "swingml.cli", "run", "--profile", "integration-test",
        "--set", f"run.dir={run_dir}", "--set", f"run.work_dir={work_dir}", *sets,
    ]  # fmt: skip


@pytest.mark.slow
def test_gs_run_killed_then_rerun_equals_local_run(tmp_path: Path, law_run: Path) -> None:
    local = law_run  # the same slice run on local disk (tests/conftest.py)
    with emulator(tmp_path) as url:
        env = environment(url)
        os.environ["STORAGE_EMULATOR_HOST"] = url
        try:
            watcher = RemoteRunStore(URI, str(tmp_path / "watch"))
            proc = subprocess.Popen(
                _command(URI, tmp_path / "machine-a"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + 600
            marker = watcher.remote("_commits/select.json")
            while not watcher.fs.exists(marker):
                assert proc.poll() is None, "the gs:// run ended before it could be killed"
                assert time.monotonic() < deadline, "the gs:// run made no progress"
                time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            committed = json.loads(watcher.fs.cat_file(watcher.remote("_commits/features.json")))
            assert not watcher.fs.exists(watcher.remote("_commits/train.json"))

            rerun = subprocess.run(
                _command(URI, tmp_path / "machine-b"),
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert rerun.returncode == 0, rerun.stderr[-3000:]
            again = json.loads(watcher.fs.cat_file(watcher.remote("_commits/features.json")))
            assert again == committed, "a committed stage was published again after the kill"

            reader = RemoteRunStore(URI, str(tmp_path / "reader"))
            reader.pull()
            listed, monitored = (
                subprocess.run(
                    [sys.executable, "-m", "swingml.cli", *command, "--run-dir", URI,
                     "--set", f"run.work_dir={tmp_path / 'machine-c'}"],
                    env=env, capture_output=True, text=True, timeout=600,
                )
                for command in (["registry", "list"], ["monitor"])
            )  # fmt: skip
        finally:
            del os.environ["STORAGE_EMULATOR_HOST"]

    summary = reader.read_summary()
    assert all(entry["status"] == "done" for entry in summary["stages"].values()), summary
    assert "training/holdout.parquet" in outputs(reader.root)  # the champions' metrics
    assert differences(local, reader.root) == []
    # read and monitor from a third machine, from the run's recorded config (no --profile)
    assert listed.returncode == 0, listed.stderr[-3000:]
    champions = json.loads((reader.root / "tuning" / "best_params.json").read_text())
    assert all(main_id in listed.stdout for main_id in champions), listed.stdout[-2000:]
    assert monitored.returncode in (0, 1), monitored.stderr[-3000:]  # 1: an alert is raised
    assert "monitor: status" in monitored.stdout + monitored.stderr
