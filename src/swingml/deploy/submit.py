"""``swingml deploy submit``: the Vertex AI ``PipelineJob`` (and live ``PipelineJobSchedule``).

The requests are built from freshly compiled pipeline files; ``--dry-run`` prints them as JSON
(``to_dict()``) and makes no network call. A real submission uses Application Default
Credentials (``gcloud auth application-default login``, or the job's service account).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swingml.config import Config
from swingml.deploy.compile import Compiled, compile_pipelines, pipeline_name

MAX_CONCURRENT_LIVE_RUNS = 1
_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True)
class Request:
    """What ``submit`` sends: the job (or schedule) object, its JSON form and the live cron."""

    kind: str
    resource: Any
    body: dict[str, Any]
    cron: str | None = None


def pipeline_root(config: Config) -> str:
    """``deploy.pipeline_root``, or ``<staging_bucket>/pipeline_root``."""
    if config.deploy.pipeline_root:
        return config.deploy.pipeline_root
    return f"{str(config.deploy.staging_bucket).rstrip('/')}/pipeline_root"


def labels(config: Config, kind: str) -> dict[str, str]:
    """Vertex labels: the app, the profile, the pipeline kind, then ``deploy.labels``."""
    base = {"app": "swingml", "profile": config.run.profile, "pipeline": kind}
    base.update(config.deploy.labels)
    return {_label(k): _label(v) for k, v in base.items()}


def build(
    config: Config,
    overrides: Sequence[str],
    schedule: bool,
    credentials: Any = None,
    folder: Path | None = None,
    retrain: bool = False,
) -> Request:
    """Compile, then build the training ``PipelineJob``, the live schedule (``schedule``) or the
    retrain schedule (``retrain``, every ``retrain.every``); nothing is sent."""
    work = folder or Path(tempfile.mkdtemp(prefix="swingml-deploy-"))
    compiled = compile_pipelines(config, overrides, work / f"{pipeline_name(config)}.yaml")
    kind = "retrain" if retrain else "live" if schedule else "training"
    job = _job(config, compiled, kind, credentials=credentials)
    if kind == "training":
        return Request("pipeline_job", job, job.to_dict())
    from google.cloud import aiplatform

    cron = compiled.retrain_cron if retrain else compiled.cron
    plan = aiplatform.PipelineJobSchedule(
        pipeline_job=job,
        display_name=f"{pipeline_name(config, kind=kind)}-schedule",
        credentials=credentials,
    )
    # The fields ``create`` sets, set here too so a dry run shows the request that is sent.
    plan._gca_resource.cron = cron
    plan._gca_resource.max_concurrent_run_count = MAX_CONCURRENT_LIVE_RUNS
    if config.deploy.service_account:
        request = plan._gca_resource.create_pipeline_job_request
        request.pipeline_job.service_account = config.deploy.service_account
    return Request("schedule", plan, plan.to_dict(), cron)


def send(request: Request, config: Config) -> str:
    """Submit the job (or create the schedule) with Application Default Credentials."""
    if request.kind == "schedule":
        request.resource.create(
            cron=request.cron,
            max_concurrent_run_count=MAX_CONCURRENT_LIVE_RUNS,
            service_account=config.deploy.service_account,
        )
    else:
        request.resource.submit(service_account=config.deploy.service_account)
    return str(request.resource.resource_name)


def offline_credentials() -> Any:
    """Credentials that never reach Google: objects build, nothing can be sent with them."""
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()  # type: ignore[no-untyped-call]


def _job(config: Config, compiled: Compiled, kind: str, credentials: Any) -> Any:
    from google.cloud import aiplatform

    return aiplatform.PipelineJob(
        display_name=pipeline_name(config, kind=kind),
        template_path=str(compiled.path(kind)),
        pipeline_root=pipeline_root(config),
        enable_caching=False,
        labels=labels(config, kind),
        credentials=credentials,
        project=config.deploy.project,
        location=config.deploy.region,
    )


def _label(text: str) -> str:
    return _LABEL_BAD.sub("-", text.lower())[:63]
