"""Profiles checked before anything runs: cloud keys present, every path reachable from here.

A cloud profile (one that names a Google Cloud project, image or staging bucket) needs all four
deploy keys; a path the local process cannot open (``gs://`` data, an absent ``/gcs`` mount) and a
run directory on the Cloud Storage FUSE mount are refused with the key that set them.
"""

from __future__ import annotations

from pathlib import Path

from swingml.config import Config
from swingml.errors import BadInputError

REQUIRED_DEPLOY_KEYS: tuple[str, ...] = ("project", "image", "staging_bucket", "region")
GCS_FUSE_ROOT = Path("/gcs")


def is_gcs_uri(path: str | None) -> bool:
    """Whether ``path`` is a ``gs://bucket/...`` URI."""
    return path is not None and path.startswith("gs://")


def is_cloud_profile(config: Config) -> bool:
    """A profile that names any Google Cloud resource to deploy to."""
    deploy = config.deploy
    return any(v is not None for v in (deploy.project, deploy.image, deploy.staging_bucket))


def check_deploy_keys(config: Config) -> None:
    """Each of ``deploy.project|image|staging_bucket|region`` is set, the bucket a ``gs://`` URI."""
    where = f"profile {config.run.profile}"
    for key in REQUIRED_DEPLOY_KEYS:
        value = getattr(config.deploy, key)
        if value is None or not str(value).strip():
            raise BadInputError(
                f"{where}: key deploy.{key}",
                "a cloud profile needs deploy.project, deploy.image, deploy.staging_bucket and "
                "deploy.region",
                f"set deploy.{key} in configs/profiles/{config.run.profile}.yaml or with "
                f"--set deploy.{key}=...",
            )
    bucket = config.deploy.staging_bucket
    if not is_gcs_uri(bucket):
        raise BadInputError(
            f"{where}: key deploy.staging_bucket",
            f"must be a gs://bucket URI (got {bucket!r})",
            "e.g. --set deploy.staging_bucket=gs://my-staging-bucket",
        )
    if config.deploy.accelerator_count and not config.deploy.accelerator_type:
        raise BadInputError(
            f"{where}: key deploy.accelerator_type",
            "deploy.accelerator_count > 0 needs an accelerator type",
            "e.g. --set deploy.accelerator_type=NVIDIA_TESLA_T4",
        )


def check_reachable(config: Config) -> None:
    """Refuse paths this process cannot use before any stage starts (exit 2 naming the key)."""
    run_dir = config.run.dir
    if _on_fuse(run_dir):
        raise BadInputError(
            f"key run.dir ({run_dir})",
            "the Cloud Storage FUSE mount has neither file locks nor atomic rename, which the run "
            "store relies on",
            f"use the bucket itself: --set run.dir=gs://{run_dir.removeprefix('/gcs/')}",
        )
    if is_gcs_uri(run_dir) and config.executor.kind == "ray" and config.executor.ray_address:
        raise BadInputError(
            f"key executor.ray_address ({config.executor.ray_address})",
            "with a gs:// run.dir the stages work in a local copy of the run directory, which "
            "Ray workers on other nodes cannot see",
            "--set executor.kind=local (Vertex steps scale up on one machine), or a local run.dir",
        )
    for key, value in (
        ("data.dir", config.data.dir),
        ("inference.new_candles_dir", config.inference.new_candles_dir),
    ):
        if value is None:
            continue
        if is_gcs_uri(value):
            raise BadInputError(
                f"key {key} ({value})",
                "the local executor reads this path with ordinary file IO and cannot open gs://",
                f"on Vertex AI use the FUSE path /gcs/{value.removeprefix('gs://')}; "
                "locally, copy the files and point the key at the copy",
            )
        if _on_fuse(value) and not GCS_FUSE_ROOT.is_dir():
            raise BadInputError(
                f"key {key} ({value})",
                "/gcs is the Cloud Storage FUSE mount of Vertex AI jobs and is not mounted here",
                f"run it on Vertex AI (swingml deploy submit), or --set {key}=<a local copy>",
            )


def _on_fuse(path: str) -> bool:
    return path == str(GCS_FUSE_ROOT) or path.startswith(f"{GCS_FUSE_ROOT}/")


def check_profile(config: Config) -> None:
    """Every check that applies before a local command runs."""
    if is_cloud_profile(config):
        check_deploy_keys(config)
    check_reachable(config)
