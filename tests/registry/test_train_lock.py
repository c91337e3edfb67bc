"""Two ``swingml train`` on one run directory: the second is refused at once, clearly."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from swingml.cli import app
from swingml.io.store import RunStore
from swingml.stages.train import _training_lock


def test_a_second_train_on_the_same_run_directory_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["train", "--profile", "integration-test", "--run-dir", str(run_dir)]
    with _training_lock(RunStore(run_dir)):  # what a first `swingml train` holds while it runs
        result = CliRunner().invoke(app, args, catch_exceptions=False)
    text = result.output.replace("\n", "")  # the console wraps long paths
    assert result.exit_code == 1
    assert "another `swingml train`" in text and str(run_dir) in text
    assert "Traceback" not in result.output
    with _training_lock(RunStore(run_dir)):  # the refused command left the lock free
        pass
