"""Triple-barrier labels, rule by rule, on hand-built bars (SPEC §4 label table)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest

from swingml.config import GridConfig, TargetsConfig
from swingml.targets.events import Events
from swingml.targets.labels import BREAKOUT, NEITHER, REVERSAL, UNKNOWN, triple_barrier
from swingml.targets.search import RangeTable
from swingml.targets.table import build_symbol_targets

EventKind = str


def label(
    kind: EventKind,
    after: Sequence[tuple[float, float]],
    level: float = 10.0,
    close_t: float = 10.0,
    k: float = 1.0,
    horizon: int = 3,
    std_t: float = 1.0,
) -> int:
    """The label of one event at bar 0 followed by ``after`` = [(high, low), ...] bars.

    The event bar itself has an extreme range (it must not count) and every later bar a huge
    std (only ``std_v[t]`` at the event bar sets ``d``).
    """
    side, mode = kind.split("_")
    high = np.array([1e6] + [h for h, _ in after], dtype=np.float64)
    low = np.array([-1e6] + [lo for _, lo in after], dtype=np.float64)
    std = np.full(len(high), 100.0)
    std[0] = std_t
    event = Events(
        "high" if side == "high" else "low",
        "breakout" if mode == "breakout" else "reversion",
        np.array([0]),
        np.array([level]),
        np.array([close_t]),
    )
    tables = RangeTable(high, "max", horizon), RangeTable(low, "min", horizon)
    return int(triple_barrier(event, std, [k], horizon, *tables)[0, 0])


QUIET = (10.5, 9.5)
"""A bar that touches no barrier of L=10, d=1 (for the event closes used below)."""


@pytest.mark.parametrize(
    ("kind", "close_t", "bars", "expected"),
    [
        # high_breakout: breakout high >= L + d = 11, reversal low <= L - d = 9.
        ("high_breakout", 9.0, [QUIET, (11.0, 10.0), QUIET], BREAKOUT),
        ("high_breakout", 9.0, [QUIET, (10.9, 9.0), (12, 10)], REVERSAL),
        ("high_breakout", 9.0, [(10.5, 8.5), (12, 10), QUIET], REVERSAL),
        # high_reversion: same breakout barrier, reversal low <= close[t] - d = 8.
        ("high_reversion", 9.0, [(10.5, 8.5), (12, 10), QUIET], BREAKOUT),
        ("high_reversion", 9.0, [(10.5, 8.0), (12, 10), QUIET], REVERSAL),
        # low_breakout: breakout low <= L - d = 9, reversal high >= L + d = 11.
        ("low_breakout", 11.0, [QUIET, (10, 9.0), QUIET], BREAKOUT),
        ("low_breakout", 11.0, [(11.5, 10.5), (10, 8), QUIET], REVERSAL),
        # low_reversion: same breakout barrier, reversal high >= close[t] + d = 12.
        ("low_reversion", 11.0, [(11.5, 10.5), (10, 8), QUIET], BREAKOUT),
        ("low_reversion", 11.0, [(12.0, 10.5), (10, 8), QUIET], REVERSAL),
    ],
)
def test_each_kind_uses_its_own_barriers(
    kind: EventKind, close_t: float, bars: list[tuple[float, float]], expected: int
) -> None:
    assert label(kind, bars, close_t=close_t) == expected


@pytest.mark.parametrize(
    "kind", ["high_breakout", "high_reversion", "low_breakout", "low_reversion"]
)
def test_both_barriers_in_the_same_bar_is_neither(kind: EventKind) -> None:
    assert label(kind, [QUIET, (11.0, 9.0), (20, 20)]) == NEITHER
    assert label(kind, [QUIET, (15.0, 5.0), (20, 20)]) == NEITHER


@pytest.mark.parametrize(
    "kind", ["high_breakout", "high_reversion", "low_breakout", "low_reversion"]
)
def test_no_touch_within_the_horizon_is_neither(kind: EventKind) -> None:
    # the touch at bar 4 = t + H + 1 is outside the window t+1..t+H.
    assert label(kind, [QUIET, QUIET, QUIET, (11, 9.5)]) == NEITHER
    assert label(kind, [QUIET, QUIET, QUIET, (11, 9.5)], horizon=4) != NEITHER


def test_d_is_k_times_the_std_at_the_event_bar() -> None:
    assert label("high_breakout", [(11.9, 9.5), QUIET, QUIET], k=2.0) == NEITHER
    assert label("high_breakout", [(12.0, 9.5), QUIET, QUIET], k=2.0) == BREAKOUT
    assert label("high_breakout", [(11.9, 9.5), QUIET, QUIET], std_t=0.95) == BREAKOUT


def test_a_horizon_past_the_data_is_unknown_and_null_in_the_store(
    candles: Callable[..., pd.DataFrame],
) -> None:
    # t + H == n - 1 is still known; t + H > n - 1 is unknown, even if a barrier was touched.
    assert label("high_breakout", [QUIET, QUIET, QUIET], horizon=3) == NEITHER
    assert label("high_breakout", [(11, 10), QUIET], horizon=3) == UNKNOWN

    # Through the table: pivot of 10 at bar 2 (w=1, H=2) confirmed at t=3, so t + H = 5: with
    # 5 bars the label is null, with 6 it is known.
    high = [5, 6, 10, 8, 7, 7]
    close = [4.5, 5.5, 9.5, 7.5, 6.5, 6.5]
    grid = GridConfig.model_construct(  # s < 0: every pivot significant (config refuses it)
        windows=(1,), kinds=("high_reversion",), s=(-1e9,), k=(1.0,)
    )
    short = candles(high=high[:5], close=close[:5])
    table = build_symbol_targets("BTCUSDT", short, TargetsConfig(vol_window=2), grid).frame
    assert str(table["label"].dtype) == "Int8"
    assert table["label"].isna().tolist() == [True]
    longer = candles(high=high, close=close)
    table = build_symbol_targets("BTCUSDT", longer, TargetsConfig(vol_window=2), grid).frame
    assert table["label"].isna().tolist() == [False]


def test_labels_for_several_k_come_out_per_k() -> None:
    high = np.array([1e6, 10.5, 11.6, 12.6, 10], dtype=np.float64)
    low = np.array([-1e6, 9.5, 10, 10, 10], dtype=np.float64)
    event = Events("high", "breakout", np.array([0]), np.array([10.0]), np.array([10.0]))
    std = np.full(5, 1.0)
    got = triple_barrier(
        event, std, [0.5, 1.5, 2.5, 3.0], 3, RangeTable(high, "max", 3), RangeTable(low, "min", 3)
    )
    # k=0.5: both 10.5 and 9.5 in bar 1 -> 0; k=1.5: 11.5 at bar 2 -> 1; k=2.5: 12.5 at bar 3 -> 1;
    # k=3.0: 13 never -> 0.
    assert got[:, 0].tolist() == [NEITHER, BREAKOUT, BREAKOUT, NEITHER]
