"""Where work runs and where models live: executor, registry and inference settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from swingml.config._model import Section


class ExecutorConfig(Section):
    """How variant tasks run: a local spawn pool or Ray, with health limits and retries."""

    kind: Literal["local", "ray"] = "local"
    max_concurrent_processes: int | None = Field(default=None, ge=1)
    threads_per_worker: int = Field(default=1, ge=1)
    task_timeout_s: float = Field(default=3600.0, gt=0.0)
    memory_limit_mb: int = Field(default=6144, ge=64)
    max_retries: int = Field(default=2, ge=0)
    retry_backoff_s: float = Field(default=0.5, ge=0.0)
    recycle_after: int = Field(default=50, ge=1)
    failure_threshold: float = Field(default=0.1, ge=0.0, le=1.0)
    ray_address: str | None = None


class RegistryConfig(Section):
    """MLflow tracking and registry; ``null`` URIs mean SQLite inside the run directory.

    ``model_prefix`` starts every registered model name
    (``<prefix><symbol>-w<w>-<side>-<interval>``), so that teams or data sets sharing one server
    keep their champions apart.
    """

    tracking_uri: str | None = None
    registry_uri: str | None = None
    experiment: str = "swingml"
    model_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$", max_length=100)


class InferenceConfig(Section):
    """Batch and live prediction settings.

    ``new_candles_dir``: where ``swingml predict live`` reads new candles (files named like
    ``data.dir``'s); null means ``data.dir`` itself, re-read. ``live_history_bars``: the least
    history live feature computation reads before the first new bar. ``cadence_bars``: live
    predicts once this many new bars have arrived (at most the shortest champion horizon).
    """

    live_history_bars: int = Field(default=2000, ge=100)
    cadence_bars: int = Field(default=1, ge=1)
    new_candles_dir: str | None = None


class DeployConfig(Section):
    """Vertex AI job settings, used only by the ``central-dev`` and cloud profiles."""

    project: str | None = None
    region: str = "europe-west4"
    machine_type: str = "n2-standard-16"
    image: str | None = None
    staging_bucket: str | None = None
