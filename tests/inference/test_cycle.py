"""The rules of a live cycle (``inference.cycle``): due, waiting and stalled symbols, watermarks,
stale champions, health and the printed line — pure, without a run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from swingml.config import InferenceConfig
from swingml.data.append import Merged
from swingml.data.gaps import gap_report, iso_ms
from swingml.errors import BadInputError
from swingml.inference.cycle import (
    DAY_MS,
    check_cadence,
    cycle_figures,
    cycle_line,
    fresh_rows,
    health,
    plan_cycle,
    staleness,
    start_marks,
)
from swingml.inference.live import Pending

HOUR_MS = 3_600_000
T0 = 1_700_000_000_000 // HOUR_MS * HOUR_MS


def _merged(symbol: str, bars: int, new_rows: int) -> Merged:
    stamps = T0 + HOUR_MS * np.arange(bars, dtype=np.int64)
    frame = pd.DataFrame(
        {"timestamp": pd.to_datetime(stamps, unit="ms", utc=True), "i": range(bars)}
    )
    return Merged(symbol, frame, new_rows, 0, gap_report(stamps, HOUR_MS))


def _span(symbol: str, bars: int, until_bar: int = 9) -> Pending:
    until = T0 + until_bar * HOUR_MS
    return Pending(symbol, until - bars * HOUR_MS, until, bars)


def test_new_rows_are_the_tail_the_merge_added() -> None:
    fresh = fresh_rows(_merged("A", 10, 3))
    assert fresh["i"].tolist() == [7, 8, 9]
    assert len(fresh_rows(_merged("A", 10, 0))) == 0


def test_a_symbol_without_a_watermark_starts_at_the_feature_store_s_last_bar() -> None:
    marks = start_marks({"A": 5, "OLD": 1}, ["A", "B"], lambda s: {"B": 7}[s])
    assert marks == {"A": 5, "B": 7}


def test_due_waiting_and_stalled_symbols_and_the_watermarks_they_move() -> None:
    section = InferenceConfig(cadence_bars=2, stall_limit_bars=3)
    spans = {"A": _span("A", 4), "B": _span("B", 1), "C": _span("C", 0)}
    merged = {"A": _merged("A", 20, 4), "B": _merged("B", 20, 1), "C": _merged("C", 15, 0)}
    plan = plan_cycle(spans, merged, section, 3600)
    assert [s for s, _ in plan.due()] == ["A"]
    assert plan.waiting == ["B"] and plan.stalled == ["C"]
    assert plan.leader_ms == T0 + 19 * HOUR_MS and plan.steps["C"].behind == 5
    assert plan.advance({"A": 1, "B": 2, "C": 3}) == {"A": spans["A"].until_ms, "B": 2, "C": 3}
    lines = plan.symbols({"A": {"events": 2, "event_bars_read": 300}})
    assert list(lines["A"]) == [
        "new_bars", "pending_bars", "last_bar", "bars_behind", "events", "event_bars_read",
        "watermark",
    ]  # fmt: skip
    assert lines["A"]["events"] == 2 and "watermark" not in lines["B"]
    assert lines["C"] == {
        "new_bars": 0,
        "pending_bars": 0,
        "last_bar": iso_ms(T0 + 14 * HOUR_MS),
        "bars_behind": 5,
        "events": 0,
    }
    figures = cycle_figures(plan, lines, {}, section.cadence_bars)
    assert figures["new_bars"] == 5 and figures["events"] == 2


def test_a_due_symbol_without_champions_still_moves_its_watermark() -> None:
    plan = plan_cycle({"A": _span("A", 1)}, {"A": _merged("A", 10, 1)}, InferenceConfig(), 3600)
    assert plan.symbols({})["A"]["watermark"] == iso_ms(T0 + 9 * HOUR_MS)


def _champion(name: str, horizon: int = 6) -> Any:
    return SimpleNamespace(name=name, version="1", horizon=lambda targets: horizon)


def test_a_champion_is_stale_by_its_age_or_its_data_s_age() -> None:
    section = InferenceConfig(champion_max_age_days=30.0, champion_data_max_age_days=45.0)
    now = T0 + 100 * DAY_MS
    created = {"young": now - DAY_MS, "old": now - 31 * DAY_MS}
    champions = [_champion("young"), _champion("old"), _champion("unknown")]
    stale = staleness(champions, created, now - 50 * DAY_MS + DAY_MS, now, section)
    assert stale["young"] == {
        "version": "1",
        "age_days": 1.0,
        "data_age_days": -48.0,
        "stale": False,
    }
    assert stale["old"]["stale"] and not stale["unknown"]["stale"]
    assert stale["unknown"]["age_days"] is None
    late = staleness(champions, created, now + 45 * DAY_MS, now, section)
    assert late["young"]["stale"] and late["young"]["data_age_days"] == 46.0


def test_health_alerts_on_a_stall_a_stale_champion_or_a_monitoring_alert() -> None:
    fine = {"m": {"stale": False}}
    assert health([], fine, None) == "ok" and health([], fine, "warn") == "ok"
    assert health(["A"], fine, None) == "alert"
    assert health([], {"m": {"stale": True}}, "ok") == "alert"
    assert health([], fine, "alert") == "alert"


def test_the_printed_line_names_who_stalls_and_who_waits() -> None:
    details = {"new_bars": 3, "events": 1, "health": "ok", "stalled_symbols": [], "waiting": []}
    assert cycle_line(details, 1, 0, 1) == (
        "predict live: 3 new bar(s), 1 event(s), 1 prediction row(s) written, 0 already stored; "
        "status ok"
    )
    details.update(health="alert", stalled_symbols=["A"], waiting=["B", "C"])
    assert cycle_line(details, 0, 2, 4).endswith(
        "status alert; stalled: A; waiting for 4 bars: B, C"
    )


def test_a_cadence_longer_than_the_shortest_horizon_is_bad_input() -> None:
    champions = [_champion("long", 12), _champion("short", 6)]
    check_cadence(6, champions, None)  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="shortest champion horizon \\(6 bars, short\\)"):
        check_cadence(7, champions, None)  # type: ignore[arg-type]
