"""The root config object that travels through every stage."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from swingml.config._model import Section
from swingml.config.data import DataConfig
from swingml.config.features import FeaturesConfig
from swingml.config.learning import (
    PrepConfig,
    RetrainConfig,
    SelectionConfig,
    SplitConfig,
    TrainingConfig,
    TuningConfig,
)
from swingml.config.run import RunConfig
from swingml.config.services import (
    DeployConfig,
    ExecutorConfig,
    InferenceConfig,
    MonitoringConfig,
    RegistryConfig,
)
from swingml.config.targets import GridConfig, TargetsConfig


class Config(Section):
    """Every setting of a run, one section per concern."""

    run: RunConfig = RunConfig()
    data: DataConfig = DataConfig()
    features: FeaturesConfig = FeaturesConfig()
    targets: TargetsConfig = TargetsConfig()
    grid: GridConfig = GridConfig()
    split: SplitConfig = SplitConfig()
    prep: PrepConfig = PrepConfig()
    selection: SelectionConfig = SelectionConfig()
    tuning: TuningConfig = TuningConfig()
    training: TrainingConfig = TrainingConfig()
    retrain: RetrainConfig = RetrainConfig()
    executor: ExecutorConfig = ExecutorConfig()
    registry: RegistryConfig = RegistryConfig()
    inference: InferenceConfig = InferenceConfig()
    deploy: DeployConfig = DeployConfig()
    monitoring: MonitoringConfig = MonitoringConfig()

    def slice_hash(self, *sections: str) -> str:
        """A stable hash of the named sections, for cache keys that change only when they do."""
        payload: dict[str, Any] = {
            name: getattr(self, name).model_dump(mode="json") for name in sections
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
