"""Profiles are checked before anything runs: exit 2 naming the key, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from swingml.cli import app

CLOUD_PROFILES = ("central-dev", "staging", "production")
REQUIRED = ("project", "image", "staging_bucket", "region")

runner = CliRunner()


@pytest.mark.parametrize("key", REQUIRED)
@pytest.mark.parametrize("profile", CLOUD_PROFILES)
def test_cloud_profile_without_a_required_key_exits_2_naming_it(profile: str, key: str) -> None:
    result = runner.invoke(
        app, ["deploy", "compile", "--profile", profile, "--set", f"deploy.{key}=null"]
    )
    assert result.exit_code == 2, result.output
    assert f"deploy.{key}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("profile", CLOUD_PROFILES)
def test_complete_cloud_profiles_pass_the_check(profile: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["deploy", "compile", "--profile", profile, "--output", str(tmp_path / "p.yaml")]
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "p.yaml").is_file() and (tmp_path / "p-live.yaml").is_file()


def test_run_of_a_cloud_profile_missing_a_key_exits_2_before_any_stage(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "run",
            "--profile",
            "central-dev",
            "--set",
            "deploy.image=null",
            "--run-dir",
            str(run_dir),
        ],
    )
    assert result.exit_code == 2
    assert "deploy.image" in result.stderr
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("data.dir=gs://swingml-dev/data/binance", "data.dir"),
        ("inference.new_candles_dir=gs://swingml-dev/new", "inference.new_candles_dir"),
        ("data.dir=/gcs/swingml-dev/data/binance", "data.dir"),
    ],
)
def test_path_the_local_executor_cannot_reach_exits_2(
    override: str, key: str, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = runner.invoke(
        app, ["run", "--profile", "integration-test", "--set", override, "--run-dir", str(run_dir)]
    )
    assert result.exit_code == 2
    assert f"key {key}" in result.stderr
    assert not run_dir.exists()


def test_run_dir_on_the_fuse_mount_is_refused_with_the_bucket_uri_as_fix() -> None:
    result = runner.invoke(
        app, ["report", "--profile", "integration-test", "--set", "run.dir=/gcs/b/runs/x"]
    )
    assert result.exit_code == 2
    assert "run.dir" in result.stderr and "gs://b/runs/x" in result.stderr


def test_cloud_profile_run_locally_names_the_unreachable_data_dir(tmp_path: Path) -> None:
    # central-dev reads candles through the /gcs mount of Vertex AI jobs, absent here.
    result = runner.invoke(
        app,
        [
            "run", "--profile", "central-dev", "--set", f"run.dir={tmp_path / 'run'}",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "key data.dir" in result.stderr


def test_gs_run_dir_with_a_remote_ray_cluster_is_refused() -> None:
    # Ray workers on other nodes cannot see the working copy a gs:// run directory is run in.
    result = runner.invoke(
        app,
        [
            "report", "--profile", "integration-test", "--set", "run.dir=gs://b/runs/x",
            "--set", "executor.kind=ray", "--set", "executor.ray_address=auto",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "executor.ray_address" in result.stderr
