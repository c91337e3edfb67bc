"""How the run's production models train, shared by ``train`` and ``walkforward``."""

from __future__ import annotations

from swingml.config import Config
from swingml.training.production import TrainPlan
from swingml.tuning.stages import spec


def production_plan(config: Config) -> TrainPlan:
    """``training``'s rounds, stopping and validation; stage 1's (``tuning``) for its baseline."""
    return TrainPlan(
        num_rounds=config.training.num_rounds,
        early_stopping=config.training.early_stopping,
        validation_fraction=config.training.validation_fraction,
        seed=config.run.seed,
        threads=config.executor.threads_per_worker,
        max_bin=config.tuning.max_bin,
        stage1_num_rounds=config.tuning.num_rounds,
        stage1_early_stopping=spec(1).early_stopping,
        stage1_validation_fraction=config.tuning.validation_fraction,
        stage1_max_train=config.tuning.max_train_rows,
    )
