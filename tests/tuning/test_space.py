"""Search spaces: what a trial draws, projection of another stage's optimum, narrowing."""

from __future__ import annotations

import optuna
import pytest

from swingml.modeling.space import (
    BROAD,
    SEED,
    Choice,
    FloatRange,
    IntRange,
    narrow,
    resolve,
    snap,
    suggest,
)


def _inside(space: dict[str, object], params: dict[str, float]) -> bool:
    for name, value in params.items():
        param = space[name]
        if isinstance(param, Choice) and value not in param.values:
            return False
        if isinstance(param, (IntRange, FloatRange)) and not param.low <= value <= param.high:
            return False
    return True


def test_seed_space_is_the_spec_grid() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(20):
        trial = study.ask()
        params = suggest(trial, SEED)
        assert params["num_leaves"] in (30, 50, 80)
        assert params["max_depth"] in (5, 6, 7, 9)
        assert params["learning_rate"] in (0.01, 0.05, 0.1)
        assert params["lambda_l1"] in (0.0, 0.01, 0.1)
        assert params["feature_fraction"] == 0.7
        study.tell(trial, 0.0)


def test_min_child_fraction_becomes_one_percent_of_training_rows() -> None:
    assert resolve({"min_child_fraction": 0.01, "num_leaves": 30}, 4000) == {
        "num_leaves": 30,
        "min_child_samples": 40,
    }


def test_min_child_samples_has_a_floor_that_yields_on_tiny_sets() -> None:
    assert resolve({"min_child_fraction": 0.01}, 500)["min_child_samples"] == 20
    assert resolve({"min_child_fraction": 0.01}, 60)["min_child_samples"] == 20
    assert resolve({"min_child_fraction": 0.01}, 30)["min_child_samples"] == 14
    assert resolve({"min_child_fraction": 0.01}, 5)["min_child_samples"] == 1


def test_snap_projects_a_broad_optimum_onto_the_seed_grid() -> None:
    broad_best = {"num_leaves": 44, "max_depth": 11, "learning_rate": 0.03, "lambda_l2": 2.0}
    snapped = snap(broad_best, SEED)
    assert snapped == {"num_leaves": 50, "max_depth": 9, "learning_rate": 0.05}
    assert _inside(dict(SEED), snapped)


def test_narrow_ranges_contain_the_optimum() -> None:
    optimum = {
        "num_leaves": 50,
        "max_depth": 7,
        "learning_rate": 0.05,
        "lambda_l1": 0.01,
        "feature_fraction": 0.7,
        "min_child_fraction": 0.01,
    }
    space = narrow(optimum)
    assert _inside(dict(space), optimum)
    assert snap(optimum, space) == pytest.approx(optimum)
    leaves = space["num_leaves"]
    assert isinstance(leaves, IntRange) and leaves.high - leaves.low < 80


def test_broad_draws_stay_in_range() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        assert _inside(dict(BROAD), suggest(trial, BROAD))
        study.tell(trial, 0.0)
