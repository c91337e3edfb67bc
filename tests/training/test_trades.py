"""The trader's view: moves in the breakout direction, trades by predicted class, top decile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swingml.training.trades import by_predicted_class, confident, forward_moves


def test_moves_point_in_the_breakout_direction_and_end_with_the_data() -> None:
    close = np.array([100.0, 110.0, 121.0, 121.0])
    high = forward_moves(close, np.array([0, 2]), horizon=2, side="high")
    low = forward_moves(close, np.array([0, 2]), horizon=2, side="low")
    assert high["move_1bar"].tolist() == pytest.approx([0.10, 0.0])
    assert high["move_horizon"].iloc[0] == pytest.approx(0.21)
    assert np.isnan(high["move_horizon"].iloc[1])  # bar 4 does not exist yet
    assert low["move_horizon"].iloc[0] == pytest.approx(-0.21)


def _frame() -> pd.DataFrame:
    # breakout predicted on rising events, reversal on falling ones: every trade wins
    proba = np.array([[0.1, 0.8, 0.1]] * 10 + [[0.1, 0.1, 0.8]] * 10)
    move = np.r_[np.full(10, 0.02), np.full(10, -0.02)]
    frame = pd.DataFrame(proba, columns=["proba_0", "proba_1", "proba_2"])
    frame["main_id"], frame["cadence"] = "m", "never"
    frame["label"] = np.r_[np.ones(10, int), np.full(10, 2)]
    for name in ("move_1bar", "move_half", "move_horizon"):
        frame[name] = move
    return frame


def test_trades_follow_the_predicted_class_net_of_the_fee() -> None:
    table = by_predicted_class(_frame(), fee=0.005).set_index(["predicted", "horizon"])
    assert table.loc[(1, "horizon"), "trade_mean"] == pytest.approx(0.015)
    assert table.loc[(2, "horizon"), "trade_mean"] == pytest.approx(0.015)
    assert table.loc[(2, "horizon"), "move_mean"] == pytest.approx(-0.02)
    assert table["hit_rate"].tolist() == [1.0] * 6
    losing = by_predicted_class(_frame(), fee=0.03)
    assert (losing["hit_rate"] == 0.0).all()


def test_the_top_decile_keeps_the_most_confident_events() -> None:
    frame = _frame()
    frame["proba_1"] = np.linspace(0.05, 0.5, 20)  # rows 18 and 19 are the top decile
    frame.loc[19, "label"] = 1
    top = confident(frame, fee=0.0).set_index("predicted")
    assert top.loc[1, "count"] == 2
    assert top.loc[1, "precision"] == pytest.approx(0.5)
    assert top.loc[1, "base_rate"] == pytest.approx(11 / 20)
    assert top.loc[1, "trade_mean"] == pytest.approx(-0.02)  # bought into falling events
