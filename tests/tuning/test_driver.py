"""The driver: seeded studies repeat exactly, resume toward their cap, start from a given point."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna

from swingml.modeling.rows import VariantRows
from swingml.modeling.space import SEED
from swingml.training.model import TrainSettings
from swingml.tuning.driver import CvPlan, StudyPlan, run_study, screen, screen_all
from swingml.tuning.storage import open_study, storage_for

ROLLING = CvPlan("rolling", 3, 0.2, 10_000)
SETTINGS = TrainSettings(num_rounds=40, early_stopping=10, seed=5)


def _plan(journal: Path, trials: int, **extra: object) -> StudyPlan:
    base: dict[str, object] = {
        "stage": 3,
        "model_id": "BTCUSDT-w5-high",
        "variant_id": "BTCUSDT/w5/high_breakout/s1.0/k1.0",
        "space": SEED,
        "cv": ROLLING,
        "settings": SETTINGS,
        "max_trials": trials,
        "time_limit_s": 300.0,
        "journal": journal,
    }
    base.update(extra)
    return StudyPlan(**base)  # type: ignore[arg-type]


def test_same_inputs_give_the_same_study(tmp_path: Path, rows: VariantRows) -> None:
    a = run_study(_plan(tmp_path / "a.log", 3), rows)
    b = run_study(_plan(tmp_path / "b.log", 3), rows)
    assert a.trials == b.trials == 3
    assert a.best_params == b.best_params
    assert a.fold_scores == b.fold_scores
    assert a.folds == 3
    assert 0.0 < a.best_score <= 1.0


def test_a_resumed_study_counts_finished_trials_toward_its_cap(
    tmp_path: Path, rows: VariantRows
) -> None:
    journal = tmp_path / "s.log"
    run_study(_plan(journal, 2), rows)
    # a worker killed mid-trial leaves a RUNNING trial behind
    stale = optuna.load_study(
        study_name="stage3-BTCUSDT-w5-high", storage=storage_for(journal, None)
    )
    stale.ask()
    resumed = run_study(_plan(journal, 4), rows)
    assert resumed.trials == 4
    reopened = open_study(
        storage_for(journal, None),
        "stage3-BTCUSDT-w5-high",
        optuna.samplers.RandomSampler(),
        optuna.pruners.NopPruner(),
    )
    states = [t.state for t in reopened.trials]
    assert optuna.trial.TrialState.RUNNING not in states
    assert states.count(optuna.trial.TrialState.FAIL) == 1


def test_first_trial_starts_from_the_previous_optimum(tmp_path: Path, rows: VariantRows) -> None:
    start = {"num_leaves": 33, "max_depth": 9, "learning_rate": 0.04, "lambda_l1": 0.2}
    run_study(_plan(tmp_path / "s.log", 1, start_params=start), rows)
    study = optuna.load_study(
        study_name="stage3-BTCUSDT-w5-high", storage=storage_for(tmp_path / "s.log", None)
    )
    first = study.trials[0].params
    assert first == {"num_leaves": 30, "max_depth": 9, "learning_rate": 0.05, "lambda_l1": 0.1}


def test_time_limit_stops_launching_trials_but_one_always_finishes(
    tmp_path: Path, rows: VariantRows
) -> None:
    result = run_study(_plan(tmp_path / "s.log", 50, time_limit_s=0.0), rows)
    assert result.trials == 1
    assert np.isfinite(result.best_score)


def test_screen_bins_once_and_scores_each_label(
    rows_factory: Callable[..., VariantRows],
) -> None:
    rows = rows_factory(n=400, seed=2)
    rng = np.random.default_rng(0)
    labels = {"v-signal": rows.y, "v-noise": rng.integers(0, 3, size=len(rows.y))}
    out = screen(rows, labels, {}, CvPlan("holdout", 5, 0.2, 10_000), SETTINGS, min_rows=20)
    by_id = {r.variant_id: r for r in out}
    assert by_id["v-signal"].score > by_id["v-noise"].score
    assert by_id["v-signal"].valid_rows == 80
    too_few = screen(rows, labels, {}, CvPlan("holdout", 5, 0.2, 10_000), SETTINGS, 10_000)
    assert all(np.isnan(r.score) for r in too_few)


def test_screen_all_always_screens_the_first_set(
    rows_factory: Callable[..., VariantRows],
) -> None:
    rows = rows_factory(n=200, seed=4)
    sets = [(rows, {"a": rows.y}), (rows, {"b": rows.y})]
    out = screen_all(sets, {}, CvPlan("holdout", 5, 0.2, 10_000), SETTINGS, 20, deadline=0.0)
    assert np.isfinite(out[0].score)
    assert np.isnan(out[1].score) and out[1].wall_s == 0.0


def test_screen_all_goes_on_until_a_variant_is_scored(
    rows_factory: Callable[..., VariantRows],
) -> None:
    tiny, rows = rows_factory(n=20, seed=5), rows_factory(n=200, seed=6)
    sets = [(tiny, {"tiny": tiny.y}), (rows, {"big": rows.y}), (rows, {"late": rows.y})]
    plan = CvPlan("holdout", 5, 0.2, 10_000)
    out = {r.variant_id: r for r in screen_all(sets, {}, plan, SETTINGS, 20, deadline=0.0)}
    assert np.isnan(out["tiny"].score) and out["tiny"].valid_minority > 0
    assert np.isfinite(out["big"].lift)
    assert out["late"].wall_s == 0.0


def test_a_baseline_study_also_scores_the_defaults(tmp_path: Path, rows: VariantRows) -> None:
    result = run_study(_plan(tmp_path / "s.log", 1, baseline=True), rows)
    assert np.isfinite(result.baseline_score)
    plain = run_study(_plan(tmp_path / "t.log", 1), rows)
    assert np.isnan(plain.baseline_score)
    assert plain.best_score == result.best_score


def _finished_params(journal: Path) -> list[dict[str, object]]:
    study = optuna.load_study(
        study_name="stage3-BTCUSDT-w5-high", storage=storage_for(journal, None)
    )
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return [t.params for t in study.get_trials(states=done)]


def test_a_study_killed_midway_and_resumed_equals_the_uninterrupted_study(
    tmp_path: Path, rows: VariantRows
) -> None:
    """A trials budget replays: 3 trials, a kill mid-trial, then 8 ends as 8 uninterrupted."""
    whole = run_study(_plan(tmp_path / "whole.log", 40, n_trials=8, space=SEED), rows)
    journal = tmp_path / "killed.log"
    run_study(_plan(journal, 40, n_trials=3, space=SEED), rows)
    stale = optuna.load_study(
        study_name="stage3-BTCUSDT-w5-high", storage=storage_for(journal, None)
    )
    stale.ask()  # the trial a killed worker left RUNNING
    resumed = run_study(_plan(journal, 40, n_trials=8, space=SEED), rows)
    assert whole.trials == resumed.trials == 8
    assert resumed.best_params == whole.best_params
    assert resumed.fold_scores == whole.fold_scores
    assert _finished_params(journal) == _finished_params(tmp_path / "whole.log")


def test_a_study_killed_in_its_starting_trial_still_starts_from_it(
    tmp_path: Path, rows: VariantRows
) -> None:
    """Stage 3 starts from stage 2's optimum (an enqueued trial); a kill during that trial must
    not make the resumed study skip it."""
    start = {"num_leaves": 30, "max_depth": 9, "learning_rate": 0.01, "lambda_l1": 0.01}
    whole = run_study(_plan(tmp_path / "whole.log", 3, start_params=start), rows)
    journal = tmp_path / "killed.log"
    stale = optuna.create_study(
        study_name="stage3-BTCUSDT-w5-high",
        storage=storage_for(journal, None),
        direction="maximize",
    )
    stale.enqueue_trial(start)
    stale.ask()  # the starting trial a killed worker left RUNNING
    resumed = run_study(_plan(journal, 3, start_params=start), rows)
    assert resumed.trials == whole.trials == 3
    assert resumed.best_params == whole.best_params
    assert _finished_params(journal) == _finished_params(tmp_path / "whole.log")
    assert _finished_params(journal)[0] == start


def test_a_trial_count_ignores_the_clock(tmp_path: Path, rows: VariantRows) -> None:
    result = run_study(_plan(tmp_path / "s.log", 40, n_trials=5, time_limit_s=0.0), rows)
    assert result.trials == 5
