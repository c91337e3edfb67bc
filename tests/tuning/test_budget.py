"""Stage budget accounting (SPEC §8): shares, unused time carried over, overruns debited."""

from __future__ import annotations

import pytest

from swingml.tuning.budget import Grant, account, deal, grant, stage_shares

SHARES = (0.25, 0.15, 0.35, 0.25)


def test_shares_split_the_total() -> None:
    assert stage_shares(600.0, SHARES) == pytest.approx([150.0, 90.0, 210.0, 150.0])


def test_unused_time_passes_to_the_next_stage() -> None:
    accounts = account(600.0, SHARES, [100.0, 90.0, 200.0, 160.0])
    assert [a.carried_over_s for a in accounts] == pytest.approx([0.0, 50.0, 50.0, 60.0])
    assert [a.budget_s for a in accounts] == pytest.approx([150.0, 140.0, 260.0, 210.0])
    assert accounts[-1].left_s == pytest.approx(50.0)
    # nothing is created or lost when no stage overruns
    assert sum(a.spent_s for a in accounts) + accounts[-1].left_s == pytest.approx(600.0)


def test_an_overrun_is_a_debt_the_next_stages_pay() -> None:
    # stage 1 overruns its 150 s by 250 s: stage 2 (90 s) is left with nothing, and the
    # remaining 160 s of debt come out of stage 3's 210 s
    accounts = account(600.0, SHARES, [400.0, 10.0, 0.0])
    assert accounts[0].left_s == pytest.approx(-250.0)
    assert accounts[1].carried_over_s == pytest.approx(-250.0)
    assert accounts[1].budget_s == 0.0
    assert accounts[1].left_s == pytest.approx(-170.0)
    assert accounts[2].budget_s == pytest.approx(40.0)
    # the stages together never get more than the total
    total = sum(a.spent_s for a in accounts) + accounts[-1].left_s + 150.0  # + stage 4's share
    assert total == pytest.approx(600.0)


def test_a_small_overrun_shrinks_the_next_stage_only() -> None:
    accounts = account(600.0, SHARES, [180.0, 60.0])
    assert accounts[1].budget_s == pytest.approx(60.0)
    assert grant(600.0, SHARES, [180.0, 60.0]).budget_s == pytest.approx(210.0)


def test_grant_is_the_next_stage_before_it_spends() -> None:
    first = grant(600.0, SHARES, [])
    assert (first.stage, first.budget_s, first.carried_over_s) == (1, 150.0, 0.0)
    third = grant(600.0, SHARES, [150.0, 30.0])
    assert third.stage == 3
    assert third.carried_over_s == pytest.approx(60.0)
    assert third.budget_s == pytest.approx(270.0)
    with pytest.raises(ValueError, match="already run"):
        grant(600.0, SHARES, [1.0, 1.0, 1.0, 1.0])


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        account(600.0, SHARES, [-1.0])
    with pytest.raises(ValueError):
        stage_shares(600.0, (0.5, 0.6, 0.0, 0.0))


def test_trials_are_dealt_evenly_within_caps_and_every_study_gets_one() -> None:
    from swingml.tuning.budget import split_trials

    assert split_trials(10, [4, 4, 4]) == [4, 3, 3]
    assert split_trials(100, [40, 5, 40]) == [40, 5, 40]  # caps bind; the rest is left unspent
    assert split_trials(2, [3, 3, 3, 3]) == [1, 1, 1, 1]  # at least one trial each
    assert split_trials(50, [30, 10, 30]) == [20, 10, 20]
    assert split_trials(7, []) == []


def test_trials_deal_themselves_and_minutes_replay_or_leave_counts_to_the_clock() -> None:
    ids, caps = ["a", "b", "c"], [10, 10, 10]
    assert deal(Grant("trials", 7, {}), ids, caps) == {"a": 3, "b": 2, "c": 2}
    # a recorded count never overrides the deal: it is what the deal gave (or what a task used)
    assert deal(Grant("trials", 7, {"b": 5}), ids, caps) == {"a": 3, "b": 2, "c": 2}
    assert deal(Grant("minutes", 60.0, {"b": 5}), ids, caps) == {"a": None, "b": 5, "c": None}
