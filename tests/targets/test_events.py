"""Reversion and breakout events, rule by rule, on hand-built series (SPEC §4)."""

from __future__ import annotations

import numpy as np

from swingml.targets.events import breakout_events, reversion_events
from swingml.targets.search import RangeTable
from swingml.targets.swings import Side, find_pivots, rolling_mean_std


def events(
    high: list[float], close: list[float], mode: str, side: Side = "high", w: int = 1
) -> list[tuple[int, float]]:
    """(bar, level) of the events of every pivot (s = -1e9: any defined, non-zero std passes).

    The low side is tested on the mirrored series (prices negated, high and low swapped), so the
    same hand-built story must give the same bars with negated levels.
    """
    hi = np.asarray(high, dtype=np.float64)
    cl = np.asarray(close, dtype=np.float64)
    lo = np.minimum(hi, cl) - 1.0
    if side == "low":
        hi, lo, cl = -lo, -hi, -cl
    mean, std = rolling_mean_std(cl, 2)
    pivots = find_pivots(hi, lo, mean, std, w, side).significant(-1e9)
    if mode == "reversion":
        found = reversion_events(pivots, cl)
    else:
        found = breakout_events(pivots, RangeTable(cl, "max" if side == "high" else "min", len(cl)))
    return list(zip(found.bar.tolist(), found.level.tolist(), strict=True))


def mirrored(expected: list[tuple[int, float]]) -> list[tuple[int, float]]:
    return [(bar, -level) for bar, level in expected]


# A pivot high of 10 at bar 1 (confirmed at 2), a newer, lower one of 8 at bar 3 (confirmed at 4).
REPLACED_HIGH = [5, 10, 7, 8, 6, 9.5, 12, 13]
REPLACED_CLOSE = [4.5, 9, 6.5, 7.5, 5.5, 9, 11, 12.5]


def test_reversion_events_sit_at_each_confirmation_bar_with_the_pivot_level() -> None:
    assert events(REPLACED_HIGH, REPLACED_CLOSE, "reversion") == [(2, 10.0), (4, 8.0)]
    assert events(REPLACED_HIGH, REPLACED_CLOSE, "reversion", "low") == [(2, -10.0), (4, -8.0)]


def test_a_newer_pivot_replaces_the_unspent_level() -> None:
    # close 9 > 8 at bar 5 breaks the newer level; close 11 > 10 at bar 6 is no event: the
    # level 10 was replaced at bar 4 before anything broke it.
    expected = [(5, 8.0)]
    assert events(REPLACED_HIGH, REPLACED_CLOSE, "breakout") == expected
    assert events(REPLACED_HIGH, REPLACED_CLOSE, "breakout", "low") == mirrored(expected)


def test_a_broken_level_is_spent() -> None:
    # level 10 confirmed at bar 2, broken by close 10.5 at bar 3 (c + 1, the first bar it is
    # tested); closes 11.5 and 12 beyond it later are not further events.
    high = [5, 10, 7, 11, 12, 13]
    close = [4.5, 9, 6.5, 10.5, 11.5, 12]
    assert events(high, close, "breakout") == [(3, 10.0)]
    assert events(high, close, "breakout", "low") == [(3, -10.0)]


def test_the_active_level_is_tested_before_a_new_pivot_replaces_it() -> None:
    # level 10 active from bar 2; bar 4 confirms a pivot of 12 (bar 3) and closes at 10.5 > 10:
    # the old level breaks at bar 4, then 12 becomes active and breaks at bar 5 (close 12.5).
    high = [5, 10, 7, 12, 11, 13]
    close = [4.5, 9, 6.5, 9.5, 10.5, 12.5]
    expected = [(4, 10.0), (5, 12.0)]
    assert events(high, close, "breakout") == expected
    assert events(high, close, "breakout", "low") == mirrored(expected)


def test_a_level_is_tested_only_from_the_bar_after_its_confirmation() -> None:
    # w = 2: pivot of 10 at bar 2, confirmed at bar 4. Close 10.5 at bar 5 is the first test.
    high = [5, 6, 10, 8, 9, 11, 12]
    close = [4.5, 5.5, 9, 7.5, 8.5, 10.5, 11]
    assert events(high, close, "reversion", w=2) == [(4, 10.0)]
    assert events(high, close, "breakout", w=2) == [(5, 10.0)]
    assert events(high, close, "breakout", "low", w=2) == [(5, -10.0)]


def test_an_unbroken_last_level_stays_active_to_the_end() -> None:
    high = [5, 10, 7, 6, 6, 6, 6, 6, 10.5]
    close = [4.5, 9, 6.5, 5, 5, 5, 5, 5, 10.2]
    assert events(high, close, "breakout") == [(8, 10.0)]


def test_breakout_events_agree_with_a_bar_loop_on_a_random_walk() -> None:
    rng = np.random.default_rng(11)
    close = np.round(100 + rng.normal(size=3000).cumsum(), 1)
    high = close + np.round(rng.uniform(0, 1, size=3000), 1)
    for side in ("high", "low"):
        got = events(high.tolist(), close.tolist(), "breakout", side, w=3)
        lo = np.minimum(high, close) - 1.0
        hi, cl, lo_ = (high, close, lo) if side == "high" else (-lo, -close, -high)
        mean, std = rolling_mean_std(cl, 2)
        pivots = find_pivots(hi, lo_, mean, std, 3, side).significant(-1e9)
        level_at = dict(zip(pivots.confirm.tolist(), pivots.level.tolist(), strict=True))
        expected, active = [], None
        for t, price in enumerate(cl.tolist()):
            if active is not None and (price > active if side == "high" else price < active):
                expected.append((t, active))
                active = None
            active = level_at.get(t, active)
        assert got == expected
        assert len(expected) > 50
