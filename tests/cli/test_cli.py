"""The command tree of SPEC §11: --help everywhere, exit codes 0 / 1 / 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from swingml.cli import app

COMMANDS = [
    [],
    ["run"],
    ["data"],
    ["data", "validate"],
    ["data", "prepare"],
    ["data", "fetch"],
    ["data", "synth"],
    ["features"],
    ["targets"],
    ["prep"],
    ["select"],
    ["tune"],
    ["train"],
    ["predict"],
    ["predict", "batch"],
    ["predict", "live"],
    ["registry"],
    ["registry", "list"],
    ["report"],
    ["data", "prepare"],
    ["deploy"],
    ["deploy", "compile"],
    ["deploy", "submit"],
]

runner = CliRunner()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_everywhere(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_bad_config_key_exits_2_naming_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--run-dir", str(tmp_path), "--set", "data.bogus=1"])
    assert result.exit_code == 2
    assert "data.bogus" in result.output
    assert "unknown key" in result.output
    assert "Traceback" not in result.output


def test_bad_profile_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--profile", "nope", "--run-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown profile" in result.output


def test_unknown_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["run", "--no-such-option"])
    assert result.exit_code == 2


def test_tune_stage_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tune", "--stage", "5", "--run-dir", str(tmp_path)])
    assert result.exit_code == 2


def test_report_prints_the_summary(tmp_path: Path) -> None:
    from swingml.io.store import RunStore

    RunStore(tmp_path).record_stage(
        "data", {"status": "done", "wall_s": 0.1, "tasks": 3, "failed_tasks": 0}
    )
    result = runner.invoke(app, ["report", "--format", "json", "--run-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert '"data"' in result.output


def test_a_stage_command_runs_the_unfinished_stages_it_needs_then_stops(tmp_path: Path) -> None:
    import json

    run_dir = str(tmp_path / "run")
    first = runner.invoke(app, ["targets", "--profile", "integration-test", "--run-dir", run_dir])
    assert first.exit_code == 0, first.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert list(summary["stages"]) == ["data", "features", "targets"]
    # again, without the profile: the run's recorded config is the starting point, all reused
    second = runner.invoke(app, ["targets", "--run-dir", run_dir])
    assert second.exit_code == 0, second.output
    stages = json.loads((tmp_path / "run" / "summary.json").read_text())["stages"]
    assert stages["targets"]["reused"] is True
    assert stages["data"] == summary["stages"]["data"]  # not run again


def test_a_writing_command_says_what_its_config_was_built_from(tmp_path: Path) -> None:
    run_dir = str(tmp_path / "run")
    first = runner.invoke(
        app,
        ["targets", "--profile", "integration-test", "--run-dir", run_dir, "--set", "run.seed=7"],
    )
    assert first.exit_code == 0, first.output
    assert (
        "config: the defaults (configs/base.yaml), then --profile integration-test, "
        "then --set run.seed" in first.output
    )
    # an existing run starts from its manifest: the line says so before anything runs
    second = runner.invoke(app, ["targets", "--run-dir", run_dir])
    assert second.exit_code == 0, second.output
    assert f"config: {run_dir}/manifest.json (the run's recorded config)" in second.output
