"""Where work runs and where models live: executor, registry and inference settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from swingml.config._model import Section


class ExecutorConfig(Section):
    """How variant tasks run: a local spawn pool or Ray, with health limits and retries.

    ``gpus_per_worker`` (used when ``training.device`` is not ``cpu``): the share of one device a
    worker takes, 1/n so that n workers share a device; ``gpu_devices``: the devices to use
    (``platform:device`` for OpenCL, an index for CUDA), null for every device found.
    """

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
    gpus_per_worker: float = Field(default=1.0, gt=0.0, le=1.0)
    gpu_devices: tuple[str, ...] | None = None

    @field_validator("gpus_per_worker")
    @classmethod
    def _whole_share(cls, value: float) -> float:
        if abs(1.0 / value - round(1.0 / value)) > 1e-6:
            raise ValueError("must be 1/n (1, 0.5, 0.25, ...): n workers share one device")
        return value


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
    ``source``: ``files`` (the folders above) or ``rest`` (closed bars from the exchange's klines
    API, ``data.fetch.rest_url``). ``--follow`` wakes ``follow_delay_s`` after each bar close, or
    every ``poll_s`` seconds when set, for ``max_cycles`` cycles (null: until SIGTERM). A symbol
    more than ``stall_limit_bars`` behind the others is stalled (alert). A champion registered
    more than ``champion_max_age_days`` ago, or whose training data ends more than
    ``champion_data_max_age_days`` before the last bar, is stale (alert).
    """

    live_history_bars: int = Field(default=2000, ge=100)
    cadence_bars: int = Field(default=1, ge=1)
    new_candles_dir: str | None = None
    source: Literal["files", "rest"] = "files"
    follow_delay_s: float = Field(default=10.0, ge=0.0)
    poll_s: float | None = Field(default=None, ge=0.0)
    max_cycles: int | None = Field(default=None, ge=1)
    stall_limit_bars: int = Field(default=3, ge=0)
    champion_max_age_days: float = Field(default=30.0, gt=0.0)
    champion_data_max_age_days: float = Field(default=45.0, gt=0.0)


class MonitoringConfig(Section):
    """Drift and performance monitoring of the champions (``swingml monitor``, after each cycle).

    PSI over ``bins`` reference quantile bins and the KS statistic per feature, over the last
    ``window`` live event rows (at least ``min_rows``) against the champion's training rows;
    ``*_warn`` / ``*_alert`` thresholds; ``ap_window`` resolved live rows score realised macro AP;
    ``prometheus_textfile``: where the metrics are written (null = ``monitoring/metrics.prom``);
    ``pushgateway_url``: also push them to this Prometheus push gateway (job ``push_job``).
    """

    enabled: bool = True
    bins: int = Field(default=10, ge=2, le=100)
    window: int = Field(default=500, ge=10)
    min_rows: int = Field(default=50, ge=5)
    psi_warn: float = Field(default=0.1, gt=0.0)
    psi_alert: float = Field(default=0.25, gt=0.0)
    ks_warn: float = Field(default=0.1, gt=0.0, le=1.0)
    ks_alert: float = Field(default=0.2, gt=0.0, le=1.0)
    ap_window: int = Field(default=200, ge=10)
    reference_rows: int = Field(default=5000, ge=100)
    prometheus_textfile: str | None = None
    pushgateway_url: str | None = None
    push_job: str = "swingml"


class DeployConfig(Section):
    """Vertex AI job settings, used only by the ``central-dev`` and cloud profiles.

    ``machine_type`` sizes every pipeline step (its vCPUs and memory become the steps' limits and
    the local pool's worker count); ``accelerator_type``/``accelerator_count`` are added to the
    variant-heavy steps (select, tune, train). ``pipeline_root`` null means
    ``<staging_bucket>/pipeline_root``.
    """

    project: str | None = None
    region: str | None = "europe-west4"
    machine_type: str = "n2-standard-16"
    image: str | None = None
    staging_bucket: str | None = None
    pipeline_root: str | None = None
    service_account: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int = Field(default=0, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
