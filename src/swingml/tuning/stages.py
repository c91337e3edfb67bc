"""The tuning stages as data (SPEC §8): budget share, which models, space, CV, early stopping.

One driver runs any of them; what differs between stages lives here and nowhere else, together
with the pure rules that pick each stage's models from the previous stage's results. A new stage
is a row of :data:`STAGES` (with its share; the others' shares make room) plus its space.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from swingml.config import TuningConfig
from swingml.errors import BadInputError
from swingml.modeling.space import BROAD, DEFAULT, SEED, ParamValue, Space, narrow

Models = Literal["variants", "window_representatives", "main_variants", "best_main_variants"]
SpaceName = Literal["default", "broad", "seed", "narrow"]
CvScheme = Literal["holdout", "rolling"]


@dataclass(frozen=True)
class StageSpec:
    """One tuning stage."""

    number: int
    name: str
    share: float
    """The stage's share of the tuning budget (the shares of :data:`STAGES` sum to 1)."""
    models: Models
    space: SpaceName
    cv: CvScheme
    early_stopping: int
    seed_from: int | None
    baseline: bool = False
    """Also score LightGBM's defaults on the study's folds: tuned parameters must beat them."""
    may_borrow: float = 0.0
    """How much beyond its budget (as a multiple of its own share) the stage may run to finish
    its fixed work; the later stages pay it back (``tuning.budget``)."""

    def limit_s(self, budget_s: float, share_s: float) -> float:
        """The wall time the stage may take: its budget plus what it may borrow."""
        return budget_s + self.may_borrow * share_s

    def max_trials(self, tuning: TuningConfig) -> int:
        """Trial cap of each study (stage 1 trains each variant once)."""
        caps = {1: 1, 2: tuning.max_trials_stage2, 3: tuning.max_trials_stage3}
        return caps.get(self.number, tuning.max_trials_stage4)

    def search_space(self, optimum: Mapping[str, ParamValue] | None = None) -> Space:
        """The space a study of this stage samples (stage 4 narrows around ``optimum``)."""
        if self.space == "narrow":
            return narrow(optimum or {})
        return {"default": DEFAULT, "broad": BROAD, "seed": SEED}[self.space]


STAGES: tuple[StageSpec, ...] = (
    StageSpec(1, "screen", 0.25, "variants", "default", "holdout", 30, None, may_borrow=1.0),
    StageSpec(2, "explore", 0.15, "window_representatives", "broad", "holdout", 40, None),
    StageSpec(3, "seed-grid", 0.35, "main_variants", "seed", "rolling", 40, 2, baseline=True),
    StageSpec(4, "refine", 0.25, "best_main_variants", "narrow", "rolling", 50, 3),
)


def spec(number: int) -> StageSpec:
    """The stage with this number (1 to ``len(STAGES)``)."""
    return STAGES[number - 1]


def shares(tuning: TuningConfig) -> tuple[float, ...]:
    """Each stage's share of the budget: the table's, or ``tuning.shares`` where a config sets
    one per stage."""
    if tuning.shares is None:
        return tuple(s.share for s in STAGES)
    if len(tuning.shares) != len(STAGES):
        raise BadInputError(
            "config key tuning.shares",
            f"has {len(tuning.shares)} shares for {len(STAGES)} tuning stages",
            "give one share per stage, or null for the stages' own shares",
        )
    return tuning.shares


SHRINK_ROWS = 10
"""Minority validation rows at which a lift counts half: thin evidence is shrunk toward zero."""


def rank_score(lift: np.ndarray | pd.Series, minority: np.ndarray | pd.Series) -> np.ndarray:
    """How models of different sizes compare: ``lift x m / (m + SHRINK_ROWS)``.

    ``lift`` is validation macro AP minus the class-prior macro AP of the same rows, so classes
    absent from a validation set do not inflate it; ``m`` counts the validation rows outside the
    majority class (the evidence an AP rests on), and the shrinkage keeps the maximum over many
    small or lopsided validation sets (the winner's curse) from picking a variant by luck.
    """
    n = np.asarray(minority, dtype=np.float64)
    return np.asarray(lift, dtype=np.float64) * n / (n + SHRINK_ROWS)


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Best first by :func:`rank_score` (given ``lift`` and ``valid_minority``), else ``score``.

    Unscored rows come last, the one with the most minority validation rows (the most balanced
    evidence) first among them; remaining ties go by grid order, so the choice is deterministic.
    """
    if {"lift", "valid_minority"} <= set(frame.columns):
        key = rank_score(frame["lift"], frame["valid_minority"])
        evidence = frame["valid_minority"].to_numpy(dtype=np.float64)
    else:
        key = frame["score"].to_numpy(dtype=np.float64)
        evidence = np.zeros(len(frame))
    ranked = frame.assign(_score=np.nan_to_num(key, nan=-np.inf), _evidence=evidence)
    columns = ["_score", "_evidence", "order"]
    ranked = ranked.sort_values(columns, ascending=[False, False, True], kind="mergesort")
    return ranked.drop(columns=["_score", "_evidence"])


def best_per_main(leaderboard: pd.DataFrame) -> pd.DataFrame:
    """Stage 1 → the best variant (validation macro AP) of each main variant, in grid order.

    ``leaderboard`` needs columns ``main_id``, ``variant_id``, ``score`` and ``order``.
    """
    best = _ranked(leaderboard).drop_duplicates("main_id", keep="first")
    return best.sort_values("order", kind="mergesort").reset_index(drop=True)


def window_representatives(best: pd.DataFrame) -> pd.DataFrame:
    """Stage 2's models: per window, the best of its main variants by stage-1 score."""
    reps = _ranked(best).drop_duplicates("w", keep="first")
    return reps.sort_values("order", kind="mergesort").reset_index(drop=True)


def top_models(results: pd.DataFrame, count: int) -> pd.DataFrame:
    """Stage 4's models: the ``count`` best of stage 3 by CV score."""
    top = _ranked(results).head(count)
    return top.sort_values("order", kind="mergesort").reset_index(drop=True)
