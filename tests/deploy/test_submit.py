"""`swingml deploy submit --dry-run`: the Vertex AI requests, printed, nothing sent."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from google.cloud import aiplatform
from typer.testing import CliRunner

from swingml.cli import app
from swingml.config import load_config
from swingml.deploy.cadence import live_cron, retrain_cron
from swingml.deploy.submit import build, offline_credentials
from swingml.errors import BadInputError


def _submit(*args: str, in_process: bool = False) -> dict[str, Any]:
    if in_process:
        result = CliRunner().invoke(app, ["deploy", "submit", "--dry-run", *args])
        assert result.exit_code == 0, result.stderr
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed
    done = subprocess.run(
        [sys.executable, "-m", "swingml.cli", "deploy", "submit", "--dry-run", *args],
        capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "/usr/bin:/bin", "NO_GCE_CHECK": "true"},  # no login, no metadata server
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def test_dry_run_prints_the_pipeline_job_request() -> None:
    body = _submit("--profile", "central-dev", "--set", "tuning.budget=60")
    assert body["displayName"] == "swingml-central-dev"
    spec = body["pipelineSpec"]
    assert spec["pipelineInfo"]["name"] == "swingml-central-dev"
    assert len(spec["root"]["dag"]["tasks"]) == 8
    executor = next(iter(spec["deploymentSpec"]["executors"].values()))
    assert "tuning.budget=60" in executor["container"]["args"]
    root = body["runtimeConfig"]["gcsOutputDirectory"]
    assert root == "gs://swingml-dev-staging/pipeline_root"
    assert body["labels"] == {"app": "swingml", "profile": "central-dev", "pipeline": "training"}


@pytest.mark.parametrize(
    ("profile", "interval", "cron"),
    [("central-dev", "1h", "1 * * * *"), ("production", "15m", "1-59/15 * * * *")],
)
def test_dry_run_schedule_runs_live_inference_on_the_interval(
    profile: str, interval: str, cron: str
) -> None:
    assert load_config(profile).data.interval == interval
    # the real command line once; the same command in-process for the second profile
    body = _submit("--profile", profile, "--schedule", in_process=profile != "central-dev")
    assert body["cron"] == cron
    assert body["maxConcurrentRunCount"] == "1"
    job = body["createPipelineJobRequest"]["pipelineJob"]
    assert job["labels"]["pipeline"] == "live"
    assert set(job["pipelineSpec"]["root"]["dag"]["tasks"]) == {
        "swingml-data-fetch",
        "swingml-predict-live",
    }
    bucket = load_config(profile).deploy.staging_bucket
    assert job["runtimeConfig"]["gcsOutputDirectory"].startswith(f"{bucket}/")


def test_objects_build_with_anonymous_credentials() -> None:
    config = load_config("staging", (), ["inference.cadence_bars=4"])
    job = build(config, [], schedule=False, credentials=offline_credentials())
    assert isinstance(job.resource, aiplatform.PipelineJob)
    plan = build(config, [], schedule=True, credentials=offline_credentials())
    assert isinstance(plan.resource, aiplatform.PipelineJobSchedule)
    assert plan.cron == "1 * * * *"  # 4 x 15m


@pytest.mark.parametrize(
    ("interval", "cadence", "cron"),
    [
        ("1m", 1, "* * * * *"),
        ("5m", 3, "1-59/15 * * * *"),
        ("30m", 2, "1 * * * *"),
        ("4h", 1, "1 */4 * * *"),
        ("1h", 6, "1 */6 * * *"),
        ("1d", 1, "1 0 * * *"),
    ],
)
def test_cron_follows_interval_times_cadence(interval: str, cadence: int, cron: str) -> None:
    assert live_cron(interval, cadence) == cron


def test_dry_run_retrain_schedule_follows_retrain_every() -> None:
    body = _submit(
        "--profile", "central-dev", "--retrain", "--set", "retrain.every=7D", in_process=True
    )
    assert body["cron"] == "10 0 */7 * *"
    job = body["createPipelineJobRequest"]["pipelineJob"]
    assert job["labels"]["pipeline"] == "retrain"
    assert set(job["pipelineSpec"]["root"]["dag"]["tasks"]) == {
        "swingml-data-fetch",
        "swingml-retrain",
    }


@pytest.mark.parametrize(
    ("every", "cron"), [("30D", "10 0 */30 * *"), ("1D", "10 0 * * *"), ("6h", "10 */6 * * *")]
)
def test_retrain_cron_follows_retrain_every(every: str, cron: str) -> None:
    assert retrain_cron(every) == cron


def test_a_retrain_period_cron_cannot_say_is_bad_input() -> None:
    with pytest.raises(BadInputError, match=r"retrain\.every"):
        retrain_cron("45D")
