"""A tuning stage's turn: its grant from the ledger, its tasks' shares, its charge and report."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from swingml.config import Config, TuningConfig
from swingml.tuning import plans, reports
from swingml.tuning.accounts import Turn
from swingml.tuning.budget import Grant, StageReport
from swingml.tuning.driver import StudyResult
from swingml.tuning.stages import spec


def _ledger(*spent: float) -> dict[str, Any]:
    return {"stages": {str(i + 1): {"spent_s": s} for i, s in enumerate(spent)}}


def test_a_turn_is_its_share_plus_what_the_stages_before_left() -> None:
    tuning = TuningConfig(budget=100, budget_unit="trials")
    first = Turn.open(tuning, _ledger(), 1)
    assert first.spent_before == [] and first.account.budget_s == pytest.approx(25.0)
    assert first.limit == pytest.approx(50.0)  # stage 1 may borrow its share again
    second = Turn.open(tuning, _ledger(40.0), 2)
    assert second.spent_before == [40.0]
    assert second.account.budget_s == pytest.approx(0.0)  # the debt of 15 eats the share of 15
    assert second.limit == second.account.budget_s


def test_only_studies_under_a_minutes_budget_replay_their_counts() -> None:
    minutes = TuningConfig(budget=10, budget_unit="minutes")
    trials = TuningConfig(budget=10, budget_unit="trials")
    assert not Turn.open(minutes, _ledger(), 1).replays  # a screen never replays
    assert Turn.open(minutes, _ledger(1.0), 2).replays
    assert not Turn.open(trials, _ledger(1.0), 2).replays
    turn = Turn.open(trials, _ledger(1.0), 2)
    assert turn.grant({"m": 3}).replay == {}
    assert Turn.open(minutes, _ledger(1.0), 2).grant({"m": 3}).replay == {"m": 3}


def test_a_turn_is_charged_and_entered_in_the_ledger() -> None:
    turn = Turn.open(TuningConfig(budget=100, budget_unit="trials"), _ledger(), 1)
    grant = turn.grant({})
    report = StageReport(tasks=4, failed=0, trials=32, best_score=0.5, models=4)
    spent, entry = turn.charge(grant, report, 7.5, "key", {})
    assert spent == 32.0
    assert entry["spent_s"] == 32.0 and entry["key"] == "key" and entry["name"] == "screen"
    assert turn.line(grant, report, spent) == (
        "tuning stage 1: 4 model(s), 32 trial(s), 0 of 4 task(s) reused, "
        "spent 32.0 of 25.0 trial(s) (may borrow up to 50.0)"
    )


def _config(unit: str) -> Config:
    return Config.model_validate(
        {
            "data": {"symbols": ["BTCUSDT"]},
            "grid": {"windows": [3], "s": [1.0], "k": [0.5, 1.0]},
            "tuning": {"budget": 10, "budget_unit": unit},
            "executor": {"max_concurrent_processes": 2},
        }
    )


def test_screen_slices_deal_trials_or_share_the_window_by_weight() -> None:
    config = _config("trials")
    grant = Grant("trials", 3, {})
    slices = plans.screen_slices(config, {}, grant, plans.window(grant))
    assert [s.share_s for s in slices] == [float("inf")] * len(slices)
    assert sum(s.count or 0 for s in slices) >= 3
    minutes = Grant("minutes", 104.0, {})
    span = plans.Window(100.0, 0.0)
    timed = plans.screen_slices(_config("minutes"), {}, minutes, span)
    assert all(s.count is None for s in timed)
    assert sum(s.share_s for s in timed) == pytest.approx(0.85 * 100.0 * 2)


def test_studies_share_the_window_and_deal_their_trials() -> None:
    config = _config("trials")
    trials = Grant("trials", 3, {})
    per_study, counts = plans.study_counts(
        config, spec(2), ["a", "b"], trials, plans.window(trials)
    )
    assert per_study == float("inf") and counts == {"a": 2, "b": 1}
    minutes = Grant("minutes", 1, {"a": 4})
    span = plans.Window(30.0, 0.0)
    per_study, counts = plans.study_counts(config, spec(2), ["a", "b", "c"], minutes, span)
    assert per_study == pytest.approx(20.0) and counts == {"a": 4, "b": None, "c": None}


class _Done:
    def __init__(self, ok: bool, reused: bool, value: Any) -> None:
        self.ok, self.reused, self.value = ok, reused, value


def test_reports_charge_reused_tasks_their_recorded_wall_over_the_slots() -> None:
    board = pd.DataFrame({"wall_s": [1.0, 0.0], "score": [0.2, float("nan")]})
    done = [_Done(True, True, {"wall_s": 6.0}), _Done(False, False, None)]
    screen = reports.screen_report(done, 2, board, board.head(1))
    assert (screen.tasks, screen.failed, screen.reused_tasks) == (2, 1, 1)
    assert screen.reused_s == 3.0 and screen.trials == 1 and screen.models == 1
    study = StudyResult("m", "v", {}, 0.4, (), (), 3, 0, 1.0, 2, extra={"wall_s": 4.0})
    frame = pd.DataFrame({"main_id": ["m"], "trials": [3], "score": [0.4]})
    report = reports.study_report([_Done(True, True, study)], 1, frame)
    assert report.reused_s == 4.0 and report.counts == {"m": 3} and report.trials == 3
