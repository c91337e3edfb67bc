"""Search spaces as data (SPEC §8): broad ranges (stage 2), the seed grid (stage 3), narrowed
ranges around an optimum (stage 4), and how a trial draws parameters from one.

``min_child_fraction`` is a fraction of the training rows; it becomes LightGBM's
``min_child_samples`` only when the training set is known (:func:`resolve`), never below
LightGBM's default leaf size unless the set is too small to split with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

ParamValue = int | float

MIN_CHILD_SAMPLES = 20
"""Floor of ``min_child_samples`` (LightGBM's default): 1 % of a few hundred event rows is a leaf
of two or three rows, which memorises noise. On fewer than 40 rows the floor yields to the largest
leaf size that still lets a tree split once (``rows // 2 - 1``)."""


@dataclass(frozen=True)
class Choice:
    """One of a fixed list of values."""

    values: tuple[ParamValue, ...]


@dataclass(frozen=True)
class IntRange:
    """An integer in ``[low, high]``."""

    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    """A float in ``[low, high]``."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Fixed:
    """A constant."""

    value: ParamValue


Param = Choice | IntRange | FloatRange | Fixed
Space = Mapping[str, Param]


class Suggester(Protocol):
    """The part of ``optuna.Trial`` a space needs."""

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        """Pick one of ``choices``."""
        ...

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        """Pick an integer."""
        ...

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        """Pick a float."""
        ...


DEFAULT: Space = {}
"""Stage 1: LightGBM's own defaults plus the fixed parameters."""

BROAD: Space = {
    "num_leaves": IntRange(8, 128, log=True),
    "max_depth": IntRange(3, 12),
    "learning_rate": FloatRange(0.01, 0.3, log=True),
    "feature_fraction": FloatRange(0.4, 1.0),
    "min_child_fraction": FloatRange(0.002, 0.05, log=True),
    "lambda_l1": FloatRange(1e-4, 1.0, log=True),
    "lambda_l2": FloatRange(1e-4, 10.0, log=True),
}
"""Stage 2: broad ranges for TPE."""

SEED: Space = {
    "num_leaves": Choice((30, 50, 80)),
    "max_depth": Choice((5, 6, 7, 9)),
    "feature_fraction": Fixed(0.7),
    "min_child_fraction": Fixed(0.01),
    "learning_rate": Choice((0.01, 0.05, 0.1)),
    "lambda_l1": Choice((0.0, 0.01, 0.1)),
}
"""Stage 3: the seed's space from SPEC §8."""


def narrow(best: Mapping[str, ParamValue]) -> Space:
    """Stage 4: ranges around a stage-3 optimum (each parameter within about a factor of 1.5)."""
    leaves = int(best.get("num_leaves", 31))
    depth = int(best.get("max_depth", 6))
    rate = float(best.get("learning_rate", 0.05))
    l1 = float(best.get("lambda_l1", 0.0))
    fraction = float(best.get("feature_fraction", 0.7))
    child = float(best.get("min_child_fraction", 0.01))
    return {
        "num_leaves": IntRange(max(4, round(leaves / 1.5)), max(5, round(leaves * 1.5))),
        "max_depth": IntRange(max(2, depth - 1), depth + 1),
        "learning_rate": FloatRange(rate / 1.5, min(rate * 1.5, 0.5), log=True),
        "feature_fraction": FloatRange(max(0.3, fraction - 0.15), min(1.0, fraction + 0.15)),
        "min_child_fraction": FloatRange(child / 1.5, child * 1.5, log=True),
        "lambda_l1": FloatRange(0.0, max(l1 * 1.5, 0.02)),
    }


def suggest(trial: Suggester, space: Space) -> dict[str, ParamValue]:
    """Draw one parameter set from ``space`` (in key order, so a seeded sampler repeats)."""
    params: dict[str, ParamValue] = {}
    for name in sorted(space):
        param = space[name]
        if isinstance(param, Fixed):
            params[name] = param.value
        elif isinstance(param, Choice):
            params[name] = trial.suggest_categorical(name, list(param.values))
        elif isinstance(param, IntRange):
            params[name] = trial.suggest_int(name, param.low, param.high, log=param.log)
        else:
            params[name] = trial.suggest_float(name, param.low, param.high, log=param.log)
    return params


def snap(params: Mapping[str, ParamValue], space: Space) -> dict[str, ParamValue]:
    """Project ``params`` onto ``space``: nearest choice, clipped range; unknown keys dropped.

    Used to start a study from another stage's optimum (``study.enqueue_trial``).
    """
    snapped: dict[str, ParamValue] = {}
    for name, param in space.items():
        if isinstance(param, Fixed) or name not in params:
            continue
        value = float(params[name])
        if isinstance(param, Choice):
            target = math.log1p(value)
            snapped[name] = min(param.values, key=lambda c: abs(math.log1p(c) - target))
        elif isinstance(param, IntRange):
            snapped[name] = int(min(max(round(value), param.low), param.high))
        else:
            snapped[name] = min(max(value, param.low), param.high)
    return snapped


def resolve(params: Mapping[str, ParamValue], train_rows: int) -> dict[str, ParamValue]:
    """LightGBM parameters for a training set of ``train_rows`` rows."""
    out = {k: v for k, v in params.items() if k != "min_child_fraction"}
    if "min_child_fraction" in params:
        floor = max(1, min(MIN_CHILD_SAMPLES, train_rows // 2 - 1))
        scaled = round(float(params["min_child_fraction"]) * train_rows)
        out["min_child_samples"] = max(floor, scaled)
    return out
