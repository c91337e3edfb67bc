"""What each tuning stage leaves for the stages after it and for training, read from the run.

A screen (stage 1) leaves its best variant per main variant, a stage of studies its results;
a later stage starts from them (``policy``), and ``best_params`` turns them all into
``tuning/best_params.json``, what training uses.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from swingml.errors import BadInputError
from swingml.io.store import RunStore
from swingml.modeling.space import ParamValue
from swingml.tuning import policy
from swingml.tuning.stages import STAGES, StageSpec, spec


def stage_results(store: RunStore, number: int) -> pd.DataFrame:
    """What stage ``number`` left for later stages: its best per main variant, or its studies."""
    name = "tune_best" if spec(number).models == "variants" else "tune_results"
    path = store.dataset(name, number=number)
    if not path.is_file():
        raise BadInputError(str(path), "missing", f"run `swingml tune --stage {number}` first")
    return pd.read_parquet(path)


def study_models(
    store: RunStore, stage: StageSpec, count: int
) -> tuple[pd.DataFrame, dict[str, dict[str, ParamValue]]]:
    """The models a stage of studies tunes and, per main id, the optimum each study starts from
    (``count``: how many models ``best_main_variants`` keeps)."""
    seed = stage_results(store, stage.seed_from) if stage.seed_from is not None else None
    models = policy.stage_models(stage, stage_results(store, 1), seed, count)
    return models, policy.start_params(stage, models, seed)


def best_params(store: RunStore) -> dict[str, dict[str, Any]]:
    """``tuning/best_params.json`` from the stages' stored results (``policy.best_params``)."""
    found = {
        s.number: pd.read_parquet(path)
        for s in STAGES
        if s.models != "variants"
        and (path := store.dataset("tune_results", number=s.number)).is_file()
    }
    return policy.best_params(stage_results(store, 1), found)
