"""Settings of the learning stages: split, prep, selection, tuning, training (SPEC §5 to §8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer

from swingml.config._model import Section


class SplitConfig(Section):
    """The global hold-out: the last fraction of the time span, never seen before final scoring."""

    holdout_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)


class PrepConfig(Section):
    """Label-free feature filters, in SPEC order, fit on development rows only."""

    max_missing: float = Field(default=0.70, ge=0.0, le=1.0)
    max_nan: float = Field(default=0.90, ge=0.0, le=1.0)
    max_single_value: float = Field(default=0.95, gt=0.0, le=1.0)
    min_variance: float = Field(default=1e-6, ge=0.0)
    max_correlation: float = Field(default=0.90, gt=0.0, le=1.0)
    sample_rows: int = Field(default=50_000, ge=100)
    block_columns: int = Field(default=512, ge=16)


class SelectionConfig(Section):
    """Per-variant shallow LightGBM screening and the cross-variant aggregate.

    ``sampling`` (GOSS, the default: 1.5x faster screening with a final set and champions' AP
    inside today's seed-to-seed noise on the real files; or SPEC §8's bagging 0.8 every 5 rounds)
    and ``feature_fraction`` (columns per tree) trade screening time against the ranking's noise
    (docs/benchmarks/prep_selection.md);
    ``seed`` (null: ``run.seed``) re-draws selection's sampling alone, to measure that noise.

    ``bins``: ``shared`` screens every variant of a symbol on subsets of one Dataset binned on
    the union of their rows; ``rows`` builds each variant's own Dataset from the symbol's saved
    quantile codes on its rows, coarsened to about one code per 20 training rows, with features
    that cannot split on those rows dropped (``swingml.selection.row_bins``): less split search
    for small variants. ``bins`` appears in the section's dump (so in every key hashing it) only
    when it is not ``shared``: runs keyed before the option existed stay current.
    """

    max_events: int = Field(default=25_000, ge=100)
    min_events: int = Field(default=50, ge=2)
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    num_leaves: int = Field(default=30, ge=2)
    max_depth: int = Field(default=5, ge=1)
    num_rounds: int = Field(default=50, ge=1)
    early_stopping: int = Field(default=5, ge=1)
    learning_rate: float = Field(default=0.2, gt=0.0)
    top_k: int = Field(default=200, ge=1)
    final_size: int = Field(default=400, ge=1)
    max_bin: int = Field(default=63, ge=3, le=255)
    bin_construct_sample_cnt: int = Field(default=25_000, ge=1000)
    histogram_pool_size: float = Field(default=256.0, gt=0.0)
    sampling: Literal["bagging", "goss"] = "goss"
    feature_fraction: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    bins: Literal["shared", "rows"] = "shared"

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The section's fields, ``bins`` left out while it is ``shared`` (its default)."""
        data: dict[str, Any] = handler(self)
        if self.bins == "shared":
            data.pop("bins", None)
        return data


class TuningConfig(Section):
    """The four budgeted tuning stages.

    ``budget`` is trials of the whole tuning (``budget_unit: trials``: machine-independent, the
    same run gives the same models anywhere) or wall minutes on the configured workers
    (``minutes``: a cloud budget; each study's trial count is recorded and replayed on a re-run).
    ``shares``: null for each stage's own share of the budget (``tuning.stages.STAGES``), or one
    share per stage, summing to 1.
    """

    budget: float = Field(default=2600.0, gt=0.0)
    budget_unit: Literal["minutes", "trials"] = "trials"
    shares: tuple[float, ...] | None = None
    cv_folds: int = Field(default=5, ge=2)
    max_trials_stage2: int = Field(default=40, ge=1)
    max_trials_stage3: int = Field(default=2, ge=1)
    max_trials_stage4: int = Field(default=2, ge=1)
    stage4_models: int = Field(default=12, ge=1)
    num_rounds: int = Field(default=300, ge=10)
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    max_train_rows: int = Field(default=30_000, ge=100)
    min_train_rows: int = Field(default=20, ge=2)
    max_bin: int = Field(default=63, ge=2)
    storage: str | None = None

    @field_validator("shares")
    @classmethod
    def _shares_sum_to_one(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and (abs(sum(value) - 1.0) > 1e-6 or min(value, default=0) < 0):
            raise ValueError("stage shares must be non-negative and sum to 1")
        return value


class TrainingConfig(Section):
    """Production training of the 36 main variants on all development data.

    ``device``: where every LightGBM model of the run trains (selection, tuning, production):
    ``cpu``, ``gpu`` (LightGBM's OpenCL build, the PyPI wheel) or ``cuda`` (a CUDA build); see
    ``swingml.config.devices``.
    """

    num_rounds: int = Field(default=800, ge=10)
    early_stopping: int = Field(default=50, ge=1)
    validation_fraction: float = Field(default=0.15, gt=0.0, lt=1.0)
    device: Literal["cpu", "gpu", "cuda"] = "cpu"


class RetrainConfig(Section):
    """How often champions are refit, and which cadences the walk-forward replay compares.

    ``every`` is a duration (pandas spelling: ``30D``, ``12h``); the walk-forward replays "never"
    (the development-period model), ``every`` and each of ``compare`` side by side on the same
    hold-out events. ``fee``: what one trade costs, both legs, as a fraction of the position
    (the trader's view of the walk-forward predictions).

    ``swingml retrain``'s gate holds back the newest ``gate_fraction`` of the events resolved
    since the champion's data end (at least ``min_gate_events``), refits the challenger's recipe
    without them, and promotes the challenger unless that copy's macro AP on them is more than
    ``margin`` below the champion's. ``in_follow``: ``predict live --follow`` retrains when
    ``every`` has passed since the last (re)train, and with ``on_drift`` on a drift alert too.
    """

    every: str = "30D"
    compare: tuple[str, ...] = ("7D",)
    fee: float = Field(default=0.001, ge=0.0, lt=1.0)
    margin: float = Field(default=0.0, ge=0.0, le=1.0)
    gate_fraction: float = Field(default=0.5, gt=0.0, lt=1.0)
    min_gate_events: int = Field(default=20, ge=2)
    in_follow: bool = False
    on_drift: bool = False

    @field_validator("every")
    @classmethod
    def _every_is_a_duration(cls, value: str) -> str:
        return _duration(value)

    @field_validator("compare")
    @classmethod
    def _compare_are_durations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_duration(v) for v in value)


def _duration(value: str) -> str:
    """``value`` when it spells a positive duration (``30D``, ``12h``), else a ValueError."""
    import pandas as pd  # config loads before any stage; only this check needs pandas

    try:
        delta = pd.Timedelta(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a duration (write it like 30D or 12h)") from None
    if delta <= pd.Timedelta(0):
        raise ValueError(f"{value!r} must be a positive duration")
    return value
