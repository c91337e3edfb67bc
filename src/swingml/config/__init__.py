"""Typed, frozen configuration: ``configs/base.yaml`` + profile + extra files + ``--set`` overrides.

Each section lives in its own module; ``load_config`` merges the layers, remembers which file gave
each key, and turns every validation problem into a ``BadInputError`` naming that file and key.
"""

from __future__ import annotations

from swingml.config.data import DataConfig, FetchConfig, SyntheticConfig
from swingml.config.features import FeaturesConfig, GeneratorSpec
from swingml.config.learning import (
    PrepConfig,
    SelectionConfig,
    SplitConfig,
    TrainingConfig,
    TuningConfig,
)
from swingml.config.loader import config_dir, load_config, profile_names
from swingml.config.root import Config
from swingml.config.run import RunConfig
from swingml.config.services import DeployConfig, ExecutorConfig, InferenceConfig, RegistryConfig
from swingml.config.targets import GridConfig, TargetsConfig

__all__ = [
    "Config",
    "DataConfig",
    "DeployConfig",
    "ExecutorConfig",
    "FeaturesConfig",
    "FetchConfig",
    "GeneratorSpec",
    "GridConfig",
    "InferenceConfig",
    "PrepConfig",
    "RegistryConfig",
    "RunConfig",
    "SelectionConfig",
    "SplitConfig",
    "SyntheticConfig",
    "TargetsConfig",
    "TrainingConfig",
    "TuningConfig",
    "config_dir",
    "load_config",
    "profile_names",
]
